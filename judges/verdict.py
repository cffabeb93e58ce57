"""A judge that writes its reasoning, then a choice we parse. An unreadable verdict is recorded
as such (uniform probabilities, `parsed=False`), never guessed."""

from __future__ import annotations

import re

from debate.models import GenerationRequest, load_model
from debate.registry import register
from debate.schema import Sampling, Verdict
from judges.base import LABELS, Judge

INSTRUCTION = (
    "Think briefly about which answer the evidence supports, then end with a line "
    '"Final answer: X" where X is one of {labels}.'
)


def parse_choice(text: str, answers: list[str]) -> int | None:
    """The last `Final answer: X` (a label or an answer's text) in the text, else None."""
    labels = LABELS[: len(answers)]
    found = re.findall(r"final answer\s*[:\-]?\s*\**\s*([^\n*.]+)", text, flags=re.I)
    if not found:
        return None
    choice = found[-1].strip().strip("\"'()[]")
    if (
        len(choice) >= 1
        and choice[0].upper() in labels
        and (len(choice) == 1 or not choice[1].isalpha())
    ):
        return labels.index(choice[0].upper())
    matches = [i for i, a in enumerate(answers) if a.lower() in choice.lower()]
    return matches[0] if len(matches) == 1 else None


@register("judge", "verdict")
class VerdictJudge(Judge):
    async def decide(self, m, *, sees_context: bool) -> Verdict:
        n = len(m.item.answers)
        view = self.view(m, sees_context=sees_context, labelled=True)
        prompt = self.as_prompt(view, INSTRUCTION.format(labels=", ".join(LABELS[:n])))
        request = GenerationRequest(
            prompt=prompt,
            sampling=Sampling(
                temperature=self.cfg.temperature, top_p=1.0, max_new_tokens=self.cfg.max_new_tokens
            ),
            seed=m.transcript.seed,
        )
        [gen] = await m.batcher.generate(load_model(self.cfg.model), [request])
        choice = parse_choice(gen.text, m.item.answers)
        if choice is None:
            return Verdict(probs=[1 / n] * n, judge=self.name, parsed=False, raw=gen.text)
        probs = [1.0 if i == choice else 0.0 for i in range(n)]
        return Verdict(probs=probs, judge=self.name, raw=gen.text)
