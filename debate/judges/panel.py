"""A panel: several judges decide the same case, and their verdicts are pooled.

`judge.params.judges` names the members (`KIND:MODEL` strings or mappings of judge keys; each
reads as the panel's reading settings say unless it gives its own). `aggregate: mean` averages
the probabilities of the members whose verdict could be read; `majority` gives each answer the
share of the members that picked it (a tie or an unread verdict is no vote). The panel's verdict
holds every member's own verdict and view (`Verdict.members`), so each member's accuracy and
the members' agreement can be reported from one run. The panel's answer orders and readings
(`orders`, `evidence_order`) apply to every member; a member's own are not read.
"""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from debate.config import ConfigError, Strict
from debate.match.judge import Case, Judge, judge_config, make_judge
from debate.match.match import members_text
from debate.registry import register
from debate.schema import JudgeView, Verdict


class PanelOptions(Strict):
    judges: list[str | dict] = Field(default_factory=list, description="the members' specs")
    aggregate: Literal["mean", "majority"] = "mean"


def pooled(verdicts: list[Verdict], n: int, aggregate: str) -> tuple[list[float], bool]:
    """The panel's probabilities and whether any member's verdict could be read (if none
    could, the panel's is unread too: uniform, never a guess)."""
    if aggregate == "majority":
        if not any(v.parsed for v in verdicts):
            return [1 / n] * n, False
        votes = [v.choice for v in verdicts if v.choice is not None]
        if not votes:  # every member read and tied: a tie, not an unread verdict
            return [1 / n] * n, True
        return [votes.count(k) / len(votes) for k in range(n)], True
    read = [v.probs for v in verdicts if v.parsed]
    if not read:
        return [1 / n] * n, False
    return [sum(p[k] for p in read) / len(read) for k in range(n)], True


@register("judge", "panel")
class PanelJudge(Judge):
    options = PanelOptions

    def __init__(self, cfg):
        super().__init__(cfg)
        if len(self.opts.judges) < 2:
            raise ConfigError(
                "config key 'judge.params.judges': a panel needs two or more judges, e.g. "
                '["cloze:smollm2", "letter:smollm2"]'
            )
        self.members = [make_judge(judge_config(s, cfg)) for s in self.opts.judges]

    @property
    def name(self) -> str:
        return f"panel-{self.opts.aggregate}({', '.join(m.name for m in self.members)})"

    def models(self) -> set[str]:
        return set().union(*(m.models() for m in self.members))

    async def decide(self, case: Case) -> Verdict:
        n = len(case.item.answers)
        # each member reads its own copy, so each verdict records the views it built itself
        cases = [
            Case(case.item, [t.model_copy(deep=True) for t in case.turns],
                 sees_context=case.sees_context, seed=case.seed, fragments=case.fragments,
                 recorded=case.recorded)
            for _ in self.members
        ]  # fmt: skip
        got = list(await asyncio.gather(*(m.decide(c) for m, c in zip(self.members, cases))))
        for verdict, c in zip(got, cases):
            verdict.views = [JudgeView(answers=c.item.answers, texts=c.views)]
        case.views.extend(dict.fromkeys(text for c in cases for text in c.views))
        probs, parsed = pooled(got, n, self.opts.aggregate)
        # named by what its members' verdicts say they are (a reading a member chose at run
        # time, such as the cloze judge's, shows)
        name = f"panel-{self.opts.aggregate}({', '.join(v.judge for v in got)})"
        return Verdict(probs=probs, judge=name, parsed=parsed, raw=members_text(got),
                       calls=sum(v.calls for v in got), members=got)  # fmt: skip
