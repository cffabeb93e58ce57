"""Bradley-Terry ratings fitted by maximum likelihood, on the Elo scale, with bootstrap intervals.

A game is (a, b, score of a in [0, 1]); a soft score (the judge's probability for a's answer)
enters the likelihood the same way a win fraction would. The fit depends only on the set of
games, never on their order, unlike sequential online Elo updates. Interval resampling is by
group (by default each item), because the games on one item share its difficulty.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

ELO_PER_NAT = 400 / math.log(10)  # an Elo gap of 400 means 10:1 odds
ELO_CENTRE = 1000.0
# A weak Gaussian prior on log-strengths keeps an unbeaten player's rating finite (as if each
# player had drawn a fraction of a game against the average); at tens of games it is negligible.
PRIOR_PRECISION = 0.01


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


def design(a: np.ndarray, b: np.ndarray, n_players: int) -> np.ndarray:
    """One row per game: +1 for player a, -1 for player b."""
    x = np.zeros((len(a), n_players))
    x[np.arange(len(a)), a] += 1.0
    x[np.arange(len(a)), b] -= 1.0
    return x


def fit_strengths(x: np.ndarray, score: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Log-strengths (natural scale, centred) maximising the weighted Bradley-Terry likelihood;
    Newton's method, which converges in a handful of steps on this concave problem."""
    n_players = x.shape[1]
    theta = np.zeros(n_players)
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ theta)))
        grad = x.T @ (weight * (score - p)) - PRIOR_PRECISION * theta
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + PRIOR_PRECISION * np.eye(n_players)
        step = np.linalg.solve(hess, grad)
        theta += step
        if np.max(np.abs(step)) < 1e-9:
            break
    return theta - theta.mean()


def fit(
    games: Sequence[Game],
    players: Sequence[str] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[Rating]:
    """Ratings on the Elo scale (mean 1000) with percentile-bootstrap 95% intervals."""
    names = (
        list(players)
        if players is not None
        else sorted({g.a for g in games} | {g.b for g in games})
    )
    index = {n: i for i, n in enumerate(names)}
    unknown = ({g.a for g in games} | {g.b for g in games}) - index.keys()
    if unknown:
        raise ValueError(f"games name players not in the list: {sorted(unknown)}")
    a = np.array([index[g.a] for g in games], dtype=int)
    b = np.array([index[g.b] for g in games], dtype=int)
    score = np.array([min(1.0, max(0.0, g.score_a)) for g in games], dtype=float)
    counts = np.bincount(np.concatenate([a, b]), minlength=len(names))
    if not games:
        return [Rating(n, ELO_CENTRE, (ELO_CENTRE, ELO_CENTRE), 0) for n in names]

    x = design(a, b, len(names))
    point = fit_strengths(x, score, np.ones(len(games)))
    groups = sorted({g.group for g in games})
    group_of = np.array([groups.index(g.group) for g in games])
    rng = np.random.default_rng(seed)
    boots = np.empty((n_boot, len(names)))
    for k in range(n_boot):
        # resampling whole groups = weighting each game by how often its group was drawn
        drawn = np.bincount(rng.integers(0, len(groups), len(groups)), minlength=len(groups))
        boots[k] = fit_strengths(x, score, drawn[group_of].astype(float))
    lo, hi = np.percentile(boots, [2.5, 97.5], axis=0) if n_boot else (point, point)
    to_elo = lambda t: float(ELO_CENTRE + ELO_PER_NAT * t)  # noqa: E731
    return [
        Rating(n, to_elo(point[i]), (to_elo(lo[i]), to_elo(hi[i])), int(counts[i]))
        for i, n in enumerate(names)
    ]


def expected_score(elo_a: float, elo_b: float) -> float:
    return 1.0 / (1.0 + 10 ** ((elo_b - elo_a) / 400))
