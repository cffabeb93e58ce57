"""`Match`: what a protocol holds while it runs. A protocol asks it for speeches and a verdict;
the match builds the prompts, checks the evidence, and awaits the model calls. Protocols never
see a model."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import BaseModel

from debate import calls, usage
from debate.config import AgentConfig, RunConfig
from debate.evidence import cut_to_budget, mark_quotes, sanitize, special_tokens_of
from debate.match.actions import choose_speech
from debate.match.best_of_n import speak_best_of_n
from debate.match.judge import Case, Judge
from debate.match.prompts import (
    JUDGE,
    debater_prompt,
    question_instruction,
    stated_answer,
    task_meta,
)
from debate.models import Generation, GenerationRequest, LanguageModel, load_model
from debate.pixels.evidence import mark_pixels, revealed
from debate.registry import get
from debate.schema import Item, JudgeView, Sampling, Transcript, Turn, Verdict
from debate.seeds import derive_seed, round_s

if TYPE_CHECKING:
    from debate.match.fork import Fork


class Match:
    def __init__(
        self,
        transcript: Transcript,
        cfg: RunConfig,
        agents: dict[str, AgentConfig],
        judge: Judge,
        forked: Fork | None = None,
    ):
        self.transcript, self.cfg, self.agents = transcript, cfg, agents
        self.judge = judge
        self.forked = (
            forked  # one of a group of forks (debate.match.fork): what it shares with them
        )

    @cached_property
    def options(self) -> BaseModel:
        """The protocol's own options (`protocol.params`, validated by its options model)."""
        return get("protocol", self.cfg.protocol.name).parse(self.cfg.protocol)

    @property
    def item(self) -> Item:
        return self.transcript.item

    @property
    def rounds(self) -> int:
        return self.cfg.protocol.rounds

    @property
    def roles(self) -> list[str]:
        return list(self.agents)

    def prompt_for(self, role: str, *, sees: list[Turn] | None = None) -> tuple[list, str]:
        """The messages and reply prefill `role` would be given now."""
        visible = list(self.transcript.turns if sees is None else sees)
        n_words = max(10, self.cfg.protocol.speech_tokens * 3 // 4)
        side = self.transcript.assignment.get(role)
        return debater_prompt(
            self.item, role, side, visible, self.agents[role].prompt_style, n_words=n_words
        )

    async def play(self, run: Callable[[Match], Awaitable[None]]) -> None:
        """Play a protocol's `run` over this match, every model call it makes on the record of
        the transcript (`Transcript.calls`, `Transcript.models`)."""
        log = calls.CallLog(self.transcript.calls, self.transcript.models)
        with calls.recording(log):
            await run(self)

    def with_(
        self, transcript: Transcript, *, agents: dict[str, AgentConfig] | None = None
    ) -> Match:
        """The same match (config, judge) over another transcript, optionally other agents."""
        return Match(transcript, self.cfg, self.agents if agents is None else agents, self.judge)

    def fork(self, branch: int) -> Match:
        """A copy of this match from here on, with its own seed: the same history, a different
        future in every choice (forks that share their speeches up to a branch point are
        `debate.fork.forks_of`)."""
        t = self.transcript.model_copy(deep=True)
        t.seed = derive_seed(t.seed, "branch", branch)
        return self.with_(t)

    async def speak(self, role: str, round: int, *, sees: list[Turn] | None = None) -> Turn:
        """One speech by `role`. `sees` limits the turns it may read (simultaneous debate). A
        speaker with no assigned answer (collaborative debate) states its own, read from the
        speech (`stated_answer`). A fork makes a speech its group has made already only once."""
        seen = list(self.transcript.turns if sees is None else sees)

        def make():
            return self._speech(role, round, seen)

        f = self.forked
        with calls.speaking_as(role):
            turn = await (f.once("speak", role, round, seen, make) if f else make())
        self.transcript.turns.append(turn)
        return turn

    async def _speech(self, role: str, round: int, seen: list[Turn]) -> Turn:
        if self.agents[role].best_of > 1:
            return await speak_best_of_n(self, role, round, seen)
        agent, side = self.agents[role], self.transcript.assignment.get(role)
        if agent.chooses() and side is not None:  # evidence action: a chosen passage span
            return await choose_speech(self, role, round, seen)
        n_tokens = self.cfg.protocol.speech_tokens
        messages, prefill = self.prompt_for(role, sees=seen)
        model = load_model(agent.model)
        request = GenerationRequest(
            prompt=messages,
            prefill=prefill,
            sampling=Sampling(
                temperature=agent.temperature, top_p=agent.top_p, max_new_tokens=n_tokens
            ),
            seed=derive_seed(self.transcript.seed, role, round),
            meta={
                **task_meta(model, self.item, role, side=side, round=round),
                **(self._pixel_meta(seen) if model.reads_task else {}),
            },
        )
        start = time.perf_counter()
        gen = await self._generate(model, request, role, round)
        # A backend may ignore max_tokens: nobody reads more than the budget.
        said, cut_from = cut_to_budget(
            gen.text.removeprefix(prefill), n_tokens, getattr(model, "tokenizer", None)
        )
        text = prefill + said if gen.text.startswith(prefill) else said
        if self.item.metadata.get("evidence") == "pixels":  # an image: pixels, not quotes
            shown, quotes = mark_pixels(text, self.item.context)
        else:
            shown, quotes = mark_quotes(
                text,
                self.item.context,
                self.cfg.evidence.quote_threshold,
                item_text=[self.item.question, *self.item.answers],
                special_tokens=self.special_tokens(model),
                fragments=self.cfg.evidence.fragments,
            )
        if side is None:
            side = stated_answer(text, self.item.answers)
        turn = Turn(
            speaker=role,
            agent=agent.name,
            side=side,
            round=round,
            text=text,
            shown=shown,
            quotes=quotes,
            tokens_in=gen.tokens_in,
            tokens_out=n_tokens if cut_from else gen.tokens_out,
            wall_s=round_s(time.perf_counter() - start),
            truncated_from=cut_from,
        )
        return turn

    def _pixel_meta(self, seen: list[Turn]) -> dict:
        """For a pixel debater (debate.pixels): the pixels shown so far, (position, level)."""
        if self.item.metadata.get("evidence") != "pixels":
            return {}
        return {"revealed": revealed(seen)}

    async def _generate(
        self, model: LanguageModel, request: GenerationRequest, role: str, round: int
    ) -> Generation:
        if self.forked is not None and self.forked.at(role, round):
            return await self.forked.branch_point(model, request)
        [gen] = await model.generate([request])
        return gen

    def special_tokens(self, speaker_model: object) -> frozenset[str]:
        """Token strings that must not reach a model as tokens: the speaker's and the judge's
        (a judge that calls no model, like the oracle, adds none)."""
        specials = special_tokens_of(speaker_model)
        for spec in self.judge.models():
            specials |= special_tokens_of(load_model(spec))
        return specials

    async def ask(self, round: int, *, max_tokens: int = 32) -> Turn:
        """The judge's question to the debaters (interactive debate), written by the judge's
        model from its usual view; every later speech reads it."""
        judge, seen = self.judge.cfg, list(self.transcript.turns)
        view = self.judge.view(self.case(), labelled=True)
        request = GenerationRequest(
            prompt=self.judge.as_prompt(view, question_instruction()),
            sampling=Sampling(
                temperature=judge.temperature,
                top_p=1.0,
                max_new_tokens=max_tokens,
            ),
            seed=derive_seed(self.transcript.seed, JUDGE, round),
            meta=task_meta(load_model(judge.model), self.item, JUDGE, asks=True, round=round),
        )

        async def make() -> Turn:
            start = time.perf_counter()
            [gen] = await load_model(judge.model).generate([request])
            return Turn(
                speaker=JUDGE,
                agent=self.judge.name,
                side=None,
                round=round,
                text=gen.text,
                shown=sanitize(gen.text.strip(), self.special_tokens(load_model(judge.model))),
                tokens_in=gen.tokens_in,
                tokens_out=gen.tokens_out,
                wall_s=round_s(time.perf_counter() - start),
            )

        f = self.forked
        with calls.speaking_as(calls.role_within(JUDGE)):
            turn = await (f.once("ask", JUDGE, round, seen, make) if f else make())
        self.transcript.turns.append(turn)
        return turn

    def case(self, *, sees_context: bool = False, sees: list[Turn] | None = None) -> Case:
        """What the judge decides now: the item and the speeches it may read (`sees` narrows
        them; by default every turn so far)."""
        turns = [t.model_copy(deep=True) for t in (self.transcript.turns if sees is None else sees)]
        return Case(
            self.item,
            turns,
            sees_context=sees_context,
            seed=self.transcript.seed,
            fragments=self.cfg.evidence.fragments,
        )

    async def decide(
        self, *, sees_context: bool = False, samples: int = 1, sees: list[Turn] | None = None
    ) -> Verdict:
        """The judge's verdict on the speeches it may read (`sees`: by default every one). With
        `judge.orders: both` it judges them once as given and once with the two answers
        swapped, and averages (position bias is then measurable and cancels); with
        `judge.evidence_order: both` it also reads the speeches last to first (a small judge
        sides with what it read last); with `samples` > 1 it asks that many times with
        different seeds. Every view the judge read is kept on the verdict (`Verdict.views`)."""
        start = time.perf_counter()
        orders = (
            [False, True]
            if self.cfg.judge.orders == "both" and len(self.item.answers) == 2
            else [False]
        )
        readings = [False, True] if self.cfg.judge.evidence_order == "both" else [False]
        asks = [(swap, rev, k) for swap in orders for rev in readings for k in range(samples)]
        case = self.case(sees_context=sees_context, sees=sees)
        cases = [variant(case, *a) for a in asks]
        with usage.acting_as("judge"), calls.speaking_as(calls.role_within(JUDGE)):
            got = await asyncio.gather(*(self.judge.decide(c) for c in cases))
        verdict = combine(got, asks, orders)
        verdict.views = [
            JudgeView(swapped=swap, reversed=rev, sample=k, answers=c.item.answers, texts=c.views)
            for (swap, rev, k), c in zip(asks, cases)
        ]
        verdict.wall_s = round_s(time.perf_counter() - start)
        self.transcript.verdict = verdict
        return verdict


def members_text(members: list[Verdict]) -> str:
    """A panel's verdict text: each member's probabilities (or that it was unread)."""
    return "; ".join(
        f"{v.judge}: {'unparsed' if not v.parsed else ', '.join(f'{p:.2f}' for p in v.probs)}"
        for v in members
    )


def combine(got: list[Verdict], asks: list[tuple[bool, bool, int]], orders: list[bool]) -> Verdict:
    """One verdict from the judge's readings (`asks`: swapped, reversed, sample): each put back
    in the original answer order, averaged per answer order, then over the orders. A panel's
    members are combined the same way, each keeping its views marked by reading."""
    if len(got) == 1:
        return got[0]
    probs = [v.probs[::-1] if a[0] else v.probs for v, a in zip(got, asks)]
    by_order = [mean_probs([p for p, a in zip(probs, asks) if a[0] == o]) for o in orders]
    verdict = Verdict(
        probs=mean_probs(by_order),
        judge=got[0].judge,
        parsed=all(v.parsed for v in got),
        raw=got[0].raw,
        calls=sum(v.calls for v in got),
        order_probs=by_order if len(orders) > 1 else [],
    )
    n = len(got[0].members)
    if n and all(len(v.members) == n for v in got):
        for k in range(n):
            member = combine([v.members[k] for v in got], asks, orders)
            member.views = [
                view.model_copy(update={"swapped": a[0], "reversed": a[1], "sample": a[2]})
                for v, a in zip(got, asks)
                for view in v.members[k].views
            ]
            verdict.members.append(member)
        verdict.raw = members_text(verdict.members)  # the pooled readings, not the first one
    return verdict


def variant(case: Case, swap: bool, reverse: bool, sample: int) -> Case:
    """The case as the judge reads it with the answers listed the other way round (sides
    remapped to match), with the speeches read last to first, and with its own seed for
    sample k."""
    if not swap and not reverse and sample == 0:
        return case
    n = len(case.item.answers)
    turns = [t.model_copy(deep=True) for t in case.turns]
    item = case.item
    if reverse:
        turns.reverse()
    if swap:
        item = item.model_copy(
            update={"answers": item.answers[::-1], "correct": n - 1 - item.correct}
        )
        for turn in turns:
            if turn.side is not None:
                turn.side = n - 1 - turn.side
    seed = derive_seed(case.seed, "judge-sample", sample) if sample else case.seed
    return Case(item, turns, sees_context=case.sees_context, seed=seed, fragments=case.fragments)


def mean_probs(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(rows) for col in zip(*rows)]
