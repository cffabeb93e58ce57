"""Run folders from the command line: a folder in use, or holding another run, is refused before
any model loads; a second, different run gets a folder of its own; the same command again (or
`--config FOLDER/config.yaml`) resumes."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from debate.cli.main import app

runner = CliRunner()
# a model that cannot load: a refusal that names the folder, not this, came before any load
MISSING_PATH = "/no/such/model"
MISSING = f"hf:{MISSING_PATH}"
COMMANDS = {
    "run": ["run", "--judge", MISSING, "--judge-kind", "cloze", "--n-items", "1"],
    "tournament": ["tournament", "--judge", MISSING, "--judge-kind", "cloze", "--n-items", "1"],
    "eval protocols": ["eval", "protocols", "--judge", MISSING, "--n-items", "1"],
}


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "300"})


def lines(text: str) -> int:
    return sum(bool(line.strip()) for line in text.splitlines())


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_in_use_is_refused_before_any_model_loads(tmp_path: Path, command: str):
    folder = tmp_path / "shared"
    folder.mkdir()
    hold = ("import fcntl, os, sys; fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT); "
            "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); sys.stdin.read()")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", hold, str(folder / ".lock")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.perf_counter()
        res = invoke(*COMMANDS[command], "--out", str(tmp_path), "--name", "shared")
        seconds = time.perf_counter() - start
    finally:
        holder.communicate("")
    assert res.exit_code == 2
    assert lines(res.output) == 1 and "in use by another process" in res.output
    assert MISSING_PATH not in res.output and seconds < 10
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]  # nothing written


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_folder_holding_another_run_is_refused_before_any_model_loads(tmp_path, command):
    made = invoke("run", "--out", str(tmp_path), "--name", "other", "--n-items", "1",
                  "--debater", "scripted:honest", "--judge-kind", "oracle")  # fmt: skip
    assert made.exit_code == 0, made.output
    before = (tmp_path / "other" / "config.yaml").read_text()
    res = invoke(*COMMANDS[command], "--out", str(tmp_path), "--name", "other")
    assert res.exit_code == 2 and lines(res.output) == 1, res.output
    assert "holds a different run" in res.output and MISSING_PATH not in res.output
    assert (tmp_path / "other" / "config.yaml").read_text() == before


def test_a_model_that_does_not_load_leaves_no_folder(tmp_path):
    res = invoke(*COMMANDS["run"], "--out", str(tmp_path / "runs"))
    assert res.exit_code == 2 and f"not found: {MISSING_PATH}" in res.output
    assert not (tmp_path / "runs").exists()


def test_different_runs_get_their_own_folders_and_the_same_command_resumes(tmp_path):
    out = str(tmp_path / "runs")
    debate = ["run", "--out", out, "--n-items", "2", "--debater", "h=scripted:honest",
              "--debater", "l=scripted:liar", "--judge-kind", "oracle"]  # fmt: skip
    consult = ["run", "--out", out, "--n-items", "2", "--protocol", "consultancy",
               "--debater", "h=scripted:honest", "--judge-kind", "oracle"]  # fmt: skip
    first, second = invoke(*debate), invoke(*consult)
    assert first.exit_code == 0 and second.exit_code == 0, second.output
    folders = sorted(p.name for p in (tmp_path / "runs").iterdir())
    assert len(folders) == 2 and all(f.startswith("run-") for f in folders)
    # each command says where it writes and how to resume
    folder = next(f for f in folders if f in first.output)
    assert f"debate run --config {out}/{folder}/config.yaml" in first.output
    again = invoke(*debate)
    assert again.exit_code == 0 and "0 played, 4 resumed" in again.output
    resumed = invoke("run", "--config", f"{out}/{folder}/config.yaml")
    assert resumed.exit_code == 0 and "0 played, 4 resumed" in resumed.output, resumed.output
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == folders
