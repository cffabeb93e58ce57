"""The ground truth as a judge: for analysis (an upper bound), never for training."""

from __future__ import annotations

from debate.match.judge import Case, Judge
from debate.registry import register
from debate.schema import Verdict


@register("judge", "oracle")
class OracleJudge(Judge):
    @property
    def name(self) -> str:
        return "oracle"

    def models(self) -> set[str]:
        return set()  # reads the truth, never loads a model

    async def decide(self, case: Case) -> Verdict:
        probs = [float(i == case.item.correct) for i in range(len(case.item.answers))]
        return Verdict(probs=probs, judge=self.name, calls=0)
