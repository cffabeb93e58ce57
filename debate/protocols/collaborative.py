"""N-agent collaborative debate (Du et al. 2023): every agent answers; each round every agent
reads the others' latest answers and gives its own again; the last round's answers are put to
a vote, or the judge reads the whole discussion. No one is assigned an answer."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from debate.config import Strict
from debate.match.match import Match
from debate.match.protocol import protocol
from debate.schema import Verdict


class CollaborativeOptions(Strict):
    n_agents: int = Field(3, ge=2, le=100)
    # "vote": each answer's share of the last round's stated answers; "judge": the judge reads
    aggregate: Literal["vote", "judge"] = "vote"


def agent_roles(options: CollaborativeOptions) -> tuple[str, ...]:
    return tuple(f"agent-{i + 1}" for i in range(options.n_agents))


@protocol("collaborative", roles=agent_roles, assigned=False, options=CollaborativeOptions)
async def collaborative_debate(m: Match) -> None:
    for r in range(m.rounds):
        earlier = list(m.transcript.turns)
        await asyncio.gather(*(m.speak(role, r, sees=earlier) for role in m.roles))
    if m.options.aggregate == "vote":
        m.transcript.verdict = majority_vote(m)
    else:
        await m.decide()


def majority_vote(m: Match) -> Verdict:
    """Each answer's share of the final round's stated answers; an agent whose answer could not
    be read abstains, and with no readable answer the verdict is recorded as unparsed."""
    n = len(m.item.answers)
    last = [t.side for t in m.transcript.turns if t.round == m.rounds - 1]
    votes = [side for side in last if side is not None]
    if not votes:
        return Verdict(probs=[1 / n] * n, judge="vote", parsed=False, calls=0)
    return Verdict(probs=[votes.count(i) / len(votes) for i in range(n)], judge="vote", calls=0)
