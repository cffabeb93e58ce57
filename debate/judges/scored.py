"""Judges that read probabilities off log-probabilities rather than parsing text.

`cloze` scores each answer's text as a continuation (lm-evaluation-harness style; works even for
small base models, needs echoed prompt log-probabilities). It reads the evidence together, or
apart: each quote alone, the verdicts mixed by each quote's relevance to the question (below). `letter` asks for one label and reads
each answer's probability from the distribution of the first reply token, which hosted chat APIs
give as `top_logprobs` and local models give exactly, so one config runs on a laptop or an API.
"""

from __future__ import annotations

import math
from typing import Literal

from debate.chains import chains
from debate.config import ConfigError, Strict, is_embedded
from debate.match.actions import passage_spans
from debate.match.judge import LABELS, Case, Judge, judge_view, softmax, verified_quotes
from debate.models import ScoreRequest, load_model
from debate.registry import register
from debate.schema import Verdict

TOP_K = 20  # the most OpenAI's chat API returns
# what may surround a label in one token: " A", "(A", "A.", "**A", "A)"
LABEL_WRAPPING = " \t\n()[]*.:,\"'"


def label_of(token: str) -> str:
    return token.strip(LABEL_WRAPPING)


def label_probs(top: dict[str, float], labels: list[str]) -> tuple[list[float], bool]:
    """Each label's probability from a next-token top-k, and whether any label was listed.

    Tokenisation variants of a label (" A", "A", "(A", "A.") are summed. The probabilities are
    then renormalised over the labels, as lm-evaluation-harness turns per-choice log-likelihoods
    into a choice (softmax over the choices). A label absent from the top-k gets an equal share
    of the mass the list leaves unaccounted for, capped at the smallest listed probability (an
    unlisted token cannot be likelier than the k-th). Neither lm-evaluation-harness nor
    inspect_ai documents a rule for labels missing from `top_logprobs` (we searched both); this
    is the conservative reading of "split the remaining mass", and with k = 20 it rarely matters.
    """
    mass = {x: 0.0 for x in labels}
    for token, logprob in top.items():
        x = label_of(token)
        if x in mass:
            mass[x] += math.exp(logprob)
    listed = [math.exp(v) for v in top.values()]
    missing = [x for x in labels if mass[x] == 0.0]
    if len(missing) == len(labels):
        return [1 / len(labels)] * len(labels), False
    if missing:
        rest = max(0.0, 1.0 - sum(listed))
        share = min(rest / len(missing), min(listed))
        for x in missing:
            mass[x] = share
    total = sum(mass.values())
    if total <= 0:
        return [1 / len(labels)] * len(labels), False
    return [mass[x] / total for x in labels], True


class ClozeOptions(Strict):
    # "together": one reading of all the evidence. "apart": each verified quote read alone, and
    # the verdicts averaged with weights softmax(log P(question | quote)), the relevance score
    # UPR (Sachan et al. 2022) reranks passages by; in effect the judge answers from the quote
    # that is about what was asked. The embedded judge reading a deciding sentence and a
    # distractor together is right 61-71% of the time (the one read last wins), and 82%, as with
    # the deciding sentence alone, reading them apart. "auto": apart for the embedded smollm2.
    quotes: Literal["auto", "together", "apart"] = "auto"
    # Read apart, quotes that chain through a name (a quote about the question, then one about
    # the person it names: `debate.chains`) are read together as one piece of evidence, so a
    # two-hop question can be followed; quotes in no chain are read alone as before.
    chain: bool = True


@register("judge", "cloze")
class ClozeJudge(Judge):
    options = ClozeOptions
    needs = "prompt_logprobs"

    def __init__(self, cfg):
        super().__init__(cfg)
        if self.opts.quotes == "apart" and (cfg.reads != "evidence" or cfg.attribute):
            raise ConfigError(
                "config key 'judge.params.quotes': apart reads each verified quote alone, so it "
                "needs judge.reads=evidence and judge.attribute=false"
            )
        self.apart = self.opts.quotes == "apart" or (
            self.opts.quotes == "auto"
            and is_embedded(cfg.model)
            and cfg.reads == "evidence"
            and not cfg.attribute
        )

    @property
    def name(self) -> str:
        # recorded on every verdict: the two readings are different judges, and `auto` decides
        # which one at run time, so a transcript must say which read it
        if not self.apart:
            return super().name
        return f"{super().name} (quotes apart{', chained' if self.opts.chain else ''})"

    def lead(self) -> str:
        return (
            " The correct answer is"
            if self.cfg.prompt_format == "plain"
            else "The correct answer is"
        )

    def answer_requests(self, case: Case, view: str) -> list[ScoreRequest]:
        prompt = self.as_prompt(view, "What is the correct answer to the question?")
        return [
            ScoreRequest(prompt=prompt, continuation=f"{self.lead()} {a}")
            for a in case.item.answers
        ]

    async def decide(self, case: Case) -> Verdict:
        if self.apart and case.recorded is None:
            fragments = case.fragments
            evidence = verified_quotes(case.turns, case.item.context, fragments)
            if case.sees_context:  # the passage is read as every one of its sentences quoted
                # (a quoted sentence is one of them; a bare fragment is read besides)
                extra = evidence if fragments == "bare" else []
                evidence = list(dict.fromkeys(passage_spans(case.item.context) + extra))
            if len(evidence) > 1:
                return await self.decide_apart(case, evidence)
        reqs = self.answer_requests(case, self.view(case, labelled=False))
        scores = await load_model(self.cfg.model).score(reqs)
        # The shared lead cancels out in the softmax; what is left is the answer's likelihood.
        # A recorded view (a re-judged case) is one text: it is read together, and named so.
        name = self.name if case.recorded is None else super().name
        return Verdict(probs=softmax([s.logprob for s in scores]), judge=name, calls=1)

    async def decide_apart(self, case: Case, evidence: list[str]) -> Verdict:
        n = len(case.item.answers)
        alone = Case(
            case.item, case.turns, seed=case.seed, views=case.views, fragments=case.fragments
        )  # the same case without the passage
        pieces = (
            chains(case.item.question, evidence, case.item.answers)
            if self.opts.chain
            else [[q] for q in evidence]
        )
        reqs = []
        for piece in pieces:
            view = judge_view(alone, labelled=False, reads="evidence", evidence=piece)
            reqs += self.answer_requests(case, view)
        space = " " if self.cfg.prompt_format == "plain" else ""
        relevance = [
            ScoreRequest(prompt=self.as_prompt(f'Passage: "{" ".join(p)}"', "Write a question about this passage."),
                         continuation=f"{space}{case.item.question}")
            for p in pieces
        ]  # fmt: skip
        scores = [s.logprob for s in await load_model(self.cfg.model).score(reqs + relevance)]
        per_piece = [softmax(scores[i * n : (i + 1) * n]) for i in range(len(pieces))]
        weights = softmax(scores[len(pieces) * n :])
        probs = [sum(w * p[k] for w, p in zip(weights, per_piece)) for k in range(n)]
        raw = "quote weights: " + " ".join(f"{w:.3f}" for w in weights)
        if any(len(p) > 1 for p in pieces):
            raw += " (chains: " + "; ".join(" + ".join(p) for p in pieces if len(p) > 1) + ")"
        return Verdict(probs=probs, judge=self.name, calls=1, raw=raw)


@register("judge", "letter")
class LetterJudge(Judge):
    needs = "top_logprobs"

    async def decide(self, case: Case) -> Verdict:
        view = self.view(case, labelled=True)
        labels = LABELS[: len(case.item.answers)]
        instruction = f"Which answer is correct? Reply with one letter: {', '.join(labels)}."
        if self.cfg.prompt_format == "plain":
            instruction += "\nAnswer:"
        prompt = self.as_prompt(view, instruction)
        [top] = await load_model(self.cfg.model).next_token_logprobs([prompt], top_k=TOP_K)
        probs, found = label_probs(top, labels)
        best = sorted(top.items(), key=lambda kv: -kv[1])[:5]
        raw = " ".join(f"{t!r}:{math.exp(v):.3f}" for t, v in best)
        return Verdict(probs=probs, judge=self.name, calls=1, parsed=found, raw=raw)
