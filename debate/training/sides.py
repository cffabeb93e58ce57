"""A learner per side (`policy.share: false`).

One set of weights playing both sides is pulled both ways where the sides must learn opposite
things (without a distractor the honest side must learn to quote the deciding sentence and the
liar to avoid it). Here each side has its own LoRA adapter: the *honest* learner plays whichever
seat argues the true answer, the *liar* learner the other, and each is updated only from its own
side's chosen spans. The seat is routed by the truth; the reward is still only the judge's.

Sides, not seats: a learner per seat (first or second speaker) would still argue both answers
and be pulled both ways, which is the thing under test.

The matches are the ones shared weights would play (every training item, each seat, both
answers, forked `update.group_size` times); a match pits one side's learner against a league
opponent for the other side (a past checkpoint of that side's learner, or the base model that
founds the league). A seat is a sample of a learner wherever its weights are that learner's
current weights, as shared weights learn from every seat they hold: the opponent seat too
when it is drawn as the other learner's current checkpoint.

Generation g keeps `checkpoints/gen-g/honest` and `checkpoints/gen-g/liar`; the league holds
both (`honest-gen-g`, `liar-gen-g`, beside `gen-0`). `frozen` fixes a side to a model spec and
never updates it: `debate eval exploit` trains a best-response liar that way.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable

from debate.config import AgentConfig, ConfigError
from debate.match.judge import make_judge
from debate.match.match import Match
from debate.models import unload
from debate.registry import get
from debate.run.engine import MatchSpec, match_id, plan_matches
from debate.run.runner import check_judged_by, load_items
from debate.runfolder import RunFolder
from debate.schema import Item
from debate.seeds import derive_seed
from debate.training import loop
from debate.training.config import TrainConfig, as_debater
from debate.training.evaluate import Report, anchor_ratings, evaluate, no_report
from debate.training.league import OPPONENT, LeagueState, Member
from debate.training.rollouts import forked_rollouts

SIDES = ("honest", "liar")
BASE = "gen-0"  # the league's founder: the base model, an opponent of either side


def side_of(item: Item, assignment: dict[str, int], role: str) -> str:
    return "honest" if assignment.get(role) == item.correct else "liar"


def other(side: str) -> str:
    return "liar" if side == "honest" else "honest"


class SideRoute:
    """Reseats a planned match: where the placeholder debater sits, the learner of the side that
    seat argues plays. Where both seats are routed (self-play) the two are named apart by side;
    where one is, it keeps the placeholder's name (games against anchors rate the pair)."""

    def __init__(self, placeholder: str, learners: dict[str, AgentConfig]) -> None:
        self.placeholder = placeholder
        self.learners = learners

    def __call__(self, spec: MatchSpec, protocol: str) -> MatchSpec:
        seats = [r for r, a in spec.agents.items() if a.name == self.placeholder]
        if not seats:
            return spec
        agents = dict(spec.agents)
        for r in seats:
            side = side_of(spec.item, spec.assignment, r)
            name = self.placeholder if len(seats) == 1 else f"{self.placeholder}-{side}"
            agents[r] = self.learners[side].model_copy(update={"name": name})
        new_id = match_id(spec.item, protocol, spec.assignment, agents)
        return spec.model_copy(update={"agents": agents, "match_id": new_id})


def learner_models(cfg: TrainConfig, g: int, frozen: dict[str, str]) -> dict[str, str]:
    kind = "peft" if cfg.lora.enabled else "hf"

    def trained(side: str) -> str:
        return cfg.policy.model if g == 0 else f"{kind}:{loop.checkpoint(cfg, g) / side}"

    return {s: frozen.get(s) or trained(s) for s in SIDES}


def learners_at(cfg: TrainConfig, g: int, frozen: dict[str, str]) -> dict[str, AgentConfig]:
    return {
        s: as_debater(cfg.policy).model_copy(update={"name": f"{s}-gen-{g}", "model": m})
        for s, m in learner_models(cfg, g, frozen).items()
    }


def side_opponents(
    cfg: TrainConfig, league: LeagueState, learners: dict[str, AgentConfig], g: int
) -> dict[str, list[AgentConfig]]:
    """For each side, opponents for the other seat: drawn from the league's members of the other
    side (and the base model), or, with `league.opponents: latest`, that side's current learner."""
    rng = random.Random(derive_seed(cfg.seed, "league", g))
    out = {}
    for side in SIDES:
        them = learners[other(side)]
        if cfg.league.opponents == "latest":
            out[side] = [them.model_copy(update={"name": OPPONENT + them.name})]
            continue
        pool = LeagueState(
            members=[m for m in league.members if not m.name.startswith(f"{side}-")],
            policy_scores=league.policy_scores,
        )
        out[side] = pool.opponents(cfg.league.opponents, them, 3, rng)
    return out


def side_pairings(
    cfg: TrainConfig,
    items: list[Item],
    learners: dict[str, AgentConfig],
    opponents: dict[str, list[AgentConfig]],
    train: set[str],
) -> list[MatchSpec]:
    """Every item, each seat, both answers (the matches shared weights would play): the seat's
    side's learner against an opponent of the other side. Sides not in `train` (frozen) get no
    matches of their own."""
    pc = loop.play_config(cfg)
    protocol = get("protocol", pc.protocol.name)
    roles = protocol.roles_for(pc.protocol)
    specs = []
    for i, item in enumerate(items):
        for seat in roles:
            for side in SIDES:
                if side not in train:
                    continue
                opp = opponents[side][i % len(opponents[side])]
                lineup = {r: learners[side] if r == seat else opp for r in roles}
                specs += [s for s in plan_matches(pc, [item], protocol, lineup)
                          if side_of(item, s.assignment, seat) == side]  # fmt: skip
    return specs


def experience(
    cfg: TrainConfig,
    g: int,
    learners: dict[str, AgentConfig],
    opponents: dict[str, list[AgentConfig]],
    judge,
    items: list[Item],
    train: set[str],
    report: Report,
) -> tuple[dict, list]:
    """Play the matches, then update each trained side's learner from its own samples."""
    from debate.training.reinforce import choice_samples, reinforce_update

    specs = side_pairings(cfg, items, learners, opponents, train)
    groups = asyncio.run(
        # the planned specs say who plays: the policy and opponent arguments go unused
        forked_rollouts(loop.play_config(cfg), items, learners["honest"], [], judge,
                        cfg.update.group_size, g, report, specs=specs)
    )  # fmt: skip
    updates = {}
    for side in sorted(train):

        def mine(m: Match, role: str, side: str = side) -> bool:
            return side_of(m.transcript.item, m.transcript.assignment, role) == side

        samples = choice_samples(groups, learners[side].model, keep=mine)
        previous = loop.checkpoint(cfg, g - 1) / side if g > 1 else None
        updates[side] = reinforce_update(cfg, loop.check(cfg), previous, samples,
                                         loop.checkpoint(cfg, g) / side, g)  # fmt: skip
    differ = [len({f.transcript.verdict.probs[0] for f in fs}) > 1 for fs in groups]
    updates["groups_that_differ"] = sum(differ) / max(1, len(differ))
    return updates, [f.transcript for fs in groups for f in fs]


def read_league(cfg: TrainConfig, g: int) -> LeagueState:
    if g > 1:
        path = loop.checkpoint(cfg, g - 1) / "league.json"
        return LeagueState.model_validate_json(path.read_text())
    return LeagueState(members=[Member(name=BASE, model=cfg.policy.model, generation=0)])


def train_sides(
    cfg: TrainConfig,
    on_line: Callable | None = None,
    report: Report = no_report,
    frozen: dict[str, str] | None = None,
    evaluate_at: Callable[[int], dict] | None = None,
) -> list:
    """`debate train` with a learner per side. `frozen` fixes sides to model specs (never
    updated); `evaluate_at(g)` replaces the generation's full evaluation."""
    loop.check(cfg)
    if cfg.update.method != "choice":
        raise ConfigError("policy.share: false trains chosen evidence spans: set update.method "
                          "to choice")  # fmt: skip
    frozen = frozen or {}
    train = {s for s in SIDES if s not in frozen}
    judge = make_judge(cfg.judge)
    folder = RunFolder(cfg.run_dir)
    folder.claim(cfg)
    log = cfg.run_dir / "generations.jsonl"
    records = loop.read_records(log)
    first = cfg.run_dir / "eval" / "gen-0" / "selfplay"
    if (first / "transcripts.jsonl").exists():
        check_judged_by(first, RunFolder(first).read_transcripts(), judge)
    for g in range(len(records), cfg.generations + 1):
        start = time.perf_counter()
        learners = learners_at(cfg, g, frozen)
        league = read_league(cfg, g)
        record = loop.GenerationRecord(
            generation=g, policy=" ".join(f"{s}={a.model}" for s, a in learners.items())
        )
        if g > 0:
            previous = learners_at(cfg, g - 1, frozen)
            opponents = side_opponents(cfg, league, previous, g)
            items = load_items(cfg.task.name, cfg.task.n_items, cfg.task.seed,
                               {**cfg.task.params, "offset": (g - 1) * cfg.task.n_items})  # fmt: skip
            update, transcripts = experience(cfg, g, previous, opponents, judge, items, train,
                                             report)  # fmt: skip
            record.opponents = sorted({o.model for os in opponents.values() for o in os})
            record.pairs = sum(update[s]["samples"] for s in train)
            record.update = update
            mine = {previous[s].name for s in train}
            rewards = [t.verdict.probs[t.assignment[r]] for t in transcripts
                       for r, a in t.agents.items() if a in mine]  # fmt: skip
            record.train_reward = sum(rewards) / len(rewards) if rewards else None
            record.watch = loop.watch(transcripts, mine)
            loop.save_rollouts(cfg.run_dir / "rollouts" / f"gen-{g}.jsonl", transcripts)
            for s in sorted(train):
                loop.score_league(league, transcripts, previous[s].name)
                league.add(Member(name=f"{s}-gen-{g}", model=learners[s].model, generation=g))
            (loop.checkpoint(cfg, g) / "league.json").write_text(league.model_dump_json(indent=1))
            if g > 1:
                for s in train:
                    unload(previous[s].model)  # reloaded if the league draws it again
        if evaluate_at is not None:
            record.eval = evaluate_at(g)
        else:
            # generation 0 is the base model on both sides: evaluated unrouted, as shared
            # weights are, so both settings start from the same matches
            placeholder = loop.policy_at(cfg, g)
            route = SideRoute(placeholder.name, learners) if g > 0 else None
            if g > 0:
                placeholder = placeholder.model_copy(update={"model": learners["honest"].model})
            record.eval = evaluate(cfg, g, placeholder, report, route=route)
            record.elo = anchor_ratings(cfg, g + 1)
            record.cycles = league.cycles()
        record.flags = loop.flags(records, record)
        record.wall_s = round(time.perf_counter() - start, 1)
        record.peak_rss_gib = loop.peak_rss_gib()
        loop.append_record(log, record)
        if evaluate_at is None:
            loop.record_history(cfg, record)
        records.append(record)
        if on_line:
            on_line(record)
    return records


def train(cfg: TrainConfig, on_line: Callable | None = None, report: Report = no_report) -> list:
    """`debate train`: one set of weights for both sides (`debate.training.loop.train`), or a
    learner per side (`policy.share: false`)."""
    if getattr(cfg.policy, "share", True):
        return loop.train(cfg, on_line, report)
    return train_sides(cfg, on_line, report)


__all__ = ["SIDES", "SideRoute", "side_of", "train", "train_sides", "learners_at"]
