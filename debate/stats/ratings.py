"""Bradley-Terry ratings fitted by maximum likelihood, on the Elo scale, with bootstrap intervals.

A game is (a, b, score of a in [0, 1]); a soft score (the judge's probability for a's answer)
enters the likelihood the same way a win fraction would. The fit depends only on the set of
games, never on their order, unlike sequential online Elo updates. Interval resampling is by
group (by default each item), because the games on one item share its difficulty.

The likelihood depends on the games only through each pair's total weight and total score, so
the fits run on pairs, not games, and every bootstrap draw is fitted at once (a batch of Newton
steps, warm-started at the point estimate): the cost grows with the pairs, not with the games
times the pairs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from debate.stats.estimates import around

ELO_PER_NAT = 400 / math.log(10)  # an Elo gap of 400 means 10:1 odds
ELO_CENTRE = 1000.0
# A weak Gaussian prior on log-strengths keeps an unbeaten player's rating finite (as if each
# player had drawn a fraction of a game against the average); at tens of games it is negligible.
PRIOR_PRECISION = 0.01
# bootstrap draws fitted in one batch: bounds the memory of the batched Hessians
BATCH = 500


@dataclass(frozen=True)
class Game:
    a: str
    b: str
    score_a: float  # 1 = a won, 0 = b won, in between = soft outcome
    group: str = ""  # games sharing a group are resampled together


@dataclass(frozen=True)
class Rating:
    name: str
    elo: float
    ci95: tuple[float, float]
    games: int


@dataclass(frozen=True)
class Pairs:
    """The games folded into unordered pairs (i < j), per resampling group: `weight[g, k]` games
    of group g between pair k, `score[g, k]` of them won by the pair's first player i."""

    i: np.ndarray
    j: np.ndarray
    weight: np.ndarray
    score: np.ndarray


def fold(a: np.ndarray, b: np.ndarray, score: np.ndarray, group: np.ndarray, n_groups: int):
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    score_lo = np.where(a < b, score, 1.0 - score)
    keys, pair = np.unique(lo * (max(a.max(), b.max()) + 1) + hi, return_inverse=True)
    weight = np.zeros((n_groups, len(keys)))
    won = np.zeros((n_groups, len(keys)))
    np.add.at(weight, (group, pair), 1.0)
    np.add.at(won, (group, pair), score_lo)
    first = np.zeros(len(keys), dtype=int)
    second = np.zeros(len(keys), dtype=int)
    first[pair], second[pair] = lo, hi
    return Pairs(first, second, weight, won)


def fit_strengths(
    pairs: Pairs, weight: np.ndarray, score: np.ndarray, n_players: int, start: np.ndarray
) -> np.ndarray:
    """Log-strengths (natural scale, centred), one row per row of `weight`/`score` (the pairs'
    games and wins in each resample), maximising the weighted Bradley-Terry likelihood with the
    prior. Newton's method on this concave problem, every row at once; the Hessian is a weighted
    graph Laplacian, filled in directly."""
    i, j = pairs.i, pairs.j
    signed = np.zeros((len(i), n_players))  # +1 for the pair's first player, -1 for its second
    signed[np.arange(len(i)), i], signed[np.arange(len(i)), j] = 1.0, -1.0
    theta = np.broadcast_to(start, (len(weight), n_players)).copy()
    rows = np.arange(n_players)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(theta[:, i] - theta[:, j])))
        grad = (score - weight * p) @ signed - PRIOR_PRECISION * theta
        c = weight * p * (1.0 - p)
        hess = np.zeros((len(weight), n_players, n_players))
        hess[:, i, j] = -c
        hess[:, j, i] = -c
        hess[:, rows, rows] = c @ np.abs(signed) + PRIOR_PRECISION
        step = np.linalg.solve(hess, grad[..., None])[..., 0]
        theta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return theta - theta.mean(axis=1, keepdims=True)


def fit(
    games: Sequence[Game],
    players: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[Rating]:
    """Ratings on the Elo scale (mean 1000) with percentile-bootstrap 95% intervals (widened,
    where a skewed bootstrap leaves it outside, to hold the point estimate)."""
    names = (
        list(players)
        if players is not None
        else sorted({g.a for g in games} | {g.b for g in games})
    )
    index = {n: i for i, n in enumerate(names)}
    unknown = ({g.a for g in games} | {g.b for g in games}) - index.keys()
    if unknown:
        raise ValueError(f"games name players not in the list: {sorted(unknown)}")
    if not games:
        return [Rating(n, ELO_CENTRE, (ELO_CENTRE, ELO_CENTRE), 0) for n in names]
    a = np.array([index[g.a] for g in games], dtype=int)
    b = np.array([index[g.b] for g in games], dtype=int)
    score = np.array([min(1.0, max(0.0, g.score_a)) for g in games], dtype=float)
    counts = np.bincount(np.concatenate([a, b]), minlength=len(names))
    groups = sorted({g.group for g in games})
    group_index = {g: k for k, g in enumerate(groups)}
    group_of = np.array([group_index[g.group] for g in games])
    pairs = fold(a, b, score, group_of, len(groups))

    n = len(names)
    total_w, total_s = pairs.weight.sum(axis=0), pairs.score.sum(axis=0)
    point = fit_strengths(pairs, total_w[None], total_s[None], n, np.zeros(n))[0]
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, n))
    for start in range(0, n_boot, BATCH):
        size = min(BATCH, n_boot - start)
        # resampling whole groups = weighting each group by how often it was drawn
        drawn = np.stack(
            [np.bincount(rng.integers(0, len(groups), len(groups)), minlength=len(groups))
             for _ in range(size)]
        ).astype(float)  # fmt: skip
        boots[start : start + size] = fit_strengths(
            pairs, drawn @ pairs.weight, drawn @ pairs.score, n, point
        )
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0) if n_boot else (point, point)
    to_elo = lambda t: float(ELO_CENTRE + ELO_PER_NAT * t)  # noqa: E731
    out = []
    for k, name in enumerate(names):
        elo = to_elo(point[k])
        out.append(Rating(name, elo, around(elo, to_elo(lo[k]), to_elo(hi[k])), int(counts[k])))
    return out


def expected_score(elo_a: float, elo_b: float) -> float:
    return 1.0 / (1.0 + 10 ** ((elo_b - elo_a) / 400))
