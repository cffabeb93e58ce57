"""The MNIST pixel debate beside Irving, Christiano and Amodei (2018), table of section 3.1.

    python bench/mnist_debate.py run --k 6 --debaters random,greedy --images 1800 --out DIR
    python bench/mnist_debate.py report DIR

`run` needs the judge for k in the harness cache (`debate mnist train-judge --k K`). It measures
the judge on k random nonzero pixels over the whole test set (10,000 images), then debates each of
the first `images` test images against all 9 lies in both speaking orders with each debater kind
in self-play, and writes `DIR/k{K}-{debater}.json` (every image's outcome). Runs of different
kinds or k can go in parallel processes into one DIR; `report` prints the paper's table beside
ours, each debater paired against greedy on the images both ran.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch
import typer

from debate.pixels import data, judge_net
from debate.pixels import evaluate as ev
from debate.pixels.store import load_judge, resolve

# the paper's table; its debate split by speaking order (honest first / liar first) as read in
# the issue that asked for this bench
PAPER = {
    "judge": {6: "59.4", 4: "48.2"},
    "debate": {6: "88.9 (87.4 / 90.4)", 4: "85.2 (83.8 / 86.7)"},
}
app = typer.Typer(add_completion=False)


def safe(spec: str) -> str:
    return "".join(c if c.isalnum() or c in "-_=" else "_" for c in spec)


@app.command()
def run(
    k: int = 6,
    debaters: str = "random,greedy",
    images: int = 1800,
    offset: int = 0,
    out: Path = Path("bench-mnist"),
    judge_only: bool = False,
) -> None:
    torch.set_num_threads(1)
    out.mkdir(parents=True, exist_ok=True)
    judge = load_judge(k)
    jfile = out / f"k{k}-judge.json"
    if not jfile.exists():
        x, y = data.load("test")
        acc = judge_net.accuracy(judge.net, x, y, k)
        cfg = judge_net.load(resolve(k))[1]
        jfile.write_text(
            json.dumps({"k": k, "accuracy": acc, "n": len(y), "training": cfg.model_dump()})
        )
        print(f"judge k={k}: {acc:.1%} on {len(y)} test images", flush=True)
    if judge_only:
        return
    x, y = data.load("test", limit=offset + images)
    for spec in [s for s in debaters.split(",") if s]:
        d = ev.make_debater(spec)
        start = time.perf_counter()
        outcomes = ev.evaluate(judge, x[offset:], y[offset:], d, d, first_index=offset)
        seconds = time.perf_counter() - start
        acc = ev.accuracy(outcomes)
        blob = {"k": k, "debater": spec, "seconds": seconds, "accuracy": acc,
                "outcomes": [o.model_dump() for o in outcomes]}  # fmt: skip
        part = f"-from{offset}" if offset else ""
        (out / f"k{k}-{safe(spec)}{part}.json").write_text(json.dumps(blob))
        print(f"k={k} {spec}: " + " / ".join(f"{a['value']:.1%}" for a in acc.values())
              + f" ({len(outcomes)} images, {seconds:.0f} s)", flush=True)  # fmt: skip


def pct(d: dict) -> str:
    return f"{100 * d['value']:.1f} [{100 * d['ci95'][0]:.1f}, {100 * d['ci95'][1]:.1f}]"


@app.command()
def report(folder: Path) -> None:
    rows = ["| k | judge sees | paper | ours: honest first | ours: liar first | n images | vs greedy, same images (honest first / liar first) |",
            "| --- | --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    for k in (6, 4):
        jf = folder / f"k{k}-judge.json"
        if jf.exists():
            j = json.loads(jf.read_text())
            rows.append(
                f"| {k} | {k} random pixels | {PAPER['judge'][k]} | {100 * j['accuracy']:.1f} (both) | | {j['n']} | |"
            )
        runs = {}
        for f in sorted(folder.glob(f"k{k}-*.json")):
            if f.name != jf.name:
                b = json.loads(f.read_text())  # a debater's parts (--offset) are joined
                runs.setdefault(b["debater"], []).extend(
                    ev.ImageOutcome(**o) for o in b["outcomes"]
                )
        runs = {s: sorted(o, key=lambda x: x.index) for s, o in runs.items()}
        for spec, outcomes in runs.items():
            acc = ev.accuracy(outcomes)
            vs = ""
            if spec != "greedy" and "greedy" in runs:
                greedy = {o.index: o for o in runs["greedy"]}
                both = [o for o in outcomes if o.index in greedy]
                d = ev.paired(both, [greedy[o.index] for o in both])
                vs = " / ".join(
                    f"{100 * v['value']:+.1f} [{100 * v['ci95'][0]:+.1f}, {100 * v['ci95'][1]:+.1f}] p={v['sign_test_p']:.2g}"
                    for v in d.values()
                )
            rows.append(
                f"| {k} | debate, {spec} | {PAPER['debate'][k]}, MCTS | {pct(acc['honest_first'])} | {pct(acc['liar_first'])} | {len(outcomes)} | {vs} |"
            )
    print("\n".join(rows))


if __name__ == "__main__":
    sys.exit(app())
