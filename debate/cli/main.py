"""The `debate` command line. Every command takes `--config FILE` and `--set key=value`."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import typer
from rich.markup import escape

from debate.cli.shared import (
    USER_ERRORS,
    MaxCost,
    MaxFailures,
    MaxTokens,
    ModelBaseUrl,
    NoCache,
    Prices,
    assignment,
    caching,
    console,
    fail,
    flags_to_overrides,
    one_malloc_arena,
    parse_debater,
    print_usage,
    progress,
    registered,
    resolve,
    resume_hint,
)
from debate.config import RunConfig
from debate.models import ModelError
from debate.runfolder import RunFolder, RunFolderError

app = typer.Typer(add_completion=False, no_args_is_help=False, help=__doc__)


@app.callback()
def main() -> None:
    one_malloc_arena()


@app.command()
def run(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML or TOML run config"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: key=value"),
    protocol: str | None = typer.Option(None, help=f"one of: {registered('protocol')}"),
    task: str | None = typer.Option(None, help=f"one of: {registered('task')}"),
    n_items: int | None = typer.Option(None, help="number of task items"),
    debater: list[str] = typer.Option([], help="debater model spec, or NAME=SPEC; repeat for two"),
    judge: str | None = typer.Option(None, help="judge model spec (default smollm2)"),
    judge_kind: str | None = typer.Option(None, help=f"one of: {registered('judge')}"),
    rounds: int | None = typer.Option(None, help="debate rounds"),
    seed: int | None = typer.Option(None, help="run seed"),
    name: str | None = typer.Option(None, help="run name (folder under --out)"),
    out: str | None = typer.Option(None, help="parent folder of run folders (default runs)"),
    no_cache: NoCache = False,
    price: Prices = None,
    max_cost: MaxCost = None,
    max_tokens: MaxTokens = None,
    max_failures: MaxFailures = None,
    model_base_url: ModelBaseUrl = None,
) -> None:
    """Run one protocol over a task; with no arguments, the embedded SmolLM2 default."""
    from debate.run import runner

    overrides = flags_to_overrides(
        protocol=protocol,
        task=task,
        n_items=n_items,
        judge=judge,
        judge_kind=judge_kind,
        rounds=rounds,
        seed=seed,
        name=name,
        out=out,
        max_cost=max_cost,
        max_tokens=max_tokens,
        max_failures=max_failures,
    )
    if debater:
        overrides.append("debaters=" + json.dumps([parse_debater(d) for d in debater]))
    try:
        cfg: RunConfig = resolve(RunConfig, config, overrides + set_, price, model_base_url)
        start = time.perf_counter()
        with (
            caching(no_cache),
            progress(f"{cfg.protocol.name} debate", resume_hint(cfg, "run")) as report,
        ):
            result = runner.run(cfg, on_progress=lambda k, n: report("matches", k, n))
    except USER_ERRORS as e:
        fail(str(e))
        return
    from debate.stats.formatting import unread

    acc = result["judge_accuracy"]
    lo, hi = acc["ci95"]
    console.print(
        f"judge accuracy [bold]{acc['value']:.1%}[/bold] (95% CI {lo:.1%}-{hi:.1%}, "
        f"n={acc['n']}{unread(acc)}) | {result['played_matches']} played, {result['resumed_matches']} resumed "
        f"| {time.perf_counter() - start:.1f} s | results in {cfg.run_dir}/results.json"
    )
    for reason, count in result.get("skipped_items", {}).items():
        console.print(f"[yellow]skipped {count} data rows: {reason}[/yellow]")
    print_usage(result)


@app.command()
def tournament(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML or TOML config"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: key=value"),
    debater: list[str] = typer.Option([], help="NAME=SPEC (or a bare SPEC); repeat, two or more"),
    judge: str | None = typer.Option(None, help="judge model spec (default smollm2)"),
    judge_kind: str | None = typer.Option(None, help=f"one of: {registered('judge')}"),
    protocol: str | None = typer.Option(
        None, help="a two-debater protocol: sequential, simultaneous, interactive"
    ),
    schedule: str | None = typer.Option(None, help="round-robin or swiss"),
    outcome: str | None = typer.Option(None, help="hard (judge's pick) or soft (its probability)"),
    task: str | None = typer.Option(None, help=f"one of: {registered('task')}"),
    n_items: int | None = typer.Option(None, help="number of task items"),
    rounds: int | None = typer.Option(None, help="debate rounds"),
    seed: int | None = typer.Option(None, help="run seed"),
    name: str | None = typer.Option(None, help="run name (folder under --out)"),
    out: str | None = typer.Option(None, help="parent folder of run folders (default runs)"),
    no_cache: NoCache = False,
    price: Prices = None,
    max_cost: MaxCost = None,
    max_tokens: MaxTokens = None,
    max_failures: MaxFailures = None,
    model_base_url: ModelBaseUrl = None,
) -> None:
    """Debaters play each other on both sides; Elo with intervals, judge accuracy, a report.
    With no arguments: four debaters of different strength and the SmolLM2 judge."""
    from debate.config import TournamentConfig
    from debate.run.tournament import run_tournament

    overrides = flags_to_overrides(
        protocol=protocol, task=task, n_items=n_items, judge=judge, judge_kind=judge_kind,
        rounds=rounds, seed=seed, name=name, out=out, schedule=schedule, outcome=outcome,
        max_cost=max_cost, max_tokens=max_tokens,
        max_failures=max_failures,
    )  # fmt: skip
    if debater:
        overrides.append("debaters=" + json.dumps([parse_debater(d) for d in debater]))
    try:
        cfg: TournamentConfig = resolve(
            TournamentConfig, config, overrides + set_, price, model_base_url
        )
        with (
            caching(no_cache),
            progress(f"tournament ({cfg.schedule.kind})", resume_hint(cfg, "tournament")) as report,
        ):
            result = run_tournament(cfg, on_progress=lambda k, n: report("matches", k, n))
    except USER_ERRORS as e:
        fail(str(e))
        return
    print_standings(result)
    print_usage(result)
    if "report_error" in result:
        fail(result["report_error"])
    console.print(
        f"{result['played_matches']} played, {result['resumed_matches']} resumed | "
        f"{result['wall_s']:.0f} s | report: {cfg.run_dir / 'report.md'}"
    )


def print_standings(result: dict) -> None:
    from rich.table import Table

    from debate.present.report import elo, pct

    table = Table(title="ratings")
    for col in ("debater", "Elo (95% CI)", "honest Elo", "dishonest Elo", "self-play judge acc."):
        table.add_column(col)
    for r in result["ratings"]:
        table.add_row(
            escape(r["name"]),
            elo(r["elo"], r["elo_ci95"]),
            f"{r['honest_elo']:.0f}",
            f"{r['dishonest_elo']:.0f}",
            pct(r["self_play_judge_accuracy"]),
        )
    console.print(table)
    console.print(f"judge accuracy in self-play: {pct(result['judge_accuracy']['self_play'])}")


@app.command()
def report(run_dir: Path = typer.Argument(..., help="a tournament's run folder")) -> None:
    """Recompute a tournament's results, CSVs, plots and report.md from its folder alone."""
    from debate.present.report import regenerate

    try:
        path = regenerate(run_dir)
    except USER_ERRORS as e:
        fail(str(e))
        return
    console.print(f"report: {path}")


@app.command()
def train(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML or TOML config"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: key=value"),
    policy: str | None = typer.Option(None, help="model spec of the debater to train"),
    method: str | None = typer.Option(None, help="choice (default), dpo or grpo"),
    generations: int | None = typer.Option(None, help="generations of play and update"),
    name: str | None = typer.Option(None, help="run name (folder under --out)"),
    out: str | None = typer.Option(None, help="parent folder of run folders (default runs)"),
    tensorboard: bool = typer.Option(
        False, help="write TensorBoard logs to RUN/tensorboard (needs the tensorboard package)"
    ),
) -> None:
    """Self-play training: debaters play each other and past selves, rewarded by the judge."""
    from debate.training.config import TrainConfig
    from debate.training.loop import summary_line
    from debate.training.monitor import watching
    from debate.training.sides import train as run_training

    flags = {"policy.model": policy, "update.method": method, "generations": generations,
             "name": name, "out": out}  # fmt: skip
    overrides = [assignment(k, v) for k, v in flags.items() if v is not None]
    note = ""
    if method in ("dpo", "grpo"):
        # the default policy chooses its quotes, which only `choice` trains; an explicit
        # --set policy.speech=... still comes later and wins
        overrides.append("policy.speech=free")
        note = f"--method {method} trains free-text speeches: policy.speech=free\n"
    try:
        cfg = resolve(TrainConfig, config, overrides + set_)
        with (
            progress("train", note + resume_hint(cfg, "train")) as report,
            watching(cfg.run_dir, report, tensorboard),
        ):
            records = run_training(cfg, lambda r: console.print(summary_line(r)), report)
    except USER_ERRORS as e:
        fail(str(e))
        return
    console.print(f"{len(records)} generations in {cfg.run_dir}/generations.jsonl")


@app.command("export-model")
def export_model(
    checkpoint: str = typer.Argument(..., help="a checkpoint folder (RUN/checkpoints/gen-N)"),
    out: Path = typer.Argument(..., help="new folder for the merged transformers model"),
) -> None:
    """A training checkpoint merged into its base model: a folder transformers loads alone."""
    from debate.training.export import export_model as export
    from debate.training.monitor import quiet_library_bars

    quiet_library_bars()  # the status line says what is under way
    try:
        with console.status(f"merging {checkpoint} into its base model"):
            written = export(checkpoint, out)
    except USER_ERRORS as e:
        fail(str(e))
        return
    console.print(f"wrote {written} (AutoModelForCausalLM.from_pretrained loads it)")


@app.command()
def show(
    run_dir: Path = typer.Argument(..., help="a run folder"),
    limit: int = typer.Option(5, min=0, help="transcripts to print (0 = all)"),
    raw: bool = typer.Option(
        False, help="print the debaters' raw text instead of what the judge saw"
    ),
) -> None:
    """Print a run's transcripts readably."""
    from debate.present.show import print_transcript

    try:
        transcripts = RunFolder(run_dir).existing().read_transcripts()
    except RunFolderError as e:
        fail(str(e))
        return
    if not transcripts:
        fail(f"no transcripts in {run_dir}")
    for t in transcripts[: limit or None]:
        print_transcript(console, t, raw=raw)


@app.command()
def view(
    run_dir: Path = typer.Argument(..., help="any run folder: run, tournament, eval, training"),
    out: Path | None = typer.Option(None, help="HTML file to write (default RUN_DIR/view.html)"),
    serve: bool = typer.Option(False, help="serve it on 127.0.0.1, rebuilt on every reload"),
    port: int = typer.Option(8000, help="port for --serve (0: any free port)"),
) -> None:
    """One self-contained HTML page: matches with filters, transcripts, summary and plots."""
    from debate.present.viewer import serve as serve_page
    from debate.present.viewer import write_page

    try:
        path = write_page(run_dir, out)
    except USER_ERRORS as e:
        fail(str(e))
        return
    console.print(str(path), highlight=False, soft_wrap=True)
    if serve:
        serve_page(
            run_dir, path, port, lambda url: console.print(f"serving {url}", highlight=False)
        )


@app.command()
def judge(
    run_dir: Path = typer.Argument(..., help="a run folder (or a tournament, eval, training)"),
    name: str = typer.Option("human", help="your name as a judge"),
    limit: int = typer.Option(0, help="matches to judge this session (0 = all left)"),
    seed: int = typer.Option(0, help="seed of the order the matches come in"),
) -> None:
    """Judge the run's matches yourself, from the view its judge model read; resumable."""
    from debate.present.human_judge import judge_run

    try:
        judge_run(run_dir, name, limit, console, seed)
    except USER_ERRORS as e:
        fail(str(e))


@app.command()
def models() -> None:
    """List model sources, scripted agents, protocols, judges and tasks."""
    from debate.models import smollm2_gguf
    from debate.models.hf import converted_gguf_dir
    from debate.models.scripted import AGENTS
    from debate.registry import names

    console.print("[bold]model specs:[/bold] " + ", ".join(names("backend")))
    try:
        path = smollm2_gguf()
        converted = (converted_gguf_dir(path) / "config.json").exists()
        state = (
            "converted (loads in under a second)"
            if converted
            else "not converted yet (first load ~25 s)"
        )
        console.print(f"[bold]smollm2:[/bold] {path} - {state}")
    except ModelError as e:
        console.print(f"[bold]smollm2:[/bold] unavailable - {e}")
    console.print("[bold]scripted agents:[/bold] " + ", ".join(f"scripted:{a}" for a in AGENTS))
    for kind in ("protocol", "judge", "task", "metric", "command"):
        console.print(f"[bold]{kind}s:[/bold] " + ", ".join(names(kind)))
    console.print(
        f"[bold]openai key env:[/bold] OPENAI_API_KEY ({'set' if os.environ.get('OPENAI_API_KEY') else 'unset'})"
    )
    from debate.models.providers import PROVIDERS

    providers = ", ".join(
        f"{name}/ ({p.key_env} {'set' if os.environ.get(p.key_env) else 'unset'})"
        for name, p in PROVIDERS.items()
    )
    console.print(f"[bold]API providers (PROVIDER/MODEL):[/bold] {escape(providers)}")


cache_app = typer.Typer(add_completion=False, help="The on-disk cache of API responses.")
app.add_typer(cache_app, name="cache")


@cache_app.callback(invoke_without_command=True)
def cache_show(ctx: typer.Context) -> None:
    """Where the response cache is, its size, and its hits per model."""
    if ctx.invoked_subcommand is not None:
        return
    from debate.models.cache import cache_path, check_cache_path, open_cache

    try:
        check_cache_path(cache_path())
        if not cache_path().exists():
            console.print(
                f"response cache: {cache_path()} (empty, not created yet)", highlight=False
            )
            return
        db = open_cache()
        s = db.stats()
        rows = db.by_model()
    except ModelError as e:
        fail(str(e))
        return
    console.print(
        f"response cache: {s.path} | {s.entries} replies, {s.hits} hits | {s.bytes / 1e6:.2f} MB",
        highlight=False,
    )
    for backend, model, n, hits in rows:
        console.print(
            f"  {backend}:{model}: {n} replies, {hits} hits", highlight=False, markup=False
        )


@cache_app.command("clear")
def cache_clear() -> None:
    """Delete every cached response."""
    from debate.models.cache import cache_path, check_cache_path, open_cache

    try:
        check_cache_path(cache_path())
        n = open_cache().clear() if cache_path().exists() else 0
    except ModelError as e:
        fail(str(e))
        return
    console.print(f"removed {n} cached replies from {cache_path()}", highlight=False)


def _add_output_commands() -> None:
    from debate.cli import outputs

    outputs.add_to(app)


_add_output_commands()


def _add_plugin_commands() -> None:
    """Sub-commands that plugins register (`debate eval ...` is one): the core CLI imports no
    suite; each suite's command group registers itself as a `command`."""
    from debate.registry import entries

    for name, group in entries("command").items():
        app.add_typer(group, name=name)


_add_plugin_commands()

if __name__ == "__main__":  # pragma: no cover
    app()
