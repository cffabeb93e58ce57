"""Every command in the README's shell blocks runs, in order, in one fresh folder, as a newcomer
would copy them; any that exits non-zero fails the test, so the README cannot rot.

How a line is run:
- Fenced `bash`/`sh`/`shell`/`console` blocks are read in order; `\\` continues a line, `&&`
  splits it, `#` starts a comment.
- Each `debate ...` command runs through the command line's app in this process (so a model
  loads once, not once per line: a fresh process per line cost minutes), in a temporary folder
  holding a copy of `examples/` and the small data files below, with its own
  `DEBATE_HARNESS_CACHE` (sharing only the converted SmolLM2 weights), so nothing is written
  outside it. torch's thread count is restored after each line (the MNIST commands set 1).
- Sizes: the options in SMALL for the command are appended (the last value of a flag, and
  the last `--set` of a key, win), so every line runs the README's command on a few items.
  A command with no entry runs as written (reading commands: show, report, view, export, ...);
  a command that does not exist fails.
- Skipped, each with its reason shown as a warning, are only lines that cannot run here: setup
  of the environment this test already runs in (SETUP), and commands that need a hosted model
  and its key, a download, a person at the terminal, or a server left running (`skip_reason`).
  Anything else that is not a `debate` command fails the test.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import time
import warnings
from pathlib import Path

import pytest

from debate.config import parse_debater
from debate.models.providers import is_api

ROOT = Path(__file__).resolve().parents[1]

SETUP = [("python3", "-m", "venv"), (".",), ("source",), ("pip", "install"),
         ("python", "-m", "pytest")]  # fmt: skip

SMALL = {
    "run": ["--set", "task.n_items=2", "--set", "protocol.speech_tokens=8"],
    "tournament": ["--set", "task.n_items=1", "--set", "ratings.n_boot=20",
                   "--set", "protocol.speech_tokens=8", "--set", "schedule.swiss_rounds=1",
                   "--set", "schedule.swiss_items_per_round=1"],
    "eval protocols": ["--set", "task.n_items=2", "--set", "protocol.speech_tokens=8"],
    "eval truthfulqa": ["--set", "n_items=2"],
    "train": ["--set", "generations=1", "--set", "task.n_items=1", "--set", "eval_items=2",
              "--set", "league.anchor_items=1", "--set", "update.branches=2",
              "--set", "update.group_size=2", "--set", "protocol.speech_tokens=8",
              # one item's two branches are rarely told apart by 0.05: keep any distinct pair
              "--set", "update.min_margin=0"],
    "mnist train-judge": ["--steps", "30", "--train-images", "1000", "--test-images", "100"],
    "mnist eval": ["--images", "1"],
}  # fmt: skip

# data files the README's lines name, written small into the folder the commands run in
QUALITY = [{"article": f"Story {i}. The key is {'red' if i % 2 else 'blue'}.",
            "question": "What colour is the key?", "options": ["red", "blue"],
            "answer": i % 2} for i in range(4)]  # fmt: skip
TRUTHFULQA = [{"question": "Is a tomato a fruit?",
               "mc1_targets": {"choices": ["Yes, botanically.", "No."], "labels": [1, 0]},
               "mc2_targets": {"choices": ["Yes.", "No."], "labels": [1, 0]}}] * 2  # fmt: skip
FILES = {"quality_dev.jsonl": QUALITY, "truthfulqa_mc.jsonl": TRUTHFULQA}

MODEL_FLAGS = {"--debater", "--judge", "--policy", "--model"}


def readme_commands() -> list[list[str]]:
    """Each command of the README's shell blocks, as argument lists, in order."""
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"^```(?:bash|sh|shell|console)\n(.*?)^```", text, re.M | re.S)
    commands = []
    for block in blocks:
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            while words:
                cut = words.index("&&") if "&&" in words else len(words)
                commands.append(words[:cut])
                words = words[cut + 1 :]
    return [c for c in commands if c]


def subcommand(args: list[str]) -> str:
    """`run`, `eval protocols`, `mnist train-judge`, ...: the words before the first option."""
    words = []
    for a in args[1:]:
        if a.startswith("-") or "/" in a or "." in a:
            break
        words.append(a)
    return " ".join(words[:2])


def skip_reason(args: list[str]) -> str | None:
    """Why a `debate` line cannot run here, or None."""
    if subcommand(args) == "judge":
        return "needs a person at the terminal"
    if "--serve" in args:
        return "serves until stopped"
    if "--model-base-url" in args or "--hub" in args:
        return "needs a hosted model or a download"
    for flag, value in zip(args, args[1:]):
        if flag not in MODEL_FLAGS:
            continue
        spec = parse_debater(value)["model"]
        if spec == "human":
            return "needs a person at the terminal"
        if is_api(spec):
            return f"{spec} is a hosted model (its server and key)"
        kind, _, where = spec.partition(":")
        if kind in ("hf", "gguf", "peft") and not Path(where).exists():
            return f"{spec} is a model to download or a file not on this machine"
    return None


def test_readme_commands_parse_into_known_rules():
    commands = readme_commands()
    assert commands, "no shell blocks found in README.md"
    for c in commands:
        assert c[0] == "debate" or any(tuple(c[: len(s)]) == s for s in SETUP), (
            f"README line is neither a debate command nor environment setup: {shlex.join(c)}"
        )


@pytest.mark.slow
@pytest.mark.timeout(3000)
def test_every_readme_command_runs_in_order(tmp_path, monkeypatch):
    import torch
    from typer.testing import CliRunner

    from debate.cli.main import app

    work = tmp_path / "work"
    shutil.copytree(ROOT / "examples", work / "examples")
    for name, rows in FILES.items():
        (work / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    shared = Path(os.environ.get("DEBATE_HARNESS_CACHE", Path.home() / ".cache" / "debate-harness"))
    (shared / "gguf").mkdir(parents=True, exist_ok=True)
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "gguf").symlink_to(shared / "gguf")
    monkeypatch.setenv("DEBATE_HARNESS_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(work)
    threads = torch.get_num_threads()

    ran, skipped = [], []
    for args in readme_commands():
        if args[0] != "debate":
            skipped.append(f"{shlex.join(args)}: sets up the environment this test runs in")
            continue
        if why := skip_reason(args):
            skipped.append(f"{shlex.join(args)}: {why}")
            continue
        full = [*args[1:], *SMALL.get(subcommand(args), [])]
        start = time.perf_counter()
        res = CliRunner().invoke(app, full, env={"COLUMNS": "200"})
        torch.set_num_threads(threads)
        assert res.exit_code == 0, (
            f"README command failed ({res.exit_code}): debate {shlex.join(full)}\n"
            f"{res.output[-3000:]}\n{res.exception!r}"
        )
        ran.append(f"{time.perf_counter() - start:5.0f} s  {shlex.join(args)}")
    warnings.warn("README lines run:\n" + "\n".join(ran), stacklevel=1)
    warnings.warn("README lines not run:\n" + "\n".join(skipped), stacklevel=1)
    assert len(ran) >= 10, ran
