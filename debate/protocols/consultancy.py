"""Consultancy (Michael et al. 2023): one advisor argues its assigned answer, which is the true
one half of the time; the judge must decide whether to believe it."""

from __future__ import annotations

from debate.match.match import Match
from debate.match.protocol import protocol


@protocol("consultancy", roles=("consultant",))
async def consultancy(m: Match) -> None:
    for r in range(m.rounds):
        await m.speak("consultant", r)
    await m.decide()
