"""What every command shares: one-line errors, flags as `--set` overrides, the options of every
command that plays matches, progress bars. The core's commands (`debate/cli/main.py`) and the suites'
sub-commands (`debate/cli/eval.py`) both build on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from debate.config import FLAG_KEYS, ConfigError, parse_debater  # noqa: F401 (the CLI's name for it)
from debate.models import ModelError
from debate.registry import RegistryError, UnknownName, interface
from debate.run.engine import RunAborted
from debate.runfolder import RunFolderError

console = Console()
err = Console(stderr=True)
USER_ERRORS = (ConfigError, ModelError, UnknownName, RegistryError, RunFolderError, RunAborted)
interface("command", lambda obj: isinstance(obj, typer.Typer), "a typer.Typer")


def one_malloc_arena() -> None:
    """glibc gives each thread that allocates its own heap ("arena") and rarely hands freed
    memory back; torch's threads plus the model worker thread then hold several copies of the
    peak activations. One arena measured 1.78 -> 1.48 GiB peak for a 32-speech batch, at the
    same speed. A no-op off glibc."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, 1)  # M_ARENA_MAX = 1


def registered(kind: str) -> str:
    """What the registry holds, for help texts (plugins included)."""
    from debate.registry import names

    return ", ".join(names(kind))


def fail(message: str) -> None:
    # the message quotes what the user typed: printed as typed (never read as Rich markup), on
    # one line however narrow the terminal (it may wrap it, we do not)
    err.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(2)


def assignment(key: str, value: object) -> str:
    """A `--set` line for a flag: text flags stay text (`--name 401` names a folder "401"), since a
    JSON string is a YAML string; numbers pass as typed."""
    return f"{key}={json.dumps(value) if isinstance(value, (str, list, dict)) else value}"


def flags_to_overrides(**flags: object) -> list[str]:
    """CLI flags are shorthands for `--set` overrides; None means 'not given'."""
    return [
        assignment(FLAG_KEYS[k], v) for k, v in flags.items() if v is not None and k in FLAG_KEYS
    ]


# Options that every command playing matches takes, declared once.
NoCache = Annotated[
    bool, typer.Option("--no-cache", help="never read or write the API response cache")
]
Prices = Annotated[
    list[str] | None,
    typer.Option(help="MODEL=IN/OUT dollars per million input/output tokens; repeat per model"),
]
MaxCost = Annotated[
    float | None,
    typer.Option(help="stop starting matches once this many dollars are spent (resumable)"),
]
MaxTokens = Annotated[
    int | None,
    typer.Option(help="stop starting matches once this many tokens are used (resumable)"),
]
ModelBaseUrl = Annotated[
    str | None,
    typer.Option(
        "--model-base-url",
        help="base URL of every PROVIDER/MODEL spec without an @URL of its own "
        "(e.g. http://gpu-box:8000/v1 for vllm/MODEL)",
    ),
]
MaxFailures = Annotated[
    int | None,
    typer.Option(help="give up after more than this many failed matches (default 0)"),
]


def with_prices(cfg, prices: list[str] | None):
    """`--price` entries (None: none given) added to the config's price table."""
    from debate.usage import parse_price

    cfg.prices.update(dict(parse_price(p) for p in prices or []))
    return cfg


def with_base_url(cfg, url: str | None):
    """`--model-base-url`: every provider spec of the config (debaters, their preference
    judges, the judge) without its own `@URL` is given this one."""
    from debate.models.providers import with_base_url as put

    if url:
        for a in cfg.debaters:
            a.model = put(a.model, url)
            if a.preference is not None:
                a.preference.model = put(a.preference.model, url)
        cfg.judge.model = put(cfg.judge.model, url)
    return cfg


def resolve(model, config, overrides: list[str], prices=None, base_url: str | None = None):
    """A command's config: its own defaults, the file, the flags and `--set`s (each changing
    the key it names), `--price` and `--model-base-url`; then named (config.named) when no
    name was given."""
    from debate.config import load_config, named

    cfg = load_config(model, config, overrides)
    if prices:
        cfg = with_prices(cfg, prices)
    if base_url:
        cfg = with_base_url(cfg, base_url)
    return named(cfg)


def resume_hint(cfg, command: str) -> str:
    """Where a run writes and how to resume it (the same command finds the same folder)."""
    return (
        f"run folder {cfg.run_dir} (to resume: the same command, or "
        f"debate {command} --config {cfg.run_dir}/config.yaml)"
    )


def caching(no_cache: bool):
    """The command's cache setting: a context for the whole command."""
    import contextlib

    from debate.models import cache

    return cache.disabled() if no_cache else contextlib.nullcontext()


def print_usage(result: dict) -> None:
    from debate.usage import summary_lines

    for line in summary_lines(result.get("usage") or {"rows": [], "requests": 0, "cache_hits": 0,
                              "input_tokens": 0, "output_tokens": 0, "cost": None}):  # fmt: skip
        console.print(line, highlight=False, markup=False)


@contextmanager
def progress(
    title: str, header: str | None = None
) -> Iterator[Callable[[str, int, int | None], None]]:
    """A rich progress display; yields `report(label, done, total)`, one bar per label. The
    header (the run folder and how to resume) is printed above the first bar: once the run has
    claimed its folder, never on a refusal."""
    bars = Progress(
        TextColumn(f"[bold]{title}"),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )
    ids: dict[str, TaskID] = {}

    def report(label: str, done: int, total: int | None) -> None:
        if label not in ids:
            if header and not ids:
                bars.console.print(header, highlight=False, markup=False, soft_wrap=True)
            ids[label] = bars.add_task(label, total=total)
        bars.update(ids[label], completed=done, total=total)

    with bars:
        yield report
