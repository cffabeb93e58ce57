"""Intervals for the numbers we report. Proportions get Wilson intervals (well behaved at small n
and near 0 or 1); anything else gets a seeded percentile bootstrap. Every interval holds its own
point estimate (`around`): plots draw it as error bars either side of the point, and readers
take it that way."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

Z95 = 1.959963984540054
N_BOOT = 2000


def around(point: float, lo: float, hi: float) -> tuple[float, float]:
    """The interval widened, where it must be, to hold its point: a percentile bootstrap need
    not contain the estimate (a skewed resample distribution), and rounding can leave a Wilson
    bound of 80 of 80 at 0.9999999999999999."""
    return (min(lo, point), max(hi, point))


def wilson(successes: float, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return (float("nan"), float("nan"))
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return around(p, max(0.0, centre - half), min(1.0, centre + half))


def boot_mean(values: Sequence[float], seed: int = 0, n_boot: int = N_BOOT) -> dict:
    """Mean with a seeded percentile-bootstrap 95% interval (values resampled)."""
    x = np.asarray(values, dtype=float)
    if len(x) == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    lo, hi = np.percentile(x[idx].mean(axis=1), [2.5, 97.5])
    mean = float(x.mean())
    return {"value": mean, "ci95": list(around(mean, float(lo), float(hi))), "n": len(x)}


def proportion(flags: Sequence[bool]) -> dict:
    """Share of true flags with its Wilson interval; None (JSON null) where there are none."""
    n = len(flags)
    if n == 0:
        return {"value": None, "ci95": [None, None], "n": 0}
    k = sum(bool(f) for f in flags)
    lo, hi = wilson(k, n)
    return {"value": k / n, "ci95": [lo, hi], "n": n}


def difference(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """p(a) - p(b) for two independent proportions (unpaired: samples that share an item are
    not independent, see `grouped_difference`), with Newcombe's interval built from the two
    Wilson intervals (good coverage at small n, unlike the Wald interval)."""
    pa, pb = proportion(a), proportion(b)
    if not pa["n"] or not pb["n"]:
        return {"value": None, "ci95": [None, None]}
    (la, ua), (lb, ub) = pa["ci95"], pb["ci95"]
    d = pa["value"] - pb["value"]
    lo = d - math.sqrt((pa["value"] - la) ** 2 + (ub - pb["value"]) ** 2)
    hi = d + math.sqrt((ua - pa["value"]) ** 2 + (pb["value"] - lb) ** 2)
    return {"value": d, "ci95": [lo, hi]}


def grouped_difference(
    a: Sequence[bool],
    a_groups: Sequence[str],
    b: Sequence[bool],
    b_groups: Sequence[str],
    seed: int = 0,
    n_boot: int = N_BOOT,
) -> dict:
    """p(a) - p(b) where the flags come in groups (items) that may hold flags of both: a seeded
    percentile bootstrap that resamples whole groups, so flags of one group stay together. In a
    two-player debate the true side's win and the false side's loss are one event; `difference`
    would count them as two independent samples and overstate the precision."""
    if not len(a) or not len(b):
        return {"value": None, "ci95": [None, None], "n": 0}
    keys = sorted(set(a_groups) | set(b_groups))
    at = {k: i for i, k in enumerate(keys)}
    sums = np.zeros((4, len(keys)))  # a's wins, a's flags, b's wins, b's flags, by group
    for row, flags, groups in ((0, a, a_groups), (2, b, b_groups)):
        for flag, g in zip(flags, groups, strict=True):
            sums[row, at[g]] += bool(flag)
            sums[row + 1, at[g]] += 1
    value = sums[0].sum() / sums[1].sum() - sums[2].sum() / sums[3].sum()
    idx = np.random.default_rng(seed).integers(0, len(keys), size=(n_boot, len(keys)))
    weights = np.zeros((n_boot, len(keys)))
    np.add.at(weights, (np.arange(n_boot)[:, None], idx), 1)
    resampled = weights @ sums.T  # (n_boot, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = resampled[:, 0] / resampled[:, 1] - resampled[:, 2] / resampled[:, 3]
    lo, hi = np.nanpercentile(d, [2.5, 97.5])
    return {"value": float(value), "ci95": list(around(float(value), float(lo), float(hi))),
            "n": len(keys), "interval": "bootstrap over items"}  # fmt: skip


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


def leave_one_out(rewards: list[float]) -> list[float]:
    """Each reward less the mean of the others (RLOO's baseline); zeros for fewer than two."""
    n = len(rewards)
    if n < 2:
        return [0.0] * n
    total = sum(rewards)
    return [r - (total - r) / (n - 1) for r in rewards]
