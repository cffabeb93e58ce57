"""`debate train`: generations of play, judge, update, evaluate.

    generation 0: evaluate the base policy; it founds the league
    for g = 1..G:
        opponents <- league (latest / uniform / prioritized)
        experience <- policy vs opponents on fresh training items, rewarded by the frozen judge
        policy <- trl update (DPO on branched pairs, or GRPO with the judge as reward)
        checkpoint g joins the league; evaluate it on held-out items; watch for reward hacking

Generation g is finished when its line is in `generations.jsonl`; a killed run resumed with the
same command starts again after the last finished generation. Every seed is derived from
(run seed, generation), so the random state to restore is the generation number itself.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from pydantic import Field

from debate.config import AgentConfig, ConfigError, RunConfig
from debate.match.judge import make_judge
from debate.models import ModelError, trainable_path, unload
from debate.run.runner import check_judged_by, load_items
from debate.runfolder import RunFolder
from debate.schema import Record, Transcript, names_answer
from debate.seeds import derive_seed
from debate.stats.formatting import estimate, percent, share, unread
from debate.training import monitor, portable, rollouts
from debate.training.config import TrainConfig, as_debater
from debate.training.distributed import ranks
from debate.training.evaluate import Report, anchor_ratings, evaluate, no_report
from debate.training.league import OPPONENT, LeagueState, Member
from debate.training.served import load_adapter, served_opponents


class GenerationRecord(Record):
    generation: int
    policy: str  # model spec of this generation's checkpoint
    opponents: list[str] = Field(default_factory=list)
    pairs: int = 0  # DPO preference pairs, or GRPO prompts
    update: dict = Field(default_factory=dict)
    train_reward: float | None = None  # mean judge probability for the policy's side
    watch: dict = Field(default_factory=dict)  # what a persuasion-only objective can game
    eval: dict = Field(default_factory=dict)
    elo: dict = Field(default_factory=dict)
    cycles: list[list[str]] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)
    wall_s: float = 0.0
    # the process's peak resident memory so far: a resumed run's process starts from nothing
    peak_rss_gib: float = 0.0
    processes: int = 1  # training processes that shared the generation (accelerate launch)


def peak_rss_gib() -> float:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux, bytes on macOS
    return round(peak / (2**30 if sys.platform == "darwin" else 2**20), 2)


def play_config(cfg: TrainConfig) -> RunConfig:
    return RunConfig(name=cfg.name, out=cfg.out, seed=cfg.seed, max_live=cfg.max_live,
                     task=cfg.task, protocol=cfg.protocol.model_copy(update={"sides": "both"}),
                     debaters=[as_debater(cfg.policy)], judge=cfg.judge)  # fmt: skip


def check(cfg: TrainConfig) -> str:
    from debate.registry import UnknownName, get

    try:
        roles = get("protocol", cfg.protocol.name).roles_for(cfg.protocol)
    except UnknownName as e:
        raise ConfigError(f"protocol.name: {e}") from None
    if len(roles) != 2:
        raise ConfigError(f"training needs a two-player protocol; {cfg.protocol.name} has {roles}")
    try:  # a spec that can't be trained is the first thing to say
        path = trainable_path(cfg.policy.model)
    except ModelError as e:
        raise ConfigError(f"policy.model: {e}") from None
    if cfg.update.method != "choice" and cfg.policy.chooses():
        raise ConfigError(
            f"update.method {cfg.update.method} trains free-text speeches: set policy.speech to free "
            "(or update.method to choice)"
        )
    if cfg.update.method == "choice" and not (
        cfg.policy.chooses() and cfg.policy.choose_by == "self"
    ):
        raise ConfigError(
            "update.method choice trains chosen evidence spans: set policy.speech to choose and "
            "policy.choose_by to self"
        )
    return path


def starts(cfg: TrainConfig) -> None:
    """What would stop an update, found before generation 0's evaluation rather than after."""
    from debate.training.update import per_rank
    from debate.training.vllm_server import vllm_args

    vllm_args(cfg)  # asks the server once
    if cfg.update.method in ("dpo", "grpo"):
        per_rank(cfg.update.batch_size if cfg.update.method == "dpo" else cfg.update.group_size)


def checkpoint(cfg: TrainConfig, g: int) -> Path:
    return (cfg.run_dir / "checkpoints" / f"gen-{g}").resolve()


def policy_at(cfg: TrainConfig, g: int) -> AgentConfig:
    if g == 0:
        model = cfg.policy.model
    else:
        model = f"{'peft' if cfg.lora.enabled else 'hf'}:{checkpoint(cfg, g)}"
    return as_debater(cfg.policy).model_copy(update={"name": f"gen-{g}", "model": model})


def read_records(path: Path) -> list[GenerationRecord]:
    if not path.exists():
        return []
    return [GenerationRecord.model_validate_json(x) for x in path.read_text().splitlines() if x]


def append_record(path: Path, record: GenerationRecord) -> None:
    with path.open("a") as f:
        f.write(record.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def watch(transcripts: list[Transcript], policy_names: set[str]) -> dict:
    """Unverified quotes, speech length and concessions (a speech naming only the other side's
    answer: in self-play, both sides conceding is collusion) in the policy's speeches."""
    turns = [(t, u) for t in transcripts for u in t.turns if u.agent in policy_names]
    quotes = [q for _, u in turns for q in u.quotes]
    conceded = []
    for t, u in turns:
        own = t.item.answers[u.side]
        other = [a for i, a in enumerate(t.item.answers) if i != u.side]
        conceded.append(
            not names_answer(u.text, own) and any(names_answer(u.text, a) for a in other)
        )
    n = max(1, len(turns))
    return {
        "speeches": len(turns),
        "unverified_quote_share": (sum(not q.verified for q in quotes) / len(quotes))
        if quotes else None,
        "mean_speech_words": sum(len(u.text.split()) for _, u in turns) / n,
        "concession_rate": sum(conceded) / n,
    }  # fmt: skip


def experience_dpo(cfg, g, policy, opponents, judge, items, out: Path, report) -> tuple:
    from debate.training.update import dpo_update

    here = ranks()
    groups = asyncio.run(
        rollouts.branched_rollouts(play_config(cfg), items, policy, opponents, judge,
                                   cfg.update.branches, g, report, share=here.share)
    )  # fmt: skip
    groups = here.gather(groups)  # in the order one process plays them
    pairs = rollouts.preference_pairs(groups, cfg.update.min_margin)
    transcripts = [b.transcript for grp in groups for b in grp.branches]
    if not pairs:
        raise ConfigError(
            f"generation {g}: no preference pairs (the judge scored every pair of branches within "
            f"update.min_margin={cfg.update.min_margin}); lower it or raise update.branches"
        )
    previous = checkpoint(cfg, g - 1) if g > 1 else None
    result = dpo_update(cfg, check(cfg), previous, pairs, out, g)
    return {"pairs": len(pairs), **result}, transcripts


def experience_grpo(cfg, g, policy, opponents, judge, items, out: Path, report) -> tuple:
    from debate.training.update import grpo_update

    pc = play_config(cfg)
    here = ranks()
    rows = asyncio.run(
        rollouts.stems(pc, items, policy, opponents, judge, g, report, share=here.share)
    )
    rows = here.gather(rows)  # every rank's trainer holds them all and takes its share
    seen: list[Transcript] = []

    def judge_reward(prompts, completions, **columns) -> list[float]:
        batch = [{k: columns[k][i] for k in rollouts.STEM_COLUMNS}
                 for i in range(len(completions))]  # fmt: skip
        done = rollouts.finish_debates(pc, judge, batch, list(completions))
        seen.extend(done)
        return [t.verdict.probs[t.assignment[row["role"]]] for t, row in zip(done, batch)]

    previous = checkpoint(cfg, g - 1) if g > 1 else None
    result = grpo_update(cfg, check(cfg), previous, rows, judge_reward, out, g)
    return {"pairs": len(rows), **result}, here.gather(seen)  # each rank judged its completions


def experience_choice(cfg, g, policy, opponents, judge, items, out: Path, report) -> tuple:
    from debate.training.reinforce import choice_samples, reinforce_update

    here = ranks()
    groups = asyncio.run(
        rollouts.forked_rollouts(play_config(cfg), items, policy, opponents, judge,
                                 cfg.update.group_size, g, report, share=here.share)
    )  # fmt: skip
    # a group's samples, transcripts and spread, from every rank, in match order
    mine = [(fs[0].transcript.match_id, choice_samples([fs], policy.model),
             [f.transcript for f in fs], len({f.transcript.verdict.probs[0] for f in fs}) > 1)
            for fs in groups]  # fmt: skip
    every = sorted(here.gather(mine), key=lambda group: group[0])
    samples = [s for _, group, _, _ in every for s in group]
    previous = checkpoint(cfg, g - 1) if g > 1 else None
    result = reinforce_update(cfg, check(cfg), previous, samples, out, g)
    result["groups_that_differ"] = sum(d for *_, d in every) / max(1, len(every))
    return {"pairs": len(samples), **result}, [t for _, _, ts, _ in every for t in ts]


EXPERIENCE = {"choice": experience_choice, "dpo": experience_dpo, "grpo": experience_grpo}


def train(
    cfg: TrainConfig,
    on_line: Callable[[GenerationRecord], None] | None = None,
    report: Report = no_report,
) -> list:
    if not getattr(cfg.policy, "share", True):
        raise ConfigError("policy.share: false (a learner per side) is trained by "
                          "debate.training.sides.train")  # fmt: skip
    check(cfg)
    here = ranks()  # one process, or one of several (debate/training/distributed.py)
    starts(cfg)
    if not here.is_main:
        on_line, report = None, no_report
    judge = make_judge(cfg.judge)
    folder = RunFolder(cfg.run_dir)
    here.on_main(lambda: folder.claim(cfg))  # rank 0 writes the folder; the others read it
    log = cfg.run_dir / "generations.jsonl"
    records = read_records(log)
    first = cfg.run_dir / "eval" / "gen-0" / "selfplay"
    if (first / "transcripts.jsonl").exists():
        # every generation is compared with generation 0: all of them by the same judge
        check_judged_by(first, RunFolder(first).read_transcripts(), judge)
    for g in range(len(records), cfg.generations + 1):
        start = time.perf_counter()
        policy = policy_at(cfg, g)
        league_file = checkpoint(cfg, g - 1) / "league.json" if g > 1 else None
        league = (portable.read_league(league_file, cfg.run_dir) if league_file
                  else LeagueState(members=[Member(name="gen-0", model=cfg.policy.model,
                                                   generation=0)]))  # fmt: skip
        record = GenerationRecord(generation=g, policy=policy.model, processes=here.count)
        # anything random that no match seeds differs between ranks, reproducibly
        torch.manual_seed(derive_seed(cfg.seed, "rank", here.index, g) % 2**31)
        if g > 0:
            previous = policy_at(cfg, g - 1)
            rng = random.Random(derive_seed(cfg.seed, "league", g))
            opponents = league.opponents(cfg.league.opponents, previous, 3, rng)
            opponents = served_opponents(opponents, cfg.league)  # by name, where a server plays
            items = load_items(cfg.task.name, cfg.task.n_items, cfg.task.seed,
                               {**cfg.task.params, "offset": (g - 1) * cfg.task.n_items})  # fmt: skip
            experience = EXPERIENCE[cfg.update.method]
            update, transcripts = experience(cfg, g, previous, opponents, judge, items,
                                             checkpoint(cfg, g), report)  # fmt: skip
            here.on_main(partial(portable.name_base, checkpoint(cfg, g), cfg.policy.model))
            record.opponents = [o.model for o in opponents]
            record.pairs = update.pop("pairs")
            record.update = {k: v for k, v in update.items() if k != "log"}
            rewards = [t.verdict.probs[t.assignment[r]] for t in transcripts
                       for r, a in t.agents.items() if a == previous.name]  # fmt: skip
            record.train_reward = sum(rewards) / len(rewards) if rewards else None
            record.watch = watch(transcripts, {previous.name})
            score_league(league, transcripts, previous.name)
            league.add(Member(name=f"gen-{g}", model=policy.model, generation=g))
            if g > 1:
                unload(previous.model)  # reloaded if the league draws it again

        done = transcripts if g > 0 else []
        record = here.on_main(partial(finish, cfg, record, policy, league, done, records, start,
                                      report))  # fmt: skip
        records.append(record)
        if on_line:
            on_line(record)
    return records


def finish(cfg: TrainConfig, record: GenerationRecord, policy: AgentConfig,
           league: LeagueState, transcripts: list[Transcript], history: list[GenerationRecord],
           start: float, report: Report) -> GenerationRecord:  # fmt: skip
    """Rank 0 alone writes the generation and evaluates it; the other ranks wait."""
    g = record.generation
    if g > 0:
        save_rollouts(cfg.run_dir / "rollouts" / f"gen-{g}.jsonl", transcripts)
        portable.write_league(league, checkpoint(cfg, g) / "league.json", cfg.run_dir)
        load_adapter(cfg.league, f"gen-{g}", checkpoint(cfg, g))
    record.eval = evaluate(cfg, g, policy, report)
    record.elo = anchor_ratings(cfg, g + 1)
    record.cycles = league.cycles()
    record.flags = flags(history, record)
    record.wall_s = round(time.perf_counter() - start, 1)
    record.peak_rss_gib = peak_rss_gib()
    append_record(cfg.run_dir / "generations.jsonl", record)
    monitor.current().generation(record.model_dump(mode="json"))
    record_history(cfg, record)
    return record


def score_league(league: LeagueState, transcripts: list[Transcript], policy: str) -> None:
    """The policy's results against each opponent, kept for prioritised sampling and cycles."""
    by: dict[str, list[float]] = {}
    for t in transcripts:
        if policy not in t.agents.values() or t.verdict is None:
            continue
        other = next((a for a in t.agents.values() if a != policy), None)
        role = next(r for r, a in t.agents.items() if a == policy)
        if other is not None:
            by.setdefault(other, []).append(float(t.winner() == role))
    for opponent, scores in by.items():
        name = opponent.removeprefix(OPPONENT)
        league.policy_scores[name] = scores
        mean = sum(scores) / len(scores)
        league.pairwise.setdefault(policy, {})[name] = mean
        league.pairwise.setdefault(name, {})[policy] = 1 - mean


def flags(history: list[GenerationRecord], now: GenerationRecord) -> list[str]:
    """Reward hacking shows as the judge's reward on training items rising while the judge's
    held-out accuracy falls: by more than noise, held-out items lost since the previous
    generation outnumbering those gained at p < 0.05 (sign test)."""
    out = []
    past = [r for r in history if r.train_reward is not None]
    fell = now.eval.get("since_previous", {}).get("selfplay") or {"value": None}
    rose = past and now.train_reward is not None and now.train_reward > past[-1].train_reward
    if (
        rose
        and fell["value"] is not None
        and fell["value"] < 0
        and fell.get("sign_test_p", 1) < 0.05
    ):
        out.append(
            f"reward rose ({past[-1].train_reward:.3f} -> {now.train_reward:.3f}) while "
            f"held-out self-play judge accuracy fell {estimate(fell, signed=True)} "
            f"(paired over {fell['n']} items, sign test p = {fell['sign_test_p']:.3f})"
        )
    if now.cycles:
        out.append(f"non-transitive cycles in the league: {now.cycles}")
    return out


def save_rollouts(path: Path, transcripts: list[Transcript]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(t.model_dump_json() + "\n" for t in transcripts))


def record_history(cfg: TrainConfig, r: GenerationRecord) -> None:
    from debate.suites import history

    metrics = {k: r.eval[k] for k in ("selfplay_accuracy", "consultancy_accuracy",
                                       "honest_advantage")}  # fmt: skip
    metrics.update({f"since_gen0/{k}": d for k, d in r.eval.get("since_gen0", {}).items()})
    values = [(k, m["value"], m["ci95"], m.get("n", 0)) for k, m in metrics.items()]
    choices = r.eval.get("choices", {})
    values += [(k, v, None, choices["choices"]) for k, v in choices.items() if k != "choices"]

    def row(metric: str, value: float, ci95: list | None, n: int) -> history.HistoryRow:
        return history.HistoryRow(
            time=history.now(), suite="train", run=cfg.name, model=cfg.policy.model,
            judge=f"{cfg.judge.kind}:{cfg.judge.model}", checkpoint=f"gen-{r.generation}",
            metric=f"train/{metric}", value=value, n=n, **({"ci95": ci95} if ci95 else {}),
        )  # fmt: skip

    rows = [row(*v) for v in values if v[1] is not None]
    history.append(cfg.out, rows)


def summary_line(r: GenerationRecord) -> str:
    e = r.eval
    acc, cons, adv = e["selfplay_accuracy"], e["consultancy_accuracy"], e["honest_advantage"]
    elo = r.elo.get(f"gen-{r.generation}", {}).get("elo")
    parts = [
        f"gen {r.generation}",
        f"self-play acc {estimate(acc)}",
        f"consultancy acc {cons['value']:.1%}{unread(cons)}",
        f"honest adv {'-' if adv['value'] is None else percent(adv['value'], signed=True)}",
        f"Elo {elo:.0f}" if elo is not None else "",
    ]
    for name, label in (("selfplay", "debate"), ("consultancy", "consultancy")):
        d = e.get("since_gen0", {}).get(name)
        if d and d["value"] is not None:
            parts.append(f"{label} {estimate(d, signed=True)} since gen 0")
    c = e.get("choices", {})
    if c.get("choices"):
        parts.append(f"honest quotes deciding {share(c['honest_quotes_deciding'])}, liar "
                     f"deciding {share(c['liar_quotes_deciding'])} / distractor "
                     f"{share(c['liar_quotes_distractor'])}")  # fmt: skip
    if r.train_reward is not None:
        parts.append(f"reward {r.train_reward:.3f} ({r.pairs} pairs)")
        unverified = r.watch.get("unverified_quote_share")
        parts.append(f"unverified {share(unverified)}" if unverified is not None else "no quotes")
    parts += [f"{r.wall_s:.0f} s, peak {r.peak_rss_gib:.2f} GiB"] + [f"FLAG: {f}" for f in r.flags]
    return " | ".join(p for p in parts if p)


__all__ = ["train", "GenerationRecord", "summary_line"]
