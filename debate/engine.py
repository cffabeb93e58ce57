"""The engine: plans matches, runs many at once, and batches their model calls.

Each match is an async protocol coroutine. Up to `max_live` are in flight; between dispatches
every coroutine runs until it waits on a model, so the batcher sends each backend the requests
of all live matches as one batch. Randomness comes only from per-match seeds derived from
(run seed, match id), so results do not depend on concurrency or order.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from debate import __version__
from debate.batching import Batcher
from debate.config import AgentConfig, RunConfig
from debate.match import Match, derive_seed, round_s
from debate.schema import Item, Provenance, Transcript
from judges.base import Judge
from protocols.base import Protocol

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


async def drive(
    coroutines: Iterator[Awaitable[T]],
    max_live: int,
    batcher: Batcher,
    on_done: Callable[[T], None] = lambda _: None,
) -> None:
    """Run coroutines that wait on the batcher, up to `max_live` at once. Between dispatches
    each runs until it waits on a model, so every batch holds the requests of all of them."""
    live: set[asyncio.Future] = set()
    try:
        while True:
            while len(live) < max_live and (coro := next(coroutines, None)) is not None:
                live.add(asyncio.ensure_future(coro))
            if not live:
                break
            await batcher.settle()
            for task in [t for t in live if t.done()]:
                live.discard(task)
                on_done(task.result())  # a failure raises here and stops the run
            if live and not await batcher.dispatch_one():
                await asyncio.wait(live, timeout=0.01, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in live:
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)


async def play(
    cfg: RunConfig,
    specs: list[MatchSpec],
    protocol: Protocol,
    judge: Judge,
    on_done: Callable[[Transcript], None],
    batcher: Batcher | None = None,
) -> Batcher:
    """Run every match; `on_done` gets each transcript as soon as its match ends."""
    batcher = batcher or Batcher()

    async def one(spec: MatchSpec) -> Transcript:
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
        await protocol.run(Match(transcript, cfg, spec.agents, judge, batcher))
        transcript.wall_s = round_s(time.perf_counter() - start)
        return transcript

    await drive((one(spec) for spec in specs), cfg.max_live, batcher, on_done)
    return batcher
