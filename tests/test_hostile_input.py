"""The bad-input sweep, grown by the classes that a sweep of 211 hostile inputs found still
failing (issue 25), and more of the same kinds: files read without a limit (/dev/zero as a
config, a model, a transcripts file), nesting and aliases that blow up a parser, paths that
escape their folder or write over an input, corrupt run folders and caches, sizes with no bound,
data files whose every row is skipped, and numbers given as true/false.

Each case runs as test_bad_input's do: a fresh copy of the world, then a non-zero exit, one line
naming the problem, no traceback, every file that existed unchanged, within a time limit.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from test_bad_input import (
    TOUR,
    Bad,
    debater,
    materialise,
    new_run,
    problems,
    run_args,
    snapshot,
)
from test_bad_input import build_world as build_base_world
from test_bad_input import runner as cli

from debate.cli.main import app

TIME_LIMIT_S = 60  # every case: a hang fails here, not at the harness's own timeout


def rows(path: Path, items: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in items))


def build_world(w: Path) -> None:
    build_base_world(w)
    data = w / "data"
    ok = {"question": "Q?", "options": ["yes", "no"], "answer": 0, "article": "A text."}
    rows(data / "one-answer.jsonl", [{**ok, "options": ["yes"]}] * 3)
    rows(data / "null-passage.jsonl", [{**ok, "article": None}] * 3)
    rows(data / "empty-question.jsonl", [{**ok, "question": "  "}] * 2)
    rows(data / "null-question.jsonl", [{**ok, "question": None}] * 2)
    rows(data / "bad-index.jsonl", [{**ok, "answer": 7}] * 2)
    rows(data / "null-answer.jsonl", [{**ok, "options": ["yes", None]}] * 2)
    tqa = {"question": "Q?", "mc1_targets": {"choices": ["a", "b", "c"], "labels": [1, 0]}}
    rows(data / "tqa-more-choices.jsonl", [tqa] * 2)
    both = {**tqa, "mc2_targets": {"choices": ["a", "b"], "labels": [1, 0]}}
    rows(data / "tqa-eval-more-choices.jsonl", [both] * 2)
    rows(data / "tqa-null-targets.jsonl", [{"question": "Q?", "mc1_targets": None}] * 2)
    rows(data / "boolq-odd.jsonl", [{"question": "Q?", "answer": "maybe", "passage": "P."}] * 2)
    rows(data / "gsm8k-no-answer.jsonl", [{"question": "Q?", "answer": "no marker here"}] * 2)
    (w / "deep.yaml").write_text("seed: " + "[" * 5000 + "]" * 5000 + "\n")
    (w / "deep.toml").write_text("seed = " + "[" * 5000 + "]" * 5000 + "\n")
    bomb = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    bomb += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 10)}]" for k in range(1, 9)]
    (w / "aliases.yaml").write_text("\n".join(bomb) + "\nseed: *a8\n")
    (w / "big.yaml").write_text("name: x\n" + "#" * (17 * 2**20) + "\n")
    (w / "models" / "fake-hf").mkdir()
    (w / "models" / "fake-hf" / "config.json").write_text("{}")
    (w / "models" / "zero-adapter").mkdir()
    (w / "models" / "zero-adapter" / "adapter_config.json").symlink_to("/dev/zero")
    (w / "garbage.sqlite").write_bytes(b"this is not a database\n" * 100)


@pytest.fixture(scope="module")
def world_template(tmp_path_factory) -> Path:
    w = tmp_path_factory.mktemp("hostile")
    build_world(w)
    return w


def quality(path: str) -> list[str]:
    return new_run("--task", "quality", "--set", f"task.params.path={path}")


def task(name: str, path: str) -> list[str]:
    return new_run("--task", name, "--set", f"task.params.path={path}")


def tour(*extra: str) -> list[str]:
    return ["tournament", "--out", "{w}/runs", "--name", "fresh-tour", "--n-items", "1",
            "--debater", "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind",
            "oracle", *extra]  # fmt: skip


def link(rel: str, target: str):
    def setup(w: Path) -> None:
        p = w / rel
        if p.exists() or p.is_symlink():
            p.unlink()
        p.symlink_to(target)

    return setup


def write(rel: str, data: bytes):
    return lambda w: (w / rel).write_bytes(data)


def as_folder(rel: str):
    def setup(w: Path) -> None:
        (w / rel).unlink()
        (w / rel).mkdir()

    return setup


def stranger_in_tournament(w: Path) -> None:
    """A transcript whose debater the tournament's config does not name."""
    path = w / TOUR / "transcripts.jsonl"
    t = json.loads(path.read_text().splitlines()[0])
    t["match_id"] += "-x"
    t["agents"] = {role: "stranger" for role in t["agents"]}
    t["agents"][next(iter(t["agents"]))] = "h"
    with path.open("a") as f:
        f.write(json.dumps(t) + "\n")


def env(**values: str) -> dict:
    return {"env": values}


def cache(path: str) -> dict:
    return env(DEBATE_HARNESS_RESPONSE_CACHE=path)


# fmt: off
HOSTILE: list[Bad] = [
    # data files whose rows are all skipped, and rows that are wrong in ways once accepted
    Bad("skip-one-answer", quality("{w}/data/one-answer.jsonl"), ("no usable rows", "two")),
    Bad("skip-null-passage", quality("{w}/data/null-passage.jsonl"), ("no usable rows", "passage")),
    Bad("skip-empty-question", quality("{w}/data/empty-question.jsonl"), ("question",)),
    Bad("skip-null-question", quality("{w}/data/null-question.jsonl"), ("question",)),
    Bad("skip-bad-index", quality("{w}/data/bad-index.jsonl"), ("no usable rows", "range")),
    Bad("skip-null-answer", quality("{w}/data/null-answer.jsonl"), ("no usable rows", "null")),
    Bad("skip-tqa-more-choices", task("truthfulqa", "{w}/data/tqa-more-choices.jsonl"),
        ("no usable rows", "labels")),
    Bad("skip-tqa-null-targets", task("truthfulqa", "{w}/data/tqa-null-targets.jsonl"),
        ("no usable rows",)),
    Bad("skip-boolq", task("boolq", "{w}/data/boolq-odd.jsonl"), ("no usable rows",)),
    Bad("skip-gsm8k", task("gsm8k", "{w}/data/gsm8k-no-answer.jsonl"), ("no usable rows",)),
    Bad("skip-tournament", tour("--task", "quality", "--set",
        "task.params.path={w}/data/null-passage.jsonl"), ("no usable rows",)),
    Bad("skip-eval-truthfulqa", ["eval", "truthfulqa", "--path",
        "{w}/data/tqa-eval-more-choices.jsonl", "--out", "{w}/runs", "--model",
        "scripted:honest"],
        ("no usable",)),
    # run names and folders that escape --out or hold control characters
    Bad("name-absolute", run_args(name="{w}/escaped"), ("name", "--out")),
    Bad("name-parent", run_args(name="../escaped"), ("name", "..")),
    Bad("name-inner-parent", run_args(name="a/../../escaped"), ("name", "..")),
    Bad("name-home", run_args(name="~/escaped"), ("name",)),
    Bad("name-newline", run_args(name="a\nb"), ("name", "control")),
    Bad("name-tab", run_args(name="a\tb"), ("name", "control")),
    Bad("out-newline", run_args(out="{w}/a\nb"), ("out", "control")),
    Bad("tournament-name-parent", tour("--name", "../escaped"), ("name", "..")),
    Bad("train-name-absolute", ["train", "--name", "{w}/escaped", "--out", "{w}/runs"],
        ("name",)),
    # commands that would write over what they read
    Bad("view-over-transcripts", ["view", "{w}/runs/r", "--out", "{w}/runs/r/transcripts.jsonl"],
        ("transcripts.jsonl", "read from")),
    Bad("view-over-config", ["view", "{w}/runs/tour", "--out", "{w}/runs/tour/config.yaml"],
        ("config.yaml", "read from")),
    Bad("view-over-results", ["view", "{w}/runs/tour", "--out", "{w}/runs/tour/results.json"],
        ("results.json", "read from")),
    Bad("view-over-other-file", ["view", "{w}/runs/r", "--out", "{w}/afile"], ("afile", ".html")),
    Bad("view-out-folder", ["view", "{w}/runs/r", "--out", "{w}/adir"], ("adir", "folder")),
    Bad("view-out-no-parent", ["view", "{w}/runs/r", "--out", "{w}/none/page.html"],
        ("does not exist",)),
    Bad("view-out-full-device", ["view", "{w}/runs/r", "--out", "/dev/full"], ("/dev/full",)),
    # corrupt run folders
    Bad("view-results-garbage", ["view", "{w}/runs/r"], ("results.json", "not json"),
        write("runs/r/results.json", b"{garbage")),
    Bad("view-results-null", ["view", "{w}/runs/r"], ("results.json", "nonetype"),
        write("runs/r/results.json", b"null")),
    Bad("view-results-list", ["view", "{w}/runs/tour"], ("results.json", "list"),
        write("runs/tour/results.json", b"[1, 2]")),
    Bad("view-results-folder", ["view", "{w}/runs/r"], ("results.json", "folder"),
        as_folder("runs/r/results.json")),
    Bad("view-results-wrong-shape", ["view", "{w}/runs/tour"], ("results.json",),
        write("runs/tour/results.json", b'{"ratings": 5, "judge_accuracy": 1}')),
    Bad("view-results-latin1", ["view", "{w}/runs/r"], ("results.json", "utf-8"),
        write("runs/r/results.json", b"{\"run\": \"caf\xe9\"}")),
    Bad("report-stranger", ["report", "{w}/runs/tour"], ("stranger", "config.yaml"),
        stranger_in_tournament),
    Bad("report-plots-is-file", ["report", "{w}/runs/tour"], ("plots", "file"),
        lambda w: (shutil.rmtree(w / TOUR / "plots"), (w / TOUR / "plots").write_text("x"))),
    Bad("report-md-is-folder", ["report", "{w}/runs/tour"], ("report.md", "folder"),
        as_folder("runs/tour/report.md")),
    Bad("tournament-plots-is-file", tour(), ("plots", "file"),
        lambda w: ((w / "runs/fresh-tour").mkdir(), (w / "runs/fresh-tour/plots").write_text("x"))),
    # caches that are not caches
    Bad("cache-garbage-clear", ["cache", "clear"], ("garbage.sqlite", "database"),
        extra=cache("{w}/garbage.sqlite")),
    Bad("cache-garbage-show", ["cache"], ("garbage.sqlite", "database"),
        extra=cache("{w}/garbage.sqlite")),
    Bad("cache-proc-clear", ["cache", "clear"], ("/proc/x", "system"), extra=cache("/proc/x")),
    Bad("cache-proc-show", ["cache"], ("/proc/x", "system"), extra=cache("/proc/x")),
    Bad("cache-folder-clear", ["cache", "clear"], ("adir", "folder"), extra=cache("{w}/adir")),
    Bad("cache-below-file", ["cache", "clear"], ("afile",), extra=cache("{w}/afile/c.sqlite")),
    # sizes with no bound: memory or time without end
    Bad("n-boot-huge", tour("--set", "ratings.n_boot=1000000000"), ("ratings.n_boot",)),
    Bad("best-of-huge", new_run("--set", "debaters.0.best_of=100000"), ("best_of",)),
    Bad("swiss-rounds-huge", tour("--schedule", "swiss", "--set",
        "schedule.swiss_rounds=1000000000"), ("schedule.swiss_rounds",)),
    Bad("swiss-items-huge", tour("--schedule", "swiss", "--set",
        "schedule.swiss_items_per_round=1000000000"), ("swiss_items_per_round",)),
    Bad("choice-text-huge", new_run("--set", "debaters.0.choice_text_tokens=1000000000"),
        ("choice_text_tokens",)),
    Bad("retries-huge", debater("x=openai:m@http://127.0.0.1:9/v1?max_retries=1000000000"),
        ("max_retries", "at most")),
    Bad("concurrency-huge", debater("x=openai:m@http://127.0.0.1:9/v1?concurrency=10000000"),
        ("concurrency", "at most")),
    Bad("threads-huge", new_run("--judge-kind", "cloze", "--judge", "hf:{w}/models/fake-hf"),
        ("DEBATE_HARNESS_THREADS",), extra=env(DEBATE_HARNESS_THREADS="99999")),
    Bad("train-lora-rank-huge", ["train", "--set", "lora.r=1000000000", "--out", "{w}/runs"],
        ("lora.r",)),
    Bad("train-generations-huge", ["train", "--generations", "1000000000", "--out", "{w}/runs"],
        ("generations",)),
    Bad("train-group-huge", ["train", "--set", "update.group_size=1000000000", "--out",
        "{w}/runs"], ("update.group_size",)),
    Bad("eval-tqa-n-items-huge", ["eval", "truthfulqa", "--n-items", "1000000000000", "--out",
        "{w}/runs", "--model", "scripted:honest"], ("n_items",)),
    # files read without a limit, and parsers that recurse
    Bad("config-dev-zero", new_run("-c", "/dev/zero"), ("/dev/zero", "larger")),
    Bad("config-too-big", new_run("-c", "{w}/big.yaml"), ("big.yaml", "larger")),
    Bad("config-deep-yaml", new_run("-c", "{w}/deep.yaml"), ("deep.yaml", "nested")),
    Bad("config-deep-toml", new_run("-c", "{w}/deep.toml"), ("deep.toml", "nested")),
    Bad("config-alias-bomb", new_run("-c", "{w}/aliases.yaml"), ("aliases.yaml", "values")),
    Bad("set-deep", new_run("--set", "seed=" + "[" * 5000 + "]" * 5000), ("--set", "nested")),
    Bad("gguf-dev-zero", new_run("--judge-kind", "cloze", "--judge", "gguf:/dev/zero"),
        ("/dev/zero", "regular file")),
    Bad("hf-dev-zero", new_run("--judge-kind", "cloze", "--judge", "hf:/dev/zero"),
        ("/dev/zero",)),
    Bad("peft-dev-zero", new_run("--judge-kind", "cloze", "--judge",
        "peft:{w}/models/zero-adapter"), ("adapter", "larger")),
    Bad("say-dev-zero", debater("x=scripted:say@/dev/zero"), ("/dev/zero", "larger")),
    Bad("transcripts-dev-zero-show", ["show", "{w}/runs/r"], ("transcripts", "longer"),
        link("runs/r/transcripts.jsonl", "/dev/zero")),
    Bad("transcripts-dev-zero-view", ["view", "{w}/runs/r"], ("transcripts", "longer"),
        link("runs/r/transcripts.jsonl", "/dev/zero")),
    Bad("transcripts-dev-zero-resume", run_args(), ("transcripts", "longer"),
        link("runs/r/transcripts.jsonl", "/dev/zero")),
    Bad("transcripts-dev-zero-report", ["report", "{w}/runs/tour"], ("transcripts", "longer"),
        link("runs/tour/transcripts.jsonl", "/dev/zero")),
    Bad("results-dev-zero-view", ["view", "{w}/runs/r"], ("results", "larger"),
        link("runs/r/results.json", "/dev/zero")),
    Bad("runconfig-dev-zero-view", ["view", "{w}/runs/r"], ("config.yaml", "larger"),
        link("runs/r/config.yaml", "/dev/zero")),
    Bad("report-md-dev-zero-view", ["view", "{w}/runs/tour"], ("report", "larger"),
        link("runs/tour/report.md", "/dev/zero")),
    Bad("plot-dev-zero-view", ["view", "{w}/runs/tour"], ("plot", "larger"),
        link("runs/tour/plots/matrix.png", "/dev/zero")),
    Bad("history-dev-zero", ["eval", "history", "--out", "{w}/hist"], ("history", "longer"),
        lambda w: ((w / "hist").mkdir(), (w / "hist/history.jsonl").symlink_to("/dev/zero"))),
    # a data file that is also a file the run writes
    Bad("data-is-own-transcripts", run_args("--task", "quality", "--set",
        "task.params.path={w}/runs/r/transcripts.jsonl"), ("transcripts.jsonl", "input")),
    Bad("data-is-own-results-tour", ["tournament", "--out", "{w}/runs", "--name", "tour",
        "--task", "quality", "--set", "task.params.path={w}/runs/tour/results.json", "--debater",
        "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind", "oracle"],
        ("results.json", "input")),
    # numbers given as true/false (pydantic reads true as 1)
    Bad("n-items-true", new_run("--set", "task.n_items=true"), ("task.n_items", "true")),
    Bad("rounds-false", new_run("--set", "protocol.rounds=false"), ("protocol.rounds",)),
    Bad("temperature-true", new_run("--set", "debaters.0.temperature=true"),
        ("temperature", "true")),
    Bad("max-cost-true", new_run("--set", "max_cost=true"), ("max_cost",)),
    Bad("n-boot-true", tour("--set", "ratings.n_boot=true"), ("n_boot",)),
    Bad("generations-true", ["train", "--set", "generations=true", "--out", "{w}/runs"],
        ("generations",)),
]
# fmt: on


@pytest.mark.timeout(TIME_LIMIT_S * 2)
@pytest.mark.parametrize("case", HOSTILE, ids=[c.id for c in HOSTILE])
def test_hostile_input(case: Bad, world_template: Path, tmp_path: Path, monkeypatch) -> None:
    w = tmp_path / "w"
    shutil.copytree(world_template, w, symlinks=True)
    monkeypatch.chdir(w)
    for key, value in case.extra.get("env", {}).items():
        monkeypatch.setenv(key, value.replace("{w}", str(w)))
    if case.setup:
        case.setup(w)
    before = snapshot(w)
    start = time.monotonic()
    res = cli.invoke(app, materialise(case.args, w))
    took = time.monotonic() - start
    found = problems(res, case, before, snapshot(w))
    if took > TIME_LIMIT_S:
        found.append(f"HANG: {took:.0f} s")
    assert not (w / "escaped").exists()  # names with `..` or an absolute path land there
    assert not found, "\n".join(found)


def test_the_sweep_grew_by_every_class_of_issue_25() -> None:
    ids = {c.id.split("-")[0] for c in HOSTILE}
    assert {"skip", "name", "view", "report", "cache", "config", "transcripts", "n"} <= ids
    assert len(HOSTILE) >= 70


def test_interval_of_every_case_holds_its_point() -> None:
    """The cases that broke the tournament report: 80 of 80, 0 of n, a skewed bootstrap."""
    from debate.stats.estimates import boot_mean, proportion, wilson
    from debate.stats.ratings import Game, fit

    for n in range(1, 400):
        for k in (0, n):
            lo, hi = wilson(k, n)
            assert lo <= k / n <= hi
    assert proportion([True] * 80)["ci95"][1] == 1.0
    skewed = [0.0] * 30 + [1.0]
    m = boot_mean(skewed)
    assert m["ci95"][0] <= m["value"] <= m["ci95"][1]
    games = [Game("a", "b", 1.0, str(k)) for k in range(5)] + [Game("b", "c", 0.5, "x")]
    for r in fit(games, n_boot=200):
        assert r.ci95[0] <= r.elo <= r.ci95[1]


# -- Ctrl-C while the command line loads: one line, through a real interpreter --------------


@pytest.mark.slow
def test_ctrl_c_during_start_up_is_one_line(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys

    env_vars = {**os.environ, "COLUMNS": "200"}
    args = [sys.executable, "-m", "debate.cli", "run", "--out", str(tmp_path), "--n-items", "1000",
            "--debater", "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind",
            "oracle"]  # fmt: skip
    for delay in (0.3, 0.8, 1.5):
        # Ctrl-C as a terminal delivers it: a suite started as a background job (`cmd &`)
        # hands its children SIGINT ignored, and Python then never raises KeyboardInterrupt
        proc = subprocess.Popen(args, cwd=tmp_path, env=env_vars, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
        time.sleep(delay)
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        assert "Traceback" not in out, out
        # once the folder is claimed, the line saying where it is and how to resume is kept
        lines = [x for x in out.splitlines() if x.strip() and not x.startswith("run folder ")]
        assert proc.returncode != 0 and len(lines) <= 1, (delay, out)
