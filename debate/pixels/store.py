"""Where trained sparse judges live: `$DEBATE_HARNESS_CACHE/mnist/judge-k{K}.pt`, one per k,
written by `debate mnist train-judge` (its training settings inside), read by the pixel judge and
the pixel debaters. Loaded once a process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from debate.pixels.data import cache_dir


class NoJudge(RuntimeError):
    """No trained judge where one was asked for; the message says how to train one."""


def judge_path(k: int) -> Path:
    return cache_dir() / f"judge-k{k}.pt"


def resolve(k: int, weights: str | None = None) -> Path:
    path = Path(weights).expanduser() if weights else judge_path(k)
    if not path.exists():
        raise NoJudge(f"no sparse judge at {path}; train one: debate mnist train-judge --k {k}")
    return path


@cache
def _load(path: str, mtime: float):
    import torch

    from debate.pixels.game import PixelJudge
    from debate.pixels.judge_net import load

    torch.set_num_threads(1)  # a judgement is small; threads only contend on a shared machine
    net, cfg = load(Path(path))
    return PixelJudge(net, cfg.k)


def load_judge(k: int, weights: str | None = None):
    """The `PixelJudge` for k pixels (from `weights` if given). Its k is the one it was trained
    with, which must equal `k`."""
    path = resolve(k, weights)
    judge = _load(str(path), path.stat().st_mtime)
    if judge.k != k:
        raise NoJudge(f"{path} holds a judge trained on k={judge.k}, not k={k}")
    return judge
