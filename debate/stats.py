"""Intervals for the numbers we report. Proportions get Wilson intervals (well behaved at small n
and near 0 or 1); anything else gets a seeded percentile bootstrap."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

Z95 = 1.959963984540054


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap(
    values: Sequence[float],
    stat: Callable[[np.ndarray], float] = np.mean,
    n_boot: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(data), size=(n_boot, len(data)))
    stats = np.array([stat(data[i]) for i in idx])
    return (float(np.percentile(stats, 2.5)), float(np.percentile(stats, 97.5)))


def proportion(flags: Sequence[bool]) -> dict:
    n = len(flags)
    k = sum(bool(f) for f in flags)
    lo, hi = wilson(k, n)
    return {"value": k / n if n else float("nan"), "ci95": [lo, hi], "n": n}
