"""The API's functions and results. Each sync function runs its command as the CLI does; called
inside a running event loop (a notebook cell), it runs on a worker thread and waits for it, since
the runners start event loops of their own. Each async twin runs the same work on a worker
thread, so the caller's loop stays free while matches play."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from debate.config import (
    FLAG_KEYS,
    RunConfig,
    TournamentConfig,
    load_config,
    named,
    parse_debater,
)
from debate.runfolder import RunFolder, release_under
from debate.schema import Transcript
from debate.suites.protocols import ProtocolSuiteConfig
from debate.suites.truthfulqa import TruthfulQAConfig

Config = BaseModel | str | Path | None
Progress = Callable[[int, int], None] | None
T = TypeVar("T")


class RunResult(BaseModel):
    """A finished `debate.run`: its folder, resolved config, summary (results.json: judge
    accuracy with its interval, win rates, usage, ...) and every finished match."""

    model_config = ConfigDict(frozen=True)
    run_dir: Path
    config: RunConfig
    summary: dict[str, Any]
    transcripts: list[Transcript]


class TournamentResult(BaseModel):
    """A finished `debate.tournament`: standings (results.json: ratings with intervals, judge
    accuracy, win rates, usage, ...) and every finished match."""

    model_config = ConfigDict(frozen=True)
    run_dir: Path
    config: TournamentConfig
    standings: dict[str, Any]
    transcripts: list[Transcript]


class EvalResult(BaseModel):
    """A finished `debate.evaluate`: the suite's summary (results.json) and, for the protocols
    suite, each arm's matches by arm name (TruthfulQA scores answers, it plays no matches)."""

    model_config = ConfigDict(frozen=True)
    run_dir: Path
    suite: Literal["protocols", "truthfulqa"]
    config: ProtocolSuiteConfig | TruthfulQAConfig
    summary: dict[str, Any]
    transcripts: dict[str, list[Transcript]]


def plain(value: Any) -> Any:
    """A keyword's value as config data (config objects as the keys they set)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)  # the rest: command defaults
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def resolve(model: type[BaseModel], config: Config, overrides: dict[str, Any]) -> Any:
    """The command's defaults, the config (object or file), then each keyword: a flag's name
    stands for its config key (`n_items` -> task.n_items, `judge` -> judge.model) unless its
    value is a whole mapping or config object; `debaters` takes specs or `NAME=SPEC` text too."""
    source = Path(config) if isinstance(config, (str, Path)) else config
    pairs = []
    for key, value in overrides.items():
        whole = isinstance(value, (dict, BaseModel))
        if key in ("debaters", "debater") and not whole:
            items = [value] if isinstance(value, str) else value
            value = [parse_debater(v) if isinstance(v, str) else v for v in items]
            key = "debaters"
        elif key == "arms" and isinstance(value, str):
            value = [a.strip() for a in value.split(",") if a.strip()]
        target = key if whole else FLAG_KEYS.get(key, key)
        if target.split(".")[0] not in model.model_fields and key in model.model_fields:
            target = key  # e.g. TruthfulQA's own top-level n_items
        pairs.append((target, plain(value)))
    return named(load_config(model, source, pairs))


def blocking(work: Callable[[], T]) -> T:
    """Run `work` here, or, inside a running event loop, on a worker thread (with this
    context) while this thread waits: the runners call asyncio.run, which a running loop
    refuses."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return work()
    with ThreadPoolExecutor(1, thread_name_prefix="debate") as pool:
        return pool.submit(contextvars.copy_context().run, work).result()


def released(run_dir: Path, work: Callable[[], T]) -> Callable[[], T]:
    """`work`, then the run's folders given back (a notebook's process lives on: another
    command may resume the folder)."""

    def call() -> T:
        try:
            return work()
        finally:
            release_under(run_dir)

    return call


def _run(cfg: RunConfig, on_progress: Progress) -> RunResult:
    from debate.run.runner import run as run_matches

    summary = run_matches(cfg, on_progress=on_progress)
    transcripts = RunFolder(cfg.run_dir).read_transcripts()
    return RunResult(run_dir=cfg.run_dir, config=cfg, summary=summary, transcripts=transcripts)


def _tournament(cfg: TournamentConfig, on_progress: Progress) -> TournamentResult:
    from debate.run.tournament import run_tournament

    standings = run_tournament(cfg, on_progress=on_progress)
    transcripts = RunFolder(cfg.run_dir).read_transcripts()
    return TournamentResult(
        run_dir=cfg.run_dir, config=cfg, standings=standings, transcripts=transcripts
    )


def _evaluate(cfg: ProtocolSuiteConfig | TruthfulQAConfig, on_progress: Progress) -> EvalResult:
    if isinstance(cfg, TruthfulQAConfig):
        from debate.suites.truthfulqa import run_truthfulqa

        summary = run_truthfulqa(cfg, on_progress)
        return EvalResult(run_dir=cfg.run_dir, suite="truthfulqa", config=cfg,
                          summary=summary, transcripts={})  # fmt: skip
    from debate.suites.protocols import arm_config, run_suite

    summary = run_suite(cfg, (lambda arm: on_progress) if on_progress else None)
    transcripts = {a: RunFolder(arm_config(cfg, a).run_dir).read_transcripts() for a in cfg.arms}
    return EvalResult(run_dir=cfg.run_dir, suite="protocols", config=cfg, summary=summary,
                      transcripts=transcripts)  # fmt: skip


def _suite_config(suite: str) -> type[BaseModel]:
    configs = {"protocols": ProtocolSuiteConfig, "truthfulqa": TruthfulQAConfig}
    if suite not in configs:
        from debate.config import ConfigError

        raise ConfigError(f"unknown suite {suite!r}; choose from {', '.join(configs)}")
    return configs[suite]


def run(config: Config = None, /, *, on_progress: Progress = None, **overrides: Any) -> RunResult:
    """`debate run` from Python: one protocol over a task (see the module's help for the
    arguments). `on_progress(done, total)` is called as matches finish."""
    cfg = resolve(RunConfig, config, overrides)
    return blocking(released(cfg.run_dir, lambda: _run(cfg, on_progress)))


async def arun(
    config: Config = None, /, *, on_progress: Progress = None, **overrides: Any
) -> RunResult:
    """`debate.run`, awaitable: the run plays on a worker thread."""
    cfg = resolve(RunConfig, config, overrides)
    return await asyncio.to_thread(released(cfg.run_dir, lambda: _run(cfg, on_progress)))


def tournament(
    config: Config = None, /, *, on_progress: Progress = None, **overrides: Any
) -> TournamentResult:
    """`debate tournament` from Python: debaters against each other, ratings with intervals."""
    cfg = resolve(TournamentConfig, config, overrides)
    return blocking(released(cfg.run_dir, lambda: _tournament(cfg, on_progress)))


async def atournament(
    config: Config = None, /, *, on_progress: Progress = None, **overrides: Any
) -> TournamentResult:
    """`debate.tournament`, awaitable: the matches play on a worker thread."""
    cfg = resolve(TournamentConfig, config, overrides)
    return await asyncio.to_thread(released(cfg.run_dir, lambda: _tournament(cfg, on_progress)))


def evaluate(
    config: Config = None,
    /,
    *,
    suite: Literal["protocols", "truthfulqa"] = "protocols",
    on_progress: Progress = None,
    **overrides: Any,
) -> EvalResult:
    """`debate eval protocols` (or `truthfulqa`) from Python."""
    cfg = resolve(_suite_config(suite), config, overrides)
    return blocking(released(cfg.run_dir, lambda: _evaluate(cfg, on_progress)))


async def aevaluate(
    config: Config = None,
    /,
    *,
    suite: Literal["protocols", "truthfulqa"] = "protocols",
    on_progress: Progress = None,
    **overrides: Any,
) -> EvalResult:
    """`debate.evaluate`, awaitable: the suite runs on a worker thread."""
    cfg = resolve(_suite_config(suite), config, overrides)
    return await asyncio.to_thread(released(cfg.run_dir, lambda: _evaluate(cfg, on_progress)))
