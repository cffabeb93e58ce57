"""Any OpenAI-compatible HTTP endpoint: vLLM, Ollama, llama.cpp server, hosted APIs.

Research-scale behaviour:
- Chat first: every chat prompt goes to `/chat/completions`. A prompt style's reply prefix
  (`<quote>`) is dropped there, sent as an assistant message to continue where the server says
  it can (`prefill=continue`, vLLM), or sent to the legacy `/completions` endpoint only when asked
  (`prefill=completions`). Plain-text prompts and echoed prompt log-probabilities (the cloze
  judge) need `/completions`; `check_gives` asks the server once, before a run, for what a judge
  needs.
- Nothing bound to an event loop lives on the model between runs. The HTTP client and the
  queue of requests waiting for a slot belong to the running loop (kept in a
  WeakKeyDictionary, dropped when that loop's `asyncio.run` ends), so one cached model serves
  any number of consecutive runs.
- Each request is sent as soon as one of the model's slots is free. A request has one deadline
  (`timeout_s`) for the whole exchange, connection to last byte, so a server dripping its reply
  cannot hold it longer.
- An overloaded server slows the whole model, not one request: a 429/503 sets a "not before"
  time that every request of this model waits for (`Retry-After`, in seconds or as an HTTP date,
  capped at `max_backoff_s` with a one-line notice, else an exponential step that grows with
  consecutive strikes and resets on the next success). A request that runs past its deadline is
  a strike too, and halves the model's slots (once per round of requests, as TCP halves its
  window; each success gives one back), so a slow server is not sent more copies of work it is
  still doing.
- Malformed replies (not JSON, a body that cannot be decoded, HTML with status 200, a redirect,
  no `choices`, null text, non-finite or positive log-probabilities, negative or non-numeric
  `usage`) are retried like a 5xx, then fail with a one-line ModelError; any other 4xx but
  408/409/429 fails at once with the server's own message.
- Nothing from the server is trusted (debate/models/untrusted.py): its text loses control
  characters, and no API key reaches a description, transcript, log line, cache entry or error.
- Reproducible calls (temperature 0, or seeded) are served from the on-disk response cache.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import random
import sys
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
    Message,
    ModelError,
    Prompt,
    Score,
    ScoreRequest,
    render_plain,
)
from debate.models.openai_replies import (
    chat_text,
    completion_text,
    echoed_logprobs,
    server_message,
    top_logprobs,
)
from debate.models.untrusted import (
    MAX_REPLY_BYTES,
    Malformed,
    clean_text,
    parse_json,
    redact,
    secrets,
    shown_url,
    usage_counts,
)

__all__ = ["OpenAIModel", "Malformed", "Refused", "retry_after_s", "NO_LOGPROBS_HINT"]

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}
RATE_LIMIT_STATUS = {429, 503}
MAX_TOP_LOGPROBS = 20  # the most OpenAI's chat API returns; vLLM and llama.cpp accept it too
NO_LOGPROBS_HINT = (
    "the cloze and letter judges need log-probabilities; with this server use --judge-kind "
    "verdict (judge.kind in a config)"
)
NEEDS = ("top_logprobs", "prompt_logprobs")


class Refused(ModelError):
    """The server refused the request itself (a 4xx other than a rate limit): not retried."""


@dataclass
class _LoopState:
    client: httpx.AsyncClient
    room: asyncio.Condition  # notified whenever a slot frees or the model's slot count grows
    in_flight: int = 0
    closer: asyncio.Task | None = None  # held so the task is not garbage-collected


def retry_after_s(value: str | None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date (RFC 9110)."""
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if seconds == seconds else None
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, when.timestamp() - time.time())


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
        prefill: str = "drop",
    ):
        if concurrency < 1:
            raise ModelError(f"model spec {spec!r}: concurrency must be at least 1")
        if max_retries < 0:
            raise ModelError(f"model spec {spec!r}: max_retries must be 0 or more")
        if timeout_s <= 0 or connect_timeout_s <= 0 or backoff_s < 0:
            raise ModelError(f"model spec {spec!r}: timeouts must be positive")
        if prefill not in ("drop", "continue", "completions"):
            raise ModelError(f"model spec {spec!r}: prefill must be drop, continue or completions")
        self.spec, self.model, self.base_url = spec, model, base_url.rstrip("/")
        self.key_env, self.max_retries, self.prefill = key_env, max_retries, prefill
        self.backoff_s, self.max_backoff_s = backoff_s, max_backoff_s
        self.timeout_s = timeout_s
        self.timeout = httpx.Timeout(timeout_s, connect=min(connect_timeout_s, timeout_s))
        self.concurrency, self.use_cache = concurrency, cache
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        # Shared by every loop and request of this model: plain numbers, not asyncio objects.
        self._not_before = 0.0  # time.monotonic() before which no request is sent
        self._strikes = 0  # 429/503 replies and time-outs since the last success
        self._slots = concurrency  # requests allowed in flight now (fewer after time-outs)
        self._cut_at = -math.inf  # when the slots were last halved
        self._told_cap = False
        self._gives: dict[str, bool] = {}  # what check_gives found, per need
        # what the server was sent, retries included (usage counts answered calls only)
        self.sent = self.timed_out = 0

    def describe(self) -> dict:
        return {"model": self.spec, "base_url": shown_url(self.base_url), "key_env": self.key_env}

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
            # redirects are answers to judge, not to follow: one may point anywhere
            client = httpx.AsyncClient(timeout=self.timeout, limits=limits, follow_redirects=False)
            state = self._loops[loop] = _LoopState(client, asyncio.Condition())
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

    @contextlib.asynccontextmanager
    async def _slot(self, state: _LoopState):
        async with state.room:
            await state.room.wait_for(lambda: state.in_flight < self._slots)
            state.in_flight += 1
        try:
            yield
        finally:
            async with state.room:
                state.in_flight -= 1
                state.room.notify_all()

    # -- overload -----------------------------------------------------------------------------
    def _strike(self, asked_s: float | None) -> None:
        """Pause the whole model: `asked_s` as the server asked (capped), else an exponential
        step."""
        wait = asked_s
        if wait is None:
            wait = self.backoff_s * 2 ** min(self._strikes, 8) * (0.5 + random.random())
        elif wait > self.max_backoff_s and not self._told_cap:
            self._told_cap = True
            print(
                f"note: {self._redact(self.spec)} was asked to wait {wait:g} s (Retry-After); "
                f"waiting at most max_backoff_s={self.max_backoff_s:g} s (a spec option)",
                file=sys.stderr,
            )
        self._strikes += 1
        until = time.monotonic() + min(wait, self.max_backoff_s)
        self._not_before = max(self._not_before, until)

    def _timed_out(self, sent_at: float) -> None:
        """A pause and half the slots, once per round: requests sent before the last cut time
        out together, and one server that is slow is one strike, not one per request."""
        if sent_at <= self._cut_at:
            return
        self._strike(None)
        self._slots = max(1, self._slots // 2)
        self._cut_at = time.monotonic()

    def _succeeded(self) -> None:
        self._strikes = 0
        # one slot back per success (the release that follows wakes whoever waits for it)
        self._slots = min(self.concurrency, self._slots + 1)

    async def _wait_turn(self) -> None:
        while (delay := self._not_before - time.monotonic()) > 0:
            await asyncio.sleep(delay)

    # -- one HTTP call ------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return clean_text(redact(text, secrets([self.key_env])))

    async def _exchange(
        self, state: _LoopState, url: str, body: dict, headers: dict
    ) -> tuple[int, httpx.Headers, bytes]:
        """Status, headers and the whole body, within one deadline for all of it."""
        async with (
            asyncio.timeout(self.timeout_s),
            state.client.stream("POST", url, json=body, headers=headers) as resp,
        ):
            chunks, size = [], 0
            async for chunk in resp.aiter_bytes():
                size += len(chunk)
                if size > MAX_REPLY_BYTES:
                    raise Malformed(f"the body is over {MAX_REPLY_BYTES // 2**20} MiB")
                chunks.append(chunk)
            return resp.status_code, resp.headers, b"".join(chunks)

    async def _post(self, path: str, body: dict, parse: Callable[[Any], Any]) -> tuple[Any, dict]:
        """The parsed reply and its JSON, once `parse` accepts it; retries what a retry can fix."""
        key = os.environ.get(self.key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = f"{self.base_url}{path}"
        state = self._state()
        problem = ""
        for attempt in range(self.max_retries + 1):
            reply = None
            async with self._slot(state):
                await self._wait_turn()
                sent_at = time.monotonic()
                self.sent += 1
                try:
                    reply = await self._exchange(state, url, body, headers)
                except (TimeoutError, httpx.TimeoutException):
                    self.timed_out += 1
                    problem = f"timed out (timeout {self.timeout_s:g} s for the whole request)"
                    self._timed_out(sent_at)
                except Malformed as e:
                    problem = f"gave a malformed reply ({e})"
                except httpx.DecodingError:
                    problem = "gave a reply that cannot be decoded (its Content-Encoding lies)"
                except (httpx.HTTPError, OSError) as e:
                    problem = f"unreachable ({type(e).__name__})"
            if reply is not None:
                status, resp_headers, raw = reply
                if 200 <= status < 300:
                    try:
                        data = parse_json(raw)
                        parsed = parse(data)
                        usage_counts(data)
                        self._succeeded()
                        return parsed, data
                    except Malformed as e:
                        ctype = resp_headers.get("Content-Type", "?").split(";")[0]
                        problem = f"gave a malformed reply ({e}; {ctype[:60]})"
                    except (TypeError, KeyError, AttributeError, IndexError) as e:
                        problem = (
                            f"gave a malformed reply (an unexpected shape: {type(e).__name__})"
                        )
                elif status in RATE_LIMIT_STATUS:
                    self._strike(retry_after_s(resp_headers.get("Retry-After")))
                    problem = f"answered {status}: {server_message(raw)}"
                    if attempt < self.max_retries:
                        continue  # the model-wide wait in _wait_turn is the backoff
                elif 300 <= status < 400:
                    where = shown_url(resp_headers.get("Location", "?"))
                    problem = f"answered {status} (a redirect to {where}, not a reply)"
                elif status in RETRY_STATUS or status >= 500:
                    problem = f"answered {status}: {server_message(raw)}"
                else:
                    raise Refused(
                        self._redact(f"endpoint {shown_url(url)} answered {status}: "
                                     f"{server_message(raw)}")
                    )  # fmt: skip
            if attempt == self.max_retries:
                break
            await asyncio.sleep(
                min(self.backoff_s * 2**attempt * (0.5 + random.random()), self.max_backoff_s)
            )
        tries = self.max_retries + 1
        raise ModelError(self._redact(f"endpoint {shown_url(url)} {problem} ({tries} tries)"))

    async def _call(
        self, path: str, body: dict, parse: Callable[[Any], Any], *, cacheable: bool, meta=None
    ) -> tuple[Any, tuple[int, int]]:
        """The parsed reply and its (input, output) token counts, from the cache when allowed,
        and billed."""
        started = time.monotonic()
        key = None
        if cacheable and self.use_cache and cache.enabled():
            key = cache.request_key("openai", self.model, self.base_url, path, body)
            # off the event loop: a write-locked cache file may make a call wait (busy timeout)
            hit = await asyncio.to_thread(cache.open_cache().get, key)
            if hit is not None:
                with contextlib.suppress(Malformed, TypeError, KeyError, AttributeError):
                    parsed = parse(hit), usage_counts(hit)  # an entry from before these checks
                    usage.record(self.spec, meta, cached=True, started=started)
                    return parsed
        parsed, data = await self._post(path, body, parse)
        counts = usage_counts(data)
        usage.record(self.spec, meta, tokens_in=counts[0], tokens_out=counts[1], started=started)
        if key is not None:
            await asyncio.to_thread(cache.open_cache().put, key, "openai", self.model, data)
        return parsed, counts

    def _text(self, text: str) -> str:
        """Generated text as it may be stored and shown."""
        return self._redact(text)

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
        prefix = ""
        if isinstance(r.prompt, str) or (r.prefill and self.prefill == "completions"):
            body["prompt"] = render_plain(r.prompt) + r.prefill
            path, parse, prefix = "/completions", completion_text, r.prefill
        else:
            messages = [m.model_dump() for m in r.prompt]
            if r.prefill and self.prefill == "continue":
                messages.append({"role": "assistant", "content": r.prefill})
                body.update(continue_final_message=True, add_generation_prompt=False)
                prefix = r.prefill
            body["messages"] = messages
            path, parse = "/chat/completions", chat_text
        text, (n_in, n_out) = await self._call(path, body, parse, cacheable=cacheable, meta=r.meta)
        return Generation(text=prefix + self._text(text), tokens_in=n_in, tokens_out=n_out)

    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        return list(await asyncio.gather(*(self._score_one(r) for r in requests)))

    async def _score_one(self, r: ScoreRequest, cacheable: bool = True) -> Score:
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
        end = len(ctx) + len(r.continuation)
        picked, _ = await self._call(
            "/completions",
            body,
            lambda data: echoed_logprobs(data, len(ctx), end),
            cacheable=cacheable,
            meta={"role": "judge"},
        )
        if not picked:
            raise ModelError(
                f"endpoint {shown_url(self.base_url)} returned no prompt log-probabilities "
                f"for the answer; {NO_LOGPROBS_HINT}"
            )
        return Score(logprob=float(sum(picked)), n_tokens=len(picked), n_chars=len(r.continuation))

    async def next_token_logprobs(
        self, prompts: list[Prompt], top_k: int = MAX_TOP_LOGPROBS
    ) -> list[dict[str, float]]:
        """The first reply token's `top_logprobs` (chat: `logprobs: true, top_logprobs: k`;
        plain text: the legacy `/completions` `logprobs: k`)."""
        k = max(1, min(top_k, MAX_TOP_LOGPROBS))
        return list(await asyncio.gather(*(self._next_token_one(p, k) for p in prompts)))

    async def _next_token_one(self, prompt: Prompt, k: int, cacheable: bool = True):
        body: dict = {"model": self.model, "max_tokens": 1, "temperature": 0.0}
        if isinstance(prompt, str):
            body.update(prompt=prompt, logprobs=k)
            path = "/completions"
        else:
            body.update(messages=[m.model_dump() for m in prompt], logprobs=True, top_logprobs=k)
            path = "/chat/completions"
        out, _ = await self._call(
            path, body, top_logprobs, cacheable=cacheable, meta={"role": "judge"}
        )
        if not out:
            raise ModelError(
                f"endpoint {shown_url(self.base_url)} returned no top_logprobs for model "
                f"{self.model!r}; {NO_LOGPROBS_HINT}"
            )
        return {self._text(t): v for t, v in out.items()}

    async def check_gives(self, need: str) -> None:
        """Ask the server once whether it gives what a judge needs ('top_logprobs' for the
        letter judge, 'prompt_logprobs' for the cloze judge); a one-line ModelError if not."""
        if need not in NEEDS or self._gives.get(need):
            return
        try:
            if need == "top_logprobs":
                probe = [Message(role="user", content="Reply with one letter: A or B.")]
                await self._next_token_one(probe, 2, cacheable=False)
            else:
                probe = ScoreRequest(prompt="The sky is", continuation=" blue")
                # the server's own answer: a cached reply would pass without asking it
                await self._score_one(probe, cacheable=False)
        except Refused as e:
            raise ModelError(f"{e}; {NO_LOGPROBS_HINT}") from None
        self._gives[need] = True
