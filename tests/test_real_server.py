"""A real OpenAI-compatible server that no one here wrote: `transformers serve` (the project's
`serve` extra) on 127.0.0.1 with the packaged SmolLM2, converted once to a local folder (no
download). Through it, `debate run`, `debate tournament` and `debate eval protocols` run with API
debaters and a verdict judge as a user types them; judges that need log-probabilities, which
this server does not give, fail at once with the option to change."""

from __future__ import annotations

import json
import os
import time

import pytest
from fakes.served import ServeMissing, transformers_serve
from typer.testing import CliRunner

from debate.cli.main import app

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(spec of the served SmolLM2, base URL): one server for the module."""
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    try:
        with transformers_serve(log) as server:
            yield server
    except ServeMissing as e:
        if os.environ.get("CI"):
            pytest.fail(str(e))
        pytest.skip(str(e))


def invoke(*args: str):
    start = time.monotonic()
    result = CliRunner().invoke(app, list(args))
    return result, time.monotonic() - start


def test_debate_run_through_the_server(served, tmp_path):
    spec, _ = served
    result, wall = invoke("run", "--debater", f"api={spec}", "--judge", spec,
                          "--judge-kind", "verdict", "--n-items", "1",
                          "--out", str(tmp_path), "--name", "r")  # fmt: skip
    assert result.exit_code == 0, result.output
    results = json.loads((tmp_path / "r" / "results.json").read_text())
    assert results["n_matches"] == 2 and not results["failed_matches"]
    assert results["usage"]["requests"] == 6  # two speeches and a verdict a match
    print(f"\nreal server, debate run: {results['n_matches']} matches in {wall:.1f} s")


def test_debate_tournament_through_the_server(served, tmp_path):
    spec, _ = served
    result, _ = invoke("tournament", "--debater", f"api={spec}", "--debater", "h=scripted:honest",
                       "--judge", spec, "--judge-kind", "verdict", "--n-items", "1",
                       "--out", str(tmp_path), "--name", "t")  # fmt: skip
    assert result.exit_code == 0, result.output
    standings = json.loads((tmp_path / "t" / "results.json").read_text())
    assert {r["name"] for r in standings["ratings"]} == {"api", "h"}
    assert standings["n_matches"] == (2 + 2) * 2  # 2 ordered pairs and 2 self-play, both sides


def test_eval_protocols_through_the_server(served, tmp_path):
    spec, _ = served
    result, _ = invoke("eval", "protocols", "--debater", spec, "--judge", spec,
                       "--judge-kind", "verdict", "--n-items", "1", "--arms", "naive,sequential",
                       "--out", str(tmp_path), "--name", "eval-protocols")  # fmt: skip
    assert result.exit_code == 0, result.output
    arms = json.loads((tmp_path / "eval-protocols" / "results.json").read_text())["arms"]
    assert set(arms) == {"naive", "sequential"}


@pytest.mark.parametrize(
    "kind, words", [("letter", "no top_logprobs"), ("cloze", "no prompt log-probabilities")]
)
def test_a_judge_needing_logprobs_fails_at_once_naming_the_option(served, tmp_path, kind, words):
    """This server ignores `logprobs`: the run stops before any match, in one line."""
    spec, _ = served
    result, wall = invoke("run", "--debater", f"api={spec}", "--judge", spec,
                          "--judge-kind", kind, "--n-items", "1",
                          "--out", str(tmp_path), "--name", "r")  # fmt: skip
    assert result.exit_code != 0
    [line] = [x for x in result.output.splitlines() if x.strip()]
    assert words in line and "--judge-kind verdict" in line
    assert not (tmp_path / "r").exists()
