"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (the fake provider):
what the server saw, not what the client believes it did."""

import asyncio
import socket
import time
from email.utils import formatdate

import pytest
from fakes.provider import FakeProvider, PseudoModel

from debate.models import GenerationRequest, Message, ModelError, ScoreRequest, load_model
from debate.models.openai_compat import OpenAIModel
from debate.schema import Sampling

KEY = "sk-test-secret-123"


@pytest.fixture
def server():
    with FakeProvider() as p:
        yield p


def model(p, **kw):
    kw.setdefault("backoff_s", 0.01)
    return OpenAIModel(f"openai:m@{p.url}", "m", p.url, **kw)


def chat(text, seed=0, temperature=0.0):
    return GenerationRequest(
        prompt=[Message(role="user", content=text)],
        seed=seed,
        sampling=Sampling(temperature=temperature),
    )


def test_chat_generation_sends_the_key_and_counts_tokens(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = asyncio.run(model(server).generate([chat("a b c"), chat("d e")]))
    body = {"temperature": 0.0, "max_tokens": 64}
    expected = [PseudoModel().chat([{"content": t}], body) for t in ["a b c", "d e"]]
    assert [g.text for g in out] == [r.text for r in expected]
    assert [g.tokens_in for g in out] == [3, 2]
    assert all(r.authorization == f"Bearer {KEY}" for r in server.log)
    assert KEY not in str(model(server).describe())


def test_one_model_serves_three_consecutive_runs(server):
    """Models are cached per process while every run calls asyncio.run afresh."""
    m = model(server, concurrency=2, cache=False)
    for i in range(3):
        out = asyncio.run(m.generate([chat(f"run {i} x{j}") for j in range(4)]))
        assert len(out) == 4
    assert server.n_requests == 12 and not m._loops  # each loop's client closed at its end


def test_429_retry_after_seconds_is_honoured(server):
    server.fail_next("429", retry_after="1")
    asyncio.run(model(server).generate([chat("x")]))
    first, second = server.log
    assert first.status == 429 and second.status == 200
    assert second.start - first.end >= 0.95


def test_503_retry_after_http_date_is_honoured(server):
    # an HTTP date has whole seconds: 3 s ahead is at least 2 s once truncated, leaving room for
    # the time the test takes to send the first request
    server.fail_next("503", retry_after=formatdate(__import__("time").time() + 3, usegmt=True))
    asyncio.run(model(server).generate([chat("x")]))
    first, second = server.log
    assert first.status == 503 and second.start - first.end >= 0.9


def test_a_429_slows_the_whole_model_then_it_recovers():
    """One 429 with Retry-After: 1 while four requests are in flight: no request of that model
    starts at the server until the second has passed, then all finish."""
    with FakeProvider(latency_mean_s=0.2, latency_sigma=0.01) as p:
        p.fail_next("429", retry_after="1")
        out = asyncio.run(model(p, concurrency=4).generate([chat(f"q{i}") for i in range(12)]))
        assert len(out) == 12
        limited = next(r for r in p.log if r.status == 429)
        # a request the client sent before the 429 reached it may still arrive just after; every
        # request sent once the client had read it waits out the Retry-After
        later = [r.start for r in p.log if r.start > limited.end + 0.05]
        assert later and min(later) - limited.end >= 0.95
        assert sum(r.status == 200 for r in p.log) == 12


@pytest.mark.parametrize(
    "fault", ["bad_json", "html", "no_choices", "null_content", "302", "500", "503"]
)
def test_malformed_or_failed_replies_are_retried(server, fault):
    server.fail_next(fault, retry_after="0" if fault == "503" else None)
    [g] = asyncio.run(model(server).generate([chat("x")]))
    assert g.text and [r.status for r in server.log][-1] == 200 and server.n_requests == 2


@pytest.mark.parametrize(
    "fault, words",
    [
        ("bad_json", "malformed reply (the body is not JSON"),
        ("html", "malformed reply (the body is not JSON; text/html)"),
        ("no_choices", "malformed reply (no 'choices'"),
        ("null_content", "message content is null"),
        ("302", "answered 302 (a redirect"),
    ],
)
def test_persistent_malformed_replies_end_in_one_clear_line(server, fault, words):
    server.fail_next(fault, times=3)
    with pytest.raises(ModelError) as e:
        asyncio.run(model(server, max_retries=2).generate([chat("x")]))
    assert words in str(e.value) and "\n" not in str(e.value) and "(3 tries)" in str(e.value)
    assert server.n_requests == 3


def test_null_text_from_completions_is_malformed(server):
    server.fail_next("null_text", times=2)
    req = GenerationRequest(prompt="plain prompt", sampling=Sampling(temperature=0))
    with pytest.raises(ModelError, match="'text' is null"):
        asyncio.run(model(server, max_retries=1).generate([req]))


@pytest.mark.parametrize("fault", ["400", "401"])
def test_client_errors_fail_at_once_with_the_message_and_no_key(server, monkeypatch, fault):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.fail_next(fault, times=5)
    with pytest.raises(ModelError) as e:
        asyncio.run(model(server).generate([chat("x")]))
    text = str(e.value)
    assert f"answered {fault}" in text and "***" in text and KEY not in text
    assert server.n_requests == 1


def test_timeout_is_configurable():
    with (
        FakeProvider(latency_mean_s=1.0, latency_sigma=0.01) as p,
        pytest.raises(ModelError, match=r"timed out \(timeout 0.2 s for the whole request\)"),
    ):
        asyncio.run(model(p, timeout_s=0.2, max_retries=0).generate([chat("x")]))


def test_unreachable_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    m = OpenAIModel(f"openai:m@{url}", "m", url, backoff_s=0.01, max_retries=1)
    with pytest.raises(ModelError, match="unreachable"):
        asyncio.run(m.generate([chat("x")]))


def test_requests_go_out_as_slots_free_up():
    """With 4 slots and 16 requests the server holds 4 at a time, never more."""
    with FakeProvider(latency_mean_s=0.05, latency_sigma=0.5) as p:
        asyncio.run(
            model(p, concurrency=4, cache=False).generate([chat(f"{i}") for i in range(16)])
        )
        assert p.peak_in_flight == 4 and p.n_requests == 16


def test_score_reads_echoed_logprobs_of_the_continuation(server):
    [s] = asyncio.run(model(server).score([ScoreRequest(prompt="Q: hi\nA:", continuation=" yes")]))
    assert s.n_tokens == 4 and s.logprob == pytest.approx(-0.4)


def test_next_token_logprobs_are_the_servers_top_logprobs(server):
    prompt = [Message(role="user", content="Which? Reply A or B.")]
    [top] = asyncio.run(model(server).next_token_logprobs([prompt], top_k=5))
    expected = PseudoModel().next_token("Which? Reply A or B.")[:5]
    assert top == pytest.approx(dict(expected))
    assert server.log[0].body["logprobs"] is True and server.log[0].body["top_logprobs"] == 5


def test_a_server_without_logprobs_names_the_judges_that_still_work():
    with FakeProvider(logprobs=False) as p:
        prompt = [Message(role="user", content="Which?")]
        with pytest.raises(ModelError, match="no top_logprobs.*verdict"):
            asyncio.run(model(p).next_token_logprobs([prompt]))


@pytest.mark.parametrize(
    "query, words",
    [
        ("concurrency=0", "concurrency must be at least 1"),
        ("concurrency=x", "concurrency must be a whole number"),
        ("max_retries=-1", "max_retries must be at least 0"),
        ("cache=maybe", "cache must be true or false"),
        ("timeout_s=0", "timeout_s must be more than 0"),
    ],
)
def test_bad_spec_options_are_clear_errors(query, words):
    with pytest.raises(ModelError, match=words):
        load_model(f"openai:m@http://127.0.0.1:9/v1?{query}")


@pytest.mark.slow
def test_a_slow_server_is_sent_fewer_requests_at_once_not_more_copies():
    """A server that works on one request at a time (0.3 s each) and a client with 8 slots and
    a 1 s deadline: the requests queued behind the third time out while the server still works
    on them. The model backs off as a whole and halves its slots, so all 8 finish and the server
    is not flooded with copies (the client before this, re-sending each at once, measured
    28-31 requests in three tries; this one 19-20)."""
    with FakeProvider(latency_mean_s=0.3, latency_sigma=0.01, serial=True) as p:
        m = model(p, concurrency=8, timeout_s=1.0, backoff_s=0.2, max_retries=5, cache=False)
        out = asyncio.run(m.generate([chat(f"q{i}") for i in range(8)]))
        assert len(out) == 8 and p.n_requests <= 24


def test_one_deadline_covers_a_reply_dripped_byte_by_byte(server):
    """Each read is quick, the whole is not: the deadline is for the whole request."""
    server.fail_next("drip a byte per 0.5 s")
    start = time.monotonic()
    with pytest.raises(ModelError, match=r"timed out \(timeout 1 s for the whole request\)"):
        asyncio.run(model(server, timeout_s=1, max_retries=0).generate([chat("x")]))
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "fault, words",
    [
        ("logprobs NaN", "holds NaN"),
        ("logprobs -inf", "holds -Infinity"),
        ("logprobs positive", "log-probability is 3.0"),
    ],
)
def test_impossible_logprobs_are_retried_then_refused(server, fault, words):
    server.fail_next(fault, times=2)
    prompt = [Message(role="user", content="Which?")]
    with pytest.raises(ModelError, match=words):
        asyncio.run(model(server, max_retries=1).next_token_logprobs([prompt]))
    assert server.n_requests == 2


@pytest.mark.parametrize("fault", ["usage negative", "usage a string", "usage NaN"])
def test_impossible_usage_is_retried_and_never_billed(server, fault):
    server.fail_next(fault)
    [g] = asyncio.run(model(server).generate([chat("x")]))
    assert g.tokens_in >= 0 and server.n_requests == 2
