"""The fault suite: `debate run` against a server that misbehaves in every way we know of
(tests/fakes/hostile.py, and the provider's own FAULTS), through the command line as a user
runs it. After each: no traceback, no hang past the deadline, no key in any written file or
terminal line, no terminal escape either, and no finished match lost."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from fakes.hostile import HOSTILE
from fakes.provider import FakeProvider
from typer.testing import CliRunner

from debate.cli.main import app

pytestmark = pytest.mark.slow

KEY = "sk-hostile-Key/with+odd=chars-0123456789"
# a short deadline and back-off, so that a stalling server costs seconds
OPTS = "?timeout_s=1&backoff_s=0.01&max_backoff_s=0.5&max_retries=3&cache=0"
PROVIDER_FAULTS = ["429", "503", "500", "302", "html", "bad_json", "no_choices", "null_content"]
CLOZE_FAULTS = {"text_offset strings"}  # only an echoed-prompt reply has offsets
LETTER_FAULTS = {f for f in HOSTILE if f.startswith("logprobs")}
N_MATCHES = 4  # 2 items, both sides
# two speeches a match, and per judge kind: one verdict, or a probe and one top-k a match, or a
# probe and two scored answers a match
SOUND_REQUESTS = {"verdict": 3 * N_MATCHES, "letter": 3 * N_MATCHES + 1, "cloze": 4 * N_MATCHES + 1}
TEXT_FAULTS = {"content echoes the key", "content with escapes"}


def judge_kind(fault: str) -> str:
    return "cloze" if fault in CLOZE_FAULTS else "letter" if fault in LETTER_FAULTS else "verdict"


def debate_run(p: FakeProvider, out: Path, kind: str = "verdict", *extra: str):
    args = ["run", "--debater", f"api=openai:deb@{p.url}{OPTS}",
            "--judge", f"openai:judge@{p.url}{OPTS}", "--judge-kind", kind,
            "--n-items", "2", "--out", str(out), "--name", "r", *extra]  # fmt: skip
    start = time.monotonic()
    result = CliRunner().invoke(app, args)
    return result, time.monotonic() - start


def strict_json(path: Path) -> dict:
    def refuse(name):
        raise AssertionError(f"{path} holds a bare {name}")

    return json.loads(path.read_text(), parse_constant=refuse)


def assert_clean(output: str, folder: Path) -> None:
    """No traceback, no key (raw or URL-encoded) and no escape in the terminal or any file."""
    forms = {KEY, quote(KEY, safe=""), quote_plus(KEY)}
    assert "Traceback" not in output, output
    assert not any(f in output for f in forms), output
    assert "\x1b" not in output and "\u202e" not in output, repr(output)
    for f in folder.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(k.encode() in data for k in forms), f
            assert b"\x1b" not in data and "\u202e".encode() not in data, f


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


@pytest.mark.parametrize("fault", PROVIDER_FAULTS + sorted(HOSTILE))
def test_one_hostile_reply_costs_no_match(fault, tmp_path):
    with FakeProvider() as p:
        p.fail_next(fault, retry_after="0" if fault in ("429", "503") else None)
        result, wall = debate_run(p, tmp_path, judge_kind(fault))
        n = p.n_requests
    assert result.exit_code == 0, result.output
    assert_clean(result.output, tmp_path)
    results = strict_json(tmp_path / "r" / "results.json")
    assert results["n_matches"] == N_MATCHES and not results["failed_matches"]
    # what a sound run sends, and the one retried reply (text is kept, cleaned: no retry)
    assert n == SOUND_REQUESTS[judge_kind(fault)] + (fault not in TEXT_FAULTS)
    assert wall < 30  # a 1 s deadline, 3 retries, half-second back-offs


def test_a_huge_retry_after_is_capped_with_one_notice(tmp_path):
    with FakeProvider() as p:
        p.fail_next("429 Retry-After 1e9", times=2)
        result, wall = debate_run(p, tmp_path)
    assert result.exit_code == 0, result.output
    notices = [line for line in result.output.splitlines() if "Retry-After" in line]
    assert len(notices) == 1 and "max_backoff_s=0.5" in notices[0], result.output
    assert wall < 20


def test_server_text_reaches_no_terminal_or_file_raw(tmp_path):
    """A reply of escape sequences and the key itself: stored and shown cleaned and redacted."""
    with FakeProvider() as p:
        p.fail_next("content echoes the key", times=50)
        result, _ = debate_run(p, tmp_path)
    assert result.exit_code == 0, result.output
    assert_clean(result.output, tmp_path)
    transcripts = (tmp_path / "r" / "transcripts.jsonl").read_text()
    assert "your key is *** ok" in transcripts


@pytest.mark.parametrize(
    "fault",
    ["500 escapes and key", "302 key in Location", "drip a byte per 0.5 s", "usage negative"],
)
def test_a_server_that_never_recovers_fails_the_run_in_one_line(fault, tmp_path):
    with FakeProvider() as p:
        p.fail_next(fault, times=1000)
        result, wall = debate_run(p, tmp_path)
    assert result.exit_code != 0
    assert_clean(result.output, tmp_path)
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "(4 tries)" in errors[0], result.output
    # every match fails on its first request: 4 tries of at most 1 s, and half-second pauses
    assert wall < 30


def test_a_refusal_fails_at_once_with_the_servers_words_redacted(tmp_path):
    with FakeProvider() as p:
        p.fail_next("401", times=1000)
        result, _ = debate_run(p, tmp_path)
        n = p.n_requests
    assert result.exit_code != 0 and "answered 401: invalid api key ***" in result.output
    assert_clean(result.output, tmp_path)
    assert n <= N_MATCHES  # each match's first request, never retried


def test_matches_finished_before_the_server_broke_are_kept_and_resumed(tmp_path):
    """The server dies mid-run: finished matches are on disk, and a re-run with a sound server
    plays only the rest."""
    with FakeProvider() as p:
        p.fail_next("ok", times=6)  # two whole matches (3 requests each) when played one by one
        p.fail_next("hang up", times=1000)
        first, _ = debate_run(p, tmp_path, "verdict", "--set", "max_live=1")
        assert first.exit_code != 0
        assert_clean(first.output, tmp_path)
        lines = (tmp_path / "r" / "transcripts.jsonl").read_text().splitlines()
        finished = [json.loads(x) for x in lines if not json.loads(x).get("error")]
        assert len(finished) == 2
        p.heal()
        p.reset()
        again, _ = debate_run(p, tmp_path, "verdict", "--set", "max_live=1")
        assert p.n_requests == 3 * (N_MATCHES - 2)
    assert again.exit_code == 0, again.output
    results = strict_json(tmp_path / "r" / "results.json")
    assert results["n_matches"] == N_MATCHES and results["resumed_matches"] == 2


def test_letter_verdicts_never_read_nan_logprobs(tmp_path):
    """The probe passes, then every judge reply carries NaN: the matches fail, clearly, and
    results.json stays strict JSON (no verdict of [null, null] counted as wrong)."""
    with FakeProvider() as p:
        p.fail_next("ok")
        p.fail_next("logprobs NaN", times=1000)
        result, _ = debate_run(p, tmp_path, "letter")
    assert result.exit_code != 0 and "holds NaN" in result.output, result.output
    assert_clean(result.output, tmp_path)
    strict_json(tmp_path / "r" / "results.json")


def test_a_letter_judge_on_a_server_without_logprobs_fails_before_any_match(tmp_path):
    with FakeProvider(logprobs=False) as p:
        result, _ = debate_run(p, tmp_path, "letter")
        n = p.n_requests
    assert result.exit_code != 0 and n == 1
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert "no top_logprobs" in line and "--judge-kind verdict" in line
    assert not (tmp_path / "r").exists()
