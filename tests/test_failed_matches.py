"""A run survives models that fail or hang: a match whose model fails for good is recorded as
failed (the error in its transcript) and retried on resume, the other matches finish and reach
disk as they end, and `--max-failures` decides when the run gives up.

The faults come from scripted agents (debate.models.scripted): `scripted:flaky` fails its first
request arguing each item's first answer, as an API call does once its retries are spent, and
answers when asked again; `scripted:stall` holds those requests until released.

The engine's contract (issue 14): a failed match is written as a Transcript with `error` set; a resumed run replays it; `results["failed_matches"]` lists the
match ids that failed in this run; `RunConfig.max_failures` (CLI `--max-failures`, default 0)
makes the run give up once more than that many matches have failed, after the matches in flight
have finished and been written.
"""

from __future__ import annotations

import json
import threading
import time

from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, ProtocolConfig, TaskConfig
from debate.models import unload
from debate.models.scripted import release_stalled, stall_again
from debate.run.runner import run
from debate.runfolder import RunFolder


def lines_on_disk(run_dir) -> list[dict]:
    path = run_dir / "transcripts.jsonl"
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def faulty_cfg(scripted_cfg, agent: str, n_items: int, **kw):
    unload(f"scripted:{agent}")  # a fresh instance: its faults start over
    return scripted_cfg(
        debaters=[
            AgentConfig(name="faulty", model=f"scripted:{agent}"),
            AgentConfig(name="honest", model="scripted:honest"),
        ],
        protocol=ProtocolConfig(name="sequential", rounds=1),
        task=TaskConfig(n_items=n_items),
        **kw,
    )


def test_a_failed_match_is_recorded_and_retried_on_resume(scripted_cfg) -> None:
    cfg = faulty_cfg(scripted_cfg, "flaky", 3, max_failures=10)
    first = run(cfg)
    written = lines_on_disk(cfg.run_dir)
    failed = [t for t in written if t["error"]]
    # the faulty debater is A; it fails where it argues answer 0: one match of each item
    assert sorted(t["assignment"]["A"] for t in failed) == [0, 0, 0]
    assert all("failed for good" in t["error"] for t in failed)
    assert sorted(first["failed_matches"]) == sorted(t["match_id"] for t in failed)
    assert sum(not t["error"] for t in written) == 3
    assert first["judge_accuracy"]["n"] == 3

    second = run(cfg)  # the same instance answers now: the failed matches are played again
    assert (second["played_matches"], second["resumed_matches"]) == (3, 3)
    assert second["failed_matches"] == []
    assert second["judge_accuracy"]["n"] == 6
    finished = RunFolder(cfg.run_dir).read_transcripts()
    assert len(finished) == 6 and not any(t.error for t in finished)


def test_max_failures_decides_when_a_run_gives_up(tmp_path) -> None:
    runner = CliRunner()

    def cli(name: str, max_failures: int):
        unload("scripted:flaky")
        return runner.invoke(app, ["run", "--out", str(tmp_path), "--name", name, "--n-items",
                                   "4", "--debater", "f=scripted:flaky", "--debater",
                                   "h=scripted:honest", "--judge-kind", "oracle",
                                   "--max-failures", str(max_failures)])  # fmt: skip

    # 8 matches, all in flight at once; the 4 where f argues answer 0 fail
    gave_up = cli("strict", 1)
    assert gave_up.exit_code != 0
    assert "Traceback" not in gave_up.output
    assert gave_up.exception is None or isinstance(gave_up.exception, SystemExit)
    lines = [x for x in gave_up.output.splitlines() if "failed" in x]
    assert lines and "max-failures" in lines[-1]
    written = lines_on_disk(tmp_path / "strict")
    assert sum(not t["error"] for t in written) == 4  # the others finished and were kept
    assert sum(bool(t["error"]) for t in written) >= 2

    tolerant = cli("tolerant", 4)
    assert tolerant.exit_code == 0, tolerant.output
    results = json.loads((tmp_path / "tolerant" / "results.json").read_text())
    assert len(results["failed_matches"]) == 4 and results["n_matches"] == 4


def test_finished_matches_reach_disk_while_others_are_live(scripted_cfg) -> None:
    """32 live matches (16 items, both sides), half of them held by a stalled server: the other
    half are on disk while the held ones still wait."""
    cfg = faulty_cfg(scripted_cfg, "stall", 16, max_live=32)
    stall_again()
    results: list[dict] = []
    worker = threading.Thread(target=lambda: results.append(run(cfg)), daemon=True)
    worker.start()
    try:
        deadline = time.monotonic() + 15
        while len(lines_on_disk(cfg.run_dir)) < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        while_stalled = lines_on_disk(cfg.run_dir)
    finally:
        release_stalled()
        worker.join(60)
    assert len(while_stalled) == 16
    assert all(t["assignment"]["A"] == 1 for t in while_stalled)  # none of the held ones
    assert results and results[0]["n_matches"] == 32
