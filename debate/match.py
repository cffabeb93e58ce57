"""`Match`: what a protocol holds while it runs. A protocol asks it for speeches and a verdict;
the match builds the prompts, checks the evidence, and awaits the model calls. Protocols never
see a model."""

from __future__ import annotations

import asyncio
import hashlib
import time
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import BaseModel

from debate import usage
from debate.config import AgentConfig, RunConfig
from debate.evidence import cut_to_budget, mark_quotes, sanitize, special_tokens_of
from debate.models import Generation, GenerationRequest, LanguageModel, load_model
from debate.prompts import JUDGE, debater_prompt, question_instruction, stated_answer
from debate.registry import get
from debate.schema import Item, Sampling, Transcript, Turn, Verdict

if TYPE_CHECKING:
    from debate.fork import Fork
    from debate.judge import Judge


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts: never Python's salted `hash`, never the global RNG."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


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
        self.forked = forked  # one of a group of forks (debate.fork): what it shares with them

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

    def fork(self, branch: int) -> Match:
        """A copy of this match from here on, with its own seed: the same history, a different
        future in every choice (forks that share their speeches up to a branch point are
        `debate.fork.forks_of`)."""
        t = self.transcript.model_copy(deep=True)
        t.seed = derive_seed(t.seed, "branch", branch)
        return Match(t, self.cfg, self.agents, self.judge)

    async def speak(self, role: str, round: int, *, sees: list[Turn] | None = None) -> Turn:
        """One speech by `role`. `sees` limits the turns it may read (simultaneous debate). A
        speaker with no assigned answer (collaborative debate) states its own, read from the
        speech (`stated_answer`). A fork makes a speech its group has made already only once."""
        seen = list(self.transcript.turns if sees is None else sees)

        def make():
            return self._speech(role, round, seen)

        f = self.forked
        turn = await (f.once("speak", role, round, seen, make) if f else make())
        self.transcript.turns.append(turn)
        return turn

    async def _speech(self, role: str, round: int, seen: list[Turn]) -> Turn:
        if self.agents[role].best_of > 1:
            from debate.best_of_n import speak_best_of_n  # it forks matches: a cycle at import

            return await speak_best_of_n(self, role, round, seen)
        agent, side = self.agents[role], self.transcript.assignment.get(role)
        if agent.chooses() and side is not None:  # evidence action: a chosen passage span
            from debate.actions import choose_speech

            return await choose_speech(self, role, round, seen)
        n_tokens = self.cfg.protocol.speech_tokens
        messages, prefill = self.prompt_for(role, sees=seen)
        request = GenerationRequest(
            prompt=messages,
            prefill=prefill,
            sampling=Sampling(
                temperature=agent.temperature, top_p=agent.top_p, max_new_tokens=n_tokens
            ),
            seed=derive_seed(self.transcript.seed, role, round),
            meta={
                "role": role,
                "item": self.item.id,
                "side": side,
                "round": round,
                "question": self.item.question,
                "answers": self.item.answers,
                "context": self.item.context,
                "deciding": self.item.deciding,
                "correct": self.item.correct,
                **self._pixel_meta(seen),
            },
        )
        start = time.perf_counter()
        model = load_model(agent.model)
        gen = await self._generate(model, request, role, round)
        # A backend may ignore max_tokens: nobody reads more than the budget.
        said, cut_from = cut_to_budget(
            gen.text.removeprefix(prefill), n_tokens, getattr(model, "tokenizer", None)
        )
        text = prefill + said if gen.text.startswith(prefill) else said
        if self.item.metadata.get("evidence") == "pixels":  # an image: pixels, not quotes
            from debate.pixels.evidence import mark_pixels

            shown, quotes = mark_pixels(text, self.item.context)
        else:
            shown, quotes = mark_quotes(
                text,
                self.item.context,
                self.cfg.evidence.quote_threshold,
                item_text=[self.item.question, *self.item.answers],
                special_tokens=self.special_tokens(model),
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
        from debate.pixels.evidence import revealed

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
        view = self.judge.view(self, sees_context=False, labelled=True)
        request = GenerationRequest(
            prompt=self.judge.as_prompt(view, question_instruction()),
            sampling=Sampling(
                temperature=judge.temperature,
                top_p=1.0,
                max_new_tokens=max_tokens,
            ),
            seed=derive_seed(self.transcript.seed, JUDGE, round),
            meta={"role": JUDGE, "asks": True, "round": round, "question": self.item.question},
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
        turn = await (f.once("ask", JUDGE, round, seen, make) if f else make())
        self.transcript.turns.append(turn)
        return turn

    async def decide(self, *, sees_context: bool = False, samples: int = 1) -> Verdict:
        """The judge's verdict. With `judge.orders: both` it judges the transcript once as given
        and once with the two answers swapped, and averages (position bias is then measurable
        and cancels); with `judge.evidence_order: both` it also reads the speeches last to first
        (a small judge sides with what it read last); with `samples` > 1 it asks that many times
        with different seeds."""
        start = time.perf_counter()
        orders = (
            [False, True]
            if self.cfg.judge.orders == "both" and len(self.item.answers) == 2
            else [False]
        )
        readings = [False, True] if self.cfg.judge.evidence_order == "both" else [False]
        asks = [(swap, rev, k) for swap in orders for rev in readings for k in range(samples)]
        with usage.acting_as("judge"):
            return await self._decide(asks, orders, sees_context, start)

    async def _decide(
        self, asks: list[tuple[bool, bool, int]], orders: list[bool], sees_context: bool,
        start: float,
    ) -> Verdict:  # fmt: skip
        if asks == [(False, False, 0)]:
            verdict = await self.judge.decide(self, sees_context=sees_context)
        else:
            got = await asyncio.gather(
                *(self.judge.decide(self._variant(*a), sees_context=sees_context) for a in asks)
            )
            # each verdict back in the original answer order, then averaged per order
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
        verdict.wall_s = round_s(time.perf_counter() - start)
        self.transcript.verdict = verdict
        return verdict

    def _variant(self, swap: bool, reverse: bool, sample: int) -> Match:
        """This match as the judge would see it with the answers listed the other way round
        (sides remapped to match), with the speeches read last to first, and with its own seed
        for sample k."""
        if not swap and not reverse and sample == 0:
            return self
        t = self.transcript.model_copy(deep=True)
        if reverse:
            t.turns.reverse()
        t.seed = derive_seed(t.seed, "judge-sample", sample) if sample else t.seed
        if swap:
            item = t.item
            t.item = item.model_copy(
                update={
                    "answers": item.answers[::-1],
                    "correct": len(item.answers) - 1 - item.correct,
                }
            )
            t.assignment = {r: len(item.answers) - 1 - s for r, s in t.assignment.items()}
            for turn in t.turns:
                if turn.side is not None:
                    turn.side = len(item.answers) - 1 - turn.side
        return Match(t, self.cfg, self.agents, self.judge)


def mean_probs(rows: list[list[float]]) -> list[float]:
    return [sum(col) / len(rows) for col in zip(*rows)]


def round_s(seconds: float) -> float:
    return round(seconds, 4)
