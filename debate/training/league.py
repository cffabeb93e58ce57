"""The league: every generation's checkpoint joins it, opponents are drawn from it, and the
results between members reveal non-transitive cycles (A beats B beats C beats A)."""

from __future__ import annotations

import itertools
import random

from pydantic import Field

from debate.config import AgentConfig
from debate.schema import Record

OPPONENT = "opp-"  # prefix of an opponent's name in a match


class Member(Record):
    name: str  # "gen-0", "gen-1", ...
    model: str  # model spec of that checkpoint
    generation: int


class LeagueState(Record):
    members: list[Member] = Field(default_factory=list)
    # score of the current policy against each member, per generation: name -> list of scores
    policy_scores: dict[str, list[float]] = Field(default_factory=dict)
    # mean score of row against column, over every game played between members
    pairwise: dict[str, dict[str, float]] = Field(default_factory=dict)

    def add(self, member: Member) -> None:
        self.members = [m for m in self.members if m.name != member.name] + [member]

    def opponents(
        self, how: str, policy: AgentConfig, k: int, rng: random.Random
    ) -> list[AgentConfig]:
        """`k` opponents for the policy: itself (latest), uniform over the league, or weighted
        towards the checkpoints the policy does worst against (prioritized fictitious self-play)."""
        # opponents are named apart from the policy, even when they are the same weights
        if how == "latest" or not self.members:
            return [policy.model_copy(update={"name": OPPONENT + policy.name})]
        if how == "uniform":
            picks = [rng.choice(self.members) for _ in range(k)]
        else:
            weights = []
            for m in self.members:
                scores = self.policy_scores.get(m.name, [])
                win = sum(scores) / len(scores) if scores else 0.5
                weights.append((1.0 - win) + 0.05)  # never zero: every member stays in play
            picks = rng.choices(self.members, weights=weights, k=k)
        unique = {m.name: m for m in picks}  # each opponent once, first-drawn order
        return [
            policy.model_copy(update={"name": OPPONENT + m.name, "model": m.model})
            for m in unique.values()
        ]

    def cycles(self) -> list[list[str]]:
        """Every triple where each beats the next (score > 0.5) and the last beats the first."""
        found = []
        for a, b, c in itertools.permutations(self.pairwise, 3):
            if a == min(a, b, c):  # each cycle once, starting from its smallest name
                beats = lambda x, y: self.pairwise.get(x, {}).get(y, 0.5) > 0.5  # noqa: E731
                if beats(a, b) and beats(b, c) and beats(c, a):
                    found.append([a, b, c])
        return found
