"""Every generation, on held-out items training never sees: judge accuracy in self-play debate
and in consultancy, the policy's games against fixed anchors (for ratings comparable across
generations and the honest advantage), and TruthfulQA where a file is given. Each part is an
ordinary resumable run folder under `<run>/eval/gen-N/`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from debate.config import AgentConfig, ProtocolConfig, RunConfig
from debate.run.runner import run
from debate.runfolder import RunFolder
from debate.schema import Transcript
from debate.stats.estimates import boot_mean
from debate.stats.outcomes import side_rates, side_score, side_wins, unparsed
from debate.stats.ratings import Game, fit
from debate.suites.choices import choice_stats
from debate.suites.metrics import paired_difference, per_item
from debate.training.config import TrainConfig

Report = Callable[[str, int, int], None]  # (what, done, total) for a progress bar


def eval_config(cfg: TrainConfig, folder: Path, name: str, protocol: str, debaters, n: int):
    return RunConfig(
        name=name,
        out=str(folder),
        seed=cfg.seed,
        max_live=cfg.max_live,
        task=cfg.task.model_copy(update={"n_items": n, "seed": cfg.held_out_seed,
                                         "params": {**cfg.task.params, "offset": cfg.eval_offset}}),
        protocol=ProtocolConfig(**{**cfg.protocol.model_dump(), "name": protocol, "sides": "both"}),
        debaters=debaters,
        judge=cfg.judge,
    )  # fmt: skip


def no_report(label: str, done: int, total: int) -> None:
    pass


def evaluate(
    cfg: TrainConfig,
    generation: int,
    policy: AgentConfig,
    report: Report = no_report,
    route: Callable | None = None,
) -> dict:
    """`route` reseats the policy's matches (a learner per side: `debate.training.sides`)."""
    folder = cfg.run_dir / "eval" / f"gen-{generation}"

    def played(c: RunConfig) -> list[Transcript]:
        run(c, on_progress=lambda k, n: report(f"gen {generation} eval {c.name}", k, n),
            route=route)  # fmt: skip
        return RunFolder(c.run_dir).read_transcripts()

    debate = cfg.protocol.name
    selfplay = played(eval_config(cfg, folder, "selfplay", debate, [policy], cfg.eval_items))
    consult = played(
        eval_config(cfg, folder, "consultancy", "consultancy", [policy], cfg.eval_items)
    )
    anchor_games = []
    for anchor in cfg.league.anchors:
        for pair, tag in (([policy, anchor], "first"), ([anchor, policy], "second")):
            name = f"vs-{anchor.name}-{tag}"
            c = eval_config(cfg, folder, name, debate, pair, cfg.league.anchor_items)
            anchor_games += played(c)
    wins = side_wins(anchor_games, lambda t, role: t.agents[role] == policy.name)
    out = {
        "generation": generation,
        # by item (both seats of an item averaged), as the eval suite reports: the two seats of
        # an item are not independent draws
        "selfplay_accuracy": item_accuracy(selfplay),
        "consultancy_accuracy": item_accuracy(consult),
        # in self-play the side arguing the true answer wins exactly when the judge is right;
        # the mean of P(true answer) tells how far it wins
        "selfplay_p_correct": sum(t.p_correct for t in selfplay) / max(1, len(selfplay)),
        "choices": choice_stats(selfplay),
        "consultancy_choices": choice_stats(consult),
        **side_rates(wins),
        "anchor_scores": {
            a.name: sum(
                t.winner() is not None and t.agents[t.winner()] == policy.name
                for t in anchor_games
                if a.name in t.agents.values()
            )
            / max(1, sum(a.name in t.agents.values() for t in anchor_games))
            for a in cfg.league.anchors
        },  # fmt: skip
    }
    if generation > 0:
        now = {"selfplay": selfplay, "consultancy": consult}
        out["since_gen0"] = paired_change(folder.parent, now, 0)
        out["since_previous"] = paired_change(folder.parent, now, generation - 1)
    if cfg.truthfulqa_path:
        from debate.suites.truthfulqa import TruthfulQAConfig, run_truthfulqa

        tqa = run_truthfulqa(
            TruthfulQAConfig(
                name="truthfulqa",
                out=str(folder),
                model=policy.model,
                path=cfg.truthfulqa_path,
                checkpoint=f"gen-{generation}",
            )  # fmt: skip
        )
        out["truthfulqa"] = {"mc1": tqa["mc1"]["value"], "mc2": tqa["mc2"]["value"]}
    return out


def correct_by_item(transcripts: list[Transcript]) -> dict[str, float]:
    return per_item(transcripts, lambda t: float(t.judge_correct))


def item_accuracy(transcripts: list[Transcript]) -> dict:
    return {**boot_mean(list(correct_by_item(transcripts).values())), **unparsed(transcripts)}


def paired_change(evals: Path, now: dict[str, list[Transcript]], generation: int) -> dict:
    """Judge accuracy now minus at an earlier generation, paired by held-out item (both seats
    of an item averaged first), with a bootstrap interval: whether training moved it beyond
    noise."""
    return {
        name: paired_difference(correct_by_item(ts), correct_by_item(
            RunFolder(evals / f"gen-{generation}" / name).read_transcripts()))
        for name, ts in now.items()
    }  # fmt: skip


def anchor_ratings(cfg: TrainConfig, generations: int) -> dict[str, dict]:
    """Elo of every generation and anchor from all anchor games so far: the anchors play the
    same games every generation, so the scale is shared and generations compare."""
    games, names = [], [a.name for a in cfg.league.anchors]
    for g in range(generations):
        names.append(f"gen-{g}")
        folder = cfg.run_dir / "eval" / f"gen-{g}"
        for path in sorted(folder.glob("vs-*")):
            for t in RunFolder(path).read_transcripts():
                if t.verdict is None:
                    continue
                ra, rb = t.assignment
                games.append(Game(t.agents[ra], t.agents[rb], side_score(t, ra), t.item.id))
    return {
        r.name: {"elo": r.elo, "ci95": list(r.ci95), "games": r.games}
        for r in fit(games, names, n_boot=500, seed=cfg.seed)
    }
