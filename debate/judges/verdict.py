"""A judge that writes its reasoning, then a choice we parse. An unreadable verdict is recorded
as such (uniform probabilities, `parsed=False`), never guessed."""

from __future__ import annotations

from pydantic import Field

from debate.config import MAX_TOKENS, Strict
from debate.match.judge import LABELS, Case, Judge
from debate.match.prompts import parse_choice
from debate.models import GenerationRequest, load_model
from debate.registry import register
from debate.schema import Sampling, Verdict

INSTRUCTION = (
    "Think briefly about which answer the evidence supports, then end with a line "
    '"Final answer: X" where X is one of {labels}.'
)


class VerdictOptions(Strict):
    max_new_tokens: int = Field(
        96, ge=1, le=MAX_TOKENS, description="how long its reasoning may be"
    )


@register("judge", "verdict")
class VerdictJudge(Judge):
    options = VerdictOptions

    async def decide(self, case: Case) -> Verdict:
        n = len(case.item.answers)
        view = self.view(case, labelled=True)
        prompt = self.as_prompt(view, INSTRUCTION.format(labels=", ".join(LABELS[:n])))
        request = GenerationRequest(
            prompt=prompt,
            sampling=Sampling(
                temperature=self.cfg.temperature, top_p=1.0, max_new_tokens=self.opts.max_new_tokens
            ),
            seed=case.seed,
        )
        [gen] = await load_model(self.cfg.model).generate([request])
        choice = parse_choice(gen.text, case.item.answers)
        if choice is None:
            return Verdict(probs=[1 / n] * n, judge=self.name, parsed=False, raw=gen.text)
        probs = [1.0 if i == choice else 0.0 for i in range(n)]
        return Verdict(probs=probs, judge=self.name, raw=gen.text)
