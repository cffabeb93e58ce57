"""A fake OpenAI-compatible provider: a real HTTP server on 127.0.0.1 for tests and benchmarks
(a test double: it lives with the tests, never in the package).

It serves `/v1/chat/completions` and `/v1/completions` the way hosted APIs and vLLM do (usage
counts, `logprobs`/`top_logprobs`, echoed prompt log-probabilities), with heavy-tailed latency,
429s carrying `Retry-After`, and malformed replies on demand. Every request is logged with
server-side start and end times, and the peak number in flight is kept, so tests can assert on
what the server saw rather than on what the client believes it did.

    with FakeProvider(latency_mean_s=0.5, latency_sigma=1.2) as p:
        spec = f"openai:judge@{p.url}?concurrency=64"
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Protocol

from fakes.hostile import HOSTILE

# Faults a test can queue with `fail_next`; each is answered instead of one real reply.
FAULTS = {
    "429": (429, "application/json", b'{"error": {"message": "rate limited"}}'),
    "503": (503, "application/json", b'{"error": {"message": "overloaded"}}'),
    "500": (500, "application/json", b'{"error": {"message": "internal error"}}'),
    "400": (400, "application/json", b'{"error": {"message": "bad request: KEY"}}'),
    "401": (401, "application/json", b'{"error": {"message": "invalid api key KEY"}}'),
    "302": (302, "text/html", b"<html>moved</html>"),
    "html": (200, "text/html", b"<html><body>gateway login</body></html>"),
    "bad_json": (200, "application/json", b'{"choices": [{"message": '),
    "no_choices": (200, "application/json", b'{"object": "chat.completion"}'),
    "null_text": (200, "application/json", b'{"choices": [{"text": null}]}'),
    "null_content": (200, "application/json", b'{"choices": [{"message": {"content": null}}]}'),
}


@dataclass
class Reply:
    text: str
    tokens_in: int
    tokens_out: int
    # the first generated token's alternatives, likeliest first: (token, logprob)
    top: list[tuple[str, float]] = field(default_factory=list)


class Brain(Protocol):
    """What answers behind the HTTP surface."""

    def chat(self, messages: list[dict], body: dict) -> Reply: ...


def _digest(*parts: object) -> int:
    return int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:8], "big")


class PseudoModel:
    """A deterministic stand-in: the same prompt, seed and temperature give the same reply; the
    next-token distribution is a fixed function of the prompt over label-like tokens (with the
    tokenisation variants real tokenizers produce), so probabilities are exact and checkable."""

    VOCAB = ["A", " A", "(A", "A.", "B", " B", "(B", "B.", "The", " I", "Answer", "**"]

    def next_token(self, prompt: str) -> list[tuple[str, float]]:
        rng = random.Random(_digest("next", prompt))
        weights = [rng.random() ** 3 for _ in self.VOCAB]
        # 10% of the mass lies on tokens outside the listed vocabulary, as with a real model
        total = sum(weights) / 0.9
        pairs = [(t, math.log(w / total)) for t, w in zip(self.VOCAB, weights)]
        return sorted(pairs, key=lambda p: -p[1])

    def chat(self, messages: list[dict], body: dict) -> Reply:
        prompt = "\n".join(str(m.get("content")) for m in messages)
        temperature = float(body.get("temperature", 1.0) or 0.0)
        seed = body.get("seed") if temperature > 0 else None
        n = max(1, min(int(body.get("max_tokens") or 16), 24))
        rng = random.Random(_digest("chat", prompt, seed, temperature))
        words = [f"w{rng.randrange(1000)}" for _ in range(n)]
        return Reply(
            text=" ".join(words),
            tokens_in=len(prompt.split()),
            tokens_out=n,
            top=self.next_token(prompt),
        )


class LocalModelBrain:
    """A real `transformers` model behind the HTTP surface, so the log-probabilities a client
    reads are the model's own (the same numbers the local backend computes)."""

    def __init__(self, model):  # an HFModel
        self.model = model

    def chat(self, messages: list[dict], body: dict) -> Reply:
        from debate.models.base import GenerationRequest, Message
        from debate.schema import Sampling

        prompt = [Message(role=m["role"], content=m["content"]) for m in messages]
        k = int(body.get("top_logprobs") or 1)
        top = self.model._next_token_sync([prompt], k)[0]
        budget = max(1, min(int(body.get("max_tokens") or 16), 32))
        request = GenerationRequest(
            prompt=prompt, sampling=Sampling(temperature=0.0, max_new_tokens=budget)
        )
        [gen] = self.model._generate_sync([request])
        ranked = sorted(top.items(), key=lambda kv: -kv[1])
        return Reply(text=gen.text, tokens_in=gen.tokens_in, tokens_out=gen.tokens_out, top=ranked)


@dataclass
class RequestLog:
    path: str
    start: float  # time.monotonic() on the server, when the request was read
    end: float  # when the reply was written
    status: int
    body: dict | None
    authorization: str | None


class FakeProvider:
    def __init__(
        self,
        brain: Brain | None = None,
        *,
        latency_mean_s: float = 0.0,
        latency_sigma: float = 0.0,
        rate_429: float = 0.0,
        retry_after: str | None = "1",
        logprobs: bool = True,
        seed: int = 0,
        serial: bool = False,
        chat_only: bool = False,
    ):
        self.brain = brain or PseudoModel()
        self.latency_mean_s, self.latency_sigma = latency_mean_s, latency_sigma
        self.rate_429, self.retry_after, self.logprobs = rate_429, retry_after, logprobs
        self.chat_only = chat_only  # as hosted chat models: no legacy /completions (a 404)
        self.log: list[RequestLog] = []
        self.in_flight = self.peak_in_flight = 0
        self._faults: deque[tuple[str, str | None]] = deque()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        # one request worked on at a time, the rest queued (a GPU box without batching): the
        # more a client sends at once, the longer each waits
        self._worker = threading.Lock() if serial else contextlib.nullcontext()
        self._server: ThreadingHTTPServer | None = None

    # -- control ------------------------------------------------------------------------------
    def fail_next(self, kind: str, times: int = 1, *, retry_after: str | None = None) -> None:
        """Answer the next `times` requests with a fault: a name in FAULTS, one of the hostile
        behaviours (tests/fakes/hostile.py), or "ok" (a sound reply: queued before a fault,
        it lets that many requests through first)."""
        if kind not in FAULTS and kind not in HOSTILE and kind != "ok":
            raise ValueError(f"unknown fault {kind!r}; choose from {sorted(FAULTS)}")
        with self._lock:
            self._faults.extend([(kind, retry_after)] * times)

    @property
    def url(self) -> str:
        assert self._server is not None, "start the provider first"
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    @property
    def n_requests(self) -> int:
        return len(self.log)

    def heal(self) -> None:
        """Drop every queued fault: the server answers soundly from now on."""
        with self._lock:
            self._faults.clear()

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.peak_in_flight = self.in_flight

    def start(self) -> FakeProvider:
        handler = type("Handler", (_Handler,), {"provider": self})
        server = _Server(("127.0.0.1", 0), handler, bind_and_activate=False)
        server.request_queue_size = 1024  # a burst of connections must not hit the backlog
        server.daemon_threads = True
        server.server_bind()
        server.server_activate()
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- behaviour ----------------------------------------------------------------------------
    def latency(self) -> float:
        if self.latency_mean_s <= 0:
            return 0.0
        # lognormal with the requested mean: mu = ln(mean) - sigma^2 / 2
        mu = math.log(self.latency_mean_s) - self.latency_sigma**2 / 2
        with self._lock:
            return self._rng.lognormvariate(mu, self.latency_sigma)

    def next_fault(self) -> tuple[str, str | None] | None:
        with self._lock:
            if self._faults:
                return self._faults.popleft()
            if self.rate_429 and self._rng.random() < self.rate_429:
                return ("429", self.retry_after)
        return None

    def answer(self, path: str, body: dict) -> dict:
        if path.endswith("/chat/completions"):
            return self._chat(body)
        if path.endswith("/completions") and not self.chat_only:
            return self._completion(body)
        raise LookupError(path)

    def _chat(self, body: dict) -> dict:
        reply = self.brain.chat(body.get("messages") or [], body)
        message: dict = {"role": "assistant", "content": reply.text}
        choice: dict = {"index": 0, "message": message, "finish_reason": "stop"}
        if body.get("logprobs") and self.logprobs:
            k = int(body.get("top_logprobs") or 0)
            first = reply.top[0] if reply.top else (reply.text[:1], 0.0)
            choice["logprobs"] = {
                "content": [
                    {
                        "token": first[0],
                        "logprob": first[1],
                        "top_logprobs": [{"token": t, "logprob": lp} for t, lp in reply.top[:k]],
                    }
                ]
            }
        return {
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [choice],
            "usage": _usage(reply.tokens_in, reply.tokens_out),
        }

    def _completion(self, body: dict) -> dict:
        prompt = str(body.get("prompt", ""))
        if body.get("echo"):
            # one token per character, log-probability -0.1 each (the first has none)
            choice = {
                "text": prompt,
                "logprobs": {
                    "tokens": list(prompt),
                    "text_offset": list(range(len(prompt))),
                    "token_logprobs": [None] + [-0.1] * (len(prompt) - 1),
                },
            }
            return {"choices": [choice], "usage": _usage(len(prompt), 0)}
        reply = self.brain.chat([{"role": "user", "content": prompt}], body)
        return {
            "object": "text_completion",
            "choices": [{"index": 0, "text": " " + reply.text, "finish_reason": "length"}],
            "usage": _usage(reply.tokens_in, reply.tokens_out),
        }


def _usage(n_in: int, n_out: int) -> dict:
    return {"prompt_tokens": n_in, "completion_tokens": n_out, "total_tokens": n_in + n_out}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        """A client that hangs up on a reply it will not wait for is no error of the server's
        (and its traceback would land in the terminal of the test that runs it)."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    provider: FakeProvider
    protocol_version = "HTTP/1.1"  # keep-alive, as real providers

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        p = self.provider
        start = time.monotonic()
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with p._lock:
            p.in_flight += 1
            p.peak_in_flight = max(p.peak_in_flight, p.in_flight)
        body = None
        reply: tuple[int, str, bytes, dict] = (500, "application/json", b"{}", {})
        takeover = None
        try:
            body = json.loads(raw or b"{}")
            with p._worker:
                time.sleep(p.latency())
            fault = p.next_fault()
            if fault is not None and fault[0] == "ok":
                fault = None
            if fault is not None and fault[0] in HOSTILE:
                try:
                    good = p.answer(self.path, body)
                except LookupError:
                    good = None
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                takeover = (HOSTILE[fault[0]], key, good)
                reply = (-1, "", b"", {})  # logged as -1: what was sent is the behaviour's
            elif fault is not None:
                kind, retry_after = fault
                status, ctype, payload = FAULTS[kind]
                headers = {"Retry-After": retry_after} if retry_after else {}
                if kind == "302":
                    headers["Location"] = "https://login.example/"
                key = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                reply = (status, ctype, payload.replace(b"KEY", key.encode()), headers)
            else:
                try:
                    data = p.answer(self.path, body)
                    reply = (200, "application/json", json.dumps(data).encode(), {})
                except LookupError:
                    reply = (
                        404,
                        "application/json",
                        b'{"error": {"message": "no such route"}}',
                        {},
                    )
        finally:
            # logged before the reply leaves: a client that has its answer finds it in the log
            with p._lock:
                p.in_flight -= 1
                p.log.append(
                    RequestLog(self.path, start, time.monotonic(), reply[0], body,
                               self.headers.get("Authorization"))
                )  # fmt: skip
        if takeover is not None:
            behaviour, key, good = takeover
            try:
                behaviour(self, key, good)
            except OSError:  # the client gave up on a stalling reply, as it should
                self.close_connection = True
            return
        self._send(*reply)

    def _send(self, status: int, ctype: str, payload: bytes, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)
