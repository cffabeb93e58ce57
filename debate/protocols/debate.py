"""Two-player debate (Irving et al. 2018; Khan et al. 2024): two debaters argue opposite answers
over a fixed number of rounds, then the judge, who never saw the passage, decides."""

from __future__ import annotations

import asyncio

from debate.match.match import Match
from debate.match.protocol import protocol


@protocol("sequential", roles=("A", "B"))
async def sequential_debate(m: Match) -> None:
    """A speaks, B answers having read A; each round sees every earlier speech."""
    for r in range(m.rounds):
        for role in m.roles:
            await m.speak(role, r)
    await m.decide()


@protocol("simultaneous", roles=("A", "B"))
async def simultaneous_debate(m: Match) -> None:
    """Both speak at once each round, seeing only the rounds before it."""
    for r in range(m.rounds):
        earlier = list(m.transcript.turns)
        await asyncio.gather(*(m.speak(role, r, sees=earlier) for role in m.roles))
    await m.decide()
