"""Interactive debate (Khan et al. 2024): sequential debate in which the judge, after each round
but the last, asks the debaters a question; the next round's speeches answer it."""

from __future__ import annotations

from pydantic import Field

from debate.config import MAX_TOKENS, Strict
from debate.match.match import Match
from debate.match.protocol import protocol


class InteractiveOptions(Strict):
    question_tokens: int = Field(
        32, ge=1, le=MAX_TOKENS, description="length of the judge's question"
    )


@protocol("interactive", roles=("A", "B"), options=InteractiveOptions)
async def interactive_debate(m: Match) -> None:
    for r in range(m.rounds):
        for role in m.roles:
            await m.speak(role, r)
        if r < m.rounds - 1:
            await m.ask(r, max_tokens=m.options.question_tokens)
    await m.decide()
