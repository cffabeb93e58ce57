"""Self-play experience, rewarded only by the judge.

The policy's reward for a speech is the frozen judge's probability for the answer the policy was
assigned; the true answer is never read here. Every debate is played by the configured protocol
itself; training only decides where the forks of a match part (`debate.match.fork`): at the policy's
first speech (its round-0 speech, in whichever role it plays). Three shapes of experience:
- branched rollouts (DPO, as Arnesen et al. 2024): forks of a match share every speech before the
  policy's first, where each samples its own; each is played to the verdict, and the speech whose
  debate the judge liked best is paired with the one it liked least;
- stems (GRPO): the match up to the policy's first speech, for the trainer to complete; each
  completion is spoken there in a replay of the stem, played on and judged (`finish_debates`);
- forked rollouts (choice): whole matches forked at their start, every choice reseeded.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from debate.config import AgentConfig, RunConfig
from debate.match.fork import Fork, Shared, Stop, forks_of
from debate.match.judge import Judge
from debate.match.match import Match
from debate.registry import get
from debate.run.engine import gather_limited, plan_matches
from debate.schema import Item, Transcript, Turn
from debate.seeds import derive_seed
from debate.training.evaluate import Report, no_report

# the columns of a stem row that `finish_debates` reads (the trainer adds "prompt")
STEM_COLUMNS = ("role", "stem", "speeches", "agents")


@dataclass
class Branch:
    prompt: str  # exactly the text the policy continued (chat template and prefill applied)
    completion: str
    reward: float  # judge's probability for the policy's answer
    transcript: Transcript


@dataclass
class Group:
    """Branches that share one prompt."""

    role: str
    branches: list[Branch] = field(default_factory=list)


def policy_role(m: Match, policy: str) -> str:
    return next(r for r, a in m.agents.items() if a.name == policy)


def pairings(
    cfg: RunConfig, items: list[Item], policy: AgentConfig, opponents: list[AgentConfig]
) -> list:
    """The policy against opponents (one per item, in turn), in each of the protocol's roles,
    on every answer."""
    protocol = get("protocol", cfg.protocol.name)
    roles = protocol.roles_for(cfg.protocol)
    specs = []
    for i, item in enumerate(items):
        opp = opponents[i % len(opponents)]
        for seat in roles:
            lineup = {r: policy if r == seat else opp for r in roles}
            specs += plan_matches(cfg, [item], protocol, lineup)
    return specs


async def forked_rollouts(
    cfg: RunConfig,
    items: list[Item],
    policy: AgentConfig,
    opponents: list[AgentConfig],
    judge: Judge,
    group_size: int,
    generation: int,
    report: Report = no_report,
    share: Callable[[list], list] = list,  # this rank's share of the matches
    specs: list | None = None,
) -> list[list[Match]]:
    """Groups of whole matches of the configured (registered, two-player) protocol: each match
    is forked `group_size` times at its start and every fork played by the protocol itself, so
    a group shares item, sides and players and differs only in the seeds of its choices.
    `specs`, where given, are the matches to play (a learner per side plans its own)."""
    protocol = get("protocol", cfg.protocol.name)
    specs = specs if specs is not None else share(pairings(cfg, items, policy, opponents))
    groups: list[list[Match]] = []
    report(f"gen {generation} rollouts", 0, len(specs))  # the bar's clock starts now

    async def one(spec) -> None:
        root = new_match(cfg, spec, judge, generation)
        forks = [root.fork(b) for b in range(group_size)]
        await asyncio.gather(*(f.play(protocol.run) for f in forks))
        groups.append(forks)
        report(f"gen {generation} rollouts", len(groups), len(specs))

    await gather_limited((one(s) for s in specs), cfg.max_live)
    groups.sort(key=lambda g: g[0].transcript.match_id)  # completion order varies; data must not
    return groups


def new_match(cfg: RunConfig, spec, judge: Judge, generation: int) -> Match:
    from debate.run.engine import provenance

    t = Transcript(
        match_id=spec.match_id,
        item=spec.item,
        protocol=cfg.protocol.name,
        assignment=spec.assignment,
        agents={r: a.name for r, a in spec.agents.items()},
        provenance=provenance(cfg, spec, judge),
        seed=derive_seed(cfg.seed, "train", generation, spec.match_id),
    )
    return Match(t, cfg, spec.agents, judge)


def never_reached(m: Match) -> ValueError:
    role, round = m.forked.shared.at
    return ValueError(
        f"protocol {m.cfg.protocol.name!r} gave {role} no free-text speech in round {round}: "
        "there is no speech of the policy to train"
    )


def branch_turn(m: Match) -> Turn:
    """The speech a played fork made at its branch point."""
    at = m.forked.shared.at
    turn = next((t for t in m.transcript.turns if (t.speaker, t.round) == at), None)
    if turn is None or not m.forked.prompt:
        raise never_reached(m)
    return turn


async def branched_rollouts(
    cfg: RunConfig,
    items: list[Item],
    policy: AgentConfig,
    opponents: list[AgentConfig],
    judge: Judge,
    branches: int,
    generation: int,
    report: Report = no_report,
    share: Callable[[list], list] = list,  # this rank's share of the matches
) -> list[Group]:
    """For each pairing, `branches` forks of one match, played by the protocol, that share
    every speech before the policy's first and sample that one each."""
    protocol = get("protocol", cfg.protocol.name)
    specs = share(pairings(cfg, items, policy, opponents))
    done = 0
    report(f"gen {generation} rollouts", 0, len(specs))

    async def one(spec) -> Group:
        nonlocal done
        root = new_match(cfg, spec, judge, generation)
        role = policy_role(root, policy.name)
        forks = forks_of(root, (role, 0), branches)
        await asyncio.gather(*(f.play(protocol.run) for f in forks))
        group = Group(role=role)
        for f in forks:
            text = branch_turn(f).text.removeprefix(f.forked.prefill)
            reward = f.transcript.verdict.probs[f.transcript.assignment[role]]
            group.branches.append(Branch(f.forked.prompt, text, reward, f.transcript))
        done += 1
        report(f"gen {generation} rollouts", done, len(specs))
        return group

    return await gather_limited((one(s) for s in specs), cfg.max_live)


def preference_pairs(groups: list[Group], min_margin: float) -> list[dict]:
    """(prompt, chosen, rejected): the best and the worst branch of each group, when the judge
    told them apart by at least `min_margin`."""
    pairs = []
    for g in groups:
        ranked = sorted(g.branches, key=lambda b: b.reward)
        worst, best = ranked[0], ranked[-1]
        if best.reward - worst.reward >= min_margin and best.completion != worst.completion:
            pairs.append({"prompt": best.prompt, "chosen": best.completion,
                          "rejected": worst.completion})  # fmt: skip
    return pairs


async def stems(
    cfg: RunConfig,
    items: list[Item],
    policy: AgentConfig,
    opponents: list[AgentConfig],
    judge: Judge,
    generation: int,
    report: Report = no_report,
    share: Callable[[list], list] = list,  # this rank's share of the matches
) -> list[dict]:
    """GRPO prompts: each match played by its protocol up to the policy's first speech, as rows
    of plain data (a `datasets.Dataset` holds them): the prompt the policy would continue, the
    match as it started, and every speech made before the stop, for `finish_debates` to replay."""
    protocol = get("protocol", cfg.protocol.name)
    specs = share(pairings(cfg, items, policy, opponents))
    done = 0
    report(f"gen {generation} stems", 0, len(specs))

    async def one(spec) -> dict:
        nonlocal done
        m = new_match(cfg, spec, judge, generation)
        start = m.transcript.model_dump_json()
        role = policy_role(m, policy.name)
        shared = Shared((role, 0))
        m.forked = Fork(shared, stop=True)
        try:
            await m.play(protocol.run)
            raise never_reached(m)
        except Stop:
            # a speech still under way beside the stop (a simultaneous opponent's) is finished
            # and kept; this match is dropped, so what it appends later changes nothing
            await shared.settle()
        speeches = {k: t.model_dump(mode="json") for k, t in shared.turns().items()}
        done += 1
        report(f"gen {generation} stems", done, len(specs))
        return {"prompt": m.forked.prompt, "role": role, "stem": start,
                "speeches": json.dumps(speeches, sort_keys=True),
                "agents": [a.model_dump_json() for a in m.agents.values()]}  # fmt: skip

    return await gather_limited((one(s) for s in specs), cfg.max_live)


def finish_debates(
    cfg: RunConfig, judge: Judge, rows: list[dict], completions: list[str]
) -> list[Transcript]:
    """Each completion spoken as the policy's first speech of its stem's match, replayed by the
    protocol (the stem's speeches are reused, not made again), played on and judged."""
    protocol = get("protocol", cfg.protocol.name)

    async def play() -> list[Transcript]:
        groups: dict[str, Shared] = {}  # completions of one stem share what they can

        async def one(row: dict, completion: str) -> Transcript:
            t = Transcript.model_validate_json(row["stem"])
            agents = {a.name: a for a in map(AgentConfig.model_validate_json, row["agents"])}
            if row["stem"] not in groups:
                made = json.loads(row["speeches"])
                groups[row["stem"]] = Shared((row["role"], 0),
                                             {k: Turn.model_validate(v) for k, v in made.items()})  # fmt: skip
            fork = Fork(groups[row["stem"]], say=completion)
            m = Match(t, cfg, {r: agents[name] for r, name in t.agents.items()}, judge, fork)
            await m.play(protocol.run)
            branch_turn(m)
            return t

        coros = (one(r, c) for r, c in zip(rows, completions))
        return await gather_limited(coros, cfg.max_live)

    return asyncio.run(play())


__all__ = [
    "Branch",
    "Group",
    "STEM_COLUMNS",
    "branched_rollouts",
    "forked_rollouts",
    "preference_pairs",
    "stems",
    "finish_debates",
]


def branch_prompt(t: Transcript, role: str) -> tuple[str, str] | None:
    """The text `role`'s first speech continued (what a local model was sent, or the request's
    prompt rendered as plain text) and the prefill it began with, read from the call record."""
    from debate.models.base import Message, render_plain

    call = next((c for c in t.calls if c.role == role and c.kind == "generate"), None)
    if call is None:
        return None
    messages = call.prompt
    if not isinstance(messages, str):
        messages = [
            Message(role=m.get("role", "user"), content=m.get("content", "")) for m in messages
        ]
    prompt = call.sent or render_plain(messages)
    return prompt, call.prefill


def saved_groups(transcripts: list[Transcript]) -> list[Group]:
    """Branched rollouts read back from a run's `rollouts/` files: the forks of a match share
    its id; where they part (the first speech whose text differs) is the branch point, whose
    speaker's reward is the judge's probability for its answer. Forks with no recorded prompt
    (a folder from before calls were recorded) or whose prompts differ make no group."""
    by: dict[str, list[Transcript]] = {}
    for t in transcripts:
        if t.verdict is not None and not t.error:
            by.setdefault(t.match_id, []).append(t)
    groups = []
    for forks in by.values():
        if len(forks) < 2:
            continue
        k = next((i for i in range(min(len(f.turns) for f in forks))
                  if len({f.turns[i].text for f in forks}) > 1), None)  # fmt: skip
        if k is None:
            continue
        role = forks[0].turns[k].speaker
        prompts = [branch_prompt(f, role) for f in forks]
        if any(p is None for p in prompts) or len({p[0] for p in prompts}) > 1:
            continue
        group = Group(role=role)
        for f, (prompt, prefill) in zip(forks, prompts):
            reward = f.verdict.probs[f.assignment[role]] if role in f.assignment else 0.0
            group.branches.append(Branch(prompt, f.turns[k].text.removeprefix(prefill), reward, f))
        groups.append(group)
    return groups
