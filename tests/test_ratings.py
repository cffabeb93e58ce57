"""Bradley-Terry ratings recover known strengths, with intervals that cover at about 95%."""

import math
import random

import numpy as np

from debate.stats.ratings import ELO_PER_NAT, Game, fit


def synthetic(true: dict[str, float], per_pair: int, rng: np.random.Generator) -> list[Game]:
    games = []
    for a in true:
        for b in true:
            if a == b:
                continue
            p = 1 / (1 + math.exp(-(true[a] - true[b])))
            for k in range(per_pair):
                games.append(Game(a, b, float(rng.random() < p), f"{a}{b}{k}"))
    return games


def test_ratings_rank_players_and_intervals_cover_the_truth():
    true = {"w": -1.0, "x": -0.3, "y": 0.2, "z": 1.1}
    centre = sum(true.values()) / len(true)
    rng = np.random.default_rng(0)
    covered = total = ranked = 0
    for rep in range(30):
        ratings = fit(synthetic(true, 15, rng), list(true), n_boot=200, seed=rep)
        ranked += [r.name for r in sorted(ratings, key=lambda r: r.elo)] == list(true)
        for r in ratings:
            elo = 1000 + ELO_PER_NAT * (true[r.name] - centre)
            covered += r.ci95[0] <= elo <= r.ci95[1]
            total += 1
    assert ranked >= 27
    assert 0.85 <= covered / total <= 0.995, covered / total


def test_fit_ignores_game_order():
    games = synthetic({"a": 0.0, "b": 0.5, "c": 1.0}, 6, np.random.default_rng(1))
    shuffled = games[:]
    random.Random(0).shuffle(shuffled)
    one, two = fit(games, n_boot=50), fit(shuffled, n_boot=50)
    assert [round(r.elo, 6) for r in one] == [round(r.elo, 6) for r in two]


def test_soft_outcomes_give_the_matching_elo_gap():
    games = [Game("a", "b", 0.8, str(k)) for k in range(200)]
    a, b = fit(games, n_boot=0)
    assert math.isclose(a.elo - b.elo, 400 * math.log10(0.8 / 0.2), rel_tol=0.01)


def test_an_unbeaten_player_gets_a_finite_rating():
    games = [Game("a", "b", 1.0, str(k)) for k in range(20)]
    a, b = fit(games, n_boot=100)
    assert math.isfinite(a.elo) and a.elo > b.elo and a.ci95[1] < 5000


def per_game_fit(games: list[Game], names: list[str], weight: np.ndarray) -> np.ndarray:
    """The plain textbook fit, one Newton step over a games x players design matrix at a time:
    what the pair-folded, batched fit must reproduce."""
    from debate.stats.ratings import PRIOR_PRECISION

    idx = {n: i for i, n in enumerate(names)}
    x = np.zeros((len(games), len(names)))
    for k, g in enumerate(games):
        x[k, idx[g.a]] += 1.0
        x[k, idx[g.b]] -= 1.0
    score = np.array([g.score_a for g in games])
    theta = np.zeros(len(names))
    for _ in range(100):
        p = 1 / (1 + np.exp(-(x @ theta)))
        grad = x.T @ (weight * (score - p)) - PRIOR_PRECISION * theta
        hess = (x * (weight * p * (1 - p))[:, None]).T @ x + PRIOR_PRECISION * np.eye(len(names))
        step = np.linalg.solve(hess, grad)
        theta += step
        if np.max(np.abs(step)) < 1e-10:
            break
    return theta - theta.mean()


def test_the_batched_fit_matches_the_per_game_fit_and_its_bootstrap():
    rng = np.random.default_rng(3)
    for trial in range(12):
        names = [f"p{i}" for i in range(int(rng.integers(2, 8)))]
        games = []
        for _ in range(int(rng.integers(1, 60))):
            i, j = rng.choice(len(names), 2, replace=False)
            score = float(rng.random() < 0.8) if rng.random() < 0.7 else float(rng.random())
            games.append(Game(names[i], names[j], score, f"item{rng.integers(0, 8)}"))
        ratings = fit(games, names, n_boot=40, seed=trial)
        point = per_game_fit(games, names, np.ones(len(games)))
        groups = sorted({g.group for g in games})
        of = np.array([groups.index(g.group) for g in games])
        draws = np.random.default_rng(trial)
        boots = np.array([
            per_game_fit(games, names, np.bincount(draws.integers(0, len(groups), len(groups)),
                                                   minlength=len(groups))[of].astype(float))
            for _ in range(40)
        ])  # fmt: skip
        lo, hi = np.percentile(boots, [2.5, 97.5], axis=0)
        for k, r in enumerate(ratings):
            elo = 1000 + ELO_PER_NAT * point[k]
            assert math.isclose(r.elo, elo, abs_tol=1e-6)
            assert math.isclose(r.ci95[0], min(1000 + ELO_PER_NAT * lo[k], elo), abs_tol=1e-4)
            assert math.isclose(r.ci95[1], max(1000 + ELO_PER_NAT * hi[k], elo), abs_tol=1e-4)
            assert r.ci95[0] <= r.elo <= r.ci95[1]
