"""Best-of-N speeches (Khan et al. 2024): a debater samples N candidate speeches, a preference
judge reads the debate with each candidate appended, and the candidate that gets the highest
probability for the speaker's answer is spoken. A stronger debater without training: the
"more persuasive debaters, more accurate judge" curve is drawn by raising N.

Each candidate is the ordinary speech of a fork of the match with its own seed: candidate 0
keeps the match's seed, so it is word for word the speech best-of-1 would have given."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from debate import calls, usage
from debate.match.judge import Judge, make_judge
from debate.match.prompts import JUDGE
from debate.schema import Candidate, Turn
from debate.seeds import derive_seed, round_s

if TYPE_CHECKING:
    from debate.match.match import Match


def preference_judge(m: Match, role: str) -> Judge:
    cfg = m.agents[role].preference
    return m.judge if cfg is None else make_judge(cfg)


def candidate_match(m: Match, role: str, k: int, sees: list[Turn] | None) -> Match:
    """The match as `role` sees it now (only `sees`, in simultaneous debate), speaking once
    with candidate k's seed, and as a plain speaker (best-of-1) so the fork does not recurse."""
    t = m.transcript.model_copy(deep=True)
    if sees is not None:
        t.turns = [turn.model_copy(deep=True) for turn in sees]
    if k:
        t.seed = derive_seed(t.seed, "best-of", k)
    agents = {**m.agents, role: m.agents[role].model_copy(update={"best_of": 1})}
    return m.with_(t, agents=agents)


async def rate(fork: Match, judge: Judge) -> float | None:
    """The preference judge's probability for the candidate's answer, reading the debate with
    the candidate as the last speech (as the run's judge would read it: without the passage)."""
    speech = fork.transcript.turns[-1]
    if speech.side is None:
        return None
    with usage.acting_as("judge"), calls.speaking_as(calls.role_within(JUDGE)):
        verdict = await judge.decide(fork.case())
    return verdict.probs[speech.side]


async def speak_best_of_n(m: Match, role: str, round: int, sees: list[Turn] | None) -> Turn:
    """Sample `best_of` speeches by `role`, each with its own seed, and speak the one the
    preference judge rates highest (the first such on a tie). All candidates and their
    ratings are kept on the turn, which the caller (`Match.speak`) adds to the transcript."""
    start = time.perf_counter()
    n, judge = m.agents[role].best_of, preference_judge(m, role)
    forks = [candidate_match(m, role, k, sees) for k in range(n)]
    speeches = await asyncio.gather(*(f.speak(role, round) for f in forks))
    scores = await asyncio.gather(*(rate(f, judge) for f in forks))
    rated = [(s, k) for k, s in enumerate(scores) if s is not None]
    chosen = max(rated, key=lambda sk: (sk[0], -sk[1]))[1] if rated else 0
    return speeches[chosen].model_copy(
        update={
            "candidates": [Candidate(text=s.text, score=x) for s, x in zip(speeches, scores)],
            "chosen": chosen,
            "wall_s": round_s(time.perf_counter() - start),  # sampling and rating all N
        }
    )
