"""A learned pixel policy, trained by self-play with REINFORCE (the harness's choice training,
debate/training/reinforce.py, on pixels instead of passage spans).

The policy scores each candidate pixel from what a debater can see: the judge's log-odds for its
claim were that pixel shown (the one-ply look-ahead greedy maximises), the same for the other
claim's debater were it shown instead, the pixel's grey level and place, and how many moves are
left. A small MLP maps these to a logit; moves are sampled from the softmax over candidates.

- Reward: the judge's final probability for the debater's claim; the true label is never read.
- Baseline: leave-one-out within a group of games on the same image, claims and order.
- Both sides of every game are the policy (self-play), and both are trained.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from debate.pixels import data
from debate.pixels.debaters import Debater
from debate.pixels.game import Board, Game, PixelJudge
from debate.stats.estimates import leave_one_out

SCHEMA_VERSION = 1
N_FEATURES = 7


class PolicyTraining(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    k: int = Field(6, ge=1, le=50)
    steps: int = Field(200, ge=1)
    images: int = Field(8, ge=1, description="games groups a step (one image, lie, order each)")
    samples: int = Field(4, ge=2, description="games a group: the leave-one-out baseline")
    hidden: int = Field(32, ge=1)
    lr: float = Field(3e-3, gt=0)
    seed: int = 0
    train_images: int = Field(10_000, ge=1, description="first N training images drawn from")


class PixelPolicyNet(nn.Module):
    def __init__(self, hidden: int = 32):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(features).squeeze(-1)


def features(game: Game) -> tuple[np.ndarray, torch.Tensor]:
    """(candidates, their features (n, 7)) for the debater about to move."""
    me = game.mover
    cands, mine = game.child_margins(me)
    now = game.margin(me)
    logits = game.board.judge.logits(game.h + game.board.rows[torch.from_numpy(cands)])
    # what the pixel would do for the other debater's claim over ours, were it theirs to show
    theirs = (logits[:, game.claims[1 - me]] - logits[:, game.claims[me]]).numpy()
    f = np.stack([
        mine - now, theirs + now, (mine - mine.max()),
        game.board.image[cands] / 255.0, cands // data.SIDE / data.SIDE, cands % data.SIDE / data.SIDE,
        np.full(len(cands), game.moves_left / game.k),
    ], axis=1)  # fmt: skip
    return cands, torch.from_numpy(f.astype(np.float32))


class PolicyDebater(Debater):
    name = "policy"

    def __init__(self, net: PixelPolicyNet, sample: bool = False):
        self.net, self.sample = net, sample

    def move(self, game: Game, rng: np.random.Generator) -> int:
        cands, f = features(game)
        with torch.no_grad():
            logits = self.net(f)
        if not self.sample:
            return int(cands[int(logits.argmax())])
        p = torch.softmax(logits, 0).numpy().astype(float)
        return int(rng.choice(cands, p=p / p.sum()))


def self_play(net: PixelPolicyNet, game: Game, rng: np.random.Generator):
    """One sampled game; returns the end and each side's summed log-probability of its moves."""
    logp = [torch.zeros(()), torch.zeros(())]
    while not game.over:
        cands, f = features(game)
        dist = torch.distributions.Categorical(logits=net(f))
        i = dist.sample()
        logp[game.mover] = logp[game.mover] + dist.log_prob(i)
        game = game.play(int(cands[int(i)]))
    return game, logp


def train(judge: PixelJudge, cfg: PolicyTraining, log=print) -> tuple[PixelPolicyNet, float]:
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    images, labels = data.load("train", limit=cfg.train_images)
    net = PixelPolicyNet(cfg.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    start, every = time.perf_counter(), max(1, cfg.steps // 10)
    for step in range(cfg.steps):
        losses, truth = [], []
        for i in rng.integers(len(images), size=cfg.images):
            label = int(labels[i])
            lie = int(rng.choice([d for d in range(10) if d != label]))
            # claims in a random order: the policy never learns which one is true
            claims = (label, lie) if rng.random() < 0.5 else (lie, label)
            root = Game(Board(judge, images[i]), claims, int(rng.integers(2)), cfg.k)
            games = [self_play(net, root, rng) for _ in range(cfg.samples)]
            for side in (0, 1):
                r = [g.p_claims()[side] for g, _ in games]
                if claims[side] == label:  # logged only: training never reads the truth
                    truth += r
                for (_, logp), adv in zip(games, leave_one_out(r)):
                    losses.append(-adv * logp[side])
        loss = torch.stack(losses).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if (step + 1) % every == 0:
            log(f"step {step + 1}/{cfg.steps} judge's P(truth) {np.mean(truth):.3f}")
    return net.eval(), time.perf_counter() - start


def save(net: PixelPolicyNet, cfg: PolicyTraining, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": cfg.model_dump(), "state": net.state_dict()}, tmp)
    tmp.replace(path)


def load_policy_debater(path: str) -> PolicyDebater:
    from debate.pixels.debaters import DebaterError

    file = Path(path).expanduser()
    if not file.exists():
        raise DebaterError(f"no pixel policy at {file}; train one: debate mnist train-policy")
    blob = torch.load(file, weights_only=True)
    cfg = PolicyTraining.model_validate(blob["config"])
    net = PixelPolicyNet(cfg.hidden)
    net.load_state_dict(blob["state"])
    return PolicyDebater(net.eval())
