"""Evidence actions: a speech built around a passage span the debater chooses by its own scores.

A small model rarely copies the passage word for word when it writes freely, so the judge, who
reads only verified quotes, mostly sees nothing. Here the debater does not write the quote; it
chooses one of the passage's sentences. Each sentence gets a score, the choice is sampled from
softmax(score / temperature) with a per-request seed, and the turn records the spans, scores,
distribution, chosen index and its log-probability (`Turn.choice`), which is what training
updates. The speech then goes through the same quote checks as any other.

Scores (`AgentConfig.choose_by`):
- `self`: log p(span | the debater's own side prompt + "<quote>"), one prompt, many
  continuations, scored by the debater's model: the choice is the policy's and can be trained;
- `judge`: the match judge's probability for the debater's answer with the span added to what it
  has read: best-of-n against a known judge;
- `blind`: the same, read by the debater's own model as a cloze judge without the passage.
"""

from __future__ import annotations

import asyncio
import copy
import math
import random
import re
import time
from functools import cache
from typing import TYPE_CHECKING

from debate.config import JudgeConfig
from debate.evidence import Passage, check_quote, mark_quotes, sentences
from debate.match.prompts import task_meta
from debate.models import GenerationRequest, ScoreRequest, load_model
from debate.models.base import render_plain
from debate.schema import Sampling, SpanChoice, Turn
from debate.seeds import derive_seed, round_s

if TYPE_CHECKING:
    from debate.match.judge import Judge
    from debate.match.match import Match

QUOTE = "<quote>"


def passage_spans(passage: str, unit: str = "sentences") -> list[str]:
    """The passage's sentences, in order, each once. With `clauses`, each sentence is followed by
    its clauses (split at , ; :) that verify as quotes on their own: a clause that would leave
    out a negation of its sentence does not, and is not offered."""
    whole = list(dict.fromkeys(sentences(passage)))
    if unit == "sentences":
        return whole
    read = Passage(passage)
    spans = []
    for sentence in whole:
        spans.append(sentence)
        clauses = [c.strip().rstrip(",;:") for c in re.split(r"(?<=[,;:])\s+", sentence)]
        if len(clauses) > 1:
            spans += [c for c in clauses if c and check_quote(c, read).verified]
    return list(dict.fromkeys(spans))


def choice_distribution(scores: list[float], temperature: float) -> list[float]:
    """softmax(scores / temperature); temperature 0 puts all mass on the first best score."""
    if temperature <= 0:
        best = max(range(len(scores)), key=scores.__getitem__)
        return [float(i == best) for i in range(len(scores))]
    top = max(scores)
    exps = [math.exp((s - top) / temperature) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def sample_index(probs: list[float], seed: int) -> int:
    return random.Random(seed).choices(range(len(probs)), weights=probs)[0]


def render_prompt(spec: str, messages) -> str:
    """The exact text the debater's model continues: its chat template, then the quote tag."""
    model = load_model(spec)
    render = getattr(model, "render", render_plain)
    return render(messages) + QUOTE


async def self_scores(m: Match, role: str, sees: list[Turn] | None, spans: list[str]) -> list:
    agent = m.agents[role]
    messages, _ = m.prompt_for(role, sees=sees)
    prompt = render_prompt(agent.model, messages)
    reqs = [ScoreRequest(prompt=prompt, continuation=s) for s in spans]
    scores = await load_model(agent.model).score(reqs)
    return [s.logprob for s in scores]


@cache
def blind_judge(model: str) -> Judge:
    from debate.match.judge import make_judge

    return make_judge(JudgeConfig(kind="cloze", model=model, reads="evidence"))


def with_quote(m: Match, role: str, side: int, round: int, span: str) -> Match:
    """This match as it would stand had `role` just quoted `span` (for the judge to read)."""
    t = m.transcript.model_copy(deep=True)
    text = f"{QUOTE}{span}</quote>"
    shown, quotes = mark_quotes(text, m.item.context, m.cfg.evidence.quote_threshold)
    t.turns.append(Turn(speaker=role, agent=m.agents[role].name, side=side, round=round,
                        text=text, shown=shown, quotes=quotes))  # fmt: skip
    variant = copy.copy(m)
    variant.transcript = t
    return variant


async def judge_scores(m: Match, role: str, side: int, round: int, spans: list[str], judge):
    """log P(own answer) under `judge` with each span added to the evidence, read as the match
    reads its verdict (both answer orders, both evidence orders, where the run says so)."""

    def asking(span: str) -> Match:
        variant = with_quote(m, role, side, round, span)
        variant.judge = judge
        return variant

    verdicts = await asyncio.gather(*(asking(s).decide(sees_context=False) for s in spans))
    return [math.log(max(v.probs[side], 1e-12)) for v in verdicts]


async def choose_speech(m: Match, role: str, round: int, sees: list[Turn] | None) -> Turn:
    """One speech by `role` built around the passage span it chooses (see the module doc)."""
    agent, side = m.agents[role], m.transcript.assignment[role]
    start = time.perf_counter()
    spans = passage_spans(m.item.context, agent.spans)
    if agent.choose_by == "self":
        scores = await self_scores(m, role, sees, spans)
    else:
        judge = m.judge if agent.choose_by == "judge" else blind_judge(agent.model)
        scores = await judge_scores(m, role, side, round, spans, judge)
    probs = choice_distribution(scores, agent.choice_temperature)
    index = sample_index(probs, derive_seed(m.transcript.seed, role, round, "choice"))
    text = f"{QUOTE}{spans[index]}</quote>"
    tokens_in = tokens_out = 0
    if agent.choice_text_tokens:
        messages, _ = m.prompt_for(role, sees=sees)
        request = GenerationRequest(
            prompt=messages,
            prefill=text + " ",
            sampling=Sampling(temperature=agent.temperature, top_p=agent.top_p,
                              max_new_tokens=agent.choice_text_tokens),
            seed=derive_seed(m.transcript.seed, role, round),
            meta=task_meta(load_model(agent.model), m.item, role, side=side, round=round),
        )  # fmt: skip
        [gen] = await load_model(agent.model).generate([request])
        # a chat API may drop the reply prefix (debate/models/providers.py): the quote stays
        said = gen.text if gen.text.startswith(text) else f"{text} {gen.text.lstrip()}"
        text, tokens_in, tokens_out = said, gen.tokens_in, gen.tokens_out
    shown, quotes = mark_quotes(text, m.item.context, m.cfg.evidence.quote_threshold)
    seen = len(m.transcript.turns if sees is None else sees)
    choice = SpanChoice(by=agent.choose_by, spans=spans, scores=scores,
                        temperature=agent.choice_temperature, probs=probs, index=index,
                        logprob=math.log(max(probs[index], 1e-300)), seen=seen)  # fmt: skip
    return Turn(speaker=role, agent=agent.name, side=side, round=round, text=text, shown=shown,
                quotes=quotes, tokens_in=tokens_in, tokens_out=tokens_out,
                wall_s=round_s(time.perf_counter() - start), choice=choice)  # fmt: skip
