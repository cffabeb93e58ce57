"""`debate mnist ...`: train the sparse judge, evaluate pixel debaters as the paper does, train a
pixel policy by self-play."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from debate.cli.shared import console, fail
from debate.registry import register

app = register("command", "mnist")(
    typer.Typer(add_completion=False, help="Irving et al.'s MNIST pixel debate.")
)


def _errors():
    from debate.pixels.data import MissingData
    from debate.pixels.debaters import DebaterError
    from debate.pixels.store import NoJudge

    return (MissingData, DebaterError, NoJudge, ValueError)


@app.command("train-judge")
def train_judge(
    k: int = typer.Option(6, help="pixels the judge sees"),
    hidden: int = typer.Option(256, help="hidden units"),
    steps: int = typer.Option(8000, help="training steps"),
    batch: int = typer.Option(256, help="images a step"),
    lr: float = typer.Option(2e-3, help="Adam learning rate (cosine-annealed)"),
    seed: int = typer.Option(0),
    train_images: int | None = typer.Option(None, help="first N training images (default all)"),
    test_images: int = typer.Option(10_000, help="test images to measure accuracy on"),
    out: Path | None = typer.Option(None, help="file to write (default: the cached judge for k)"),
) -> None:
    """Train the sparse judge on random nonzero pixels and report its test accuracy."""
    try:
        import torch

        from debate.pixels import data, judge_net
        from debate.pixels.store import judge_path

        torch.set_num_threads(1)
        cfg = judge_net.JudgeTraining(k=k, hidden=hidden, steps=steps, batch=batch, lr=lr,
                                      seed=seed, train_images=train_images)  # fmt: skip
        net, seconds = judge_net.train(cfg, log=lambda s: console.print(s, highlight=False))
        images, labels = data.load("test", limit=test_images)
        acc = judge_net.accuracy(net, images, labels, k)
        path = out or judge_path(k)
        judge_net.save(net, cfg, path)
    except _errors() as e:
        fail(str(e))
    console.print(
        f"judge k={k}: {acc:.1%} on {len(labels)} test images from {k} random nonzero pixels "
        f"(trained {seconds:.0f} s) -> {path}", highlight=False,
    )  # fmt: skip


@app.command("eval")
def evaluate(
    k: int = typer.Option(6, help="pixels revealed (the judge trained for k is used)"),
    debaters: str = typer.Option("random,greedy", help="comma-separated debater specs"),
    images: int = typer.Option(100, help="test images (each against all 9 lies, both orders)"),
    offset: int = typer.Option(0, help="first test image"),
    baseline: str = typer.Option("greedy", help="the debater every other is paired against"),
    weights: str | None = typer.Option(None, help="judge file (default: the cached one for k)"),
    seed: int = typer.Option(0),
    out: Path | None = typer.Option(None, help="write every image's outcomes here (JSON)"),
) -> None:
    """Debate each test image against all 9 lies, both speaking orders, each debater kind in
    self-play; the truth wins an image only by winning all 9."""
    try:
        from debate.pixels import data
        from debate.pixels import evaluate as ev
        from debate.pixels.store import load_judge

        judge = load_judge(k, weights)
        specs = [s.strip() for s in debaters.split(",") if s.strip()]
        kinds = {s: ev.make_debater(s) for s in specs}
        x, y = data.load("test", limit=offset + images)
        x, y = x[offset:], y[offset:]
        results = {}
        for spec, d in kinds.items():
            results[spec] = ev.evaluate(judge, x, y, d, d, seed=seed, first_index=offset)
            acc = ev.accuracy(results[spec])
            console.print(f"{spec:>24}  " + "  ".join(
                f"{o}: {a['value']:.1%} [{a['ci95'][0]:.1%}, {a['ci95'][1]:.1%}]"
                for o, a in acc.items()), highlight=False, soft_wrap=True)  # fmt: skip
        if baseline in results:
            for spec in (s for s in results if s != baseline):
                diff = ev.paired(results[spec], results[baseline])
                console.print(f"{spec} - {baseline}:  " + "  ".join(
                    f"{o}: {d['value']:+.1%} [{d['ci95'][0]:+.1%}, {d['ci95'][1]:+.1%}] "
                    f"p={d['sign_test_p']:.3g}" for o, d in diff.items()), highlight=False, soft_wrap=True)  # fmt: skip
    except _errors() as e:
        fail(str(e))
    if out:
        blob = {s: [o.model_dump() for o in r] for s, r in results.items()}
        out.write_text(json.dumps({"schema_version": 1, "k": k, "results": blob}))


@app.command("train-policy")
def train_policy(
    k: int = typer.Option(6, help="pixels revealed (the judge trained for k is the reward)"),
    steps: int = typer.Option(200, help="policy-gradient steps"),
    images: int = typer.Option(8, help="game groups a step"),
    samples: int = typer.Option(4, help="sampled games a group (leave-one-out baseline)"),
    lr: float = typer.Option(3e-3),
    seed: int = typer.Option(0),
    weights: str | None = typer.Option(None, help="judge file (default: the cached one for k)"),
    out: Path = typer.Option(..., help="policy file to write; debate with it as policy@FILE"),
) -> None:
    """Train a pixel policy by self-play: REINFORCE on each chosen pixel, the judge's final
    probability for the debater's claim the only reward."""
    try:
        from debate.pixels import policy
        from debate.pixels.store import load_judge

        judge = load_judge(k, weights)
        cfg = policy.PolicyTraining(k=k, steps=steps, images=images, samples=samples, lr=lr,
                                    seed=seed)  # fmt: skip
        net, seconds = policy.train(judge, cfg, log=lambda s: console.print(s, highlight=False))
        policy.save(net, cfg, out)
    except _errors() as e:
        fail(str(e))
    console.print(f"policy trained in {seconds:.0f} s -> {out} (use it as policy@{out})",
                  highlight=False, soft_wrap=True)  # fmt: skip
