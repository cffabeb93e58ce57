"""`debate eval ...`: the eval suites and the history across checkpoints."""

from __future__ import annotations

from pathlib import Path

import typer

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
    print_usage,
    progress,
    resolve,
    resume_hint,
)
from debate.registry import register

app = register("command", "eval")(
    typer.Typer(add_completion=False, help="Eval suites that track truthfulness.")
)


@app.command()
def protocols(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML or TOML config"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: key=value"),
    debater: str | None = typer.Option(None, help="the debater/consultant model spec"),
    judge: str | None = typer.Option(None, help="judge model spec (default smollm2)"),
    judge_kind: str | None = typer.Option(None, help="a judge kind: cloze, letter, verdict, ..."),
    arms: str | None = typer.Option(
        None, help="comma-separated arms (default naive, expert, consultancy, sequential)"
    ),
    task: str | None = typer.Option(None, help="task name (default hidden-passage)"),
    n_items: int | None = typer.Option(None, help="items per arm (default 100)"),
    checkpoint: str | None = typer.Option(None, help="label for the history, e.g. gen-3"),
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
    """Judge accuracy under naive, expert, consultancy, debate and a compute-matched judge."""
    from debate.suites.protocols import ProtocolSuiteConfig, run_suite

    overrides = flags_to_overrides(
        task=task, n_items=n_items, judge=judge, judge_kind=judge_kind, seed=seed, name=name,
        out=out, checkpoint=checkpoint, max_cost=max_cost, max_tokens=max_tokens,
        max_failures=max_failures,
    )  # fmt: skip
    if debater:
        overrides.append(assignment("debaters", [{"name": "debater", "model": debater}]))
    if arms:
        overrides.append(assignment("arms", [a.strip() for a in arms.split(",")]))
    try:
        cfg = resolve(ProtocolSuiteConfig, config, overrides + set_, price, model_base_url)
        with caching(no_cache), progress("protocols", resume_hint(cfg, "eval protocols")) as report:
            results = run_suite(cfg, lambda arm: lambda k, n: report(arm, k, n))
    except USER_ERRORS as e:
        fail(str(e))
        return
    from debate.stats.formatting import unread

    for arm, m in results["arms"].items():
        acc = m["accuracy"]
        console.print(
            f"{arm:>17}: accuracy {acc['value']:.1%} "
            f"(95% CI {acc['ci95'][0]:.1%}-{acc['ci95'][1]:.1%}, n={acc['n']}){unread(acc)}"
        )
    print_usage(results)
    console.print(f"report: {cfg.run_dir / 'report.md'} | {results['wall_s']:.0f} s")


@app.command()
def truthfulqa(
    config: Path | None = typer.Option(None, "--config", "-c", help="YAML or TOML config"),
    set_: list[str] = typer.Option([], "--set", help="override a config key: key=value"),
    model: str | None = typer.Option(None, help="model spec to check (default smollm2)"),
    path: str | None = typer.Option(None, help="local TruthfulQA file (JSON/JSONL/CSV/Parquet)"),
    hub: str | None = typer.Option(None, help="hub id, e.g. truthfulqa/truthful_qa"),
    n_items: int | None = typer.Option(None, help="questions to score (default all)"),
    checkpoint: str | None = typer.Option(None, help="label for the history, e.g. gen-3"),
    name: str | None = typer.Option(None, help="run name (folder under --out)"),
    out: str | None = typer.Option(None, help="parent folder of run folders (default runs)"),
) -> None:
    """TruthfulQA MC1 and MC2 of a model, scored by log-likelihood as lm-eval does."""
    from debate.suites.truthfulqa import TruthfulQAConfig, run_truthfulqa

    flags = {"model": model, "path": path, "hub": hub, "n_items": n_items,
             "checkpoint": checkpoint, "name": name, "out": out}  # fmt: skip
    overrides = [assignment(k, v) for k, v in flags.items() if v is not None]
    try:
        cfg = resolve(TruthfulQAConfig, config, overrides + set_)
        with progress("truthfulqa", resume_hint(cfg, "eval truthfulqa")) as report:
            res = run_truthfulqa(cfg, lambda k, n: report("answers", k, n))
    except USER_ERRORS as e:
        fail(str(e))
        return
    for k in ("mc1", "mc2"):
        m = res[k]
        console.print(
            f"{k.upper()} {m['value']:.3f} (95% CI {m['ci95'][0]:.3f}-{m['ci95'][1]:.3f}, n={m['n']})"
        )
    for reason, count in res["skipped_items"].items():
        console.print(f"[yellow]skipped {count} rows: {reason}[/yellow]")


@app.command()
def history(
    metric: str = typer.Option(
        "accuracy/sequential",
        help="metric(s) to plot, comma-separated, e.g. "
        "train/selfplay_accuracy,train/consultancy_accuracy,train/liar_quotes_distractor",
    ),
    out: str = typer.Option("runs", help="the folder holding history.jsonl"),
) -> None:
    """Plot one metric across checkpoints, one line per model."""
    from debate.suites.history import plot

    try:
        pngs = [plot(out, m.strip()) for m in metric.split(",") if m.strip()]
    except USER_ERRORS as e:
        fail(str(e))
        return
    for png in pngs:
        console.print(f"plot: {png}")


@app.command()
def exploit(
    run_dir: Path = typer.Argument(..., help="a `debate train` folder"),
    gen: list[int] = typer.Option([0], "--gen", help="generation to freeze; repeat for several"),
    updates: int = typer.Option(3, min=1, help="best-response updates, the same for every gen"),
    eval_items: int | None = typer.Option(None, help="held-out items (default: the run's)"),
    train_items: int | None = typer.Option(None, help="items an update (default: the run's)"),
) -> None:
    """Freeze a generation's honest debater, train a best-response liar against it, and report
    the judge accuracy it takes away (exploitability), paired by held-out item."""
    from debate.training.exploit import exploit as run_exploit
    from debate.training.exploit import summary

    try:
        with progress("exploit") as report:
            results = [run_exploit(run_dir, g, updates, eval_items, report, train_items)
                       for g in gen]  # fmt: skip
    except USER_ERRORS as e:
        fail(str(e))
        return
    for r in results:
        console.print(summary(r))
    console.print(f"results: {run_dir / 'exploit'}/gen-N/exploit.json")
