"""Forks of one match that share everything before a branch point (for training).

A group of forks is the same match (item, sides, players, seed) played several times by its
protocol. A request that is the same in every fork (the same speaker and round, reading the same
speeches) is made once and its turn shared: only the branch point, one speaker's free-text speech
in one round, is made by each fork for itself, sampled with the fork's own seed or given (a
trainer's completion). What follows differs only where the histories do. The protocol decides who
speaks when, so this works for any of them (sequential, simultaneous, consultancy, interactive)
without replaying a speaking order by hand.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from debate import calls
from debate.match.match import Match
from debate.models import Generation, GenerationRequest, LanguageModel
from debate.models.base import render_plain
from debate.schema import Turn
from debate.seeds import derive_seed

Point = tuple[str, int]  # (role, round)


class Stop(Exception):
    """Raised at the branch point of a fork told to stop there: a stem, the match up to the
    policy's speech, for a trainer to complete. Its prompt is on the fork."""


def request_key(kind: str, role: str, round: int, seen: list[Turn]) -> str:
    """Names a request by what decides it besides what the forks have in common (item, sides,
    players, seed): who asks, when, and the speeches read as prompts show them (`shown`: two
    speeches whose raw text differs but reads the same make the same request). Two forks with
    the same key would make the same request."""
    what = [kind, role, round, [[t.speaker, t.round, t.side, t.shown] for t in seen]]
    return hashlib.sha256(json.dumps(what).encode()).hexdigest()[:32]


@dataclass
class Shared:
    """What the forks of a group share: the branch point, and every turn made so far by key (a
    task while it is being made; a finished turn when replayed from a stem)."""

    at: Point
    made: dict[str, Turn | asyncio.Task] = field(default_factory=dict)
    logs: dict[str, calls.CallLog] = field(default_factory=dict)  # the calls behind each turn

    async def once(self, key: str, make: Callable[[], Awaitable[Turn]]) -> Turn:
        got = self.made.get(key)
        if got is None:
            log = self.logs[key] = calls.CallLog()

            async def made() -> Turn:
                with calls.recording(log):  # the calls go on every fork's record, not one's
                    return await make()

            # a task of its own: a fork that stops waiting (a stem at its branch point) does not
            # cancel a speech its siblings are waiting for
            got = self.made[key] = asyncio.ensure_future(made())
        turn = got if isinstance(got, Turn) else await asyncio.shield(got)
        if key in self.logs:
            calls.add(self.logs[key])
        return turn.model_copy(deep=True)  # each fork owns its turns

    async def settle(self) -> None:
        """Wait for every turn still being made, so that none is left running."""
        await asyncio.gather(*(t for t in self.made.values() if not isinstance(t, Turn)),
                             return_exceptions=True)  # fmt: skip

    def turns(self) -> dict[str, Turn]:
        """Every turn made, by key (what a stem keeps so a replay makes none of them again)."""
        out = {}
        for key, got in self.made.items():
            if isinstance(got, Turn):
                out[key] = got
            elif got.done() and not got.cancelled() and got.exception() is None:
                out[key] = got.result()
        return out


@dataclass
class Fork:
    """One match of a group. At the branch point it samples with its own seed (branch 0 keeps
    the match's seed, so it speaks as the match unforked would), or says `say`, or stops."""

    shared: Shared
    branch: int = 0
    say: str | None = None
    stop: bool = False
    prompt: str = ""  # exactly the text the speaker continued at the branch point
    prefill: str = ""

    def at(self, role: str, round: int) -> bool:
        return (role, round) == self.shared.at

    async def once(
        self,
        kind: str,
        role: str,
        round: int,
        seen: list[Turn],
        make: Callable[[], Awaitable[Turn]],
    ) -> Turn:
        """The turn `make` makes: the fork's own at the branch point, else the group's."""
        if self.at(role, round):
            return await make()
        return await self.shared.once(request_key(kind, role, round, seen), make)

    async def branch_point(self, model: LanguageModel, request: GenerationRequest) -> Generation:
        """The branch point's model call (a free-text speech), as this fork makes it."""
        self.prefill = request.prefill
        self.prompt = getattr(model, "render", render_plain)(request.prompt) + request.prefill
        if self.stop:
            raise Stop
        if self.say is not None:
            return Generation(text=request.prefill + self.say, tokens_out=count(model, self.say))
        if self.branch:
            seed = derive_seed(request.seed, "branch", self.branch)
            request = request.model_copy(update={"seed": seed})
        [gen] = await model.generate([request])
        return gen


def forks_of(m: Match, at: Point, n: int) -> list[Match]:
    """`n` forks of `m` as it stands, sharing what comes before `at`."""
    shared = Shared(at)
    return [
        Match(m.transcript.model_copy(deep=True), m.cfg, m.agents, m.judge, forked=Fork(shared, b))
        for b in range(n)
    ]


def count(model: object, text: str) -> int:
    """Tokens in `text` by the model's tokenizer; words for a model without one."""
    tok = getattr(model, "tokenizer", None)
    return len(tok(text, add_special_tokens=False)["input_ids"]) if tok else len(text.split())
