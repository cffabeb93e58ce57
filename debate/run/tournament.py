"""`debate tournament`: several debaters, one protocol, one judge; who persuades, and does
persuasion serve the truth?

Schedules:
- `round-robin`: every ordered pair of debaters (so each speaks first and second against each
  opponent), each pairing on every item with both assignments of answers (each argues the true
  and the false answer against each opponent on the same items).
- `swiss`: for many debaters. In each round debaters are paired with a neighbour in the current
  ratings (never the same pair twice while a fresh one is left) and play a few items both ways.
- `self_play` (on by default, with either schedule): each debater against itself, for the
  judge-accuracy measure. These games carry no rating information and are left out of ratings.

Everything a round needs is derived from the run seed and the games already finished, so a
resumed tournament plans exactly the matches an uninterrupted one would.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable

from debate import usage
from debate.config import (
    AgentConfig,
    ConfigError,
    TournamentConfig,
)
from debate.match.judge import make_judge
from debate.match.prompts import STYLES
from debate.match.protocol import Protocol
from debate.registry import get
from debate.run.engine import MatchSpec, plan_matches, play
from debate.run.runner import (
    abandoned_on_failure,
    check_budget,
    check_judge_gets,
    load_items,
    warm_models,
)
from debate.runfolder import RunFolder
from debate.schema import Item, Transcript
from debate.seeds import derive_seed
from debate.stats.standings import standings
from debate.usage import Usage


def check(cfg: TournamentConfig, protocol: Protocol) -> None:
    protocol.parse(cfg.protocol)  # its own options, before anything is written
    names = [a.name for a in cfg.debaters]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ConfigError(f"debater named more than once: {', '.join(twice)}")
    if len(names) < 2:
        raise ConfigError(f"a tournament needs at least two debaters, got {len(names)}")
    roles = protocol.roles_for(cfg.protocol)
    if len(roles) != 2 or not protocol.assigned:
        raise ConfigError(
            f"protocol {protocol.name!r} is not a debate of two opposed debaters; a tournament "
            "needs one (sequential, simultaneous or interactive)"
        )
    for a in cfg.debaters:
        if a.prompt_style not in STYLES:
            raise ConfigError(
                f"debater {a.name!r}: unknown prompt_style {a.prompt_style!r}; choose from {STYLES}"
            )


def pairing_matches(
    cfg: TournamentConfig, items: list[Item], protocol: Protocol, x: AgentConfig, y: AgentConfig
) -> list[MatchSpec]:
    """x and y on these items, each speaking first once, each arguing both answers."""
    orders = [(x, y)] if x.name == y.name else [(x, y), (y, x)]
    first, second = protocol.roles_for(cfg.protocol)
    return [s for p, q in orders for s in plan_matches(cfg, items, protocol, {first: p, second: q})]


def self_play_matches(cfg, items, protocol) -> list[MatchSpec]:
    if not cfg.schedule.self_play:
        return []
    return [s for a in cfg.debaters for s in pairing_matches(cfg, items, protocol, a, a)]


def round_robin(cfg, items, protocol) -> list[MatchSpec]:
    pairs = itertools.combinations(cfg.debaters, 2)
    return [s for x, y in pairs for s in pairing_matches(cfg, items, protocol, x, y)]


def swiss_pairs(order: list[str], played: set[frozenset[str]]) -> list[tuple[str, str]]:
    """Pair neighbours in `order` (best first), skipping pairs already played while an unplayed
    partner is left; with an odd count the last one sits the round out."""
    left, pairs = list(order), []
    while len(left) >= 2:
        x = left.pop(0)
        fresh = [y for y in left if frozenset((x, y)) not in played]
        y = (fresh or left)[0]
        left.remove(y)
        pairs.append((x, y))
    return pairs


def swiss_round(
    cfg: TournamentConfig, items: list[Item], protocol: Protocol, r: int, done: list[Transcript]
) -> list[MatchSpec]:
    """Round r's matches, planned from the games finished in rounds before it."""
    by_name = {a.name: a for a in cfg.debaters}
    rng = random.Random(derive_seed(cfg.seed, "swiss", r))
    if r == 0:
        order = sorted(by_name)
        rng.shuffle(order)
    else:
        table = standings(cfg, done, n_boot=0)["ratings"]
        elo = {row["name"]: row["elo"] for row in table}
        # ties broken by a seeded draw, so equal ratings do not always pair the same way
        tiebreak = {n: rng.random() for n in sorted(by_name)}
        order = sorted(by_name, key=lambda n: (-elo[n], tiebreak[n]))
    played = {frozenset(t.agents.values()) for t in done if len(set(t.agents.values())) == 2}
    k = cfg.schedule.swiss_items_per_round
    chosen = [items[(r * k + j) % len(items)] for j in range(min(k, len(items)))]
    return [
        s
        for x, y in swiss_pairs(order, played)
        for s in pairing_matches(cfg, chosen, protocol, by_name[x], by_name[y])
    ]


def run_tournament(
    cfg: TournamentConfig, on_progress: Callable[[int, int], None] | None = None
) -> dict:
    from debate.present.report import ReportError, check_outputs, write_outputs

    protocol: Protocol = get("protocol", cfg.protocol.name)
    check(cfg, protocol)
    RunFolder(cfg.run_dir).refuse_to_overwrite([cfg.task.params.get("path")])
    judge = make_judge(cfg.judge)
    models = {a.model for a in cfg.debaters}
    models |= judge.models()
    check_budget(cfg, models)
    folder = RunFolder(cfg.run_dir)
    # before any model loads: a folder in use or holding another run is refused at once
    folder.claim(cfg)
    start = time.perf_counter()
    with abandoned_on_failure(folder):
        check_outputs(folder.path)  # a blocked report path fails now, not after every match
        items = load_items(cfg.task.name, cfg.task.n_items, cfg.task.seed, cfg.task.params)
        warm_models(models)
        check_judge_gets(judge)
    done = {t.match_id: t for t in folder.read_transcripts()}
    stats = {"played": 0, "resumed": 0}

    n_pairs = len(cfg.debaters) // 2
    per_round = n_pairs * 4 * min(cfg.schedule.swiss_items_per_round, len(items))
    fixed = self_play_matches(cfg, items, protocol)
    if cfg.schedule.kind == "round-robin":
        fixed = round_robin(cfg, items, protocol) + fixed
        total = len(fixed)
    else:
        total = len(fixed) + cfg.schedule.swiss_rounds * per_round
    progress = {"n": 0}
    spent = Usage(
        cfg.prices, max_cost=cfg.max_cost, max_tokens=cfg.max_tokens, parent=usage.current()
    )

    resumed = set(done)  # finished before this command (a swiss round may meet a game again)
    failed: list[str] = []

    def stage(specs: list[MatchSpec]) -> list[Transcript]:
        todo = [s for s in specs if s.match_id not in done]
        stats["resumed"] += sum(s.match_id in resumed for s in specs)
        progress["n"] += len(specs) - len(todo)
        if on_progress:
            on_progress(progress["n"], total)

        def record(t: Transcript) -> None:
            folder.append(t)
            if t.error:
                failed.append(t.match_id)
                return
            done[t.match_id] = t
            stats["played"] += 1
            progress["n"] += 1
            if on_progress:
                on_progress(progress["n"], total)

        if todo:
            with usage.tracking(spent):
                asyncio.run(play(cfg, todo, protocol, judge, record, stop=spent.over_budget))
        return [done[s.match_id] for s in specs if s.match_id in done]

    ordered = stage(fixed)
    if cfg.schedule.kind == "swiss":
        for r in range(cfg.schedule.swiss_rounds):
            ordered += stage(swiss_round(cfg, items, protocol, r, ordered))
        # a late round may meet an old pair on an item they already played: the same game
        ordered = list({t.match_id: t for t in ordered}.values())
    results = standings(cfg, ordered)
    results.update(
        {
            "tournament": cfg.name,
            "schedule": cfg.schedule.kind,
            "played_matches": stats["played"],
            "resumed_matches": stats["resumed"],
            "wall_s": round(time.perf_counter() - start, 2),
            "failed_matches": sorted(failed),
            "usage": spent.report().model_dump(),
        }
    )
    folder.write_results(results)  # first: a report that cannot be drawn costs no results
    try:
        write_outputs(folder.path, cfg, ordered, results)
    except ReportError as e:
        results["report_error"] = str(e)
    return results
