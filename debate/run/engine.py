"""The engine: plans matches and runs many at once.

Each match is an async protocol coroutine that awaits its model calls directly; each model
schedules itself (an API model sends a request as soon as it has a free slot, a local model
batches whatever its callers are waiting on), so there is no central dispatch loop and a slow
request delays only its own match. Randomness comes only from per-match seeds derived from
(run seed, match id), so results do not depend on concurrency or order.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from debate import __version__
from debate.config import AgentConfig, RunConfig
from debate.match.judge import Judge
from debate.match.match import Match
from debate.match.protocol import Protocol
from debate.models import ModelError
from debate.schema import Item, Provenance, Transcript
from debate.seeds import derive_seed, round_s

T = TypeVar("T")


class MatchSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    match_id: str
    item: Item
    assignment: dict[str, int]  # role -> answer index
    agents: dict[str, AgentConfig]  # role -> debater


def assignments(n_answers: int, roles: tuple[str, ...]) -> list[dict[str, int]]:
    """Every way to give the roles distinct answers (for two answers and two debaters: both
    orders, so each debater argues the true and the false answer)."""
    return [dict(zip(roles, p)) for p in itertools.permutations(range(n_answers), len(roles))]


def match_id(
    item: Item, protocol: str, assignment: dict[str, int], agents: dict[str, AgentConfig]
) -> str:
    who = ",".join(
        f"{r}={agents[r].name}" + (f":{assignment[r]}" if r in assignment else "") for r in agents
    )
    return f"{item.id}/{protocol}/{who}" if who else f"{item.id}/{protocol}"


def plan_matches(
    cfg: RunConfig, items: list[Item], protocol: Protocol, lineup: dict[str, AgentConfig]
) -> list[MatchSpec]:
    specs = []
    roles = protocol.roles_for(cfg.protocol)
    for item in items:
        options = assignments(len(item.answers), roles) if protocol.assigned else [{}]
        if cfg.protocol.sides == "random" and protocol.assigned:
            options = [random.Random(derive_seed(cfg.seed, item.id)).choice(options)]
        for a in options:
            specs.append(
                MatchSpec(
                    match_id=match_id(item, protocol.name, a, lineup),
                    item=item,
                    assignment=a,
                    agents={r: lineup[r] for r in roles},
                )
            )
    return specs


def provenance(cfg: RunConfig, spec: MatchSpec, judge: Judge) -> Provenance:
    return Provenance(
        package_version=__version__,
        protocol=cfg.protocol.model_dump(),
        agents={a.name: a.model_dump() for a in spec.agents.values()},
        judge=judge.describe(),
        seed=cfg.seed,
    )


async def gather_limited(coroutines: Iterable[Awaitable[T]], limit: int) -> list[T]:
    """Await coroutines with at most `limit` running at once; results in the given order."""
    slots = asyncio.Semaphore(limit)

    async def one(coro: Awaitable[T]) -> T:
        started = False
        try:
            async with slots:
                started = True
                return await coro
        finally:
            if not started and asyncio.iscoroutine(coro):
                coro.close()  # cancelled while queued (Ctrl-C): no "never awaited" warning

    return list(await asyncio.gather(*(one(c) for c in coroutines)))


class RunAborted(RuntimeError):
    """More matches failed than the run allows; finished matches are already on disk."""


async def play(
    cfg: RunConfig,
    specs: list[MatchSpec],
    protocol: Protocol,
    judge: Judge,
    on_done: Callable[[Transcript], None],
    *,
    stop: Callable[[], str | None] = lambda: None,
) -> None:
    """Run every match, up to `cfg.max_live` at once, each as its own coroutine that awaits
    its model calls where it needs them. `on_done` gets each transcript as soon as its match
    ends, a failed one too (with `error` set; a resumed run plays it again). When more than
    `cfg.max_failures` matches fail, or `stop()` gives a reason, no new match starts; the live
    ones finish and are handed over first."""
    slots = asyncio.Semaphore(cfg.max_live)
    failed: list[str] = []
    halted: list[str] = []
    if reason := stop():  # already over budget (a later stage of a tournament): start nothing
        halted.append(reason)
    first_wave = 0 if halted else cfg.max_live  # matches that start at once, before any news

    async def one(index: int, spec: MatchSpec) -> None:
        async with slots:
            # after a halt only the first wave, already under way, goes on (a match that never
            # waits on anything runs to its end before the next one is looked at)
            if halted and index >= first_wave:
                return
            start = time.perf_counter()
            transcript = Transcript(
                match_id=spec.match_id,
                item=spec.item,
                protocol=protocol.name,
                assignment=spec.assignment,
                agents={r: a.name for r, a in spec.agents.items()},
                provenance=provenance(cfg, spec, judge),
                seed=derive_seed(cfg.seed, spec.match_id),
            )
            try:
                await Match(transcript, cfg, spec.agents, judge).play(protocol.run)
            except Exception as e:  # the match is recorded as failed; the run goes on
                transcript.error = (
                    str(e) if isinstance(e, ModelError) else f"{type(e).__name__}: {e}"
                )
                failed.append(f"{spec.match_id}: {transcript.error}")
                if len(failed) > cfg.max_failures and not halted:
                    halted.append("failures")
            transcript.wall_s = round_s(time.perf_counter() - start)
            on_done(transcript)
            if not halted and (reason := stop()):
                halted.append(reason)

    await asyncio.gather(*(one(i, spec) for i, spec in enumerate(specs)))
    if len(failed) > cfg.max_failures:
        raise RunAborted(
            f"{len(failed)} match(es) failed, more than --max-failures {cfg.max_failures}; "
            f"finished matches are saved and a re-run retries the failed ones. First: {failed[0]}"
        )
