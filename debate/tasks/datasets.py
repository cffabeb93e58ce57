"""Standard data sets as debate items, through Hugging Face `datasets`.

Each task reads a hub id (`hub: owner/name`, with `config` and `split`) when there is network, or
a local JSON, JSONL, CSV or Parquet file (`path: ...`). Columns are named by a mapping that the
user may override (`columns: {question: ..., ...}`); a dotted name reads inside a nested field
(`mc1_targets.choices`). The defaults match the usual hub layouts:

| task | question | answers | correct | context |
| --- | --- | --- | --- | --- |
| `quality` | `question` | `options` | `answer` (0-based; `correct_base: 1` for `gold_label`) | `article` |
| `truthfulqa` | `question` | `mc1_targets.choices` | `mc1_targets.labels` (the 1) | - |
| `boolq` | `question` | yes / no | `answer` (true/false) | `passage` |
| `gsm8k` | `question` | the number after `####`, and a seeded wrong number | - | `answer` (the worked solution) |

Two-answer debate items are built reproducibly: the true answer and one distractor drawn with
a seed derived from (task seed, row), in an order drawn the same way. Rows with fewer than two
answers or a correct index out of range are skipped and counted (`items.skipped`).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from debate.config import ConfigError
from debate.registry import register
from debate.schema import Item
from debate.seeds import derive_seed

FORMATS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


class LoadedItems(list):
    """The items, plus why rows were left out (reason -> count), reported at the end of a run."""

    def __init__(self, items: list[Item], skipped: Counter):
        super().__init__(items)
        self.skipped = dict(skipped)


def load_rows(path: str | None, hub: str | None, config: str | None, split: str) -> tuple[Any, str]:
    """The rows of a local file or a hub data set, and a name for them in error messages."""
    try:
        import datasets
    except ImportError:
        raise ConfigError(
            "data-set tasks need the `datasets` package: pip install 'debate-harness[data]'"
        ) from None
    if (path is None) == (hub is None):
        raise ConfigError("give exactly one of params.path (a local file) or params.hub (a hub id)")
    if path is not None:
        file = Path(path)
        if not file.exists():
            raise ConfigError(f"data file not found: {file}")
        if file.is_dir():
            raise ConfigError(f"data file {file} is a folder, not a file")
        if file.suffix not in FORMATS:
            raise ConfigError(f"{file}: unsupported format {file.suffix!r}; use {sorted(FORMATS)}")
        if file.stat().st_size == 0:
            raise ConfigError(f"data file {file} is empty")
        try:
            with quiet_datasets(datasets):
                ds = datasets.load_dataset(
                    FORMATS[file.suffix], data_files=str(file), split="train"
                )
        except Exception as e:  # the readers raise many types for a malformed file: one line
            cause = e.__cause__ or e.__context__ or e
            raise ConfigError(
                f"cannot read data file {file} as {FORMATS[file.suffix]}: "
                f"{type(cause).__name__}: {' '.join(str(cause).split())[:160]}"
            ) from None
        return ds, str(file)
    try:
        return datasets.load_dataset(hub, config, split=split), hub
    except Exception as e:  # network, auth, unknown id: one line for the user
        raise ConfigError(f"cannot load {hub!r} from the hub: {str(e).splitlines()[0]}") from None


@contextmanager
def quiet_datasets(datasets: Any) -> Iterator[None]:
    """No progress bars or logged tracebacks while a local file is read: a malformed file ends
    in one error line, and a good one loads in well under a second anyway."""
    was_on = datasets.is_progress_bar_enabled()
    level = datasets.logging.get_verbosity()
    datasets.disable_progress_bars()
    datasets.logging.set_verbosity(datasets.logging.CRITICAL + 10)
    try:
        yield
    finally:
        datasets.logging.set_verbosity(level)
        if was_on:
            datasets.enable_progress_bars()


def column(row: dict, name: str) -> Any:
    value: Any = row
    for part in name.split("."):
        value = value[part]
    return value


def check_columns(rows: Any, mapping: dict[str, str], where: str) -> None:
    if len(rows) == 0:
        raise ConfigError(f"{where} has no rows")
    first = rows[0]
    for role, name in mapping.items():
        try:
            column(first, name)
        except (KeyError, TypeError):
            raise ConfigError(
                f"{where}: column {name!r} (mapped to {role}) not found; it has "
                f"{sorted(first)} (set params.columns.{role})"
            ) from None


def two_answers(answers: list[str], correct: int, seed: int) -> tuple[list[str], int]:
    rng = random.Random(seed)
    wrong = rng.choice([a for i, a in enumerate(answers) if i != correct])
    pair = [answers[correct], wrong]
    rng.shuffle(pair)
    return pair, pair.index(answers[correct])


def build_items(
    task: str,
    rows: Any,
    where: str,
    to_fields,
    n_items: int,
    seed: int,
    mapping: dict[str, str],
    pair_up: bool = True,
) -> LoadedItems:
    try:
        check_columns(rows, mapping, where)
        return _build_items(task, rows, where, to_fields, n_items, seed, mapping, pair_up)
    except UnicodeDecodeError as e:  # text columns of a file that is not UTF-8
        raise ConfigError(f"{where} is not UTF-8 text ({e.reason} at byte {e.start})") from None


def _build_items(task, rows, where, to_fields, n_items, seed, mapping, pair_up) -> LoadedItems:
    items, skipped = [], Counter()
    for i, row in enumerate(rows):
        if len(items) == n_items:
            break
        question, answers, correct, context = to_fields(row, i)
        if not isinstance(answers, (list, tuple)):
            # a string would split into one-letter answers: the column mapping is wrong
            raise ConfigError(
                f"{where}: row {i}: column {mapping.get('answers', 'answers')!r} must hold a "
                f"list of answers, got {type(answers).__name__} {str(answers)[:40]!r}"
            )
        answers = [str(a).strip() for a in answers]
        if len(answers) < 2 or len(set(answers)) < len(answers):
            skipped["fewer than two distinct answers"] += 1
            continue
        if not isinstance(correct, int) or not 0 <= correct < len(answers):
            skipped["correct index out of range"] += 1
            continue
        if pair_up and len(answers) > 2:
            answers, correct = two_answers(answers, correct, derive_seed(seed, task, i))
        items.append(
            Item(
                id=f"{task}-{i}",
                question=str(question).strip(),
                answers=answers,
                correct=correct,
                context=str(context or ""),
                metadata={"source": where, "row": i},
            )
        )
    return LoadedItems(items, skipped)


def options(defaults: dict[str, str], columns: dict[str, str] | None) -> dict[str, str]:
    unknown = set(columns or {}) - defaults.keys()
    if unknown:
        raise ConfigError(
            f"params.columns: unknown role(s) {sorted(unknown)}; use {sorted(defaults)}"
        )
    return {**defaults, **(columns or {})}


@register("task", "quality")
def quality(n_items: int, seed: int, path=None, hub=None, config=None, split="validation",
            columns=None, correct_base: int = 0, pair_up: bool = True) -> LoadedItems:  # fmt: skip
    """QuALITY: long-passage multiple choice; the article is the hidden passage."""
    m = options({"question": "question", "answers": "options", "correct": "answer",
                 "context": "article"}, columns)  # fmt: skip
    rows, where = load_rows(path, hub, config, split)

    def fields(row, i):
        correct = column(row, m["correct"])
        correct = int(correct) - correct_base if str(correct).lstrip("-").isdigit() else None
        return (
            column(row, m["question"]),
            column(row, m["answers"]),
            correct,
            column(row, m["context"]),
        )

    return build_items("quality", rows, where, fields, n_items, seed, m, pair_up)


@register("task", "truthfulqa")
def truthfulqa(n_items: int, seed: int, path=None, hub=None, config="multiple_choice",
               split="validation", columns=None, pair_up: bool = True) -> LoadedItems:  # fmt: skip
    """TruthfulQA (MC1 targets): one true answer among imitative falsehoods; no passage."""
    m = options({"question": "question", "answers": "mc1_targets.choices",
                 "labels": "mc1_targets.labels"}, columns)  # fmt: skip
    rows, where = load_rows(path, hub, config, split)

    def fields(row, i):
        labels = list(column(row, m["labels"]))
        correct = labels.index(1) if labels.count(1) == 1 else None
        return column(row, m["question"]), column(row, m["answers"]), correct, ""

    return build_items("truthfulqa", rows, where, fields, n_items, seed, m, pair_up)


@register("task", "boolq")
def boolq(n_items: int, seed: int, path=None, hub=None, config=None, split="validation",
          columns=None) -> LoadedItems:  # fmt: skip
    """BoolQ: a yes/no question about a passage (the hidden passage)."""
    m = options({"question": "question", "correct": "answer", "context": "passage"}, columns)
    rows, where = load_rows(path, hub, config, split)

    def fields(row, i):
        raw = column(row, m["correct"])
        truth = {"true": True, "false": False, "yes": True, "no": False, "1": True, "0": False}
        value = raw if isinstance(raw, bool) else truth.get(str(raw).strip().lower())
        correct = None if value is None else (0 if value else 1)
        return column(row, m["question"]), ["yes", "no"], correct, column(row, m["context"])

    return build_items("boolq", rows, where, fields, n_items, seed, m)


NUMBER = re.compile(r"####\s*(-?[\d,]*\.?\d+)")


def wrong_number(true: str, seed: int) -> str:
    """A plausible wrong answer: the true number nudged, doubled or halved, never equal to it."""
    value = float(true.replace(",", ""))
    rng = random.Random(seed)
    candidates = [value + d for d in (-10, -2, -1, 1, 2, 10)] + [value * 2, value / 2]
    candidates = [c for c in candidates if c != value and (c >= 0 or value < 0)]
    pick = rng.choice(candidates)
    return str(int(pick)) if float(pick).is_integer() else f"{pick:g}"


@register("task", "gsm8k")
def gsm8k(n_items: int, seed: int, path=None, hub=None, config="main", split="test",
          columns=None) -> LoadedItems:  # fmt: skip
    """GSM8K-style numeric questions: the final number after `####` against a seeded wrong
    number; the worked solution is the hidden passage the debaters read."""
    m = options({"question": "question", "answer": "answer"}, columns)
    rows, where = load_rows(path, hub, config, split)

    def fields(row, i):
        solution = str(column(row, m["answer"]))
        found = NUMBER.search(solution)
        if not found:
            return column(row, m["question"]), [], None, solution
        true = found.group(1).replace(",", "")
        pair = [true, wrong_number(true, derive_seed(seed, "gsm8k", i))]
        random.Random(derive_seed(seed, "gsm8k-order", i)).shuffle(pair)
        return column(row, m["question"]), pair, pair.index(true), solution[: found.start()].strip()

    return build_items("gsm8k", rows, where, fields, n_items, seed, m)
