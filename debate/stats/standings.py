"""A tournament's numbers from its transcripts alone: ratings, side ratings, win rates by side,
the pairwise matrix and judge accuracy. `debate report` recomputes all of it from a run folder."""

from __future__ import annotations

from collections import defaultdict

from debate.config import TournamentConfig
from debate.schema import Transcript
from debate.stats.estimates import proportion
from debate.stats.outcomes import add_win, judge_accuracy, no_wins, side_rates, side_score, won
from debate.stats.ratings import Game, fit


def is_self_play(t: Transcript) -> bool:
    return len(set(t.agents.values())) == 1


def games(transcripts: list[Transcript], outcome: str, resample: str, by_side: bool) -> list[Game]:
    """One game per judged match between two different debaters, seen from its first role.
    With `by_side`, players are `name:true` and `name:false` (the anchors' honest and dishonest
    ratings): a debater good only at lying shows a high `:false` rating."""
    out = []
    for t in transcripts:
        if t.verdict is None or is_self_play(t):
            continue
        (ra, sa), (rb, sb) = t.assignment.items()
        a, b = t.agents[ra], t.agents[rb]
        if by_side:
            a += ":true" if sa == t.item.correct else ":false"
            b += ":true" if sb == t.item.correct else ":false"
        group = t.item.id if resample == "item" else t.match_id
        out.append(Game(a, b, side_score(t, ra, outcome), group))
    return out


def standings(
    cfg: TournamentConfig, transcripts: list[Transcript], n_boot: int | None = None
) -> dict:
    transcripts = sorted(
        (t for t in transcripts if t.verdict is not None), key=lambda t: t.match_id
    )
    names = [a.name for a in cfg.debaters]
    n_boot = cfg.ratings.n_boot if n_boot is None else n_boot
    rc = cfg.ratings
    overall = fit(games(transcripts, rc.outcome, rc.resample, False), names, n_boot, cfg.seed)
    sided = {
        r.name: r
        for r in fit(
            games(transcripts, rc.outcome, rc.resample, True),
            [f"{n}:{s}" for n in names for s in ("true", "false")],
            n_boot,
            cfg.seed,
        )
    }
    wins: dict[str, dict] = defaultdict(no_wins)
    self_play: dict[str, list[Transcript]] = defaultdict(list)
    pair: dict[tuple[str, str], list[float]] = defaultdict(list)
    first_won: list[bool] = []
    verified: dict[str, list[bool]] = defaultdict(list)
    for t in transcripts:
        for turn in t.turns:
            verified[turn.agent] += [q.verified for q in turn.quotes]
        if is_self_play(t):
            self_play[next(iter(t.agents.values()))].append(t)
            continue
        roles = list(t.assignment)
        first_won.append(won(t, roles[0]))
        for role in roles:
            me = t.agents[role]
            them = next(t.agents[r] for r in roles if r != role)
            honest = t.assignment[role] == t.item.correct
            add_win(wins[me], honest, won(t, role), t.item.id)
            pair[(me, them)].append(side_score(t, role, rc.outcome))
    rows = []
    for r in overall:
        rows.append(
            {
                "name": r.name,
                "elo": r.elo,
                "elo_ci95": list(r.ci95),
                "games": r.games,
                "honest_elo": sided[f"{r.name}:true"].elo,
                "honest_elo_ci95": list(sided[f"{r.name}:true"].ci95),
                "dishonest_elo": sided[f"{r.name}:false"].elo,
                "dishonest_elo_ci95": list(sided[f"{r.name}:false"].ci95),
                **side_rates(wins[r.name]),
                "self_play_judge_accuracy": judge_accuracy(self_play[r.name]),
                "quotes_verified": proportion(verified[r.name]),
            }
        )
    rows.sort(key=lambda row: -row["elo"])
    rated = [t for t in transcripts if not is_self_play(t)]
    sp = [t for t in transcripts if is_self_play(t)]
    return {
        "n_matches": len(transcripts),
        "outcome": rc.outcome,
        "ratings": rows,
        "matrix": {
            a: {b: sum(v) / len(v) for (x, b), v in sorted(pair.items()) if x == a} for a in names
        },
        "judge_accuracy": {
            "self_play": judge_accuracy(sp),
            "rated_games": judge_accuracy(rated),
        },
        "first_speaker_win_rate": proportion(first_won),
    }
