"""Open debate and open consultancy (Kenton et al. 2024): the debater chooses which answer to
argue (`protocol.params.choose`: from its own answer probabilities, or by being asked), so the judge
meets a debater who believes its answer. How often the judge agrees with a debater that chose
the true answer, against one that chose a false one, is the measure (`debate eval protocols`)."""

from __future__ import annotations

from typing import Literal

from debate.config import Strict
from debate.match.match import Match
from debate.match.protocol import protocol
from debate.match.sides import choose_side


class OpenOptions(Strict):
    # "probs": the debater's own model's likelihood of each answer after reading the passage;
    # "ask": it is asked, and its stated answer is read
    choose: Literal["probs", "ask"] = "probs"


@protocol("open-debate", roles=("A", "B"), assigned=False, options=OpenOptions)
async def open_debate(m: Match) -> None:
    """A, the protagonist, chooses its answer; B, the antagonist, argues the other one. Then a
    sequential debate: A speaks first, B answers having read A."""
    await choose_side(m, "A")
    await choose_side(m, "B")  # with two answers: the one A left
    for r in range(m.rounds):
        for role in m.roles:
            await m.speak(role, r)
    await m.decide()


@protocol("open-consultancy", roles=("consultant",), assigned=False, options=OpenOptions)
async def open_consultancy(m: Match) -> None:
    """One consultant chooses its answer and argues it; the judge decides whether to believe it."""
    await choose_side(m, "consultant")
    for r in range(m.rounds):
        await m.speak("consultant", r)
    await m.decide()
