"""Collects the model requests that live coroutines are waiting on and hands each backend one
batch. Protocols and judges `await batcher.generate(model, [...])`; the dispatcher lets every
runnable coroutine reach its next request before it sends anything, so one backend call serves
all the matches in flight.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from debate.models import Generation, GenerationRequest, LanguageModel, Score, ScoreRequest


@dataclass
class _Queue:
    model: LanguageModel
    op: str  # "generate" or "score"
    items: list[tuple[Any, asyncio.Future]] = field(default_factory=list)
    waited: int = 0  # dispatches since this queue was last served


class Batcher:
    def __init__(self, on_batch=None):
        self._queues: dict[tuple[int, str], _Queue] = {}
        self.on_batch = on_batch  # callback(model_spec, op, size) for stats and progress
        self.batches: list[tuple[str, str, int]] = []

    async def generate(
        self, model: LanguageModel, reqs: list[GenerationRequest]
    ) -> list[Generation]:
        return await self._submit(model, "generate", reqs)

    async def score(self, model: LanguageModel, reqs: list[ScoreRequest]) -> list[Score]:
        return await self._submit(model, "score", reqs)

    async def _submit(self, model: LanguageModel, op: str, reqs: list) -> list:
        q = self._queues.setdefault((id(model), op), _Queue(model, op))
        loop = asyncio.get_running_loop()
        futures = []
        for r in reqs:
            fut = loop.create_future()
            q.items.append((r, fut))
            futures.append(fut)
        return list(await asyncio.gather(*futures))

    def pending(self) -> int:
        return sum(len(q.items) for q in self._queues.values())

    async def settle(self) -> None:
        """Let every runnable coroutine advance until the set of pending requests stops growing."""
        last, stable = -1, 0
        while stable < 3:
            await asyncio.sleep(0)
            n = self.pending()
            stable = stable + 1 if n == last else 0
            last = n

    async def dispatch_one(self) -> bool:
        """Send the most useful batch: a queue left waiting too long, else the fullest."""
        live = [q for q in self._queues.values() if q.items]
        if not live:
            return False
        starved = [q for q in live if q.waited >= 4]
        q = max(starved or live, key=lambda q: q.waited if starved else len(q.items))
        for other in live:
            other.waited += other is not q
        q.waited = 0
        batch, q.items = q.items[: q.model.max_batch], q.items[q.model.max_batch :]
        requests = [r for r, _ in batch]
        self.batches.append((q.model.spec, q.op, len(batch)))
        try:
            call = q.model.generate if q.op == "generate" else q.model.score
            results = await call(requests)
        except BaseException as e:  # the waiting coroutines get the error and decide
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(e)
            if not isinstance(e, Exception):
                raise
            return True
        for (_, fut), res in zip(batch, results):
            if not fut.done():
                fut.set_result(res)
        if self.on_batch:
            self.on_batch(q.model.spec, q.op, len(batch))
        return True

    async def run(self, coros: list[Coroutine]) -> list[Any]:
        """Run coroutines to completion while batching their requests (used by tests and bench)."""
        tasks = [asyncio.ensure_future(c) for c in coros]
        while not all(t.done() for t in tasks):
            await self.settle()
            if not await self.dispatch_one():
                await asyncio.wait([t for t in tasks if not t.done()], timeout=0.01)
        return [t.result() for t in tasks]
