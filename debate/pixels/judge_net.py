"""The sparse judge of Irving et al. (2018): a classifier that sees only a few pixels of a digit,
their positions and grey levels, and nothing else.

The network is the dense MLP on (mask, mask * value) over the 784 positions, written sparsely:
the first layer's output is the sum, over the revealed pixels, of a learned row for "pixel p is
shown" plus its grey level times a row for "pixel p's value". So a judgement costs k row look-ups
plus two small matrix products, and a debater can score every candidate pixel of an image in one
batch. It is trained on random sets of the image's nonzero pixels (the paper's judge, too, never
sees a blank pixel revealed), so debaters reveal nonzero pixels only.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from debate.pixels import data

SCHEMA_VERSION = 1


class JudgeTraining(BaseModel):
    """How a sparse judge is trained (kept inside its weights file)."""

    model_config = ConfigDict(extra="forbid")
    schema_version: int = SCHEMA_VERSION
    k: int = Field(6, ge=1, le=50, description="pixels the judge sees")
    hidden: int = Field(256, ge=8, le=8192)
    steps: int = Field(8000, ge=1)
    batch: int = Field(256, ge=1)
    lr: float = Field(2e-3, gt=0)
    seed: int = 0
    train_images: int | None = Field(None, ge=1, description="first N training images; None: all")


class SparseJudgeNet(nn.Module):
    def __init__(self, hidden: int = 512, n_pixels: int = data.N_PIXELS, n_classes: int = 10):
        super().__init__()
        self.shown = nn.Embedding(n_pixels, hidden)
        self.value = nn.Embedding(n_pixels, hidden)
        nn.init.normal_(self.shown.weight, std=0.05)
        nn.init.normal_(self.value.weight, std=0.05)
        self.bias = nn.Parameter(torch.zeros(hidden))
        self.rest = nn.Sequential(
            nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_classes)
        )

    def first_layer(self, pos: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """Sum over the revealed pixels; `pos` (B, n) positions, -1 for none; `val` (B, n) in
        [0, 1]."""
        present = (pos >= 0).unsqueeze(-1).float()
        p = pos.clamp(min=0)
        rows = self.shown(p) + val.unsqueeze(-1) * self.value(p)
        return self.bias + (present * rows).sum(1)

    def forward(self, pos: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """Logits over the ten digits, (B, 10)."""
        return self.rest(self.first_layer(pos, val))

    def extend(self, base: torch.Tensor, pos: torch.Tensor, val: torch.Tensor) -> torch.Tensor:
        """Logits with one more pixel each: `base` (B, H) the first layer of what was shown,
        `pos`/`val` (B,) the added pixel. What debaters call to score every candidate."""
        return self.rest(base + self.shown(pos) + val.unsqueeze(-1) * self.value(pos))


def random_nonzero(images: torch.Tensor, k: int, gen: torch.Generator) -> torch.Tensor:
    """k distinct nonzero positions of each image, uniformly (an image with fewer repeats -1)."""
    keys = torch.rand(images.shape, generator=gen)
    keys = torch.where(images > 0, keys, torch.full_like(keys, -1.0))
    top, pos = keys.topk(k, dim=1)
    return torch.where(top >= 0, pos, torch.full_like(pos, -1))


def gather_values(images: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
    return torch.where(pos >= 0, images.gather(1, pos.clamp(min=0)), torch.zeros_like(pos).float())


def train(cfg: JudgeTraining, log=print) -> tuple[SparseJudgeNet, float]:
    """Train on random nonzero-pixel masks of the training split; returns the net and seconds."""
    torch.manual_seed(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed)
    images, labels = data.load("train", limit=cfg.train_images)
    x = torch.from_numpy(images).float() / 255.0
    y = torch.from_numpy(labels)
    net = SparseJudgeNet(cfg.hidden)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, cfg.steps)
    start, every = time.perf_counter(), max(1, cfg.steps // 10)
    for step in range(cfg.steps):
        idx = torch.randint(len(x), (cfg.batch,), generator=gen)
        imgs = x[idx]
        pos = random_nonzero(imgs, cfg.k, gen)
        loss = nn.functional.cross_entropy(net(pos, gather_values(imgs, pos)), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % every == 0:
            log(f"step {step + 1}/{cfg.steps} loss {loss.item():.3f}")
    return net.eval(), time.perf_counter() - start


@torch.no_grad()
def accuracy(
    net: SparseJudgeNet, images: np.ndarray, labels: np.ndarray, k: int, seed: int = 0
) -> float:
    """Share of images classified right from k random nonzero pixels (the paper's first row)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.from_numpy(images).float() / 255.0
    right = 0
    for i in range(0, len(x), 2048):
        imgs = x[i : i + 2048]
        pos = random_nonzero(imgs, k, gen)
        pred = net(pos, gather_values(imgs, pos)).argmax(1)
        right += int((pred == torch.from_numpy(labels[i : i + 2048])).sum())
    return right / len(x)


def save(net: SparseJudgeNet, cfg: JudgeTraining, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"config": cfg.model_dump(), "state": net.state_dict()}, tmp)
    tmp.replace(path)


def load(path: Path) -> tuple[SparseJudgeNet, JudgeTraining]:
    blob = torch.load(path, weights_only=True)
    cfg = JudgeTraining.model_validate(blob["config"])
    net = SparseJudgeNet(cfg.hidden)
    net.load_state_dict(blob["state"])
    return net.eval(), cfg
