"""Two commands, one run folder: one writer at a time, each match once, no stale lock.

The winner of each race is a run whose debater is a person at the terminal (`human`), so it
holds the folder for exactly as long as the test withholds its typed replies: the other command
is certain to meet the lock, whichever of the two the scheduler starts first.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.runfolder import RunFolder

ROOT = Path(__file__).resolve().parents[1]
SPEECH = "I quote <quote>a sentence</quote> for my side."


def human_run(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "debate.cli.main", "run", "--out", str(out), "--name", "shared",
            "--n-items", "1", "--protocol", "consultancy", "--debater", "me=human",
            "--judge-kind", "oracle", *extra]  # fmt: skip


def start(args: list[str]) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"}
    return subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip


def race(first: list[str], second: list[str]) -> tuple[subprocess.Popen, subprocess.Popen, str]:
    """Start both at once; return (winner, loser, loser's output) once the loser has given up."""
    procs = [start(first), start(second)]
    deadline = time.monotonic() + 180
    while all(p.poll() is None for p in procs):
        assert time.monotonic() < deadline, "neither command gave up the folder"
        time.sleep(0.1)
    loser = next(p for p in procs if p.poll() is not None)
    winner = next(p for p in procs if p is not loser)
    out, err = loser.communicate()
    return winner, loser, out + err


def answer(proc: subprocess.Popen) -> tuple[int, str]:
    """Type the two consultancy speeches (true side, false side) and let the run finish."""
    out, err = proc.communicate(f"{SPEECH}\n\n{SPEECH}\n\n", timeout=180)
    return proc.returncode, out + err


def match_ids(run_dir: Path) -> list[str]:
    lines = (run_dir / "transcripts.jsonl").read_text().splitlines()
    return [json.loads(x)["match_id"] for x in lines if x.strip()]


@pytest.mark.slow
def test_two_identical_runs_at_once_one_writes(tmp_path: Path) -> None:
    args = human_run(tmp_path)
    winner, loser, said = race(args, args)
    assert loser.returncode != 0
    assert "Traceback" not in said
    lines = [x for x in said.splitlines() if x.strip()]
    assert len(lines) == 1, said
    assert f"is in use by another process (pid {winner.pid})" in lines[0]
    code, out = answer(winner)
    assert code == 0, out
    ids = match_ids(tmp_path / "shared")
    assert len(ids) == 2 and len(set(ids)) == 2


@pytest.mark.slow
def test_two_different_runs_at_once_never_mix(tmp_path: Path) -> None:
    winner, loser, said = race(
        human_run(tmp_path, "--seed", "1"), human_run(tmp_path, "--seed", "2")
    )
    assert loser.returncode != 0 and "in use by another process" in said
    code, out = answer(winner)
    assert code == 0, out
    seeds = {json.loads(x)["provenance"]["seed"] for x in
             (tmp_path / "shared" / "transcripts.jsonl").read_text().splitlines()}  # fmt: skip
    assert len(seeds) == 1 and len(match_ids(tmp_path / "shared")) == 2
    # the folder is free again, and the other run is now refused for what it is
    seed = "2" if seeds == {1} else "1"
    again = subprocess.run(human_run(tmp_path, "--seed", seed), capture_output=True, text=True,
                           env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "300"},
                           timeout=180)  # fmt: skip
    assert again.returncode != 0 and "holds a different run" in again.stderr


@pytest.mark.slow
def test_a_killed_run_leaves_no_stale_lock(tmp_path: Path) -> None:
    args = human_run(tmp_path)
    first = start(args)
    deadline = time.monotonic() + 180
    while not (tmp_path / "shared" / "config.yaml").exists():  # it holds the lock by now
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.1)
    first.kill()
    first.wait()
    code, out = answer(start(args))
    assert code == 0, out
    assert len(match_ids(tmp_path / "shared")) == 2


def test_readers_count_each_match_once(tmp_path: Path) -> None:
    """A folder written twice over (by two unlocked processes of an older version) is read with
    each match once, by every reader: resume, show, and the tournament report."""
    runner = CliRunner()
    args = ["tournament", "--out", str(tmp_path), "--name", "t", "--n-items", "2", "--debater",
            "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind", "oracle"]  # fmt: skip
    assert runner.invoke(app, args).exit_code == 0
    folder = RunFolder(tmp_path / "t")
    before = json.loads(folder.results_path.read_text())
    lines = folder.transcripts_path.read_text().splitlines()
    folder.transcripts_path.write_text("\n".join(lines + lines) + "\n")
    assert len(folder.read_transcripts()) == len(lines)
    res = runner.invoke(app, ["report", str(tmp_path / "t")])
    assert res.exit_code == 0, res.output
    after = json.loads(folder.results_path.read_text())
    assert after["n_matches"] == before["n_matches"] == len(lines)
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and f"0 played, {len(lines)} resumed" in again.output


def test_a_second_thread_of_this_process_is_refused_while_the_first_runs(tmp_path: Path) -> None:
    # two API calls at once on one folder (asyncio.gather of two debate.arun) run on two threads
    import threading

    from debate.runfolder import RunFolderError, release_under

    held, done = threading.Event(), threading.Event()

    def first_run() -> None:
        RunFolder(tmp_path / "same").lock()
        RunFolder(tmp_path / "same").lock()  # the same run claiming again (resume) is fine
        held.set()
        done.wait(30)

    first = threading.Thread(target=first_run)
    first.start()
    assert held.wait(30)
    with pytest.raises(RunFolderError, match="in use by another run in this process"):
        RunFolder(tmp_path / "same").lock()
    release_under(tmp_path)  # the refused call gives back only what it holds
    with pytest.raises(RunFolderError, match="in use by another run in this process"):
        RunFolder(tmp_path / "same").lock()
    done.set()
    first.join()
    RunFolder(tmp_path / "same").lock()  # its run has ended: the folder is free again
    release_under(tmp_path)
