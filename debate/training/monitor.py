"""What a person watching `debate train` sees besides each generation's summary line: a progress
bar on every long phase (the update's optimiser steps included, for the hand-written REINFORCE
step and trl's trainers alike) and, opt-in, TensorBoard event files under `RUN/tensorboard/`.

TensorBoard gets every number `generations.jsonl` holds, by generation (`eval/...`, `update/...`,
`watch/...`, `train_reward`, ...), and the update's figures by optimiser step under `step/...`
(`step/loss`, `step/reward`, and whatever else trl logs), counted across generations so that the
curves of a run join up.

The monitor is set for the duration of a command (`watching`) and read where the work happens
(`current`), so the training loop's functions need no extra parameter to pass it down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from debate.config import ConfigError
from debate.training.evaluate import Report, no_report

TENSORBOARD_DIR = "tensorboard"


def figures(record: dict, prefix: str = "") -> Iterator[tuple[str, float]]:
    """(tag, value) for every number in a generation's record, keys joined by "/"; a list's
    entries by index, an interval's ends as `ci95/low` and `ci95/high`. True/False count as 1/0;
    text and missing values (None) are not figures."""
    for key, value in record.items():
        tag = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from figures(value, f"{tag}/")
        elif isinstance(value, list):
            names = ["low", "high"] if key == "ci95" and len(value) == 2 else range(len(value))
            yield from figures(dict(zip(map(str, names), value)), f"{tag}/")
        elif isinstance(value, bool | int | float):
            yield tag, float(value)


class Monitor:
    """Progress bars through `report(label, done, total)`; TensorBoard events where `logdir` is
    given. Optimiser steps are numbered from `first_step` (a resumed run: the steps of the
    generations already finished)."""

    def __init__(self, report: Report = no_report, logdir: Path | None = None,
                 first_step: int = 0, shows_progress: bool = False) -> None:  # fmt: skip
        self.report = report
        self.shows_progress = shows_progress
        self.step = first_step
        self.logdir = logdir
        self._writer = None
        if logdir is not None:  # said before any work starts, not at the first figure
            try:
                import tensorboard  # noqa: F401
            except ImportError:
                raise ConfigError(
                    "TensorBoard logs need the tensorboard package: pip install tensorboard "
                    "(it comes with debate-harness[train])"
                ) from None

    @property
    def writer(self):
        """The event file's writer, made at the first figure: a run refused before it starts
        leaves no folder behind."""
        if self._writer is None and self.logdir is not None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(log_dir=str(self.logdir))
        return self._writer

    def update_begins(self, generation: int, total: int) -> None:
        """The update's bar, shown (and its clock started) before the first step."""
        self.report(f"gen {generation} update", 0, total)

    def update_step(self, generation: int, done: int, total: int, **scalars: float | None) -> None:
        """One optimiser step of generation's update finished (`done` of `total`), with its
        figures (loss, reward, ...)."""
        self.step += 1
        self.report(f"gen {generation} update", done, total)
        self.scalars(scalars)

    def scalars(self, values: dict) -> None:
        """Figures of the current optimiser step (non-numbers are skipped)."""
        if self.writer is None:
            return
        for tag, value in figures(values):
            self.writer.add_scalar(f"step/{tag}", value, self.step)

    def generation(self, record: dict) -> None:
        """Every figure of a finished generation's record, at that generation."""
        if self.writer is None:
            return
        g = int(record["generation"])
        for tag, value in figures({k: v for k, v in record.items() if k != "generation"}):
            self.writer.add_scalar(tag, value, g)
        self.writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def trainer_callback(self, generation: int):
        """A `transformers.TrainerCallback` (trl's trainers take it) that moves the update's
        progress bar and logs what the trainer logs at each step."""
        from transformers import TrainerCallback

        monitor = self

        class Watch(TrainerCallback):
            def on_train_begin(self, args, state, control, **kwargs):
                monitor.update_begins(generation, state.max_steps)

            def on_step_end(self, args, state, control, **kwargs):
                monitor.update_step(generation, state.global_step, state.max_steps)

            def on_log(self, args, state, control, logs=None, **kwargs):
                # the last log of a run sums it up (train_loss, train_runtime): not a step
                if logs and "train_runtime" not in logs:
                    monitor.scalars(logs)

        return Watch()


_current: ContextVar[Monitor | None] = ContextVar("training_monitor", default=None)


def current() -> Monitor:
    """The monitor of the command under way; a silent one outside any."""
    return _current.get() or Monitor()


def steps_done(run_dir: Path) -> int:
    """Optimiser steps of the generations a run folder has finished."""
    log = run_dir / "generations.jsonl"
    if not log.exists():
        return 0
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.strip()]
    return sum(int(r.get("update", {}).get("steps", 0) or 0) for r in lines)


def quiet_library_bars() -> None:
    """transformers' and datasets' own tqdm bars (loading weights, tokenising a dataset) break
    the lines of a rich progress display; the command's bars say what is under way."""
    import contextlib

    from transformers.utils import logging

    logging.disable_progress_bar()
    with contextlib.suppress(ImportError):
        import datasets

        datasets.disable_progress_bars()


@contextmanager
def watching(
    run_dir: Path, report: Report = no_report, tensorboard: bool = False
) -> Iterator[Monitor]:
    """The monitor of one `debate train` command on `run_dir`. Of several training processes,
    rank 0 alone shows progress and writes TensorBoard, as it alone writes the run folder."""
    from debate.training.distributed import ranks

    if not ranks().is_main:
        report, tensorboard = no_report, False
    logdir = run_dir / TENSORBOARD_DIR if tensorboard else None
    monitor = Monitor(report, logdir, steps_done(run_dir), shows_progress=report is not no_report)
    if monitor.shows_progress:
        quiet_library_bars()
    token = _current.set(monitor)
    try:
        yield monitor
    finally:
        _current.reset(token)
        monitor.close()


__all__ = ["Monitor", "current", "figures", "watching", "TENSORBOARD_DIR"]
