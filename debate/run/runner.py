"""`debate run`: one protocol, one judge, one task, written to a run folder, resumable."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from debate import usage
from debate.config import ConfigError, RunConfig
from debate.match.judge import Judge, make_judge
from debate.match.prompts import STYLES
from debate.match.protocol import Protocol
from debate.models import load_model
from debate.models.providers import is_api
from debate.registry import get
from debate.run.engine import MatchSpec, RunAborted, plan_matches, play
from debate.runfolder import RunFolder, RunFolderError
from debate.schema import Item, Transcript
from debate.stats.estimates import proportion
from debate.stats.outcomes import judge_accuracy, side_wins
from debate.usage import Usage


def load_items(task_name: str, n_items: int, seed: int, params: dict) -> list[Item]:
    task = get("task", task_name)
    try:
        return task(n_items=n_items, seed=seed, **params)
    except TypeError as e:
        raise ConfigError(f"task {task_name!r}: bad params ({e})") from None
    except ValueError as e:
        raise ConfigError(f"task {task_name!r}: {e}") from None


def check_agents(cfg: RunConfig, protocol: Protocol) -> None:
    protocol.parse(cfg.protocol)  # its own options, before anything is written
    names = [a.name for a in cfg.debaters]
    if len(set(names)) != len(names):
        raise ConfigError(f"debater names must be unique, got {names}")
    for a in cfg.debaters:
        if a.prompt_style not in STYLES:
            raise ConfigError(
                f"debater {a.name!r}: unknown prompt_style {a.prompt_style!r}; choose from {STYLES}"
            )
    roles = protocol.roles_for(cfg.protocol)
    if roles and len(cfg.debaters) not in (1, len(roles)):
        raise ConfigError(
            f"protocol {protocol.name!r} has roles {list(roles)}: give one debater "
            f"(it plays every role) or {len(roles)}, not {len(cfg.debaters)}"
        )


def lineup(cfg: RunConfig, protocol: Protocol) -> dict:
    roles = protocol.roles_for(cfg.protocol)
    return {r: cfg.debaters[i % len(cfg.debaters)] for i, r in enumerate(roles)}


def warm_models(specs: set[str]) -> None:
    """Load every model up front: a bad spec fails before any match starts."""
    for s in sorted(specs):
        load_model(s)


@contextmanager
def abandoned_on_failure(folder: RunFolder) -> Iterator[None]:
    """A run that cannot start (a model that does not load, a bad data file) takes back the
    folder it just claimed: bad input leaves nothing behind."""
    try:
        yield
    except BaseException:
        folder.abandon()
        raise


def check_judge_gets(judge: Judge) -> None:
    """A judge that reads log-probabilities fails here, before any match, if its model's server
    gives none (one request asks). A panel's members are checked each."""
    for member in getattr(judge, "members", []):
        check_judge_gets(member)
    if judge.needs:
        asyncio.run(load_model(judge.cfg.model).check_gives(judge.needs))


def check_judged_by(where: object, transcripts: list[Transcript], judge: Judge) -> None:
    """Refuse to put two readings of one judge kind into one result: finished matches that a
    judge of the configured kind recorded under another `kind:...` name were judged another way
    (by a default that changed since, such as the cloze judge's `quotes: auto`)."""
    other = sorted({t.verdict.judge for t in transcripts if t.verdict is not None
                    and t.verdict.judge != judge.name
                    and t.verdict.judge.startswith(f"{judge.cfg.kind}:")})  # fmt: skip
    if other:
        raise RunFolderError(
            f"{where} holds matches judged by {other[0]!r}, and this run's judge is "
            f"{judge.name!r}: its default changed since they were played (a folder written before "
            "judges named their reading cannot say how it was judged); use another --name or --out"
        )


def summarize(transcripts: list[Transcript]) -> dict:
    """Judge accuracy with its interval, and per debater how often it won on each side."""
    judged = [t for t in transcripts if t.verdict is not None]
    names = sorted({name for t in judged for name in t.agents.values()})
    wins = {n: side_wins(judged, lambda t, r, n=n: t.agents[r] == n) for n in names}
    quotes = [q for t in judged for turn in t.turns for q in turn.quotes]
    return {
        "n_matches": len(judged),
        "judge_accuracy": judge_accuracy(judged),
        "mean_p_correct": sum(t.p_correct for t in judged) / len(judged) if judged else None,
        "unparsed_verdicts": sum(not t.verdict.parsed for t in judged),
        "win_rate": {
            name: {
                "as_true": proportion(w["true"]),
                "as_false": proportion(w["false"]),
            }
            for name, w in wins.items()
        },
        "quotes": {
            "n": len(quotes),
            "verified_share": sum(q.verified for q in quotes) / len(quotes) if quotes else None,
        },
        "tokens_out": sum(turn.tokens_out for t in judged for turn in t.turns),
    }


def run(
    cfg: RunConfig,
    on_progress: Callable[[int, int], None] | None = None,
    route: Callable[[MatchSpec, str], MatchSpec] | None = None,
) -> dict:
    """`route`, where given, may reseat each planned match's debaters (training's learner per
    side puts the side arguing the true answer's learner in whichever seat argues it)."""
    protocol: Protocol = get("protocol", cfg.protocol.name)
    check_agents(cfg, protocol)
    RunFolder(cfg.run_dir).refuse_to_overwrite([cfg.task.params.get("path")])
    judge: Judge = make_judge(cfg.judge)
    # best-of-N debaters' preference judges: a bad kind or spec fails before any match starts
    preferences = [make_judge(a.preference) for a in cfg.debaters if a.preference]
    models = {a.model for a in lineup(cfg, protocol).values()}
    models |= judge.models()
    models |= {s for j in preferences for s in j.models()}
    check_budget(cfg, models)
    folder = RunFolder(cfg.run_dir)
    # before any model loads: a folder in use or holding another run is refused at once
    folder.claim(cfg)
    start = time.perf_counter()
    with abandoned_on_failure(folder):
        items = load_items(cfg.task.name, cfg.task.n_items, cfg.task.seed, cfg.task.params)
        warm_models(models)
        for j in [judge, *preferences]:
            check_judge_gets(j)
    load_s = time.perf_counter() - start
    specs = plan_matches(cfg, items, protocol, lineup(cfg, protocol))
    if route is not None:
        specs = [route(s, protocol.name) for s in specs]
    done = {t.match_id: t for t in folder.read_transcripts()}
    check_judged_by(cfg.run_dir, list(done.values()), judge)
    todo = [s for s in specs if s.match_id not in done]
    finished = len(specs) - len(todo)
    if on_progress:
        on_progress(finished, len(specs))

    failed: list[str] = []

    def record(t: Transcript) -> None:
        nonlocal finished
        folder.append(t)
        if t.error:
            failed.append(t.match_id)
            return
        done[t.match_id] = t
        finished += 1
        if on_progress:
            on_progress(finished, len(specs))

    # Billed to this run (and to an enclosing suite's budget, if any); over budget, no further
    # match starts, the finished ones are written and a re-run resumes.
    spent = Usage(
        cfg.prices, max_cost=cfg.max_cost, max_tokens=cfg.max_tokens, parent=usage.current()
    )
    aborted: RunAborted | None = None
    with usage.tracking(spent):
        try:
            asyncio.run(play(cfg, todo, protocol, judge, record, stop=spent.over_budget))
        except RunAborted as e:  # results are still written for what finished
            aborted = e
    wall = time.perf_counter() - start
    results = summarize([done[s.match_id] for s in specs if s.match_id in done])
    results.update(
        {
            "run": cfg.name,
            "protocol": protocol.name,
            "judge": judge.name,
            "skipped_items": getattr(items, "skipped", {}),
            "resumed_matches": len(specs) - len(todo),
            "played_matches": finished - (len(specs) - len(todo)),
            "failed_matches": sorted(failed),
            "unplayed_matches": len(specs) - finished - len(failed),
            "usage": spent.report().model_dump(),
            "wall_s": round(wall, 2),
            "model_load_s": round(load_s, 2),
        }
    )
    folder.write_results(results)
    if aborted is not None:
        raise aborted
    return results


def check_budget(cfg: RunConfig, models: set[str]) -> None:
    """A cost limit needs a price for every model that bills (else it could never trigger)."""
    if cfg.max_cost is None:
        return
    prices = Usage(cfg.prices)
    unpriced = sorted(m for m in models if is_api(m) and prices.price(m) is None)
    if unpriced:
        raise ConfigError(
            f"--max-cost needs a price for every API model; none for {', '.join(unpriced)} "
            "(give --price MODEL=IN/OUT, dollars per million tokens)"
        )


__all__ = ["run", "summarize", "MatchSpec"]
