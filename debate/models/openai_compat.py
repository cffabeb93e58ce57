"""Any OpenAI-compatible HTTP endpoint: vLLM, Ollama, llama.cpp server, hosted APIs.

Research-scale behaviour:
- Nothing bound to an event loop lives on the model between runs. The semaphore and the HTTP
  client belong to the running loop (kept in a WeakKeyDictionary, dropped when that loop's
  `asyncio.run` ends), so one cached model serves any number of consecutive runs.
- Each request is sent as soon as one of the model's `concurrency` slots is free.
- Rate limits slow the whole model, not one request: a 429/503 sets a "not before" time that
  every request of this model waits for (`Retry-After`, in seconds or as an HTTP date, else an
  exponential step that grows with consecutive 429s and resets on the next success).
- Malformed replies (not JSON, HTML with status 200, a redirect, no `choices`, null text) are
  retried like a 5xx, then fail with a one-line ModelError; any other 4xx but 408/409/429 fails
  at once with the server's own message.
- The API key is read from an environment variable at call time and is never stored in a
  description, transcript, log line, cache entry or error message.
- Reproducible calls (temperature 0, or seeded) are served from the on-disk response cache.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from debate import usage
from debate.models import cache
from debate.models.base import (
    Generation,
    GenerationRequest,
    LanguageModel,
    ModelError,
    Prompt,
    Score,
    ScoreRequest,
    render_plain,
)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
RATE_LIMIT_STATUS = {429, 503}
MAX_TOP_LOGPROBS = 20  # the most OpenAI's chat API returns; vLLM and llama.cpp accept it too
NO_LOGPROBS_HINT = (
    "the cloze and letter judges need log-probabilities; with this server use --judge-kind "
    "verdict (or oracle)"
)


class Malformed(ValueError):
    """A 2xx reply that is not what the API promises; retried like a 5xx."""


@dataclass
class _LoopState:
    slots: asyncio.Semaphore
    client: httpx.AsyncClient
    closer: asyncio.Task | None = None  # held so the task is not garbage-collected


def retry_after_s(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - time.time())


def server_message(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        text = err.get("message", err) if isinstance(err, dict) else err
        text = str(text)
    except ValueError:
        text = resp.text
    return " ".join(text.split())[:300]


def _first_choice(data: Any) -> dict:
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Malformed("no 'choices'")
    return choices[0]


def chat_text(data: Any) -> str:
    message = _first_choice(data).get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise Malformed("the message content is null")
    return content


def completion_text(data: Any) -> str:
    text = _first_choice(data).get("text")
    if not isinstance(text, str):
        raise Malformed("'text' is null")
    return text


class OpenAIModel(LanguageModel):
    def __init__(
        self,
        spec: str,
        model: str,
        base_url: str,
        *,
        key_env: str = "OPENAI_API_KEY",
        concurrency: int = 8,
        max_retries: int = 5,
        timeout_s: float = 60.0,
        connect_timeout_s: float = 10.0,
        backoff_s: float = 0.5,
        max_backoff_s: float = 120.0,
        cache: bool = True,
    ):
        if concurrency < 1:
            raise ModelError(f"model spec {spec!r}: concurrency must be at least 1")
        if max_retries < 0:
            raise ModelError(f"model spec {spec!r}: max_retries must be 0 or more")
        if timeout_s <= 0 or connect_timeout_s <= 0 or backoff_s < 0:
            raise ModelError(f"model spec {spec!r}: timeouts must be positive")
        self.spec, self.model, self.base_url = spec, model, base_url.rstrip("/")
        self.key_env, self.max_retries = key_env, max_retries
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))
        self.concurrency, self.use_cache = concurrency, cache
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        # Shared by every loop and request of this model: plain numbers, not asyncio objects.
        self._not_before = 0.0  # time.monotonic() before which no request is sent
        self._strikes = 0  # 429/503 replies since the last success

    def describe(self) -> dict:
        return {"model": self.spec, "base_url": self.base_url, "key_env": self.key_env}

    @property
    def max_batch(self) -> int:
        return 4 * self.concurrency

    # -- per-loop state -----------------------------------------------------------------------
    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            limits = httpx.Limits(
                max_connections=self.concurrency, max_keepalive_connections=self.concurrency
            )
            client = httpx.AsyncClient(timeout=self.timeout, limits=limits)
            state = self._loops[loop] = _LoopState(asyncio.Semaphore(self.concurrency), client)
            state.closer = loop.create_task(self._close_at_end(loop, client))
        return state

    async def _close_at_end(self, loop: asyncio.AbstractEventLoop, client: httpx.AsyncClient):
        """Sleeps until `asyncio.run` cancels the tasks left at the end of the run, then closes
        the connections of that loop while it still runs (no 'unclosed transport' later)."""
        try:
            await asyncio.Event().wait()
        finally:
            self._loops.pop(loop, None)
            await client.aclose()

    # -- rate limits --------------------------------------------------------------------------
    def _slow_down(self, resp: httpx.Response) -> None:
        wait = retry_after_s(resp.headers.get("Retry-After"))
        if wait is None:
            wait = self.backoff_s * 2 ** min(self._strikes, 8) * (0.5 + random.random())
        self._strikes += 1
        until = time.monotonic() + min(wait, self.max_backoff_s)
        self._not_before = max(self._not_before, until)

    async def _wait_turn(self) -> None:
        while (delay := self._not_before - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    # -- one HTTP call ------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        key = os.environ.get(self.key_env, "")
        return text.replace(key, "***") if key else text

    async def _post(self, path: str, body: dict, parse: Callable[[Any], Any]) -> dict:
        """The reply's JSON, once `parse` accepts it; retries what a retry can fix."""
        key = os.environ.get(self.key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = f"{self.base_url}{path}"
        state = self._state()
        problem = ""
        for attempt in range(self.max_retries + 1):
            resp = None
            async with state.slots:
                await self._wait_turn()
                try:
                    resp = await state.client.post(url, json=body, headers=headers)
                except httpx.TimeoutException:
                    problem = f"timed out (timeout {self.timeout.read:g} s)"
                except httpx.TransportError as e:
                    problem = f"unreachable ({type(e).__name__})"
            if resp is not None:
                status = resp.status_code
                if 200 <= status < 300:
                    try:
                        data = resp.json()
                        parse(data)
                        self._strikes = 0
                        return data
                    except ValueError as e:  # Malformed, or a body that is not JSON
                        reason = str(e) if isinstance(e, Malformed) else "the body is not JSON"
                        ctype = resp.headers.get("Content-Type", "?").split(";")[0]
                        problem = f"gave a malformed reply ({reason}; {ctype})"
                elif status in RATE_LIMIT_STATUS:
                    self._slow_down(resp)
                    problem = f"answered {status}: {self._redact(server_message(resp))}"
                    if attempt < self.max_retries:
                        continue  # the model-wide wait in _wait_turn is the backoff
                elif 300 <= status < 400:
                    where = resp.headers.get("Location", "?")
                    problem = f"answered {status} (a redirect to {where}, not a reply)"
                elif status in RETRY_STATUS or status >= 500:
                    problem = f"answered {status}: {self._redact(server_message(resp))}"
                else:
                    raise ModelError(
                        f"endpoint {url} answered {status}: {self._redact(server_message(resp))}"
                    )
            if attempt == self.max_retries:
                break
            await asyncio.sleep(
                min(self.backoff_s * 2**attempt * (0.5 + random.random()), self.max_backoff_s)
            )
        tries = self.max_retries + 1
        raise ModelError(f"endpoint {url} {problem} ({tries} tries)")

    async def _call(
        self, path: str, body: dict, parse: Callable[[Any], Any], *, cacheable: bool, meta=None
    ) -> tuple[Any, dict]:
        """Parsed reply and the raw JSON, from the cache when allowed, and billed."""
        started = time.monotonic()
        key = None
        if cacheable and self.use_cache and cache.enabled():
            key = cache.request_key("openai", self.model, self.base_url, path, body)
            # off the event loop: a write-locked cache file may make a call wait (busy timeout)
            hit = await asyncio.to_thread(cache.open_cache().get, key)
            if hit is not None:
                usage.record(self.spec, meta, cached=True, started=started)
                return parse(hit), hit
        data = await self._post(path, body, parse)
        counts = data.get("usage") or {}
        usage.record(
            self.spec,
            meta,
            tokens_in=int(counts.get("prompt_tokens") or 0),
            tokens_out=int(counts.get("completion_tokens") or 0),
            started=started,
        )
        if key is not None:
            await asyncio.to_thread(cache.open_cache().put, key, "openai", self.model, data)
        return parse(data), data

    # -- the LanguageModel interface ----------------------------------------------------------
    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        return list(await asyncio.gather(*(self._generate_one(r) for r in requests)))

    async def _generate_one(self, r: GenerationRequest) -> Generation:
        s = r.sampling
        body: dict = {
            "model": self.model,
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": r.seed,
        }
        cacheable = s.temperature <= 0 or r.cache
        if isinstance(r.prompt, str) or r.prefill:
            body["prompt"] = render_plain(r.prompt) + r.prefill
            text, data = await self._call(
                "/completions", body, completion_text, cacheable=cacheable, meta=r.meta
            )
            text = r.prefill + text
        else:
            body["messages"] = [m.model_dump() for m in r.prompt]
            text, data = await self._call(
                "/chat/completions", body, chat_text, cacheable=cacheable, meta=r.meta
            )
        counts = data.get("usage") or {}
        return Generation(
            text=text,
            tokens_in=int(counts.get("prompt_tokens") or 0),
            tokens_out=int(counts.get("completion_tokens") or 0),
        )

    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        return list(await asyncio.gather(*(self._score_one(r) for r in requests)))

    async def _score_one(self, r: ScoreRequest) -> Score:
        """Echoed prompt log-probabilities from /completions (vLLM and llama.cpp support it)."""
        ctx = render_plain(r.prompt)
        body = {
            "model": self.model,
            "prompt": ctx + r.continuation,
            "max_tokens": 1,
            "echo": True,
            "logprobs": 1,
            "temperature": 0.0,
        }
        _, data = await self._call(
            "/completions", body, _first_choice, cacheable=True, meta={"role": "judge"}
        )
        lp = _first_choice(data).get("logprobs") or {}
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not offsets or not values:
            raise ModelError(
                f"endpoint {self.base_url} returned no prompt log-probabilities; {NO_LOGPROBS_HINT}"
            )
        picked = [
            v for o, v in zip(offsets, values) if len(ctx) <= o < len(ctx) + len(r.continuation)
        ]
        if not picked or any(v is None for v in picked):
            raise ModelError(
                f"endpoint {self.base_url} returned no log-probabilities for the answer; "
                f"{NO_LOGPROBS_HINT}"
            )
        return Score(logprob=float(sum(picked)), n_tokens=len(picked), n_chars=len(r.continuation))

    async def next_token_logprobs(
        self, prompts: list[Prompt], top_k: int = MAX_TOP_LOGPROBS
    ) -> list[dict[str, float]]:
        """The first reply token's `top_logprobs` (chat: `logprobs: true, top_logprobs: k`;
        plain text: the legacy `/completions` `logprobs: k`)."""
        k = max(1, min(top_k, MAX_TOP_LOGPROBS))
        return list(await asyncio.gather(*(self._next_token_one(p, k) for p in prompts)))

    async def _next_token_one(self, prompt: Prompt, k: int) -> dict[str, float]:
        body: dict = {"model": self.model, "max_tokens": 1, "temperature": 0.0}
        if isinstance(prompt, str):
            body.update(prompt=prompt, logprobs=k)
            _, data = await self._call(
                "/completions", body, _first_choice, cacheable=True, meta={"role": "judge"}
            )
            top = ((_first_choice(data).get("logprobs") or {}).get("top_logprobs") or [None])[0]
            pairs = list(top.items()) if isinstance(top, dict) else []
        else:
            body.update(messages=[m.model_dump() for m in prompt], logprobs=True, top_logprobs=k)
            _, data = await self._call(
                "/chat/completions", body, _first_choice, cacheable=True, meta={"role": "judge"}
            )
            content = (_first_choice(data).get("logprobs") or {}).get("content") or [{}]
            entries = content[0].get("top_logprobs") or [] if isinstance(content[0], dict) else []
            pairs = [(e.get("token"), e.get("logprob")) for e in entries if isinstance(e, dict)]
        out: dict[str, float] = {}
        for token, logprob in pairs:
            if isinstance(token, str) and isinstance(logprob, int | float):
                # two token ids may decode to the same text: their probabilities add
                prev = out.get(token)
                out[token] = logprob if prev is None else _logaddexp(prev, logprob)
        if not out:
            raise ModelError(
                f"endpoint {self.base_url} returned no top_logprobs for model {self.model!r}; "
                f"{NO_LOGPROBS_HINT}"
            )
        return out


def _logaddexp(a: float, b: float) -> float:
    hi = max(a, b)
    return hi + math.log(math.exp(a - hi) + math.exp(b - hi))
