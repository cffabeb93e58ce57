"""API throughput: the harness against a plain asyncio-plus-semaphore client, one server.

    python bench/api_throughput.py [--matches 256] [--concurrency 64] [--judge-concurrency 64 16]
                                   [--mean 0.5] [--sigma 1.2]

A local OpenAI-compatible server (fakes.provider) answers with lognormal latency. Both
sides play the same workload: per match, a 2-round sequential debate (4 speeches in order) then
one verdict from the judge; debaters and judge are two model specs, with `concurrency` and
`judge-concurrency` slots (one workload per judge setting).
1. the harness: `debate.runner.run` with a RunConfig (every match live, cache off);
2. the baseline: each match its own coroutine, one asyncio.Semaphore per model around each
   request, one httpx client per model.
Prints both wall times, harness/baseline throughput (target >= 0.95) and the server's peak
in-flight count (target: the sum of the two models' slots).

With 64 judge slots the sum is out of reach for any client: a match calls the judge once per four
speeches, so while the debaters' 64 slots are busy the judge has about 64/4 calls waiting (Little's
law), and at the end, when judge calls pile up, the debaters' queue is draining. With 16 judge
slots the judge's queue is long while the debaters are still busy, and a client that lets both
models run at their own pace reaches 64 + 16.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.models import cache
from debate.run import runner

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake provider
from fakes.provider import FakeProvider  # noqa: E402

SPEECH_TOKENS, VERDICT_TOKENS, ROUNDS = 48, 96, 2


def harness(url: str, matches: int, concurrency: int, judge_slots: int, out: str) -> float:
    cfg = RunConfig(
        name="bench",
        out=out,
        max_live=matches,
        task=TaskConfig(n_items=matches // 2),  # both sides of every item: 2 matches an item
        protocol=ProtocolConfig(name="sequential", rounds=ROUNDS, speech_tokens=SPEECH_TOKENS),
        debaters=[AgentConfig(name="d", model=f"openai:debater@{url}?concurrency={concurrency}")],
        judge=JudgeConfig(
            kind="verdict",
            model=f"openai:judge@{url}?concurrency={judge_slots}",
            params={"max_new_tokens": VERDICT_TOKENS},
        ),
    )
    start = time.perf_counter()
    with cache.disabled():
        result = runner.run(cfg)
    wall = time.perf_counter() - start
    assert result["n_matches"] == matches, result["n_matches"]
    return wall


async def baseline(url: str, matches: int, concurrency: int, judge_slots: int) -> float:
    n_slots = {"debater": concurrency, "judge": judge_slots}
    slots = {m: asyncio.Semaphore(n) for m, n in n_slots.items()}
    clients = {
        m: httpx.AsyncClient(
            timeout=120, limits=httpx.Limits(max_connections=n, max_keepalive_connections=n)
        )
        for m, n in n_slots.items()
    }

    async def ask(model: str, text: str, max_tokens: int, seed: int) -> str:
        body = {
            "model": model,
            "messages": [{"role": "user", "content": text}],
            "max_tokens": max_tokens,
            "temperature": 0.7 if model == "debater" else 0.0,
            "seed": seed,
        }
        async with slots[model]:
            resp = await clients[model].post(f"{url}/chat/completions", json=body)
        return resp.json()["choices"][0]["message"]["content"]

    async def match(i: int) -> None:
        history = f"match {i}: argue your side."
        for turn in range(2 * ROUNDS):
            history += "\n" + await ask("debater", history, SPEECH_TOKENS, i * 10 + turn)
        await ask("judge", history + "\nFinal answer?", VERDICT_TOKENS, i)

    start = time.perf_counter()
    await asyncio.gather(*(match(i) for i in range(matches)))
    wall = time.perf_counter() - start
    for c in clients.values():
        await c.aclose()
    return wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--matches", type=int, default=256)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--judge-concurrency", type=int, nargs="+", default=[64, 16])
    ap.add_argument("--mean", type=float, default=0.5)
    ap.add_argument("--sigma", type=float, default=1.2)
    a = ap.parse_args()
    print(
        f"{a.matches} matches of {ROUNDS}-round sequential debate + verdict, debaters "
        f"{a.concurrency} slots, lognormal latency mean {a.mean} s sigma {a.sigma}"
    )
    for judge_slots in a.judge_concurrency:
        out = tempfile.mkdtemp()
        try:
            with FakeProvider(latency_mean_s=a.mean, latency_sigma=a.sigma, seed=0) as server:
                # untimed: the first run in a process imports what a run needs (reports, plots:
                # seconds of startup a user pays once), which is not throughput
                harness(server.url, 2, a.concurrency, judge_slots, out + "/warm")
                server.reset()
                base_wall = asyncio.run(baseline(server.url, a.matches, a.concurrency, judge_slots))
                base_peak, base_n = server.peak_in_flight, server.n_requests
                server.reset()
                harness_wall = harness(server.url, a.matches, a.concurrency, judge_slots, out)
                harness_peak, harness_n = server.peak_in_flight, server.n_requests
        finally:
            shutil.rmtree(out)
        limit = a.concurrency + judge_slots
        print(f"judge {judge_slots} slots:")
        print(f"  baseline: {base_wall:6.1f} s, {base_n} requests, peak in flight {base_peak}")
        print(f"  harness:  {harness_wall:6.1f} s, {harness_n} requests, peak in flight "
              f"{harness_peak}")  # fmt: skip
        print(
            f"  harness/baseline throughput = {base_wall / harness_wall:.2f} (target >= 0.95); "
            f"peak in flight {harness_peak} of {limit} (baseline {base_peak})"
        )


if __name__ == "__main__":
    main()
