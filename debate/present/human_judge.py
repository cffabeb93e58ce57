"""`debate judge`: a person judges a run's matches at the terminal, from exactly the view its
judge model read (replayed from the verdict's record, `Verdict.views`), and is scored against
the truth and the model.

Answers land in `RUN_DIR/human_judgments.jsonl`, one record per match, appended and flushed as
given, so a session can stop at any point and the next one starts at the first match not yet
judged by that person. The truth is shown only in the closing summary: seeing it after each
match would teach which debater to trust.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections import Counter
from pathlib import Path

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from debate.config import JudgeConfig
from debate.files import read_lines
from debate.match.judge import Case, judge_view
from debate.match.prompts import LABELS
from debate.present.viewer import QUOTE_TAG, group_of, read_file, transcript_files
from debate.runfolder import RunFolder, RunFolderError
from debate.schema import Record, Transcript, Verdict
from debate.stats.estimates import boot_mean, proportion

FILE = "human_judgments.jsonl"


class HumanJudgment(Record):
    judge: str  # the person's name
    folder: str  # where the transcript lies in the run folder
    match_id: str
    item: str
    true_answer: int  # index of the true answer
    verdict: Verdict
    correct: bool
    model: Verdict | None = None  # the judge model's verdict on the same transcript
    answered_at: str


def parse_answer(text: str, n_answers: int) -> list[float] | None:
    """`A` (a label), `0.7` (P(A), two answers only) or `0.2,0.5,0.3` (one per answer)."""
    text = text.strip()
    labels = LABELS[:n_answers]
    if len(text) == 1 and text.upper() in labels:
        return [float(i == labels.index(text.upper())) for i in range(n_answers)]
    try:
        numbers = [float(x) for x in re.split(r"[,\s]+", text) if x]
    except ValueError:
        return None
    if len(numbers) == 1 and n_answers == 2 and 0 <= numbers[0] <= 1:
        return [numbers[0], 1 - numbers[0]]
    if len(numbers) == n_answers and all(x >= 0 for x in numbers) and abs(sum(numbers) - 1) <= 0.01:
        return [x / sum(numbers) for x in numbers]
    return None


def read_judgments(path: Path) -> list[HumanJudgment]:
    if not path.exists():
        return []
    out = []
    for n, line in read_lines(path, "judgments file", RunFolderError):
        if line.strip():
            try:
                out.append(HumanJudgment.model_validate_json(line))
            except (ValidationError, ValueError):
                raise RunFolderError(
                    f"line {n} of {path} is corrupt; fix or remove that line"
                ) from None
    return out


def append(path: Path, record: HumanJudgment) -> None:
    with path.open("a") as f:
        f.write(record.model_dump_json() + "\n")
        f.flush()
        os.fsync(f.fileno())


def view_for(t: Transcript, reads: str) -> str:
    """What the judge model read, as recorded on its verdict: its reading with the answers as
    given (a judge that reads each quote apart read several views; all are shown), then the
    answers with their labels if the judge read them unlabelled. Folders from before views were
    recorded get the view rebuilt from the transcript (the passage is never shown then)."""
    answers = "\n".join(f"{LABELS[i]}: {a}" for i, a in enumerate(t.item.answers))
    if t.verdict is None or not t.verdict.views or not t.verdict.views[0].texts:
        rebuilt = judge_view(Case(t.item, t.turns), labelled=True, reads=reads)
        return f"{rebuilt}\n\n(rebuilt from the transcript: this run did not record its views)"
    texts = t.verdict.views[0].texts
    if len(texts) == 1:
        body = texts[0]
    else:
        body = "\n\n".join(f"[reading {k} of {len(texts)}]\n{x}" for k, x in enumerate(texts, 1))
    return body if answers in body else f"{body}\n\n{answers}"


def coloured(view: str) -> str:
    """Rich markup for the view: the harness's quote tags in colour, everything else literal."""

    def mark(m: re.Match) -> str:
        colour, sign = ("green", "✓") if m.group(1) == "v_quote" else ("red", "✗")
        return f"[{colour}]{sign}«{m.group(2)}»[/{colour}]"

    return QUOTE_TAG.sub(mark, escape(view))


def reads_of(config: Path) -> str:
    raw = RunFolder(config.parent).read_config() if config.exists() else {}
    try:
        return JudgeConfig.model_validate(raw.get("judge", {})).reads
    except ValidationError:
        return JudgeConfig().reads


def ask(console: Console, n_answers: int) -> list[float] | str | None:
    """Probabilities, "skip", or None to stop; asks again until the input can be read."""
    labels = "/".join(LABELS[:n_answers])
    prompt = (
        f"your verdict ({labels}{', or P(A) like 0.7' if n_answers == 2 else ''}; s skip, q quit): "
    )
    while True:
        try:
            text = console.input(prompt)
        except EOFError:
            return None
        if text.strip().lower() in ("q", "quit"):
            return None
        if text.strip().lower() in ("s", "skip"):
            return "skip"
        probs = parse_answer(text, n_answers)
        if probs is not None:
            return probs
        console.print(f"[yellow]cannot read {text.strip()!r}: give {labels}, or numbers[/yellow]")


def matches_of(run_dir: Path) -> list[tuple[str, Transcript, str]]:
    """(group, transcript, what its judge read) of every finished match under the folder, in
    file order."""
    files = transcript_files(run_dir) if run_dir.is_dir() else []
    if not files:
        raise RunFolderError(f"no transcripts in {run_dir}")
    matches = []
    for file in files:
        config = file.parent / "config.yaml"
        reads = reads_of(config if config.exists() else run_dir / "config.yaml")
        group = group_of(run_dir, file)
        matches += [(group, t, reads) for t in read_file(file) if not t.error]
    return matches


def lineup(t: Transcript) -> tuple[str, ...]:
    """Who played: the debaters' names (one for a self-play game)."""
    return tuple(sorted(set(t.agents.values())))


def queue(
    matches: list[tuple[str, Transcript, str]], seed: int
) -> list[tuple[str, Transcript, str]]:
    """The order a person judges in: shuffled by `seed`, then dealt round the lineups (each pair
    of debaters, each self-play debater, in turn), each lineup giving the match of the item judged
    least so far (not the one just judged, where it can). A short session then sees every
    lineup and different items, not one item twice running with the answers swapped; the order is the same in every session, so a
    resumed one goes on where the last stopped."""
    order = list(matches)
    random.Random(seed).shuffle(order)
    by: dict[tuple[str, ...], list] = {}
    for x in order:
        by.setdefault(lineup(x[1]), []).append(x)
    seen: Counter[str] = Counter()
    out: list[tuple[str, Transcript, str]] = []
    while len(out) < len(order):
        for rest in by.values():
            if rest:
                last = out[-1][1].item.id if out else None
                k = min(range(len(rest)), key=lambda i: (rest[i][1].item.id == last,
                                                         seen[rest[i][1].item.id], i))  # fmt: skip
                x = rest.pop(k)
                seen[x[1].item.id] += 1
                out.append(x)
    return out


def judge_run(
    run_dir: Path, name: str, limit: int, console: Console, seed: int = 0
) -> list[HumanJudgment]:
    run_dir = Path(run_dir)
    matches = matches_of(run_dir)
    path = run_dir / FILE
    records = read_judgments(path)
    done = {(r.folder, r.match_id) for r in records if r.judge == name}
    todo = [x for x in queue(matches, seed) if (x[0], x[1].match_id) not in done]
    todo = todo[: limit or None]
    console.print(f"{len(done)} judged before, {len(todo)} to judge now; answers go to {path}")
    for k, (group, t, reads) in enumerate(todo, start=1):
        console.rule(f"match {k} of {len(todo)}", style="dim")
        console.print(coloured(view_for(t, reads)), highlight=False)
        start = time.perf_counter()
        answer = ask(console, len(t.item.answers))
        if answer is None:
            break
        if answer == "skip":
            continue
        verdict = Verdict(probs=answer, judge=f"human:{name}",
                          wall_s=round(time.perf_counter() - start, 2))  # fmt: skip
        record = HumanJudgment(
            judge=name, folder=group, match_id=t.match_id, item=t.item.id, verdict=verdict,
            true_answer=t.item.correct, correct=verdict.choice == t.item.correct, model=t.verdict,
            answered_at=time.strftime("%Y-%m-%dT%H:%M:%S"),
        )  # fmt: skip
        append(path, record)
        records.append(record)
        console.print(f"recorded: P = {', '.join(f'{p:.2f}' for p in answer)}")
    mine = [r for r in records if r.judge == name]
    report(console, mine)
    return mine


def report(console: Console, records: list[HumanJudgment]) -> dict:
    """Accuracy of the person, of the model on the same matches, and how often they agree."""
    with_model = [r for r in records if r.model is not None]
    out = {
        "human_accuracy": proportion([r.correct for r in records]),
        "model_accuracy": proportion([r.model.choice == r.true_answer for r in with_model]),
        "agreement": proportion([r.model.choice == r.verdict.choice for r in with_model]),
        "human_p_true": boot_mean([r.verdict.probs[r.true_answer] for r in records]),
    }
    for key, label in (("human_accuracy", "your accuracy"), ("model_accuracy",
                       "model judge's accuracy on the same matches"),
                       ("agreement", "you and the model pick the same answer"),
                       ("human_p_true", "your mean probability on the true answer")):  # fmt: skip
        m = out[key]
        if m["value"] is None:
            console.print(f"{label}: - (n=0)")
        else:
            lo, hi = m["ci95"]
            console.print(f"{label}: {m['value']:.1%} (95% CI {lo:.1%}-{hi:.1%}, n={m['n']})")
    return out
