"""`debate rejudge`: saved transcripts judged again by other judges, from the views their first
judge read (`Verdict.views`), without playing any match again.

Each recorded reading (the answers as given or swapped, the speeches in order or reversed) is
read again by every new judge, and the readings are pooled as in a live match
(`debate.match.match.combine`). A judge reads the recorded view, with the answers' labelled list
put in or taken out as it needs (`debate.match.judge.relabelled`; a panel's members kept one
view labelled and unlabelled, which is one view); a reading recorded as several views (a judge
that read each quote apart) or none (a folder from before views were kept) is rebuilt from the
transcript's speeches, and counted as rebuilt. A new judge set to `orders: both` also reads
the answers in the order the first judge did not (rebuilt); one set to `given` reads the recorded
readings, and `config.yaml` then says `both` where every transcript was read in both orders.

The run folder's files are never changed: each rejudge writes a new folder `rejudged/N/` (the
first N free) holding `verdicts.jsonl` (one record per transcript: the recorded verdict and each
new judge's), `config.yaml` (the judges) and `results.json` (each judge's accuracy and unread
verdicts, a panel's members too, and every pair's agreement). The figures are per transcripts
file (`groups`: an eval suite's arms, a training run's eval folders are never pooled into one
accuracy); a run with one transcripts file also has them at the top.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

from pydantic import Field

from debate.config import ConfigError, JudgeConfig, Strict, dump_yaml, one_line
from debate.match.judge import Case, Judge, make_judge, relabelled
from debate.match.match import combine, variant
from debate.present.viewer import check_run_folder, group_of, read_file, transcript_files
from debate.run.engine import gather_limited
from debate.run.runner import check_judge_gets, warm_models
from debate.runfolder import RunFolder, RunFolderError
from debate.schema import JudgeView, Record, Transcript, Verdict
from debate.stats.agreement import compare_judges, panel_members

FOLDER = "rejudged"
MAX_LIVE = 32  # transcripts judged at once (a local model batches what is waiting)


class RejudgeConfig(Strict):
    schema_version: int = 1
    run: str  # the run folder re-judged
    judges: list[JudgeConfig] = Field(min_length=1)
    seed: int = 0  # of the agreement's bootstrap


class Rejudged(Record):
    folder: str  # the transcripts file's group in the run folder (as the viewer names it)
    match_id: str
    item: str
    true_answer: int
    recorded: Verdict  # the verdict saved with the transcript
    verdicts: list[Verdict]  # one per new judge, in the order given
    rebuilt: int = 0  # readings rebuilt from the speeches (no single recorded view to read)
    error: str | None = None  # why a new judge failed on it (then no verdicts; left out of results)


def base_case(t: Transcript, fragments: str) -> Case:
    return Case(t.item, [u.model_copy(deep=True) for u in t.turns],
                sees_context=t.protocol == "expert", seed=t.seed, fragments=fragments)  # fmt: skip


async def rejudge_one(t: Transcript, judge: Judge, fragments: str) -> tuple[Verdict, int]:
    """`judge`'s verdict on every reading recorded on `t`'s verdict, and how many readings had
    to be rebuilt from the speeches."""
    views = t.verdict.views or [JudgeView(answers=t.item.answers, texts=[])]
    if judge.cfg.orders == "both":  # a reading the first judge never made is rebuilt
        have = {(v.swapped, v.reversed, v.sample) for v in views}
        views = views + [
            JudgeView(swapped=not v.swapped, reversed=v.reversed, sample=v.sample,
                      answers=t.item.answers[::-1] if not v.swapped else t.item.answers, texts=[])
            for v in views if (not v.swapped, v.reversed, v.sample) not in have
        ]  # fmt: skip
    asks = [(v.swapped, v.reversed, v.sample) for v in views]
    orders = sorted({a[0] for a in asks})
    base = base_case(t, fragments)
    cases = []
    for v, a in zip(views, asks):
        c = variant(base, *a)
        # one view, however many labelled and unlabelled copies were kept (a panel's members)
        texts = {relabelled(x, c.item, labelled=False) for x in v.texts}
        c.recorded = texts.pop() if len(texts) == 1 else None
        cases.append(c)
    got = list(await asyncio.gather(*(judge.decide(c) for c in cases)))
    verdict = combine(got, asks, orders)
    verdict.views = [JudgeView(swapped=a[0], reversed=a[1], sample=a[2], answers=c.item.answers,
                               texts=c.views) for a, c in zip(asks, cases)]  # fmt: skip
    return verdict, sum(c.recorded is None for c in cases)


def fragments_of(file: Path) -> str:
    config = file.parent / "config.yaml"
    if not config.exists():
        return "sentence"
    raw = RunFolder(file.parent).read_config()
    evidence = raw.get("evidence") if isinstance(raw.get("evidence"), dict) else {}
    return str(evidence.get("fragments", "sentence"))


def saved(run_dir: Path) -> list[tuple[str, Transcript, str]]:
    """(group, transcript, fragments) of every judged transcript in the run folder (rollouts
    of a training run are not re-judged)."""
    out = []
    for file in transcript_files(run_dir):
        if file.name != "transcripts.jsonl" or FOLDER in file.relative_to(run_dir).parts:
            continue
        fragments = fragments_of(file)
        group = group_of(run_dir, file)
        out += [(group, t, fragments) for t in read_file(file) if t.verdict and not t.error]
    return out


def labels(first: Rejudged) -> dict[str, int | tuple[int, int] | None]:
    """A short unique label per judge compared: `J0` the recorded judge, `J1`... the new ones,
    `J1.1`... a panel's members, each followed by the name its verdict gives (a cloze judge
    that reads quotes apart reads a recorded view as one, and says so)."""
    out: dict[str, int | tuple[int, int] | None] = {f"J0 recorded {first.recorded.judge}": None}
    for k, verdict in enumerate(first.verdicts, start=1):
        out[f"J{k} {verdict.judge}"] = k - 1
        for m, member in enumerate(verdict.members, start=1):
            out[f"J{k}.{m} {member.judge}"] = (k - 1, m - 1)
    return out


def next_folder(run_dir: Path) -> Path:
    """The first `rejudged/N` not yet there, made now (two rejudges never share one)."""
    parent = run_dir / FOLDER
    parent.mkdir(exist_ok=True)
    n = 1
    while True:
        path = parent / str(n)
        try:
            path.mkdir()
            return path
        except FileExistsError:
            n += 1


def rejudge(
    run_dir: Path,
    judge_configs: list[JudgeConfig],
    seed: int = 0,
    on_progress: Callable[[int, int], None] | None = None,
) -> dict:
    run_dir = Path(run_dir)
    if seed < 0:
        raise ConfigError(f"--seed must be 0 or more, not {seed}")
    RunFolder(run_dir).existing()
    check_run_folder(run_dir)
    cfg = RejudgeConfig(run=str(run_dir), judges=judge_configs, seed=seed)
    judges = [make_judge(j) for j in cfg.judges]
    items = saved(run_dir)
    if not items:
        raise RunFolderError(f"no judged transcripts in {run_dir}")
    warm_models(set().union(*(j.models() for j in judges)))
    for j in judges:
        check_judge_gets(j)
    done, out = 0, None

    async def one(group: str, t: Transcript, fragments: str, probe: bool = False) -> Rejudged:
        nonlocal done
        record = Rejudged(folder=group, match_id=t.match_id, item=t.item.id,
                          true_answer=t.item.correct, recorded=t.verdict, verdicts=[])  # fmt: skip
        for j in judges:
            try:
                verdict, rebuilt = await rejudge_one(t, j, fragments)
            except Exception as e:  # one transcript's failure is counted, not fatal
                if probe:  # the first transcript: a judge that cannot read this run at all
                    raise ConfigError(f"judge {j.name} cannot re-judge {run_dir} (match "
                                      f"{t.match_id}): {type(e).__name__}: {one_line(e)}") from e  # fmt: skip
                record.error = f"judge {j.name}: {type(e).__name__}: {one_line(e)}"
                record.verdicts = []
                break
            record.verdicts.append(verdict)
            record.rebuilt += rebuilt
        if out is not None:  # written as it comes: an interrupted rejudge keeps what it did
            with (out / "verdicts.jsonl").open("a") as f:
                f.write(record.model_dump_json() + "\n")
        done += 1
        if on_progress:
            on_progress(done, len(items))
        return record

    async def all_of() -> list[Rejudged]:
        nonlocal out
        first = await one(*items[0], probe=True)  # before any folder is made
        out = next_folder(run_dir)
        (out / "config.yaml").write_text(dump_yaml(cfg))
        with (out / "verdicts.jsonl").open("a") as f:
            f.write(first.model_dump_json() + "\n")
        return [first, *await gather_limited((one(*x) for x in items[1:]), MAX_LIVE)]

    if on_progress:
        on_progress(0, len(items))
    records = asyncio.run(all_of())
    assert out is not None
    judged = [r for r in records if r.error is None]
    failed = [r for r in records if r.error is not None]
    if not judged:
        raise RunFolderError(f"every transcript failed to be re-judged ({out}): {failed[0].error}")
    for k, judge_cfg in enumerate(cfg.judges):  # the config says which orders were read
        read = {frozenset(w.swapped for w in r.verdicts[k].views) for r in judged}
        if read == {frozenset({False, True})}:
            cfg.judges[k] = judge_cfg.model_copy(update={"orders": "both"})
    (out / "config.yaml").write_text(dump_yaml(cfg))
    results = summarize_groups(judged, seed)
    results.update(failed=len(failed), first_failure=failed[0].error if failed else None)
    results.update(run=str(run_dir), folder=str(out))
    (out / "results.json").write_text(json.dumps(results, indent=2))
    return results


def summarize_groups(records: list[Rejudged], seed: int = 0) -> dict:
    """`summarize` per transcripts file: pooling an eval's arms or a training run's
    generations would give one accuracy and one kappa of judges that read different things."""
    groups = dict.fromkeys(r.folder for r in records)
    per = {g: summarize([r for r in records if r.folder == g], seed) for g in groups}
    out = {"transcripts": len(records), "rebuilt_readings": sum(r.rebuilt for r in records)}
    if len(per) == 1:
        out.update(next(iter(per.values())))
    return {**out, "groups": per}


def summarize(records: list[Rejudged], seed: int = 0) -> dict:
    names = labels(records[0])
    truth = [r.true_answer for r in records]
    verdicts: dict[str, list[Verdict]] = {}
    for label, where in names.items():
        if where is None:
            verdicts[label] = [r.recorded for r in records]
        elif isinstance(where, int):
            verdicts[label] = [r.verdicts[where] for r in records]
        else:
            members = panel_members([r.verdicts[where[0]] for r in records])
            verdicts[label] = list(members.values())[where[1]] if members else []
    verdicts = {k: v for k, v in verdicts.items() if len(v) == len(records)}
    return {
        "transcripts": len(records),
        "rebuilt_readings": sum(r.rebuilt for r in records),
        **compare_judges(verdicts, truth, seed),
    }
