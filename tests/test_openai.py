"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1."""

import asyncio
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from debate.models import GenerationRequest, Message, ModelError, ScoreRequest
from debate.models.openai_compat import OpenAIModel

KEY = "sk-test-secret-123"


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        srv = self.server
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        srv.seen.append((self.path, self.headers.get("Authorization"), body))
        if srv.fail_first > 0:
            srv.fail_first -= 1
            return self.reply(429, {"error": "slow down"})
        if srv.status != 200:
            return self.reply(srv.status, {"error": f"bad request, key was {KEY}"})
        if self.path.endswith("/chat/completions"):
            text = "echo: " + body["messages"][-1]["content"]
            return self.reply(
                200,
                {
                    "choices": [{"message": {"content": text}}],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                },
            )
        prompt = body["prompt"]
        if body.get("echo"):  # one "token" per character, log-prob -0.1 each
            return self.reply(
                200,
                {
                    "choices": [
                        {
                            "text": prompt,
                            "logprobs": {
                                "text_offset": list(range(len(prompt))),
                                "token_logprobs": [None] + [-0.1] * (len(prompt) - 1),
                            },
                        }
                    ]
                },
            )
        return self.reply(200, {"choices": [{"text": " done"}]})

    def reply(self, code, data):
        raw = json.dumps(data).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.seen, srv.fail_first, srv.status = [], 0, 200
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()


def model(srv, **kw):
    url = f"http://127.0.0.1:{srv.server_address[1]}/v1"
    return OpenAIModel(f"openai:m@{url}", "m", url, backoff_s=0.01, **kw)


def chat(text):
    return GenerationRequest(prompt=[Message(role="user", content=text)])


def test_batched_chat_generation_sends_the_key(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out = asyncio.run(model(server).generate([chat("a"), chat("b"), chat("c")]))
    assert [g.text for g in out] == ["echo: a", "echo: b", "echo: c"]
    assert all(auth == f"Bearer {KEY}" for _, auth, _ in server.seen)
    assert KEY not in json.dumps(model(server).describe())


def test_retries_on_429_then_succeeds(server):
    server.fail_first = 2
    out = asyncio.run(model(server).generate([chat("x")]))
    assert out[0].text == "echo: x" and len(server.seen) == 3


def test_client_error_is_clear_and_never_shows_the_key(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    server.status = 400
    with pytest.raises(ModelError) as e:
        asyncio.run(model(server).generate([chat("x")]))
    assert "400" in str(e.value) and KEY not in str(e.value)
    assert len(server.seen) == 1  # a 4xx is not retried


def test_unreachable_endpoint():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    m = OpenAIModel(f"openai:m@{url}", "m", url, backoff_s=0.01, max_retries=1)
    with pytest.raises(ModelError, match="unreachable"):
        asyncio.run(m.generate([chat("x")]))


def test_score_reads_echoed_logprobs_of_the_continuation(server):
    [s] = asyncio.run(model(server).score([ScoreRequest(prompt="Q: hi\nA:", continuation=" yes")]))
    assert s.n_tokens == 4 and s.logprob == pytest.approx(-0.4)
