"""`debate export` and `debate rejudge`: a finished run taken to other tools, or judged again."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from debate.cli.shared import USER_ERRORS, console, fail, progress
from debate.config import ConfigError, parse_yaml


def export(
    run_dir: Path = typer.Argument(..., help="a run folder (run, tournament, eval, training)"),
    format: str = typer.Option(..., "--format", "-f", help="inspect (inspect_ai logs) or hf"),
    out: Path | None = typer.Option(None, help="folder to write (default RUN_DIR/export-FORMAT)"),
) -> None:
    """Write the run's transcripts as inspect_ai eval logs or a Hugging Face dataset."""
    try:
        paths = write_export(run_dir, format, out or run_dir / f"export-{format}")
    except USER_ERRORS as e:
        fail(str(e))
        return
    console.print(paths, highlight=False, soft_wrap=True)


def write_export(run_dir: Path, format: str, out: Path) -> str:
    from debate.present.viewer import check_run_folder, group_of, read_file, transcript_files
    from debate.runfolder import RunFolder, RunFolderError

    if format not in ("inspect", "hf"):
        raise ConfigError(f"unknown --format {format!r}; choose from: inspect, hf")
    RunFolder(run_dir).existing()
    check_run_folder(run_dir)
    if out.exists():
        raise RunFolderError(f"{out} exists; give another --out (an export never overwrites)")
    groups, rollouts, configs = {}, [], {}
    for file in transcript_files(run_dir):
        if file.name != "transcripts.jsonl":
            rollouts += read_file(file)
            continue
        if "rejudged" in file.relative_to(run_dir).parts:
            continue
        group = group_of(run_dir, file)
        groups[group] = read_file(file)  # failed matches too, marked by their error
        if not groups[group]:
            del groups[group]
            continue
        cfg_file = file.parent / "config.yaml"
        configs[group] = RunFolder(file.parent).read_config() if cfg_file.exists() else {}
    if not groups and not rollouts:
        raise RunFolderError(f"no transcripts in {run_dir}")
    if format == "inspect":
        from debate.present.export_inspect import need_inspect, write_inspect

        need_inspect()
        out.mkdir(parents=True)
        paths = write_inspect({g: (ts, configs[g]) for g, ts in groups.items()}, out)
        said = f"{len(paths)} inspect log(s) in {out}: " + ", ".join(p.name for p in paths)
        return said + failures(groups)
    from debate.present.export_hf import write_hf

    out.mkdir(parents=True)
    counts = write_hf(groups, preference_rows(run_dir, rollouts), out)
    said = f"{out}: " + ", ".join(f"{name} ({n} rows)" for name, n in counts.items())
    return said + failures(groups)


def failures(groups: dict[str, list]) -> str:
    """What an export says of failed matches: exported with their error, never dropped
    silently, and a group with no judged match exported as failed."""
    failed = {g: sum(bool(t.error) for t in ts) for g, ts in groups.items()}
    if not any(failed.values()):
        return ""
    every = [g for g, ts in groups.items() if failed[g] == len(ts)]
    text = f"\n{sum(failed.values())} failed match(es) exported with their error"
    return text + (f"; every match failed in: {', '.join(every)}" if every else "")


def preference_rows(run_dir: Path, rollouts: list) -> list[dict]:
    """trl's preference format (prompt, chosen, rejected) from a training run's branched
    rollouts, paired as training pairs them, with where each pair came from."""
    if not rollouts:
        return []
    from debate.runfolder import RunFolder
    from debate.training.rollouts import preference_pairs, saved_groups

    raw = RunFolder(run_dir).read_config() if (run_dir / "config.yaml").exists() else {}
    update = raw.get("update") if isinstance(raw.get("update"), dict) else {}
    margin = float(update.get("min_margin", 0.0))
    rows = []
    for g in saved_groups(rollouts):
        for pair in preference_pairs([g], margin):
            ranked = sorted(g.branches, key=lambda b: b.reward)
            rows.append({**pair, "score_chosen": ranked[-1].reward,
                         "score_rejected": ranked[0].reward, "role": g.role,
                         "match_id": g.branches[0].transcript.match_id})  # fmt: skip
    return rows


def parse_judge(text: str):
    """`--judge KIND:MODEL`, or a YAML mapping of judge keys (a panel: `{kind: panel, params:
    {judges: [cloze:smollm2, letter:smollm2]}}`)."""
    from debate.match.judge import judge_config

    spec = parse_yaml(text, "--judge") if text.strip().startswith("{") else text
    return judge_config(spec)


def rejudge(
    run_dir: Path = typer.Argument(..., help="a run folder (run, tournament, eval)"),
    judge: list[str] = typer.Option(
        [], help="KIND:MODEL (letter:smollm2) or a YAML mapping of judge keys; repeat"
    ),
    seed: int = typer.Option(0, help="seed of the agreement's bootstrap"),
) -> None:
    """Judge saved transcripts again, from the views their judge read; writes
    RUN_DIR/rejudged/N/ and never changes the run's own files."""
    from debate.run.rejudge import rejudge as run_rejudge

    try:
        if not judge:
            raise ConfigError("give one or more --judge KIND:MODEL (e.g. --judge letter:smollm2)")
        configs = [parse_judge(j) for j in judge]
        with progress("rejudge") as report:
            results = run_rejudge(run_dir, configs, seed, lambda k, n: report("transcripts", k, n))
    except USER_ERRORS as e:
        fail(str(e))
        return
    print_comparison(results)
    console.print(f"results in {results['folder']}/results.json", highlight=False)


def print_comparison(results: dict) -> None:
    groups = results["groups"]
    for group, figures in groups.items():
        print_group(figures, f"{group}: " if len(groups) > 1 else "")
    if results["rebuilt_readings"]:
        console.print(f"{results['rebuilt_readings']} reading(s) had no single recorded view "
                      "and were rebuilt from the speeches")  # fmt: skip
    if results.get("failed"):
        console.print(f"[yellow]{results['failed']} transcript(s) could not be re-judged and are "
                      f"left out[/yellow] (first: {escape(results['first_failure'])})")  # fmt: skip


def print_group(results: dict, title: str) -> None:
    from debate.stats.formatting import estimate, kappa_text

    table = Table(title=f"{escape(title)}{results['transcripts']} transcripts")
    for col in ("judge", "accuracy (95% CI)", "unparsed", "P(true answer)"):
        table.add_column(col)
    for name, j in results["judges"].items():
        unparsed = f"{j['unparsed']} of {j['n']}"
        table.add_row(escape(name), estimate(j["accuracy"]),
                      f"[yellow]{unparsed}[/yellow]" if j["unparsed"] else unparsed,
                      "-" if j["mean_p_correct"] is None else f"{j['mean_p_correct']:.3f}")  # fmt: skip
    console.print(table)
    table = Table(title=f"{escape(title)}agreement (items both judges picked on)")
    for col in ("judges", "same pick (95% CI)", "Cohen's kappa (95% CI)", "no pick"):
        table.add_column(col)
    for pair, a in results["agreement"].items():
        short = " vs ".join(side.split(" ")[0] for side in pair.split(" vs "))
        table.add_row(escape(short), estimate(a["rate"]), kappa_text(a["kappa"]), str(a["no_pick"]))
    console.print(table)


def add_to(app: typer.Typer) -> None:
    app.command()(export)
    app.command()(rejudge)
