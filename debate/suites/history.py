"""The eval history: one row per metric per eval run, appended to `history.jsonl` in the run
folder's parent, keyed by model spec and checkpoint, so a metric can be followed across training
generations (`debate eval history`)."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from debate.runfolder import RunFolderError
from debate.schema import Record


class HistoryRow(Record):
    time: str
    suite: str
    run: str
    model: str  # the evaluated model spec (debater, or the model under a TruthfulQA check)
    judge: str = ""
    checkpoint: str = ""
    metric: str  # e.g. "accuracy/sequential", "mc2"
    value: float
    ci95: list[float | None] = [None, None]
    n: int = 0


def history_path(out: str | Path) -> Path:
    return Path(out) / "history.jsonl"


def append(out: str | Path, rows: list[HistoryRow]) -> None:
    path = history_path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        for r in rows:
            f.write(r.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def read(out: str | Path) -> list[HistoryRow]:
    path = history_path(out)
    if not path.exists():
        raise RunFolderError(f"no eval history at {path}: run an eval suite with --out {out}")
    rows = []
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if line.strip():
            try:
                rows.append(HistoryRow.model_validate(json.loads(line)))
            except (ValueError, ValidationError) as e:
                raise RunFolderError(
                    f"line {n} of {path} is corrupt ({str(e).splitlines()[0]})"
                ) from None
    return rows


def plot(out: str | Path, metric: str) -> Path:
    from debate.present.plots import history_plot

    rows = [r for r in read(out) if r.metric == metric]
    if not rows:
        known = sorted({r.metric for r in read(out)})
        raise RunFolderError(f"no rows for metric {metric!r}; the history has {known}")
    series: dict[str, list] = {}
    for r in rows:
        lo, hi = (r.ci95 + [None, None])[:2]
        series.setdefault(r.model, []).append(
            (
                r.checkpoint or r.run,
                r.value,
                r.value if lo is None else lo,
                r.value if hi is None else hi,
            )
        )
    png = Path(out) / f"history_{metric.replace('/', '_')}.png"
    history_plot(series, metric, png)
    return png
