"""Speed of the embedded model (SmolLM2-135M on this machine's CPU), as paired ratios that hold
on a machine shared with other jobs.

    python bench/throughput.py [--reps 2] [--items 8] [--tokens 16] [--batch 32]   (~7 min)

Every comparison interleaves its sides (A B B A ...) and prints the median of the per-pair ratios
with their range, so load that comes and goes hits both sides alike. Engine comparisons use the
process's CPU seconds (other jobs' load moves wall time far more), and wall time beside them.
Rates are given as a share of the large-matmul rate measured in the same run for the same dtype
(the compute ceiling), both per CPU second; the work is counted as 2 FLOP per linear weight
(lm_head included) per token of prompt and speech, which overstates a prefill that computes
logits for its last position only: `bench/baselines.py` counts what each pass computes, and
compares against transformers' own `generate` and a plain forward pass. The benchmark re-runs itself with sleeping OpenMP
waits (OMP_WAIT_POLICY=PASSIVE, the package default), which must be set before torch loads.

1. `debate run` (default config, shrunk to --items items and --tokens speech tokens): today's
   engine (fp32, `generate`, every prompt computed per answer) against the new one, in fp32
   (the same judge picks are asserted) and in the dtype `auto` picks.
2. generation of --batch first speeches, and the default judge's scoring of --batch views.
3. torch threads: 1 against the usable cores, wall time, in child processes with OpenMP
   threads that sleep while waiting (the package default) and with spinning ones.
4. the peak memory of `debate run` at its defaults, run as a user runs it (its own process).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

import torch
from ceiling import hardware_line, matmul_ceiling

from debate.config import JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.judges.scored import ClozeJudge
from debate.match.judge import Case
from debate.match.prompts import debater_prompt
from debate.models import GenerationRequest, ScoreRequest, smollm2_gguf
from debate.models.hardware import DTYPE_NAMES, configure_threads, usable_cores
from debate.models.hf import HFModel
from debate.run import runner
from debate.runfolder import RunFolder
from debate.schema import Sampling
from debate.tasks.hidden_passage import hidden_passage


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """CPU seconds of this process (all its threads) and the result."""
    start = time.process_time()
    out = fn()
    return time.process_time() - start, out


def wall_timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def paired(sides: dict[str, Callable[[], object]], reps: int, clock=timed) -> dict[str, list]:
    """Run every side once per rep, the order reversed every other rep; (seconds, result)."""
    names = list(sides)
    runs: dict[str, list] = {n: [] for n in names}
    for rep in range(reps):
        for n in names if rep % 2 == 0 else names[::-1]:
            runs[n].append(clock(sides[n]))
    return runs


def ratio_line(label: str, num: list[float], den: list[float]) -> str:
    r = [a / b for a, b in zip(num, den)]
    return (
        f"{label:<52} median {statistics.median(r):5.2f}x  range {min(r):.2f}-{max(r):.2f}"
        f"  (n={len(r)})"
    )


def matmul_gflops(dtype: torch.dtype) -> float:
    return matmul_ceiling(dtype)[0]


def linear_params(model: HFModel) -> int:
    """Weights that take part in a matmul per token (the embedding lookup does not; the tied
    output layer does): the model's cost is 2 FLOP per such weight per token."""
    return sum(m.weight.numel() for m in model.model.modules() if isinstance(m, torch.nn.Linear))


def smollm2(dtype: str, today: bool) -> HFModel:
    model = HFModel("smollm2", "", gguf_file=smollm2_gguf(), dtype=dtype)
    model.share_prefix = model.drop_finished_rows = not today
    return model


def debate_run(model: HFModel, items: int, tokens: int, out: str) -> list[int]:
    """The default `debate run` with the given model standing in for `smollm2`; judge picks."""
    import debate.models as models

    models._loaded["smollm2"] = model
    model.clear_score_cache()
    name = f"r{time.perf_counter_ns()}"
    cfg = RunConfig(
        name=name,
        out=out,
        task=TaskConfig(n_items=items),
        protocol=ProtocolConfig(speech_tokens=tokens),
    )
    runner.run(cfg)
    ts = sorted(RunFolder(cfg.run_dir).read_transcripts(), key=lambda t: t.match_id)
    return [t.verdict.choice for t in ts]


def speech_requests(n: int, tokens: int) -> list[GenerationRequest]:
    reqs = []
    for i, item in enumerate(hidden_passage(n, seed=1)):
        msgs, prefill = debater_prompt(item, "consultant", 0, [], "quote", tokens)
        sampling = Sampling(max_new_tokens=tokens)
        reqs.append(GenerationRequest(prompt=msgs, prefill=prefill, seed=i, sampling=sampling))
    return reqs


def judge_requests(n: int) -> list[ScoreRequest]:
    judge = ClozeJudge(JudgeConfig())
    reqs = []
    for item in hidden_passage(n, seed=2):
        view = judge.view(Case(item, [], sees_context=True), labelled=False)
        prompt = judge.as_prompt(view, "What is the correct answer to the question?")
        reqs += [
            ScoreRequest(prompt=prompt, continuation=f"The correct answer is {a}")
            for a in item.answers
        ]
    return reqs


def bench_run(a: argparse.Namespace, auto: HFModel, today: HFModel, fp32: HFModel) -> None:
    out = tempfile.mkdtemp()

    def both_clocks(model: HFModel) -> Callable[[], tuple[float, list[int]]]:
        return lambda: wall_timed(lambda: debate_run(model, a.items, a.tokens, out))

    sides = {
        "today": both_clocks(today),
        "new_fp32": both_clocks(fp32),
        "new_auto": both_clocks(auto),
    }
    runs = paired(sides, a.reps)
    t = {k: [s for s, _ in v] for k, v in runs.items()}
    wall = {k: [w for _, (w, _) in v] for k, v in runs.items()}
    picks = {k: [p for _, (_, p) in v] for k, v in runs.items()}
    same = all(p == picks["today"][0] for p in picks["today"] + picks["new_fp32"])
    agree = sum(x == y for x, y in zip(picks["today"][0], picks["new_auto"][0]))
    n = len(picks["today"][0])
    print(f"debate run: {n} matches, {a.tokens}-token speeches, cloze judge; CPU s (wall s):")
    for k, v in t.items():
        print(f"  {k:<9} " + " ".join(f"{c:6.1f} ({w:5.1f})" for c, w in zip(v, wall[k])))
    print(ratio_line("debate run speed-up, new fp32 vs today", t["today"], t["new_fp32"]))
    print(
        ratio_line(f"debate run speed-up, new {dtype_of(auto)} vs today", t["today"], t["new_auto"])
    )
    print(ratio_line(f"  same, wall time, new {dtype_of(auto)}", wall["today"], wall["new_auto"]))
    print(f"  judge picks: new fp32 = today in every run: {same}; new {dtype_of(auto)} agrees on "
          f"{agree}/{n} (different dtype, different speeches)")  # fmt: skip
    assert same, "the fp32 engine changed the judge's picks"


def dtype_of(model: HFModel) -> str:
    return DTYPE_NAMES[model.model.dtype]


def bench_rates(a: argparse.Namespace, model: HFModel) -> None:
    dtype, flop = model.model.dtype, 2 * linear_params(model)
    gen = speech_requests(a.batch, a.tokens)
    scored = judge_requests(a.batch)
    full = [len(model._encode(model.render(r.prompt) + r.continuation)) for r in scored]
    ctx = {model.render(r.prompt): len(model._encode(model.render(r.prompt))) for r in scored}
    prompt_tokens = sum(full)
    # with the prompt shared, each prompt once plus each continuation
    computed = sum(ctx.values()) + sum(full) - sum(ctx[model.render(r.prompt)] for r in scored)

    def score() -> None:
        model.clear_score_cache()
        model._score_sync(scored)

    configure_threads()  # the model's thread count, for the ceiling too
    runs = paired(
        {"ceiling": lambda: matmul_gflops(dtype), "gen": lambda: model._generate_sync(gen),
         "score": score},
        a.reps,
    )  # fmt: skip
    ceilings = [g for _, g in runs["ceiling"]]
    tokens = [sum(g.tokens_in + g.tokens_out for g in out) for _, out in runs["gen"]]
    new_tokens = [sum(g.tokens_out for g in out) for _, out in runs["gen"]]
    gen_rate = [flop * n / s / 1e9 for n, (s, _) in zip(tokens, runs["gen"])]
    score_rate = [flop * prompt_tokens / s / 1e9 for s, _ in runs["score"]]
    computed_rate = [flop * computed / s / 1e9 for s, _ in runs["score"]]
    name = DTYPE_NAMES[dtype]
    print(hardware_line(dtype))
    print(f"compute ceiling ({name} matmul 2048^3): "
          + " ".join(f"{g:.0f}" for g in ceilings) + " GFLOP per CPU s")  # fmt: skip
    print(f"model: {flop / 1e6:.0f} MFLOP per token (matmuls), {name}, "
          f"{torch.get_num_threads()} threads")  # fmt: skip
    print(f"generation, batch {a.batch} x {a.tokens} tokens: "
          + " ".join(f"{n / s:.1f}" for n, (s, _) in zip(new_tokens, runs["gen"]))
          + " new tok/s; speech incl. prompt: "
          + " ".join(f"{n / s:.0f}" for n, (s, _) in zip(tokens, runs["gen"])) + " tok/s")  # fmt: skip
    print(ratio_line("generation as share of ceiling", gen_rate, ceilings))
    print(f"scoring, {len(scored)} requests on {len(scored) // 2} prompts: "
          + " ".join(f"{prompt_tokens / s:.0f}" for s, _ in runs["score"])
          + f" request tok/s (computes {computed} of their {prompt_tokens} tokens)")  # fmt: skip
    print(ratio_line("scoring (request tokens) as share of ceiling", score_rate, ceilings))
    print(ratio_line("scoring (tokens computed) as share of ceiling", computed_rate, ceilings))


def forward_seconds(model: HFModel, threads: int) -> float:
    torch.set_num_threads(threads)
    ids = torch.randint(100, 20000, (4, 160))
    with torch.inference_mode():
        s, _ = wall_timed(lambda: model.model(input_ids=ids, use_cache=False, logits_to_keep=1))
    return s


def bench_threads(reps: int, model: HFModel | None = None) -> dict:
    model = model or smollm2("auto", today=False)
    cores = usable_cores()
    forward_seconds(model, cores)
    runs = paired(
        {"one": lambda: forward_seconds(model, 1), "all": lambda: forward_seconds(model, cores)},
        reps,
        clock=wall_timed,
    )
    torch.set_num_threads(cores)
    return {
        "cores": cores,
        "load": os.getloadavg()[0],
        "one": [s for s, _ in runs["one"]],
        "all": [s for s, _ in runs["all"]],
    }


def default_run_peak_rss() -> tuple[float, float]:
    """`debate run` with no options, in a process of its own: (wall s, peak RSS in GiB)."""
    out = tempfile.mkdtemp()
    # VmHWM is the peak of this process's own memory map; ru_maxrss is not: Linux keeps it
    # across exec, so a child spawned by this big process would report this process's size
    cmd = (
        "from debate.cli.main import app\ntry:\n    app()\nexcept SystemExit as e:\n"
        "    assert not e.code, e.code\n"
        "print(next(x for x in open('/proc/self/status') if x.startswith('VmHWM')).split()[1])"
    )
    start = time.perf_counter()
    child = subprocess.run([sys.executable, "-c", cmd, "run", "--out", out, "--no-cache"],
                           check=True, capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - start
    return wall, int(child.stdout.strip().splitlines()[-1]) / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=16)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.threads_only:  # a child process: threads
        print(json.dumps(bench_threads(a.reps * 2)))
        return
    if not os.environ.get("DEBATE_BENCH_REEXEC"):  # OpenMP reads its wait policy at load
        env = dict(os.environ, DEBATE_BENCH_REEXEC="1", OMP_WAIT_POLICY="PASSIVE")
        os.execve(sys.executable, [sys.executable, __file__, *sys.argv[1:]], env)
    start = time.perf_counter()
    print(f"machine: {usable_cores()} usable cores, load average {os.getloadavg()[0]:.1f} "
          f"at start")  # fmt: skip
    auto = smollm2("auto", today=False)
    bench_run(a, auto, smollm2("fp32", today=True), smollm2("fp32", today=False))
    bench_rates(a, auto)
    del auto
    for policy in ("PASSIVE", "ACTIVE"):
        child = subprocess.run(
            [sys.executable, __file__, "--threads-only", "--reps", str(a.reps), "--items",
             str(a.items), "--tokens", str(a.tokens)],
            env=dict(os.environ, OMP_WAIT_POLICY=policy), capture_output=True, text=True,
            check=True,
        )  # fmt: skip
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(ratio_line(f"{r['cores']} threads vs 1 (wall), OMP_WAIT_POLICY={policy}",
                         r["one"], r["all"]) + f"  load {r['load']:.1f}")  # fmt: skip
    wall, rss = default_run_peak_rss()
    print(f"`debate run` at its defaults, as a user runs it: peak RSS {rss:.2f} GiB (target < 2), "
          f"{wall:.0f} s")  # fmt: skip
    print(f"load average at end {os.getloadavg()[0]:.1f}; {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
