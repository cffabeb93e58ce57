"""The cost of a chosen-quote speech (`speech: choose`, `choose_by: judge`) against passage length.

    python bench/chosen_quote.py [--facts 4,50,100] [--repeats 3]

For a built-in item of N facts (one sentence each), Debater A chooses its quote by the default
judge (SmolLM2 cloze, quotes apart, both answer orders), then Debater B chooses its own, having
read A's. Per speech it prints: the candidates (the passage's sentences), the score requests
sent to the judge's model (all, and distinct), the speech's wall time, the part of it while the
judge's model had a call in flight, the rest (the harness alone: the passage read, quotes
checked, views built), and
the wall time per candidate. Linear cost means flat per-candidate figures as N grows. Each
repeat clears the model's score cache, so every one pays the full cost; the median is printed.

A second table times the harness's share alone, with no model: every candidate sentence checked
as a quote (`mark_quotes`) for passages of N sentences, up to a QuALITY-length 300 (built-in
items joined); per-candidate time flat as N grows means linear cost.

It uses only `Match.speak` and `mark_quotes`, so the same file measures an older version of
the harness too (`PYTHONPATH=/path/to/old/checkout python bench/chosen_quote.py`).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from debate.config import AgentConfig, RunConfig, TaskConfig
from debate.evidence import mark_quotes
from debate.match.judge import make_judge
from debate.match.match import Match
from debate.models import load_model
from debate.schema import Provenance, Transcript
from debate.tasks.hidden_passage import make_item


class Spy:
    """Counts the judge model's score requests, and the wall time while any is in flight (the
    real model still scores)."""

    def __init__(self, model):
        self.model, self.real = model, model.score
        self.requests: list = []
        self.seconds = 0.0
        self.in_flight, self.since = 0, 0.0
        model.score = self

    async def __call__(self, requests):
        if self.in_flight == 0:
            self.since = time.perf_counter()
        self.in_flight += 1
        try:
            return await self.real(requests)
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self.seconds += time.perf_counter() - self.since
            self.requests += requests


def one_match(n_facts: int) -> Match:
    cfg = RunConfig(task=TaskConfig(params={"n_facts": n_facts}),
                    debaters=[AgentConfig(name="smollm2", speech="choose", choose_by="judge")])  # fmt: skip
    item = make_item(0, 0, n_facts=n_facts)
    agents = {"A": cfg.debaters[0], "B": cfg.debaters[0]}
    t = Transcript(
        match_id=f"bench-{n_facts}", item=item, protocol="sequential",
        assignment={"A": 0, "B": 1}, agents={"A": "smollm2", "B": "smollm2"},
        provenance=Provenance(package_version="bench", protocol={}, agents={}, judge={}, seed=0),
        seed=0,
    )  # fmt: skip
    return Match(t, cfg, agents, make_judge(cfg.judge))


async def speeches(n_facts: int, spy: Spy) -> list[dict]:
    m = one_match(n_facts)
    rows = []
    for role in ("A", "B"):
        spy.requests, spy.seconds = [], 0.0
        start = time.perf_counter()
        turn = await m.speak(role, 0)
        wall = time.perf_counter() - start
        keys = {(str(r.prompt), r.continuation) for r in spy.requests}
        n = len(turn.choice.spans)
        rows.append({"speech": role, "candidates": n, "requests": len(spy.requests),
                     "distinct": len(keys), "wall": wall, "model": spy.seconds,
                     "harness": wall - spy.seconds})  # fmt: skip
    return rows


def harness_only(sizes: list[int]) -> None:
    """Every sentence of a passage of N sentences checked as a quote, timed (best of 3)."""
    print(f"\n{'sentences':>9} {'check all s':>11} {'us/cand':>8}", flush=True)
    for n in sizes:
        parts = [make_item(1, k, n_facts=100).context for k in range(-(-n // 100))]
        sentences = " ".join(parts).split(". ")[:n]
        passage = ". ".join(sentences).rstrip(".") + "."
        spans = [s.rstrip(".") + "." for s in sentences]
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for span in spans:
                mark_quotes(f"<quote>{span}</quote>", passage)
            best = min(best, time.perf_counter() - start)
        print(f"{n:>9} {best:>11.3f} {1e6 * best / n:>8.0f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--facts", default="4,50,100")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--harness-only", action="store_true", help="only the table with no model")
    args = ap.parse_args()
    harness_only([4, 50, 100, 300])
    if args.harness_only:
        return
    model = load_model("smollm2")
    spy = Spy(model)
    print(f"{'facts':>5} {'speech':>6} {'cands':>5} {'requests':>8} {'distinct':>8} "
          f"{'wall s':>7} {'model s':>7} {'harness s':>9} {'ms/cand':>7}")  # fmt: skip
    for n in [int(x) for x in args.facts.split(",")]:
        runs = []
        for _ in range(args.repeats):
            getattr(model, "clear_score_cache", lambda: None)()
            runs.append(asyncio.run(speeches(n, spy)))
        for k in range(len(runs[0])):
            r = {key: statistics.median(run[k][key] for run in runs)
                 for key in ("candidates", "requests", "distinct", "wall", "model", "harness")}  # fmt: skip
            print(f"{n:>5} {runs[0][k]['speech']:>6} {r['candidates']:>5.0f} {r['requests']:>8.0f} "
                  f"{r['distinct']:>8.0f} {r['wall']:>7.2f} {r['model']:>7.2f} "
                  f"{r['harness']:>9.3f} {1000 * r['wall'] / r['candidates']:>7.1f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
