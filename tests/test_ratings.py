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
