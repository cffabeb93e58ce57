"""Pixel debaters: each picks the next pixel to reveal for its claim.

- `random`: any nonzero pixel not yet shown.
- `greedy`: the pixel that most raises the judge's log-odds for its claim now (one ply).
- `search`: negamax to the end of the game (or `depth` plies) over a pool of the judge's best
  pixels for either claim, keeping each node's `width` best moves, the judge's log-odds at the
  horizon; each tree level is one batched judgement.
- `mcts`: PUCT (AlphaZero-style) over the judge's `width` best pixels (of a `pool` of the
  judge's best for either claim at the root), with priors
  softmax(one-ply log-odds) and a leaf's value the judge's probability for the mover's claim
  after its best one-ply move. Restricting moves to the judge's top candidates matters: plain
  MCTS over every pixel, valued by random rollouts, is decided by whoever moves last.

A debater never reads the true label: only the image, the two claims and the judge, as in the
paper (the debaters know the image; the judge does not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from debate.pixels.game import Game


class DebaterError(ValueError):
    """A debater spec that cannot be built; the message is for the user."""


class Debater:
    name = ""

    def move(self, game: Game, rng: np.random.Generator) -> int:
        raise NotImplementedError


class RandomDebater(Debater):
    name = "random"

    def move(self, game: Game, rng: np.random.Generator) -> int:
        return int(rng.choice(game.candidates()))


class GreedyDebater(Debater):
    name = "greedy"

    def move(self, game: Game, rng: np.random.Generator) -> int:
        cands, margins = game.child_margins(game.mover)
        return int(cands[int(np.argmax(margins))])


@dataclass
class SearchDebater(Debater):
    """Negamax over a pool of pixels: the judge's `pool` best pixels for each claim now (one
    ply), searched `depth` plies ahead (0: to the end of the game) keeping each node's `width`
    best moves by one-ply score. A whole tree level is judged in one batch."""

    depth: int = 0
    width: int = 2
    pool: int = 6
    name = "search"

    def move(self, game: Game, rng: np.random.Generator) -> int:
        me = game.mover
        cands, mine = game.child_margins(me)
        plies = game.moves_left if self.depth <= 0 else min(self.depth, game.moves_left)
        if plies <= 1 or len(cands) <= 2:
            return int(cands[int(np.argmax(mine))])
        order = np.argsort(-mine)
        pool = np.unique(np.concatenate([order[: self.pool], order[::-1][: self.pool]]))
        pixels = cands[pool]
        rows = game.board.rows[torch.from_numpy(pixels)]
        a, b = game.claims[me], game.claims[1 - me]
        h, used, picks = game.h[None], torch.zeros(1, len(pixels), dtype=torch.bool), []
        for ply in range(plies):
            logits = game.board.judge.logits(h[:, None, :] + rows[None])
            score = logits[..., a] - logits[..., b]  # my log-odds after each pool pixel
            score = (score if ply % 2 == 0 else -score).masked_fill(used, -torch.inf)
            if ply == plies - 1 or len(pixels) - ply <= 1:
                value = score.max(1).values  # for the mover at this ply
                break
            top = score.topk(min(self.width, len(pixels) - ply), dim=1).indices
            picks.append(top)
            n, w = top.shape
            h = h.repeat_interleave(w, 0) + rows[top.flatten()]
            used = used.repeat_interleave(w, 0)
            used[torch.arange(n * w), top.flatten()] = True
        for top in reversed(picks[1:]):  # negamax: a node's value is its best child's, negated
            value = (-value).reshape(top.shape).max(1).values
        best = int((-value).argmax())
        return int(pixels[int(picks[0][0, best])])


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, x))))


@dataclass
class Node:
    game: Game
    pixels: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))
    priors: np.ndarray = field(default_factory=lambda: np.empty(0))
    visits: np.ndarray = field(default_factory=lambda: np.empty(0))
    value_sum: np.ndarray = field(default_factory=lambda: np.empty(0))  # for this node's mover
    children: dict[int, Node] = field(default_factory=dict)
    expanded: bool = False


@dataclass
class MCTSDebater(Debater):
    simulations: int = 32
    width: int = 4
    c_puct: float = 1.5
    prior_temperature: float = 1.0
    pool: int = 6
    name = "mcts"
    _pool: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64), repr=False)

    def expand(self, node: Node) -> float:
        """Children's priors from one batched judgement; returns the node's value for its mover
        (the judge's probability for the mover's claim after its best one-ply move)."""
        game = node.game
        left = np.setdiff1d(self._pool, game.revealed, assume_unique=True)
        cands, margins = game.child_margins(game.mover, left if len(left) else None)
        order = np.argsort(-margins)[: self.width]
        node.pixels, top = cands[order], margins[order]
        z = (top - top.max()) / self.prior_temperature
        node.priors = np.exp(z) / np.exp(z).sum()
        node.visits = np.zeros(len(order))
        node.value_sum = np.zeros(len(order))
        node.expanded = True
        return sigmoid(float(top[0]))

    def simulate(self, node: Node) -> float:
        """One playout from `node`; returns its value for `node`'s mover."""
        game = node.game
        if game.over:
            return sigmoid(game.margin(game.mover))
        if not node.expanded:
            return self.expand(node)
        n = node.visits.sum()
        q = np.where(node.visits > 0, node.value_sum / np.maximum(node.visits, 1), 0.5)
        u = q + self.c_puct * node.priors * math.sqrt(n + 1) / (1 + node.visits)
        i = int(np.argmax(u))
        pixel = int(node.pixels[i])
        child = node.children.get(pixel)
        if child is None:
            child = node.children[pixel] = Node(game.play(pixel))
        value = 1.0 - self.simulate(child)  # the child's mover is the other debater
        node.visits[i] += 1
        node.value_sum[i] += value
        return value

    def move(self, game: Game, rng: np.random.Generator) -> int:
        if game.moves_left == 1:
            return GreedyDebater().move(game, rng)
        # the tree's moves: the judge's `pool` best pixels now for either claim
        cands, mine = game.child_margins(game.mover)
        order = np.argsort(-mine)
        self._pool = cands[
            np.unique(np.concatenate([order[: self.pool], order[::-1][: self.pool]]))
        ]
        root = Node(game)
        for _ in range(self.simulations):
            self.simulate(root)
        return int(root.pixels[int(np.argmax(root.visits))])
