"""N-agent collaborative debate (Du et al. 2023): every agent answers; each round every agent
reads the others' latest answers and gives its own again; the last round's answers are put to
a vote, or the judge reads the whole discussion. No one is assigned an answer.

`majority-vote` is its baseline without discussion: independent agents answer once and their
answers are put to a vote. Choi et al. (2025, "Debate or Vote") found that such a vote accounts
for most of the gains credited to multi-agent debate; `debate eval protocols` gives it as many
agents as collaborative debate makes speeches (agents times rounds), so both make the same
number of generations. Every round's vote is kept as a metric (`debate.suites.metrics`)."""

from __future__ import annotations

import asyncio
from typing import Literal

from pydantic import Field

from debate.config import Strict
from debate.match.match import Match
from debate.match.protocol import protocol
from debate.schema import Turn, Verdict


class CollaborativeOptions(Strict):
    n_agents: int = Field(3, ge=2, le=100)
    # "vote": each answer's share of the last round's stated answers; "judge": the judge reads
    aggregate: Literal["vote", "judge"] = "vote"


class VoteOptions(Strict):
    n_agents: int = Field(3, ge=1, le=1000)


def agent_roles(options: CollaborativeOptions | VoteOptions) -> tuple[str, ...]:
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


@protocol("majority-vote", roles=agent_roles, assigned=False, options=VoteOptions)
async def independent_vote(m: Match) -> None:
    """Every agent answers once, seeing no one, and the answers are put to a vote (`rounds`
    and `aggregate` do not apply: there is no discussion and no judge)."""
    await asyncio.gather(*(m.speak(role, 0, sees=[]) for role in m.roles))
    m.transcript.verdict = round_vote(m.transcript.turns, 0, len(m.item.answers))


def majority_vote(m: Match) -> Verdict:
    return round_vote(m.transcript.turns, m.rounds - 1, len(m.item.answers))


def round_vote(turns: list[Turn], round: int, n: int) -> Verdict:
    """Each answer's share of one round's stated answers; an agent whose answer could not be
    read abstains, and with no readable answer the verdict is recorded as unparsed."""
    votes = [t.side for t in turns if t.round == round and t.side is not None]
    if not votes:
        return Verdict(probs=[1 / n] * n, judge="vote", parsed=False, calls=0)
    return Verdict(probs=[votes.count(i) / len(votes) for i in range(n)], judge="vote", calls=0)
