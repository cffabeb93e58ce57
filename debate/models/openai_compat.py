"""Any OpenAI-compatible HTTP endpoint: vLLM, Ollama, llama.cpp server, hosted APIs.

The API key is read from an environment variable at call time and is never stored in a
description, transcript, log line or error message.
"""

from __future__ import annotations

import asyncio
import os
import random

import httpx

from debate.models.base import (
    Generation,
    GenerationRequest,
    LanguageModel,
    ModelError,
    Score,
    ScoreRequest,
    render_plain,
)

RETRY_STATUS = {408, 409, 429, 500, 502, 503, 504}


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
        backoff_s: float = 0.5,
    ):
        self.spec, self.model, self.base_url = spec, model, base_url.rstrip("/")
        self.key_env, self.max_retries, self.backoff_s = key_env, max_retries, backoff_s
        self.timeout = httpx.Timeout(timeout_s)
        self._concurrency = concurrency
        self._sem: asyncio.Semaphore | None = None

    def describe(self) -> dict:
        return {"model": self.spec, "base_url": self.base_url, "key_env": self.key_env}

    @property
    def max_batch(self) -> int:
        return 4 * self._concurrency

    def _redact(self, text: str) -> str:
        key = os.environ.get(self.key_env, "")
        return text.replace(key, "***") if key else text

    async def _post(self, client: httpx.AsyncClient, path: str, body: dict) -> dict:
        key = os.environ.get(self.key_env, "")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = f"{self.base_url}{path}"
        assert self._sem is not None
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            async with self._sem:
                try:
                    resp = await client.post(url, json=body, headers=headers)
                except (httpx.TimeoutException, httpx.TransportError) as e:
                    if last:
                        kind = (
                            "timed out" if isinstance(e, httpx.TimeoutException) else "unreachable"
                        )
                        raise ModelError(
                            f"endpoint {url} {kind} after {attempt + 1} tries"
                        ) from None
                    resp = None
            if resp is not None:
                if resp.status_code < 400:
                    return resp.json()
                if resp.status_code not in RETRY_STATUS or last:
                    detail = self._redact(resp.text[:300].replace("\n", " "))
                    raise ModelError(f"endpoint {url} answered {resp.status_code}: {detail}")
            await asyncio.sleep(self.backoff_s * 2**attempt * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def _gather(self, coros_of_client) -> list:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self._concurrency)
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            return await asyncio.gather(*coros_of_client(client))

    async def generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        return await self._gather(lambda c: [self._generate_one(c, r) for r in requests])

    async def _generate_one(self, client: httpx.AsyncClient, r: GenerationRequest) -> Generation:
        s = r.sampling
        body: dict = {
            "model": self.model,
            "max_tokens": s.max_new_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "seed": r.seed,
        }
        if isinstance(r.prompt, str) or r.prefill:
            body["prompt"] = render_plain(r.prompt) + r.prefill
            data = await self._post(client, "/completions", body)
            text = r.prefill + data["choices"][0]["text"]
        else:
            body["messages"] = [m.model_dump() for m in r.prompt]
            data = await self._post(client, "/chat/completions", body)
            text = data["choices"][0]["message"]["content"] or ""
        usage = data.get("usage") or {}
        return Generation(
            text=text,
            tokens_in=usage.get("prompt_tokens", 0),
            tokens_out=usage.get("completion_tokens", 0),
        )

    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        return await self._gather(lambda c: [self._score_one(c, r) for r in requests])

    async def _score_one(self, client: httpx.AsyncClient, r: ScoreRequest) -> Score:
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
        data = await self._post(client, "/completions", body)
        lp = data["choices"][0].get("logprobs") or {}
        offsets, values = lp.get("text_offset"), lp.get("token_logprobs")
        if not offsets or not values:
            raise ModelError(f"endpoint {self.base_url} returned no prompt log-probabilities")
        picked = [
            v for o, v in zip(offsets, values) if len(ctx) <= o < len(ctx) + len(r.continuation)
        ]
        if not picked or any(v is None for v in picked):
            raise ModelError(
                f"endpoint {self.base_url} returned no log-probabilities for the answer"
            )
        return Score(logprob=float(sum(picked)), n_tokens=len(picked), n_chars=len(r.continuation))
