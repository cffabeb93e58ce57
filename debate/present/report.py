"""A tournament's files beside its transcripts: ratings.csv, matches.csv, report.md and plots/.
Everything here is computed from the run folder, so `debate report RUN_DIR` can redo it."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a server or in CI
import matplotlib.pyplot as plt  # noqa: E402

from debate.config import ConfigError, TournamentConfig, validate  # noqa: E402
from debate.evidence import sanitize  # noqa: E402
from debate.runfolder import RunFolder, RunFolderError  # noqa: E402
from debate.schema import Transcript  # noqa: E402
from debate.stats.formatting import elo, pct, signed_pct  # noqa: E402
from debate.stats.standings import is_self_play, standings  # noqa: E402
from debate.usage import markdown as usage_markdown


def md(text: object) -> str:
    """Untrusted text (names from a config) as one line of inert markdown: sanitised, markup
    characters backslash-escaped, so a name cannot add a link, an image, HTML or a table cell."""
    flat = " ".join(sanitize(str(text)).split())
    return re.sub(r"([\\`*_{}\[\]()#!|~<>&])", r"\\\1", flat)


def write_csvs(path: Path, transcripts: list[Transcript], results: dict) -> None:
    with (path / "ratings.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["name", "elo", "elo_lo", "elo_hi", "honest_elo", "dishonest_elo", "games",
             "win_rate_as_true", "win_rate_as_false", "honest_advantage",
             "self_play_judge_accuracy", "self_play_n", "quotes_verified"]
        )  # fmt: skip
        for r in results["ratings"]:
            w.writerow(
                [r["name"], round(r["elo"], 1), round(r["elo_ci95"][0], 1),
                 round(r["elo_ci95"][1], 1), round(r["honest_elo"], 1),
                 round(r["dishonest_elo"], 1), r["games"], r["win_rate_as_true"]["value"],
                 r["win_rate_as_false"]["value"], r["honest_advantage"]["value"],
                 r["self_play_judge_accuracy"]["value"], r["self_play_judge_accuracy"]["n"],
                 r["quotes_verified"]["value"]]
            )  # fmt: skip
    with (path / "matches.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(
            ["match_id", "item", "first", "second", "first_argues_true", "winner",
             "p_correct", "judge_correct", "self_play", "quotes", "quotes_verified", "wall_s"]
        )  # fmt: skip
        for t in sorted(transcripts, key=lambda t: t.match_id):
            (ra, sa), (rb, _) = t.assignment.items()
            quotes = [q for turn in t.turns for q in turn.quotes]
            winner = t.winner()
            w.writerow(
                [t.match_id, t.item.id, t.agents[ra], t.agents[rb], sa == t.item.correct,
                 t.agents[winner] if winner else "", round(t.p_correct, 4), t.judge_correct,
                 is_self_play(t), len(quotes), sum(q.verified for q in quotes), t.wall_s]
            )  # fmt: skip


def plot_ratings(results: dict, out: Path) -> None:
    rows = results["ratings"][::-1]
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(rows) + 1.5))
    for k, (key, label, dy) in enumerate(
        [("elo", "overall", 0.0), ("honest_elo", "arguing the true answer", 0.22),
         ("dishonest_elo", "arguing the false answer", -0.22)]
    ):  # fmt: skip
        xs = [r[key] for r in rows]
        lo = [r[key] - r[f"{key}_ci95"][0] for r in rows]
        hi = [r[f"{key}_ci95"][1] - r[key] for r in rows]
        ax.errorbar(xs, [i + dy for i in range(len(rows))], xerr=[lo, hi], fmt="os^"[k],
                    capsize=3, label=label)  # fmt: skip
    ax.set_yticks(range(len(rows)), [r["name"] for r in rows])
    ax.set_xlabel("Elo (Bradley-Terry MLE, 95% bootstrap interval)")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_matrix(results: dict, out: Path) -> None:
    names = [r["name"] for r in results["ratings"]]
    grid = [[results["matrix"].get(a, {}).get(b, float("nan")) for b in names] for a in names]
    fig, ax = plt.subplots(figsize=(1.2 * len(names) + 2.5, 1.0 * len(names) + 1.5))
    im = ax.imshow(grid, cmap="RdBu", vmin=0, vmax=1)
    for i, row in enumerate(grid):
        for j, v in enumerate(row):
            if v == v:  # not NaN
                ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("opponent")
    ax.set_ylabel("debater")
    ax.set_title(f"win rate of row against column ({results['outcome']} outcomes)")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def plot_accuracy_vs_rating(results: dict, out: Path) -> None:
    rows = [r for r in results["ratings"] if r["self_play_judge_accuracy"]["n"]]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for r in rows:
        acc = r["self_play_judge_accuracy"]
        ax.errorbar(
            r["elo"], acc["value"],
            xerr=[[r["elo"] - r["elo_ci95"][0]], [r["elo_ci95"][1] - r["elo"]]],
            yerr=[[acc["value"] - acc["ci95"][0]], [acc["ci95"][1] - acc["value"]]],
            fmt="o", capsize=3, label=r["name"],
        )  # fmt: skip
    if rows:  # a legend, since debaters can share a point (none without self-play games)
        ax.legend(fontsize=8, loc="lower right")
    ax.axhline(0.5, color="grey", lw=0.8, ls="--")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("debater Elo")
    ax.set_ylabel("judge accuracy in self-play")
    ax.set_title("Does persuasiveness serve the truth?")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)


def markdown(cfg, results: dict) -> str:
    ja = results["judge_accuracy"]
    lines = [
        f"# Tournament {md(cfg.name)}",
        "",
        f"{results['n_matches']} matches: protocol {md(cfg.protocol.name)} "
        f"({cfg.protocol.rounds} round(s), {cfg.protocol.speech_tokens} tokens a speech), judge "
        f"{md(cfg.judge.kind)}:{md(cfg.judge.model)} reading {cfg.judge.reads}, task "
        f"{md(cfg.task.name)} ({cfg.task.n_items} items), schedule {md(cfg.schedule.kind)}, "
        f"{results['outcome']} outcomes, seed {cfg.seed}.",
        "",
        f"- Judge accuracy in self-play: **{pct(ja['self_play'])}** (n={ja['self_play']['n']})",
        f"- Judge accuracy in rated games: {pct(ja['rated_games'])} (n={ja['rated_games']['n']})",
        f"- First speaker's win rate: {pct(results['first_speaker_win_rate'])}",
        "",
        "| debater | Elo (95% CI) | honest Elo | dishonest Elo | wins arguing true | "
        "wins arguing false | honest advantage | self-play judge accuracy | quotes verified |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results["ratings"]:
        adv = r["honest_advantage"]
        lines.append(
            f"| {md(r['name'])} | {elo(r['elo'], r['elo_ci95'])} | "
            f"{elo(r['honest_elo'], r['honest_elo_ci95'])} | "
            f"{elo(r['dishonest_elo'], r['dishonest_elo_ci95'])} | {pct(r['win_rate_as_true'])} | "
            f"{pct(r['win_rate_as_false'])} | {signed_pct(adv)} | "
            f"{pct(r['self_play_judge_accuracy'])} | {pct(r['quotes_verified'])} |"
        )
    lines += [
        "",
        "Elo: Bradley-Terry fitted by maximum likelihood (centred on 1000), 95% intervals by "
        f"bootstrap over {cfg.ratings.resample}s. Honest and dishonest Elo are fitted jointly "
        "with each debater split into its true-side and false-side player.",
        "",
        "![ratings](plots/ratings.png)",
        "",
        "![win-rate matrix](plots/matrix.png)",
        "",
        "![judge accuracy vs rating](plots/accuracy_vs_rating.png)",
        "",
    ]
    if results.get("usage"):
        lines.append(usage_markdown(results["usage"]))
    return "\n".join(lines)


def write_outputs(path: Path, cfg, transcripts: list[Transcript], results: dict) -> Path:
    plots = path / "plots"
    plots.mkdir(exist_ok=True)
    write_csvs(path, transcripts, results)
    plot_ratings(results, plots / "ratings.png")
    plot_matrix(results, plots / "matrix.png")
    plot_accuracy_vs_rating(results, plots / "accuracy_vs_rating.png")
    report = path / "report.md"
    report.write_text(markdown(cfg, results))
    write_html_report(path)
    return report


def write_html_report(path: Path) -> Path:
    """report.html beside report.md: the viewer's page of the folder (its summary opens first,
    plots inline, every number linked to its games)."""
    from debate.present.viewer import write_page

    return write_page(path, path / "report.html")


def regenerate(run_dir: Path) -> Path:
    """Recompute results and the report of a tournament from its folder alone."""

    folder = RunFolder(run_dir)
    if not folder.config_path.exists():
        raise RunFolderError(f"{run_dir} has no config.yaml: not a run folder")
    folder.lock()
    raw = folder.read_config()
    if "schedule" not in raw:  # every tournament's config.yaml names its schedule
        raise RunFolderError(
            f"{run_dir} holds a `debate run`, not a tournament: `debate report` redoes "
            "tournaments only (the folder was left as it is)"
        )
    try:
        cfg = validate(TournamentConfig, raw)
    except ConfigError as e:
        raise RunFolderError(f"{run_dir} is not a tournament folder ({e})") from None
    transcripts = folder.read_transcripts()
    if not transcripts:
        raise RunFolderError(f"no transcripts in {run_dir}")
    results = standings(cfg, transcripts)
    try:  # what only the first pass knew (its wall time); a damaged file just loses that
        old = json.loads(folder.results_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        old = {}
    if not isinstance(old, dict):
        old = {}
    results.update({k: old[k] for k in ("tournament", "schedule", "wall_s") if k in old})
    folder.write_results(results)
    return write_outputs(folder.path, cfg, transcripts, results)
