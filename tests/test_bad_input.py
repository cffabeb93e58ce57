"""A tired user's bad inputs, every class at once, through the command line.

Each case must end with a non-zero exit, one line that names the problem, no traceback, and
every file that existed before the command byte-identical after it. The cases run against a
"world": a finished `debate run` folder, a finished tournament folder and a set of odd files, copied
fresh for every case so that one case cannot spoil another.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from debate.cli.main import app

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[1]
QUALITY_ROW = {"question": "Q?", "options": ["yes", "no"], "answer": 0, "article": "A text."}


def run_args(*extra: str, out: str = "runs", name: str = "r") -> list[str]:
    """The command that made the world's run folder (run from inside the world, whose copies
    then hold the same config): rerun as is, it resumes it."""
    return ["run", "--out", out, "--name", name, "--n-items", "2", "--debater",
            "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind", "oracle",
            *extra]  # fmt: skip


def new_run(*extra: str) -> list[str]:
    """A fresh run folder (bad input should leave nothing behind, not even this)."""
    return run_args(*extra, name="fresh")


def quality(path: str, *extra: str) -> list[str]:
    return new_run("--task", "quality", "--set", f"task.params.path={path}", *extra)


def judge(spec: str) -> list[str]:
    return new_run("--judge-kind", "cloze", "--judge", spec)


def debater(spec: str) -> list[str]:
    return ["run", "--out", "{w}/runs", "--name", "fresh", "--n-items", "1", "--debater", spec,
            "--judge-kind", "oracle"]  # fmt: skip


OPENAI = "openai:m@http://127.0.0.1:9/v1"


def build_world(w: Path) -> None:
    def ok(args: list[str]) -> None:
        res = runner.invoke(app, [a.replace("{w}", str(w)) for a in args])
        assert res.exit_code == 0, res.output

    here = Path.cwd()
    os.chdir(w)
    try:
        ok(run_args())
    finally:
        os.chdir(here)
    ok(["tournament", "--out", "{w}/runs", "--name", "tour", "--n-items", "1", "--debater",
        "h=scripted:honest", "--debater", "l=scripted:liar", "--judge-kind", "oracle"])  # fmt: skip
    (w / "afile").write_text("just a file\n")
    (w / "adir").mkdir()
    (w / "folder.yaml").mkdir()
    (w / "latin1.yaml").write_bytes("name: caf\xe9\n".encode("latin-1"))
    (w / "latin1.toml").write_bytes("name = 'caf\xe9'\n".encode("latin-1"))
    (w / "empty.yaml").write_text("")
    (w / "list.yaml").write_text("- a\n- b\n")
    (w / "broken.yaml").write_text("protocol: {rounds: 2\n")
    (w / "broken.toml").write_text("[protocol\nrounds = 2\n")
    (w / "tabs.yaml").write_text("protocol:\n\trounds: 2\n")
    (w / "python-tag.yaml").write_text("name: !!python/object/apply:os.system ['true']\n")
    (w / "words.yaml").write_text("protocol:\n  rounds: many\n")
    (w / "negative.yaml").write_text("protocol:\n  rounds: -3\n")
    (w / "unknown.yaml").write_text("protocol:\n  roundz: 2\n")
    (w / "scalar-section.yaml").write_text("protocol: 5\n")
    (w / "debaters-map.yaml").write_text("debaters: {name: x}\n")
    (w / "debaters-ints.yaml").write_text("debaters: [5]\n")
    (w / "bool-name.yaml").write_text("name: yes\n")
    (w / "[red]odd.yaml").write_text("protocol: {rounds: 2\n")
    data = w / "data"
    data.mkdir()
    for suffix in ("jsonl", "json", "csv", "parquet"):
        (data / f"empty.{suffix}").write_text("")
    (data / "broken.jsonl").write_text('{"question": "Q?", "options": ["a", \n')
    (data / "latin1.jsonl").write_bytes(
        json.dumps({**QUALITY_ROW, "article": "caf\xe9"}, ensure_ascii=False).encode("latin-1")
    )
    (data / "arrays.jsonl").write_text("[1, 2]\n[3, 4]\n")
    (data / "folder.jsonl").mkdir()
    (data / "options-text.jsonl").write_text(
        json.dumps({**QUALITY_ROW, "options": "yes or no"}) + "\n"
    )
    (data / "no-options.jsonl").write_text(json.dumps({"question": "Q?"}) + "\n")
    (data / "rows.txt").write_text("a row\n")
    (w / "models").mkdir()
    (w / "models" / "fake.gguf").write_text("not a gguf file\n")
    (w / "models" / "empty").mkdir()
    (w / "models" / "bad-adapter").mkdir()
    (w / "models" / "bad-adapter" / "adapter_config.json").write_text("{not json")
    (w / "models" / "no-base").mkdir()
    (w / "models" / "no-base" / "adapter_config.json").write_text("{}")


@pytest.fixture(scope="module")
def world_template(tmp_path_factory) -> Path:
    w = tmp_path_factory.mktemp("world")
    build_world(w)
    return w


def replace_line(path: Path, data: bytes) -> None:
    """Append one bad line to a file (the good lines before it stay)."""
    with path.open("ab") as f:
        f.write(data)


def swap_for_folder(path: Path) -> None:
    path.unlink()
    path.mkdir()


RUN = Path("runs/r")
TOUR = Path("runs/tour")


def append_to(rel: Path, data: bytes):
    return lambda w: replace_line(w / rel / "transcripts.jsonl", data)


def write_config(rel: Path, data: bytes):
    return lambda w: (w / rel / "config.yaml").write_bytes(data)


@dataclass
class Bad:
    id: str
    args: list[str]
    needles: tuple[str, ...]  # each must appear (case-insensitive) on the message line
    setup: object = None  # callable(world) that spoils something before the command
    usage: bool = False  # typer's own usage error: a framed box, one line of it names the problem
    kind: str = ""  # the class of bad input, for the tally
    extra: dict = field(default_factory=dict)


# fmt: off
BAD: list[Bad] = [
    # --set values that are not YAML, keys that are not keys, paths below a scalar
    Bad("set-unclosed-list", new_run("--set", "protocol.rounds=[1"), ("--set", "protocol.rounds")),
    Bad("set-alias", new_run("--set", "name=*x"), ("--set", "name")),
    Bad("set-python-tag", new_run("--set", "name=!!python/object:os.system"), ("--set", "name")),
    Bad("set-nested-colons", new_run("--set", "seed=a: b: c"), ("--set", "seed")),
    Bad("set-reserved-char", new_run("--set", "seed=@x"), ("--set", "seed")),
    Bad("set-open-brace", new_run("--set", "name={"), ("--set", "name")),
    Bad("set-no-key", new_run("--set", "=3"), ("key=value",)),
    Bad("set-no-equals", new_run("--set", "protocol.rounds"), ("key=value",)),
    Bad("set-empty-part", new_run("--set", "protocol..rounds=2"), ("protocol..rounds",)),
    Bad("set-trailing-dot", new_run("--set", "protocol.rounds.=2"), ("protocol.rounds.",)),
    Bad("set-below-flag", new_run("--seed", "3", "--set", "seed.x=1"), ("seed.x",)),
    Bad("set-below-set", new_run("--set", "name=a", "--set", "name.b=c"), ("name.b",)),
    Bad("set-below-section", new_run("--set", "protocol=5", "--set", "protocol.rounds=2"),
        ("protocol.rounds",)),  # fmt: skip
    Bad("set-below-list-item", new_run("--set", "debaters.0.model.x=1"), ("debaters.0.model.x",)),
    Bad("set-below-file-value", new_run("-c", "{w}/negative.yaml", "--set",
        "protocol.rounds.x=1"), ("protocol.rounds.x",)),  # fmt: skip
    Bad("set-list-index-range", new_run("--set", "debaters.9.model=x"), ("debaters.9.model",)),
    Bad("set-list-index-word", new_run("--set", "debaters.x.model=y"), ("debaters.x.model",)),
    Bad("set-unknown-key", new_run("--set", "protocol.roundz=2"), ("protocol.roundz",)),
    Bad("set-wrong-type", new_run("--set", "protocol.rounds=two"), ("protocol.rounds",)),
    Bad("set-fraction", new_run("--set", "protocol.rounds=1.5"), ("protocol.rounds",)),
    Bad("set-list-for-section", new_run("--set", "judge=[1, 2]"), ("judge",)),
    Bad("set-debaters-scalar", new_run("--set", "debaters=5"), ("debaters",)),
    Bad("set-name-bool", new_run("--set", "name=yes"), ("name", "quote")),
    Bad("set-negative-temperature", new_run("--set", "debaters.0.temperature=-1"),
        ("debaters.0.temperature",)),  # fmt: skip
    Bad("set-top-p-above-one", new_run("--set", "debaters.1.top_p=2"), ("debaters.1.top_p",)),
    Bad("set-judge-temperature", new_run("--set", "judge.temperature=-0.5"),
        ("judge.temperature",)),  # fmt: skip
    Bad("set-threshold", new_run("--set", "evidence.quote_threshold=2"),
        ("evidence.quote_threshold",)),  # fmt: skip
    Bad("set-literal", new_run("--set", "judge.reads=all"), ("judge.reads",)),
    Bad("set-max-live-zero", new_run("--set", "max_live=0"), ("max_live",)),
    # config files: not UTF-8, a folder, missing, empty, not a mapping, malformed, wrong values
    Bad("config-latin1-yaml", new_run("-c", "{w}/latin1.yaml"), ("latin1.yaml", "utf-8")),
    Bad("config-latin1-toml", new_run("-c", "{w}/latin1.toml"), ("latin1.toml", "utf-8")),
    Bad("config-folder", new_run("-c", "{w}/folder.yaml"), ("folder.yaml", "folder")),
    Bad("config-missing", new_run("-c", "{w}/nowhere.yaml"), ("nowhere.yaml", "not found")),
    Bad("config-empty", new_run("-c", "{w}/empty.yaml"), ("empty.yaml", "mapping")),
    Bad("config-list", new_run("-c", "{w}/list.yaml"), ("list.yaml", "mapping")),
    Bad("config-broken-yaml", new_run("-c", "{w}/broken.yaml"), ("broken.yaml",)),
    Bad("config-broken-toml", new_run("-c", "{w}/broken.toml"), ("broken.toml",)),
    Bad("config-tabs", new_run("-c", "{w}/tabs.yaml"), ("tabs.yaml",)),
    Bad("config-python-tag", new_run("-c", "{w}/python-tag.yaml"), ("python-tag.yaml",)),
    Bad("config-wrong-type", new_run("-c", "{w}/words.yaml"), ("protocol.rounds",)),
    Bad("config-negative", new_run("-c", "{w}/negative.yaml"), ("protocol.rounds",)),
    Bad("config-unknown-key", new_run("-c", "{w}/unknown.yaml"), ("protocol.roundz",)),
    Bad("config-scalar-section", new_run("-c", "{w}/scalar-section.yaml"), ("protocol",)),
    Bad("config-debaters-map", ["run", "-c", "{w}/debaters-map.yaml"], ("debaters",)),
    Bad("config-debaters-ints", ["run", "-c", "{w}/debaters-ints.yaml"], ("debaters.0",)),
    Bad("config-bool-name", ["run", "-c", "{w}/bool-name.yaml"], ("name", "quote")),
    Bad("config-markup-in-path", new_run("-c", "{w}/[red]odd.yaml"), ("[red]odd.yaml",)),
    Bad("config-is-run-folder", new_run("-c", "{w}/runs/r"), ("runs/r", "folder")),
    # transcripts.jsonl lines that are JSON but not an object, or not UTF-8, or not a file
    Bad("transcript-array-show", ["show", "{w}/runs/r"], ("line 5", "transcripts.jsonl"),
        append_to(RUN, b"[1, 2]\n")),  # fmt: skip
    Bad("transcript-string-resume", run_args(), ("line 5", "transcripts.jsonl"),
        append_to(RUN, b'"a transcript"\n')),  # fmt: skip
    Bad("transcript-null-show", ["show", "{w}/runs/r"], ("line 5",), append_to(RUN, b"null\n")),
    Bad("transcript-number-resume", run_args(), ("line 5",), append_to(RUN, b"5\n")),
    Bad("transcript-latin1-show", ["show", "{w}/runs/r"], ("line 5", "utf-8"),
        append_to(RUN, '{"match_id": "caf\xe9"}\n'.encode("latin-1"))),  # fmt: skip
    Bad("transcript-latin1-resume", run_args(), ("line 5", "utf-8"),
        append_to(RUN, b"\xff\xfe\n")),  # fmt: skip
    Bad("transcript-version", run_args(), ("line 5", "schema version"),
        append_to(RUN, b'{"schema_version": 99}\n')),  # fmt: skip
    Bad("transcript-truncated", ["show", "{w}/runs/r"], ("line 5",),
        append_to(RUN, b'{"schema_version": 1, "match_id": "x\n')),  # fmt: skip
    Bad("transcript-array-report", ["report", "{w}/runs/tour"], ("transcripts.jsonl",),
        append_to(TOUR, b"[]\n")),  # fmt: skip
    Bad("transcript-latin1-report", ["report", "{w}/runs/tour"], ("utf-8",),
        append_to(TOUR, b"\xe9\n")),  # fmt: skip
    Bad("transcripts-folder-show", ["show", "{w}/runs/fresh"], ("transcripts.jsonl", "folder"),
        lambda w: (w / "runs/fresh/transcripts.jsonl").mkdir(parents=True)),  # fmt: skip
    # config.yaml inside a run folder: malformed, not a mapping, not UTF-8, a folder
    Bad("runconfig-broken-resume", run_args(), ("config.yaml",),
        write_config(RUN, b"name: [r\n")),  # fmt: skip
    Bad("runconfig-list-resume", run_args(), ("config.yaml", "mapping"),
        write_config(RUN, b"- 1\n")),  # fmt: skip
    Bad("runconfig-scalar-resume", run_args(), ("config.yaml", "mapping"),
        write_config(RUN, b"5\n")),  # fmt: skip
    Bad("runconfig-latin1-resume", run_args(), ("config.yaml", "utf-8"),
        write_config(RUN, "name: caf\xe9\n".encode("latin-1"))),  # fmt: skip
    Bad("runconfig-folder-resume", run_args(), ("config.yaml", "folder"),
        lambda w: swap_for_folder(w / RUN / "config.yaml")),  # fmt: skip
    Bad("runconfig-broken-report", ["report", "{w}/runs/tour"], ("config.yaml",),
        write_config(TOUR, b"schedule: {kind: swiss\n")),  # fmt: skip
    Bad("runconfig-latin1-report", ["report", "{w}/runs/tour"], ("config.yaml", "utf-8"),
        write_config(TOUR, b"name: \xe9\n")),  # fmt: skip
    Bad("runconfig-list-report", ["report", "{w}/runs/tour"], ("config.yaml", "mapping"),
        write_config(TOUR, b"[1]\n")),  # fmt: skip
    Bad("runconfig-other-run", run_args("--rounds", "3"), ("protocol.rounds", "different run")),
    # run paths that are blocked by a file, too long, or empty
    Bad("out-is-file", new_run("--out", "{w}/afile"), ("afile",)),
    Bad("out-below-file", new_run("--out", "{w}/afile/sub"), ("afile",)),
    Bad("out-dev-null", new_run("--out", "/dev/null"), ("/dev/null",)),
    Bad("name-is-file", run_args(name="r/config.yaml"), ("config.yaml",)),
    Bad("name-too-long", run_args(name="n" * 300), ("too long",)),
    Bad("out-too-long", run_args(out="{w}/" + "/".join(["d" * 200] * 25)), ("too long",)),
    Bad("name-empty", run_args(name=""), ("name",)),
    Bad("name-dots", run_args(name=".."), ("name",)),
    Bad("tournament-out-is-file", ["tournament", "--out", "{w}/afile", "--debater",
        "scripted:honest", "--debater", "scripted:liar", "--judge-kind", "oracle"],
        ("afile",)),  # fmt: skip
    Bad("show-missing-folder", ["show", "{w}/nowhere"], ("nowhere", "not found")),
    Bad("show-file", ["show", "{w}/afile"], ("afile", "not a run folder")),
    Bad("show-empty-folder", ["show", "{w}/adir"], ("adir",)),
    Bad("show-negative-limit", ["show", "{w}/runs/r", "--limit", "-1"], ("limit",), usage=True),
    Bad("report-missing-folder", ["report", "{w}/nowhere"], ("nowhere",)),
    Bad("report-file", ["report", "{w}/afile"], ("afile",)),
    Bad("report-run-folder", ["report", "{w}/runs/r"], ("runs/r", "tournament")),
    # Rich markup in what the user typed must reach the error line as typed
    Bad("markup-in-spec", new_run("--judge-kind", "cloze", "--judge", "warp[/x]:9"),
        ("warp[/x]:9",)),  # fmt: skip
    Bad("markup-in-protocol", new_run("--protocol", "[/bold]"), ("[/bold]",)),
    Bad("markup-in-task", new_run("--task", "[red]x"), ("[red]x",)),
    # data files: empty, malformed, not UTF-8, not rows, a folder, a string for a list
    Bad("data-empty-jsonl", quality("{w}/data/empty.jsonl"), ("empty.jsonl",)),
    Bad("data-empty-json", quality("{w}/data/empty.json"), ("empty.json",)),
    Bad("data-empty-csv", quality("{w}/data/empty.csv"), ("empty.csv",)),
    Bad("data-empty-parquet", quality("{w}/data/empty.parquet"), ("empty.parquet",)),
    Bad("data-broken-jsonl", quality("{w}/data/broken.jsonl"), ("broken.jsonl",)),
    Bad("data-latin1", quality("{w}/data/latin1.jsonl"), ("latin1.jsonl",)),
    Bad("data-arrays", quality("{w}/data/arrays.jsonl"), ("arrays.jsonl",)),
    Bad("data-folder", quality("{w}/data/folder.jsonl"), ("folder.jsonl", "folder")),
    Bad("data-options-text", quality("{w}/data/options-text.jsonl"), ("options", "list")),
    Bad("data-missing-column", quality("{w}/data/no-options.jsonl"), ("options",)),
    Bad("data-format", quality("{w}/data/rows.txt"), ("rows.txt", "format")),
    Bad("data-missing", quality("{w}/data/none.jsonl"), ("none.jsonl", "not found")),
    Bad("data-truthfulqa-empty", ["eval", "truthfulqa", "--path", "{w}/data/empty.jsonl",
        "--out", "{w}/runs", "--model", "scripted:honest"], ("empty.jsonl",)),  # fmt: skip
    # model files: a folder for gguf:, a folder without a model for hf:, broken adapters
    Bad("gguf-folder", judge("gguf:{w}/models"), ("models", "folder")),
    Bad("gguf-not-gguf", judge("gguf:{w}/models/fake.gguf"), ("fake.gguf",)),
    Bad("hf-empty-folder", judge("hf:{w}/models/empty"), ("empty", "no model")),
    Bad("hf-file", judge("hf:{w}/afile"), ("afile",)),
    Bad("hf-missing", judge("hf:{w}/nowhere"), ("nowhere", "not found")),
    Bad("peft-empty-folder", judge("peft:{w}/models/empty"), ("adapter_config.json",)),
    Bad("peft-bad-json", judge("peft:{w}/models/bad-adapter"), ("adapter_config.json",)),
    Bad("peft-no-base", judge("peft:{w}/models/no-base"), ("base_model_name_or_path",)),
    Bad("spec-unknown", judge("warp:9"), ("unknown model spec",)),
    Bad("spec-scripted-unknown", debater("x=scripted:sage"), ("scripted agent", "sage")),
    # ?options of an API model spec: 0, negative, not a number, unknown, and a bare spec
    Bad("opt-concurrency-zero", debater(f"x={OPENAI}?concurrency=0"), ("concurrency",)),
    Bad("opt-concurrency-negative", debater(f"x={OPENAI}?concurrency=-2"), ("concurrency",)),
    Bad("opt-concurrency-word", debater(f"x={OPENAI}?concurrency=many"), ("concurrency",)),
    Bad("opt-concurrency-fraction", debater(f"x={OPENAI}?concurrency=1.5"), ("concurrency",)),
    Bad("opt-concurrency-empty", debater(f"x={OPENAI}?concurrency="), ("concurrency",)),
    Bad("opt-retries-negative", debater(f"x={OPENAI}?max_retries=-1"), ("max_retries",)),
    Bad("opt-retries-word", debater(f"x={OPENAI}?max_retries=x"), ("max_retries",)),
    Bad("opt-timeout-zero", debater(f"x={OPENAI}?timeout_s=0"), ("timeout_s",)),
    Bad("opt-timeout-nan", debater(f"x={OPENAI}?timeout_s=nan"), ("timeout_s",)),
    Bad("opt-timeout-word", debater(f"x={OPENAI}?timeout_s=soon"), ("timeout_s",)),
    Bad("opt-backoff-negative", debater(f"x={OPENAI}?backoff_s=-1"), ("backoff_s",)),
    Bad("opt-unknown", debater(f"x={OPENAI}?colour=red"), ("colour",)),
    Bad("opt-bare-spec", debater(f"{OPENAI}?concurrency=0"), ("concurrency",)),
    Bad("opt-bare-spec-two", debater(f"{OPENAI}?max_retries=-1&concurrency=4"), ("max_retries",)),
    Bad("openai-no-model", debater("x=openai:@http://127.0.0.1:9/v1"), ("model",)),
    Bad("openai-no-url", debater("x=openai:m@"), ("url",)),
    Bad("openai-ftp-url", debater("x=openai:m@ftp://127.0.0.1/v1"), ("http",)),
    # debater lines and names
    Bad("debater-empty-name", debater("=scripted:honest"), ("name",)),
    Bad("debater-empty-spec", debater("x="), ("unknown model spec",)),
    Bad("debater-twice", new_run("--debater", "h=scripted:liar"), ("h",)),
    Bad("debater-three-for-two", new_run("--debater", "x=scripted:random"), ("roles",)),
    # train: --policy alone, and other values that cannot train
    Bad("train-policy-unknown", ["train", "--policy", "warp:9", "--out", "{w}/runs"],
        ("policy.model", "warp:9")),  # fmt: skip
    Bad("train-policy-scripted", ["train", "--policy", "scripted:honest", "--out", "{w}/runs"],
        ("policy.model", "cannot be trained")),  # fmt: skip
    Bad("train-generations-zero", ["train", "--generations", "0", "--out", "{w}/runs"],
        ("generations",)),  # fmt: skip
    Bad("train-method", ["train", "--method", "ppo", "--out", "{w}/runs"], ("update.method",)),
    # sizes that would hang or exhaust memory
    Bad("n-items-huge", new_run("--n-items", str(10**30)), ("task.n_items",)),
    Bad("n-items-huge-set", new_run("--set", "task.n_items=1e30"), ("task.n_items",)),
    Bad("n-items-zero", new_run("--n-items", "0"), ("task.n_items",)),
    Bad("n-items-negative", new_run("--n-items", "-5"), ("task.n_items",)),
    Bad("rounds-huge", new_run("--rounds", str(10**12)), ("protocol.rounds",)),
    Bad("rounds-negative", new_run("--rounds", "-1"), ("protocol.rounds",)),
    Bad("speech-tokens-huge", new_run("--set", "protocol.speech_tokens=1e15"),
        ("protocol.speech_tokens",)),  # fmt: skip
    Bad("judge-samples-huge", new_run("--protocol", "self-consistency", "--set",
        "protocol.params.judge_samples=1e12"), ("protocol.params.judge_samples",)),  # fmt: skip
    Bad("judge-samples-legacy-key", new_run("--protocol", "self-consistency", "--set",
        "protocol.judge_samples=1e12"), ("protocol.params.judge_samples",)),  # fmt: skip
    Bad("option-of-another-protocol", new_run("--set", "protocol.judge_samples=3"),
        ("protocol.params.judge_samples", "no such option")),  # fmt: skip
    Bad("agents-huge", new_run("--protocol", "collaborative", "--set", "protocol.n_agents=1e9"),
        ("protocol.params.n_agents",)),  # fmt: skip
    Bad("facts-huge", new_run("--set", "task.params.n_facts=1000000"), ("n_facts",)),
    Bad("distractors-many", new_run("--set", "task.params.n_facts=60", "--set",
        "task.params.distractors=50"), ("distractors",)),  # fmt: skip
    Bad("facts-word", new_run("--set", "task.params.n_facts=many"), ("n_facts",)),
    Bad("hops-three", new_run("--set", "task.params.hops=3"), ("hops",)),
    Bad("task-param-unknown", new_run("--set", "task.params.colour=red"), ("colour",)),
    Bad("task-params-scalar", new_run("--set", "task.params=5"), ("task.params",)),
    Bad("eval-n-items-huge", ["eval", "protocols", "--n-items", str(10**30), "--out",
        "{w}/runs"], ("n_items",)),  # fmt: skip
    # eval command lines
    Bad("eval-arms-yaml", ["eval", "protocols", "--arms", "[x", "--out", "{w}/runs"], ("arm", "[x")),
    Bad("eval-arms-unknown", ["eval", "protocols", "--arms", "sorcery", "--out", "{w}/runs",
        "--judge-kind", "oracle", "--debater", "scripted:honest"], ("sorcery",)),  # fmt: skip
    Bad("eval-debater-quote", ["eval", "protocols", "--debater", 'a"b', "--out", "{w}/runs",
        "--judge-kind", "oracle"], ('a"b',)),  # fmt: skip
    Bad("eval-history-missing", ["eval", "history", "--out", "{w}/nowhere"], ("nowhere",)),
    Bad("eval-history-file", ["eval", "history", "--out", "{w}/afile"], ("afile",)),
    # typer's own checks of flag types
    Bad("flag-n-items-word", new_run("--n-items", "abc"), ("--n-items",), usage=True),
    Bad("flag-rounds-word", new_run("--rounds", "x"), ("--rounds",), usage=True),
    Bad("flag-unknown", new_run("--roundz", "2"), ("--roundz",), usage=True),
    Bad("command-unknown", ["runn"], ("runn",), usage=True),
    Bad("show-no-folder", ["show"], ("run_dir",), usage=True),
]
# fmt: on


def materialise(args: list[str], w: Path) -> list[str]:
    return [a.replace("{w}", str(w)) for a in args]


def snapshot(root: Path) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            p = Path(dirpath) / f
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def problems(res, case: Bad, before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What is wrong with how the command met this input (an empty list: nothing)."""
    out: list[str] = []
    text = res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        out.append(f"TRACEBACK: {type(res.exception).__name__}: {res.exception}"[:300])
    if "Traceback" in text:
        out.append("TRACEBACK printed")
    if res.exit_code == 0:
        out.append("EXIT 0: the bad input was accepted")
    lines = [x for x in text.splitlines() if x.strip()]
    if not case.usage and len(lines) != 1:
        out.append(f"UNCLEAR: {len(lines)} lines: {text[-400:]!r}")
    if not any(all(n.lower() in x.lower() for n in case.needles) for x in lines):
        out.append(f"UNCLEAR: no line names {case.needles}: {text[-400:]!r}")
    changed = sorted(k for k in before if after.get(k) != before[k])
    if changed:
        out.append(f"CHANGED: {changed[:5]}")
    return out


@pytest.mark.timeout(120)
@pytest.mark.parametrize("case", BAD, ids=[c.id for c in BAD])
def test_bad_input(case: Bad, world_template: Path, tmp_path: Path, monkeypatch) -> None:
    w = tmp_path / "w"
    shutil.copytree(world_template, w, symlinks=True)
    monkeypatch.chdir(w)
    if case.setup:
        case.setup(w)
    before = snapshot(w)
    res = runner.invoke(app, materialise(case.args, w))
    found = problems(res, case, before, snapshot(w))
    assert not found, "\n".join(found)


def test_the_sweep_covers_every_class_of_the_issue() -> None:
    ids = {c.id.split("-")[0] for c in BAD}
    assert {"set", "config", "transcript", "runconfig", "out", "name", "markup", "data", "gguf",
            "hf", "opt", "train", "n", "facts", "report"} <= ids  # fmt: skip
    assert len(BAD) >= 125


# -- inputs that are odd but valid: they must work, and print what the user typed ----------------


def test_flag_values_are_strings_where_the_field_is_a_string(tmp_path) -> None:
    for name in ("401", "yes", "1e3", "null"):
        res = runner.invoke(app, materialise(run_args(name=name, out=str(tmp_path)), tmp_path))
        assert res.exit_code == 0, res.output
        assert json.loads((tmp_path / name / "results.json").read_text())["run"] == name


def test_a_bare_api_spec_keeps_its_options() -> None:
    from debate.cli.shared import parse_debater

    spec = "openai:m@http://h/v1?concurrency=8&max_retries=2"
    assert parse_debater(spec) == {"name": "openai-m@http---h-v1?concurrency=8&max_retries=2",
                                   "model": spec}  # fmt: skip
    assert parse_debater(f"gpt_4.1-mini={spec}") == {"name": "gpt_4.1-mini", "model": spec}
    assert parse_debater("hf:/models/a=b") == {"name": "hf--models-a=b", "model": "hf:/models/a=b"}


def test_train_policy_flag_alone_names_the_policy() -> None:
    from debate.config import load_config
    from debate.training.config import TrainConfig

    cfg = load_config(TrainConfig, None, ["policy.model=scripted:honest"])
    assert (cfg.policy.name, cfg.policy.model) == ("policy", "scripted:honest")


def test_markup_in_answers_and_names_is_printed_as_typed(tmp_path) -> None:
    hostile = "[/bold][link=file:///etc]x[/link]"
    row = {"question": f"Which {hostile}?", "options": [f"[red]{hostile}", "[/]"], "answer": 0,
           "article": f"The answer is [red]{hostile}."}  # fmt: skip
    (tmp_path / "q.jsonl").write_text(json.dumps(row) + "\n")
    names = ["[/b]", "[bold red]loud"]
    config = {
        "task": {"name": "quality", "n_items": 1, "params": {"path": str(tmp_path / "q.jsonl")}},
        "debaters": [
            {"name": names[0], "model": "scripted:honest"},
            {"name": names[1], "model": "scripted:liar"},
        ],  # fmt: skip
        "judge": {"kind": "oracle"},
    }
    (tmp_path / "c.json").write_text(json.dumps(config))
    common = ["-c", str(tmp_path / "c.json"), "--out", str(tmp_path)]
    res = runner.invoke(app, ["run", *common, "--name", "m"])
    assert res.exit_code == 0, res.output
    shown = runner.invoke(app, ["show", str(tmp_path / "m")], terminal_width=400)
    assert shown.exception is None or isinstance(shown.exception, SystemExit), shown.exception
    assert shown.exit_code == 0, shown.output
    for typed in (*names, f"[red]{hostile}", "[/]", f"Which {hostile}?"):
        assert typed in shown.output
    tour = runner.invoke(app, ["tournament", *common, "--name", "t"], terminal_width=400)
    assert tour.exit_code == 0, tour.output
    assert all(n in tour.output for n in names)


# -- through a real interpreter: nothing Python prints by itself (warnings, tracebacks) ---------

SUBPROCESS = ["config-latin1-yaml", "set-unclosed-list", "transcript-array-show", "n-items-huge",
              "hf-empty-folder", "opt-bare-spec", "report-run-folder", "out-is-file"]  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("case_id", SUBPROCESS)
def test_bad_input_in_a_real_process(case_id: str, world_template: Path, tmp_path: Path) -> None:
    case = next(c for c in BAD if c.id == case_id)
    w = tmp_path / "w"
    shutil.copytree(world_template, w, symlinks=True)
    if case.setup:
        case.setup(w)
    before = snapshot(w)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    proc = subprocess.run([sys.executable, "-m", "debate.cli.main", *materialise(case.args, w)],
                          cwd=w, env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = [x for x in (proc.stderr + proc.stdout).splitlines() if x.strip()]
    assert len(lines) == 1, lines
    assert all(n.lower() in lines[0].lower() for n in case.needles), lines
    after = snapshot(w)
    assert {k: after.get(k) for k in before} == before
