"""The tournament harness's own CPU cost per match, as the line-up grows.

    python bench/tournament_overhead.py [--debaters 4 8 12] [--items 10] [--schedule round-robin]

Scripted debaters (cycling through the scripted agents) and the oracle judge cost next to
nothing, so what is measured is the harness: planning, playing, writing transcripts, the
ratings with their bootstrap, the report and its plots. A round robin's matches grow as the
square of the debaters; the cost per match should not grow with them. Each tournament runs in
its own process (a fresh interpreter, as a user runs it) and reports its CPU seconds (user +
system, every thread), its wall time, and the CPU seconds spent in the ratings fits.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from debate.stats.estimates import ratings
from debate.stats.estimates import standings
from debate.config import AgentConfig, JudgeConfig, ScheduleConfig, TaskConfig, TournamentConfig
from debate.run.tournament import run_tournament

n, items, schedule, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
agents = ["honest", "liar", "random", "assert"]
spent = {"fit": 0.0}
fit = ratings.fit

def timed_fit(*a, **k):
    t = time.process_time()
    try:
        return fit(*a, **k)
    finally:
        spent["fit"] += time.process_time() - t

standings.fit = timed_fit
cfg = TournamentConfig(
    name=f"bench-{n}", out=out, judge=JudgeConfig(kind="oracle"),
    debaters=[AgentConfig(name=f"d{k}", model=f"scripted:{agents[k % 4]}") for k in range(n)],
    task=TaskConfig(n_items=items), schedule=ScheduleConfig(kind=schedule),
)
usage = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
c0, w0 = usage(), time.perf_counter()
result = run_tournament(cfg)
print(json.dumps({"matches": result["n_matches"], "cpu_s": usage() - c0,
                  "wall_s": time.perf_counter() - w0, "fit_cpu_s": spent["fit"],
                  "report_error": result.get("report_error")}))
"""


def measure(n: int, items: int, schedule: str) -> dict:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run(
            [sys.executable, "-c", CHILD, str(n), str(items), schedule, out],
            capture_output=True, text=True, cwd=out,  # the code on sys.path, not the cwd's
        )  # fmt: skip
    if proc.returncode != 0:
        sys.exit(f"the {n}-debater tournament failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--debaters", type=int, nargs="+", default=[4, 8, 12])
    ap.add_argument("--items", type=int, default=10)
    ap.add_argument("--schedule", default="round-robin", choices=["round-robin", "swiss"])
    args = ap.parse_args()
    print(f"{args.schedule}, {args.items} items, scripted debaters, oracle judge")
    print("debaters | matches | CPU s | wall s | ratings CPU s | CPU ms per match")
    rows = []
    for n in args.debaters:
        r = measure(n, args.items, args.schedule)
        rows.append(r)
        per = 1000 * r["cpu_s"] / r["matches"]
        print(f"{n:8d} | {r['matches']:7d} | {r['cpu_s']:5.1f} | {r['wall_s']:6.1f} | "
              f"{r['fit_cpu_s']:13.2f} | {per:16.2f}" + (f"  REPORT FAILED: {r['report_error']}"
              if r["report_error"] else ""))  # fmt: skip
    first, last = rows[0], rows[-1]
    ratio = (last["cpu_s"] / last["matches"]) / (first["cpu_s"] / first["matches"])
    print(f"CPU per match at {args.debaters[-1]} debaters / at {args.debaters[0]}: {ratio:.2f}x")


if __name__ == "__main__":
    main()
