"""No-debate baselines: the naive judge sees only the question and answers; the expert judge
also reads the hidden passage. They bound what any protocol can add."""

from __future__ import annotations

from pydantic import Field

from debate.config import Strict
from debate.match.match import Match
from debate.match.protocol import protocol


@protocol("naive", roles=())
async def naive_judge(m: Match) -> None:
    await m.decide()


@protocol("expert", roles=())
async def expert_judge(m: Match) -> None:
    await m.decide(sees_context=True)


class SelfConsistencyOptions(Strict):
    judge_samples: int = Field(1, ge=1, le=1000, description="times the judge is asked")


@protocol("self-consistency", roles=(), options=SelfConsistencyOptions)
async def self_consistency(m: Match) -> None:
    """The judge alone, asked `judge_samples` times with different seeds (set it to a
    debate's model calls for a compute-matched baseline). A scored judge (cloze, letter) is
    deterministic, so for it this equals `naive`; it differs for a sampling `verdict` judge."""
    await m.decide(samples=m.options.judge_samples)
