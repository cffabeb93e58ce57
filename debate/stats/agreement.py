"""How judges compare on the same transcripts: each one's accuracy and unread verdicts, and how
often two pick the same answer, raw and chance-corrected (Cohen's kappa).

An item where either judge made no pick (a tie, or a verdict that could not be read) is left
out of that pair's agreement and counted as such: an unread verdict agrees with nothing. The
agreement rate gets a Wilson interval, like every proportion here; kappa, a ratio of rates, a
seeded percentile bootstrap over items.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

import numpy as np

from debate.schema import Verdict
from debate.stats.estimates import N_BOOT, around, proportion


def kappa(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cohen's kappa of each row pair of two (rows, items) arrays of picks; NaN where chance
    agreement is 1 (both judges gave one same answer throughout: kappa is undefined)."""
    observed = (a == b).mean(axis=-1)
    labels = np.union1d(np.unique(a), np.unique(b))
    expected = sum((a == k).mean(axis=-1) * (b == k).mean(axis=-1) for k in labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expected < 1, (observed - expected) / (1 - expected), np.nan)


def agreement(
    a: Sequence[int | None], b: Sequence[int | None], seed: int = 0, n_boot: int = N_BOOT
) -> dict:
    """Two judges' picks on the same items (None: no pick): the share of items both picked on
    where they picked alike, and Cohen's kappa, each with a 95% interval."""
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    out = {
        "n": len(a),
        "no_pick": len(a) - len(both),
        "rate": proportion([x == y for x, y in both]),
    }
    if not both:
        return {**out, "kappa": {"value": None, "ci95": [None, None], "n": 0}}
    x, y = (np.asarray(col) for col in zip(*both))
    point = float(kappa(x, y))
    idx = np.random.default_rng(seed).integers(0, len(x), size=(n_boot, len(x)))
    draws = kappa(x[idx], y[idx])
    draws = draws[np.isfinite(draws)]
    if np.isnan(point) or not len(draws):
        return {**out, "kappa": {"value": None, "ci95": [None, None], "n": len(both)}}
    lo, hi = (float(q) for q in np.percentile(draws, [2.5, 97.5]))
    return {**out, "kappa": {"value": point, "ci95": list(around(point, lo, hi)), "n": len(both)}}


def judge_summary(verdicts: Sequence[Verdict], truth: Sequence[int]) -> dict:
    """One judge's accuracy on its verdicts (an unread one counts as not correct, and is
    counted), its unread verdicts, and its mean probability on the true answer."""
    return {
        "accuracy": proportion([v.choice == t for v, t in zip(verdicts, truth)]),
        "unparsed": sum(not v.parsed for v in verdicts),
        "n": len(verdicts),
        "mean_p_correct": float(np.mean([v.probs[t] for v, t in zip(verdicts, truth)]))
        if verdicts
        else None,
    }


def compare_judges(
    verdicts: dict[str, Sequence[Verdict]], truth: Sequence[int], seed: int = 0
) -> dict:
    """Judges by name, each with one verdict per item (in the same item order as `truth`):
    each judge's summary, and every pair's agreement."""
    return {
        "judges": {name: judge_summary(vs, truth) for name, vs in verdicts.items()},
        "agreement": {
            f"{a} vs {b}": agreement(
                [v.choice for v in verdicts[a]], [v.choice for v in verdicts[b]], seed
            )  # fmt: skip
            for a, b in combinations(verdicts, 2)
        },
    }


def panel_members(verdicts: Sequence[Verdict]) -> dict[str, list[Verdict]]:
    """A panel's verdicts split into its members' (by member name, in the panel's order); {}
    for verdicts of a judge that is not a panel."""
    if not verdicts or not all(v.members for v in verdicts):
        return {}
    n = len(verdicts[0].members)
    if any(len(v.members) != n for v in verdicts):
        return {}
    names = [m.judge for m in verdicts[0].members]
    names = [f"{name} #{k + 1}" if names.count(name) > 1 else name for k, name in enumerate(names)]
    return {name: [v.members[k] for v in verdicts] for k, name in enumerate(names)}
