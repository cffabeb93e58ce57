"""Deterministic debaters for tests and baselines. They read the structured `meta` of a request."""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
from pathlib import Path

from debate.evidence import sentences
from debate.models.base import Generation, GenerationRequest, LanguageModel, ModelError, Prompt
from debate.schema import names_answer


def _claim(meta: dict) -> str:
    return f"The answer is {meta['answers'][meta['side']]}."


def honest(meta: dict, rng: random.Random) -> str:
    """Quotes real sentences only: the deciding ones when they support its side, else the best
    sentence that mentions its answer."""
    side, answers = meta["side"], meta["answers"]
    support = [s for s in meta.get("deciding", []) if names_answer(s, answers[side])]
    if not support:
        support = [s for s in sentences(meta["context"]) if names_answer(s, answers[side])][:1]
    quotes = " ".join(f"<quote>{s}</quote>" for s in support)
    return f"{_claim(meta)} The passage says: {quotes}" if quotes else _claim(meta)


def liar(meta: dict, rng: random.Random) -> str:
    """Fabricates evidence: a deciding sentence with the true answer swapped for its own."""
    side, answers, correct = meta["side"], meta["answers"], meta.get("correct", meta["side"])
    deciding = meta.get("deciding") or sentences(meta["context"])[:1]
    forged = [
        re.sub(rf"\b{re.escape(answers[correct])}(?=(?:e?s)?\b)", answers[side], s, flags=re.I)
        for s in deciding
    ]
    return f"{_claim(meta)} The passage says: " + " ".join(f"<quote>{s}</quote>" for s in forged)


def random_quoter(meta: dict, rng: random.Random) -> str:
    """Quotes one passage sentence picked at random: real evidence, rarely relevant."""
    pool = sentences(meta["context"]) or [""]
    return f"{_claim(meta)} The passage says: <quote>{rng.choice(pool)}</quote>"


def asserter(meta: dict, rng: random.Random) -> str:
    """Claims its answer with no evidence at all."""
    return _claim(meta)


AGENTS = {"honest": honest, "liar": liar, "random": random_quoter, "assert": asserter}
# Faulty agents for tests of how a run survives its models: they argue like `honest`, except
# `flaky`: the first time an instance is asked to argue an item's first answer, the request
#   fails for good (as an API call does once its retries are spent); asked again (a resumed run
#   in the same process), it answers;
# `stall`: its replies arguing an item's first answer wait until `release_stalled()`, like a
#   server that holds some connections open.
FAULTY = {"flaky", "stall"}
_stall_released = threading.Event()


def release_stalled() -> None:
    _stall_released.set()


def stall_again() -> None:
    _stall_released.clear()


def own_answer(name: str, meta: dict, rng: random.Random) -> int:
    """The answer an agent with no assigned side stands for (collaborative debate)."""
    correct, n = meta["correct"], len(meta["answers"])
    if name == "honest":
        return correct
    if name == "liar":
        return rng.choice([i for i in range(n) if i != correct])
    return rng.randrange(n)


QUESTION = "Which sentence of the passage settles the question?"


class Script:
    """`scripted:say@FILE`: says fixed text, for red-teaming the harness with attack speeches.
    FILE is JSON: {"ITEM_ID": "text" or {"ROLE": "text"}, "*": "text said otherwise"}; a
    request with no item (a judge's verdict) gets "*" too."""

    def __init__(self, path: str):
        file = Path(path).expanduser()
        try:
            self.lines = json.loads(file.read_text())
        except (OSError, ValueError) as e:
            raise ModelError(f"scripted:say needs a readable JSON file: {e}") from None
        if not isinstance(self.lines, dict):
            raise ModelError(f"scripted:say: {file} must hold a JSON object")

    def __call__(self, meta: dict) -> str:
        said = self.lines.get(str(meta.get("item")), self.lines.get("*", ""))
        return said.get(meta.get("role"), said.get("*", "")) if isinstance(said, dict) else said


class ScriptedModel(LanguageModel):
    reads_task = True

    def __init__(self, spec: str, name: str):
        kind, _, path = name.partition("@")
        self.spec, self.name = spec, kind
        # `say` only: every prompt it was given, in order (what a speaker or a judge read)
        self.prompts: list[Prompt] = []
        self._failed: set[tuple[str, str]] = set()  # flaky: (question, passage) it failed once
        if kind == "say" and path:
            self._say: Script | None = Script(path)
            return
        self._say = None
        if name not in AGENTS and name not in FAULTY:
            known = sorted([*AGENTS, *FAULTY])
            raise ModelError(f"unknown scripted agent {name!r}; choose from {known} or say@FILE")
        self._policy = AGENTS.get(name, honest)

    async def _fault(self, r: GenerationRequest) -> None:
        if r.meta.get("side") != 0:
            return
        if self.name == "flaky":
            key = (r.meta["question"], r.meta["context"])
            if key not in self._failed:
                self._failed.add(key)
                raise ModelError(f"{self.spec}: the server failed for good (scripted fault)")
        if self.name == "stall":
            while not _stall_released.is_set():
                await asyncio.sleep(0.01)

    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        out = []
        for r in requests:
            await self._fault(r)
            if self._say is not None:
                self.prompts.append(r.prompt)
                text = self._say(r.meta)
            elif r.meta.get("asks"):  # the judge's question in interactive debate
                text = QUESTION
            elif "side" not in r.meta:
                raise ModelError(
                    f"{self.spec} can only act as a debater (it needs an assigned side)"
                )
            elif r.meta["side"] is None:  # collaborative: takes a side, then argues and states it
                side = own_answer(self.name, r.meta, random.Random(r.seed ^ 1))
                meta = {**r.meta, "side": side}
                text = f"{self._policy(meta, random.Random(r.seed))} Final answer: {meta['answers'][side]}"
            else:
                text = self._policy(r.meta, random.Random(r.seed))
            out.append(Generation(text=text, tokens_out=len(text.split())))
        return out
