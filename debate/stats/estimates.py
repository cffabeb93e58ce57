"""Intervals for the numbers we report. Proportions get Wilson intervals (well behaved at small n
and near 0 or 1); anything else gets a seeded percentile bootstrap."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054
N_BOOT = 2000


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def boot_mean(values: Sequence[float], seed: int = 0, n_boot: int = N_BOOT) -> dict:
    """Mean with a seeded percentile-bootstrap 95% interval (values resampled)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    lo, hi = np.percentile(x[idx].mean(axis=1), [2.5, 97.5])
    return {"value": float(x.mean()), "ci95": [float(lo), float(hi)], "n": len(x)}


def proportion(flags: Sequence[bool]) -> dict:
    """Share of true flags with its Wilson interval; None (JSON null) where there are none."""
    n = len(flags)
    if n == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    k = sum(bool(f) for f in flags)
    lo, hi = wilson(k, n)
    return {"value": k / n, "ci95": [lo, hi], "n": n}


def difference(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """p(a) - p(b) for two independent proportions, with Newcombe's interval built from the two
    Wilson intervals (good coverage at small n, unlike the Wald interval)."""
    pa, pb = proportion(a), proportion(b)
    if not pa["n"] or not pb["n"]:
        return {"value": None, "ci95": [None, None]}
    (la, ua), (lb, ub) = pa["ci95"], pb["ci95"]
    d = pa["value"] - pb["value"]
    lo = d - math.sqrt((pa["value"] - la) ** 2 + (ub - pb["value"]) ** 2)
    hi = d + math.sqrt((ua - pa["value"]) ** 2 + (pb["value"] - lb) ** 2)
    return {"value": d, "ci95": [lo, hi]}


def sign_test(differences: Sequence[float]) -> float:
    """Two-sided exact sign test: the chance, were up and down equally likely, of a split of the
    non-zero differences at least this lopsided. A percentile bootstrap over mostly-zero paired
    differences puts a handful of one-way changes "beyond zero" (4 of 100 items lost, none
    gained: interval -4.0 to -0.5 points); the sign test gives them p = 0.125."""
    down = sum(d < 0 for d in differences)
    n = down + sum(d > 0 for d in differences)
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(down, n - down) + 1)) / 2**n
    return min(1.0, 2 * tail)
