"""The "choice" update's cost: prompt-shared span scores against one prompt + span pass per span.

    python bench/train_update.py [--samples 8] [--pairs 2] [--threads N] [--full] [--bf16]

Samples are the default `debate train` config's at generation 1 (task n_items=8, both answers,
the policy in both roles, group_size=4 forks: 256 chosen spans), built from real matches whose
choices are drawn uniformly and judged by the oracle (no model is run to build them, so the
advantages, all zero under the oracle, are drawn at random instead). Each way runs the update
(`reinforce_update`, the default LoRA on SmolLM2-135M) in its own process on the first
`--samples` samples, old and new alternately in `--pairs` pairs, and reports wall seconds, CPU
seconds and the process's peak RSS (model load and save included), then the median old/new
ratio. `--full` also runs the new way on all samples; `--bf16` the new way under bf16 autocast.

The old computation (prompt + span, right padded, one row per span) lives here as the
reference; `debate.training.reinforce.span_logprobs` is the new one.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch


def old_span_logprobs(model, tokenizer, prompt: str, spans: list[str]) -> torch.Tensor:
    """The computation before issue 15: the whole prompt once per span, with gradients."""
    stripped = prompt.rstrip(" ")
    lead = prompt[len(stripped) :]
    ctx = tokenizer(stripped, add_special_tokens=False)["input_ids"]
    conts = [tokenizer(lead + s, add_special_tokens=False)["input_ids"] for s in spans]
    width = len(ctx) + max(map(len, conts))
    ids = torch.full((len(spans), width), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, c in enumerate(conts):
        ids[i, : len(ctx) + len(c)] = torch.tensor(ctx + c)
        mask[i, : len(ctx) + len(c)] = 1
    keep = width - len(ctx) + 1
    logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits.float()
    logp = torch.log_softmax(logits, dim=-1)
    out = [logp[i, : len(c)].gather(1, torch.tensor(c).unsqueeze(1)).sum() for i, c in
           enumerate(conts)]  # fmt: skip
    return torch.stack(out)


def build_samples(path: Path) -> None:
    """The default config's generation-1 samples, written as JSON lines."""
    import debate.match.actions as actions
    from debate.config import JudgeConfig
    from debate.match.judge import make_judge
    from debate.run.runner import load_items
    from debate.training import rollouts
    from debate.training.config import TrainConfig
    from debate.training.league import LeagueState, Member
    from debate.training.loop import play_config, policy_at
    from debate.training.reinforce import choice_samples

    async def uniform(m, role, sees, spans):  # no model call: every span equally likely
        return [0.0] * len(spans)

    actions.self_scores = uniform
    cfg = TrainConfig()
    cfg = cfg.model_copy(update={"judge": JudgeConfig(kind="oracle")})
    policy = policy_at(cfg, 0)
    league = LeagueState(members=[Member(name="gen-0", model=cfg.policy.model, generation=0)])
    opponents = league.opponents(cfg.league.opponents, policy, 3, random.Random(0))
    items = load_items(cfg.task.name, cfg.task.n_items, cfg.task.seed, {"offset": 0})
    groups = asyncio.run(
        rollouts.forked_rollouts(play_config(cfg), items, policy, opponents,
                                 make_judge(cfg.judge), cfg.update.group_size, 1)
    )  # fmt: skip
    rng = random.Random(0)
    with path.open("w") as f:
        for s in choice_samples(groups, policy.model):
            s.advantage = rng.choice([-1, 1]) * rng.uniform(0.05, 0.5)
            f.write(s.model_dump_json() + "\n")


def run_update(samples_file: str, n: int, way: str, bf16: bool) -> dict:
    """One update in this process; prints its costs as JSON."""
    import debate.training.reinforce as reinforce
    from debate.models import trainable_path
    from debate.training.config import TrainConfig

    if way == "old":
        reinforce.span_logprobs = old_span_logprobs
    lines = Path(samples_file).read_text().splitlines()[:n]
    samples = [reinforce.ChoiceSample.model_validate_json(x) for x in lines]
    cfg = TrainConfig()
    base = trainable_path(cfg.policy.model)
    wall, cpu = time.perf_counter(), time.process_time()
    with tempfile.TemporaryDirectory() as out, torch.autocast("cpu", torch.bfloat16, enabled=bf16):
        result = reinforce.reinforce_update(cfg, base, None, samples, Path(out), 1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(base)
    prompt_tokens = [len(reinforce.span_tokens(tokenizer, s.prompt, s.spans)[0]) for s in samples]
    return {
        "way": way + ("+bf16" if bf16 else ""),
        "samples": len(samples),
        "spans_per_sample": sum(len(s.spans) for s in samples) / len(samples),
        "prompt_tokens": round(sum(prompt_tokens) / len(samples), 1),
        "threads": torch.get_num_threads(),
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 3),
        "train_loss": round(result["train_loss"], 5),
    }


def child(samples_file: Path, n: int, way: str, bf16: bool = False) -> dict:
    cmd = [sys.executable, __file__, "--child", way, "--samples", str(n), "--file",
           str(samples_file)] + (["--bf16"] if bf16 else [])  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=8)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument("--full", action="store_true", help="also the new way on every sample")
    ap.add_argument("--bf16", action="store_true", help="also the new way under bf16 autocast")
    ap.add_argument("--threads", help="DEBATE_HARNESS_THREADS for the updates (default: by load)")
    ap.add_argument("--child", choices=["old", "new"])
    ap.add_argument("--file")
    args = ap.parse_args()
    if args.threads:
        os.environ["DEBATE_HARNESS_THREADS"] = args.threads  # the children inherit it
    if args.child:
        print(json.dumps(run_update(args.file, args.samples, args.child, args.bf16)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        samples_file = Path(tmp) / "samples.jsonl"
        build_samples(samples_file)
        total = len(samples_file.read_text().splitlines())
        print(f"{total} samples (default config, generation 1)")
        runs, ratios = [], []
        for k in range(args.pairs):  # old new, new old, ...: a noisy shared machine loads both
            ways = ("old", "new") if k % 2 == 0 else ("new", "old")
            pair = {w: child(samples_file, args.samples, w) for w in ways}
            runs += pair.values()
            ratios.append({m: pair["old"][m] / pair["new"][m] for m in ("wall_s", "cpu_s")})
        if args.bf16:
            runs.append(child(samples_file, args.samples, "new", bf16=True))
        if args.full:
            runs.append(child(samples_file, total, "new"))
        for r in runs:
            print(json.dumps(r))
        peak = {w: max(r["peak_rss_gib"] for r in runs if r["way"] == w and r["samples"] ==
                       args.samples) for w in ("old", "new")}  # fmt: skip
        median = {m: statistics.median(r[m] for r in ratios) for m in ("wall_s", "cpu_s")}
        print(f"old/new on {args.samples} samples, median of {args.pairs} pairs: wall "
              f"{median['wall_s']:.1f}x, CPU {median['cpu_s']:.1f}x; peak RSS {peak['old']:.2f} "
              f"-> {peak['new']:.2f} GiB")  # fmt: skip


if __name__ == "__main__":
    main()
