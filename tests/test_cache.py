"""The on-disk response cache, through the real client and server: what is a hit, what is a
miss, and two processes sharing one file."""

import asyncio
import json
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from fakes.provider import FakeProvider
from typer.testing import CliRunner

from debate.cli.main import app
from debate.models import GenerationRequest, Message
from debate.models.cache import cache_path, disabled
from debate.models.openai_compat import OpenAIModel
from debate.schema import Sampling

runner = CliRunner()


@pytest.fixture
def server():
    with FakeProvider() as p:
        yield p


def call(p, text="hello", *, seed=0, temperature=0.0, model="m", cache=True, run_cache=True):
    m = OpenAIModel(f"openai:{model}@{p.url}", model, p.url, cache=run_cache)
    req = GenerationRequest(
        prompt=[Message(role="user", content=text)],
        seed=seed,
        sampling=Sampling(temperature=temperature),
        cache=cache,
    )
    return asyncio.run(m.generate([req]))[0].text


def test_a_repeated_call_is_answered_from_disk(server):
    first = call(server)
    assert call(server) == first and server.n_requests == 1
    db = sqlite3.connect(cache_path())
    assert db.execute("SELECT count(*), sum(hits) FROM responses").fetchone() == (1, 1)


@pytest.mark.parametrize(
    "change",
    [
        {"text": "hello!"},
        {"seed": 1, "temperature": 0.7},
        {"temperature": 0.5},
        {"model": "other"},
    ],
)
def test_any_change_that_can_change_the_reply_is_a_miss(server, change):
    call(server, seed=0, temperature=0.7 if "seed" in change else 0.0)
    call(server, **change)
    assert server.n_requests == 2


def test_a_seeded_sampled_call_is_reproducible_and_cached(server):
    a = call(server, seed=5, temperature=0.9)
    assert call(server, seed=5, temperature=0.9) == a and server.n_requests == 1


def test_an_unseeded_sampled_call_is_never_served_from_cache(server):
    call(server, temperature=0.9, cache=False)
    call(server, temperature=0.9, cache=False)
    assert server.n_requests == 2


def test_no_cache_reads_and_writes_nothing(server):
    call(server)
    with disabled():
        call(server)
    call(server, run_cache=False)
    assert server.n_requests == 3


def test_two_processes_share_hits_without_corrupting_the_file(server, tmp_path):
    """One walks 40 prompts forwards, the other backwards, at once: each finds what the other
    already asked; every reply agrees, the file passes SQLite's integrity check."""
    script = textwrap.dedent(
        """
        import asyncio, json, sys
        from debate.models import GenerationRequest, Message
        from debate.models.openai_compat import OpenAIModel
        from debate.schema import Sampling
        url, order = sys.argv[1], sys.argv[2]
        m = OpenAIModel(f"openai:m@{url}", "m", url, concurrency=2)
        idx = list(range(40))[:: 1 if order == "fwd" else -1]
        async def main():
            out = {}
            for i in idx:
                req = GenerationRequest(prompt=[Message(role="user", content=f"q{i}")],
                                        sampling=Sampling(temperature=0.0))
                out[i] = (await m.generate([req]))[0].text
            return out
        print(json.dumps(asyncio.run(main())))
        """
    )
    server.latency_mean_s, server.latency_sigma = 0.03, 0.3
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, server.url, order],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for order in ("fwd", "bwd")
    ]
    done = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err.decode()[-500:] for _, err in done]
    outs = [json.loads(out) for out, _ in done]
    assert outs[0] == outs[1]
    assert 40 <= server.n_requests < 64  # shared hits, not 80 requests
    db = sqlite3.connect(cache_path())
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT count(*) FROM responses").fetchone() == (40,)


@pytest.mark.slow
def test_a_rerun_of_a_finished_eval_makes_no_requests(tmp_path):
    """`debate eval protocols` with API debater and letter judge, then the same command into a
    fresh folder: the same numbers, and the server sees nothing."""
    with FakeProvider() as p:
        args = [
            "eval", "protocols", "--debater", f"openai:deb@{p.url}?concurrency=16",
            "--judge", f"openai:judge@{p.url}", "--judge-kind", "letter", "--n-items", "4",
            "--name", "eval-protocols",
        ]  # fmt: skip
        first = runner.invoke(app, args + ["--out", str(tmp_path / "a")])
        assert first.exit_code == 0, first.output
        n = p.n_requests
        second = runner.invoke(app, args + ["--out", str(tmp_path / "b")])
        assert second.exit_code == 0, second.output
        assert p.n_requests == n > 0
    a, b = (json.loads((tmp_path / x / "eval-protocols/results.json").read_text()) for x in "ab")
    differ = {
        (arm, key)
        for arm in a["arms"]
        for key in a["arms"][arm].keys() | b["arms"][arm].keys()
        if a["arms"][arm].get(key) != b["arms"][arm].get(key)
    }
    assert not differ, [(k, a["arms"][k[0]].get(k[1]), b["arms"][k[0]].get(k[1])) for k in differ]
    assert b["usage"]["requests"] == 0 and b["usage"]["cache_hits"] >= n
    shown = runner.invoke(app, ["cache"])
    assert shown.exit_code == 0 and f"{cache_path()}" in shown.output.replace("\n", "")
    cleared = runner.invoke(app, ["cache", "clear"])
    assert cleared.exit_code == 0 and "removed" in cleared.output
    assert (
        sqlite3.connect(cache_path()).execute("SELECT count(*) FROM responses").fetchone()[0] == 0
    )
