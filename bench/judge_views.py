"""What the judge makes of the same debates under each view option, side by side.

    python bench/judge_views.py RUN_ARM_FOLDER [RUN_ARM_FOLDER ...]

Re-judges the saved transcripts of finished arms (e.g. `runs/eval-protocols/arms/sequential`)
under every combination of `judge.reads` (evidence, speeches), `judge.attribute` (quotes named
by the side that quoted them) and `judge.evidence_order` (given, both: also read last to first),
with the run's own judge model; a cloze judge also reads the evidence apart (`judge.params.quotes`:
each quote alone, weighted by its relevance to the question).
The speeches are fixed, so only the view changes. Items are split in two by id: the first half
picks the best view, the second half reports it (held out), each with a 95% bootstrap interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sys
from pathlib import Path

from debate.config import RunConfig
from debate.match.judge import make_judge
from debate.match.match import Match
from debate.run.engine import gather_limited
from debate.runfolder import RunFolder
from debate.stats.estimates import boot_mean

# The answer order (`judge.orders`) stays the run's: a cloze judge lists no answers, so for it
# the two orders are the same prompt (measured: identical accuracy in every arm).
VIEWS = [
    {"reads": r, "attribute": a, "evidence_order": o}
    for r, a, o in itertools.product(("evidence", "speeches"), (False, True), ("given", "both"))
    if not (r == "speeches" and a)  # speeches already name their speaker's answer
]
APART = {"reads": "evidence", "attribute": False, "evidence_order": "given",
         "params": {"quotes": "apart"}}  # fmt: skip


def views(kind: str) -> list[dict]:
    if kind != "cloze":
        return VIEWS
    return [{**v, "params": {"quotes": "together"}} for v in VIEWS] + [APART]


def half(item_id: str) -> int:
    return hashlib.sha256(item_id.encode()).digest()[0] % 2


def rejudge(folder: Path, view: dict) -> dict[str, float]:
    cfg = RunConfig(**_yaml(folder))
    cfg = cfg.model_copy(update={"judge": cfg.judge.model_copy(update=view)})
    judge = make_judge(cfg.judge)
    agents = {a.name: a for a in cfg.debaters}
    correct: dict[str, float] = {}

    async def one(t) -> None:
        t = t.model_copy(deep=True)
        m = Match(t, cfg, {r: agents[n] for r, n in t.agents.items()}, judge)
        v = await m.decide()
        correct[t.match_id] = float(v.choice == t.item.correct)

    asyncio.run(gather_limited((one(t) for t in RunFolder(folder).read_transcripts()), 32))
    return correct


def _yaml(folder: Path) -> dict:
    import yaml

    return yaml.safe_load((folder / "config.yaml").read_text())


def main(folders: list[str]) -> None:
    for folder in map(Path, folders):
        print(f"\n{folder}")
        rows = []
        for view in views(RunConfig(**_yaml(folder)).judge.kind):
            got = rejudge(folder, view)
            split = [[v for k, v in got.items() if half(k.split("/")[0]) == h] for h in (0, 1)]
            pick, held = boot_mean(split[0]), boot_mean(split[1])
            rows.append((view, pick, held))
            print(
                f"{view}: choose-half {pick['value']:.1%} (n={pick['n']}) | held-out half "
                f"{held['value']:.1%} ({held['ci95'][0]:.1%}-{held['ci95'][1]:.1%}, n={held['n']})"
            )
        best = max(rows, key=lambda r: r[1]["value"])
        print(f"best on the choosing half: {best[0]}; held out: {best[2]['value']:.1%}")


if __name__ == "__main__":
    main(sys.argv[1:])
