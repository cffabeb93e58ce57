"""Does the async core keep local batching? SmolLM2, paired side by side in one process.

    python bench/engine_batching.py [--matches 32] [--tokens 32] [--pairs 2]

Each match awaits its own model call; the local model's worker batches whatever its callers are
waiting on. Three ways to produce the same first speeches (greedy, so every side writes the
same text), interleaved (A B C, C B A, ...) so a noisy shared machine loads each side alike;
printed as the median of per-pair ratios:
1. the engine with every match live (consultancy, free-text speeches, oracle judge: generation
   alone);
2. the engine with one match at a time (`max_live=1`);
3. transformers' own `model.generate` on the same prompts as one left-padded batch, with the
   same weights, dtype, KV cache and token budget: the baseline an engine must not fall behind.
Targets (issue 11): (1)/(2) >= 4x and (1)/(3) >= 1.0, in generated tokens per CPU second, on the
0.1 benchmark's workload (32 matches, 32-token speeches) that set the 4x. The hardware and a
matmul ceiling in the model's dtype are printed with them (`ceiling.py`).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time

import torch
from ceiling import hardware_line, matmul_ceiling

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.match.prompts import debater_prompt
from debate.models import load_model
from debate.run import runner
from debate.tasks.hidden_passage import hidden_passage


def timed(fn) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    tokens = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, tokens


def engine(n: int, tokens: int, max_live: int, out: str, k: int) -> int:
    cfg = RunConfig(
        name=f"live{max_live}-{k}",
        out=out,
        max_live=max_live,
        task=TaskConfig(n_items=n),
        protocol=ProtocolConfig(name="consultancy", speech_tokens=tokens, sides="random"),
        debaters=[AgentConfig(name="s", model="smollm2", speech="free", temperature=0.0)],
        judge=JudgeConfig(kind="oracle"),
    )
    return runner.run(cfg)["tokens_out"]


def hf_generate(n: int, tokens: int) -> int:
    """transformers' `generate` on the engine's prompts: greedy, one batch, new tokens counted
    up to and including each row's end (as the engine counts them)."""
    import torch
    from transformers import GenerationConfig

    model = load_model("smollm2")
    texts = []
    for item in hidden_passage(n, seed=0):
        msgs, prefill = debater_prompt(item, "consultant", 0, [], "quote", tokens)
        texts.append(model.render(msgs) + prefill)
    enc = model._left_padded(texts)
    eos = model._eos_ids()
    config = GenerationConfig(max_new_tokens=tokens, do_sample=False, eos_token_id=list(eos),
                              pad_token_id=model.tokenizer.pad_token_id)  # fmt: skip
    with torch.inference_mode():
        out = model.model.generate(**enc, generation_config=config)
    rows = out[:, enc["input_ids"].shape[1] :].tolist()
    return sum(next((i + 1 for i, t in enumerate(r) if t in eos), len(r)) for r in rows)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--matches", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=32)
    ap.add_argument("--pairs", type=int, default=2)
    a = ap.parse_args()
    model = load_model("smollm2")
    print(hardware_line(model.model.dtype))
    gflops, _ = matmul_ceiling(model.model.dtype)
    print(
        f"ceiling (matmul 2048^3, {torch.get_num_threads()} threads): {gflops:.0f} GFLOP per CPU s"
    )
    out = tempfile.mkdtemp()
    sides = {
        "live": lambda k: engine(a.matches, a.tokens, a.matches, out, k),
        "serial": lambda k: engine(a.matches, a.tokens, 1, out, k),
        "hf_generate": lambda k: hf_generate(a.matches, a.tokens),
    }
    rate: dict[str, list[float]] = {s: [] for s in sides}
    wall_rate: dict[str, list[float]] = {s: [] for s in sides}
    try:
        for k in range(a.pairs):
            order = list(sides) if k % 2 == 0 else list(sides)[::-1]
            for s in order:
                wall, cpu, tokens = timed(lambda s=s, k=k: sides[s](k))
                rate[s].append(tokens / cpu)
                wall_rate[s].append(tokens / wall)
                print(f"  pair {k} {s:<6} {tokens} tokens, {cpu:6.1f} CPU s ({wall:6.1f} wall s)")
    finally:
        shutil.rmtree(out)

    def ratio(x: str, y: str, by: dict[str, list[float]]) -> str:
        r = [p / q for p, q in zip(by[x], by[y])]
        return f"{statistics.median(r):.2f} (pairs: {', '.join(f'{v:.2f}' for v in r)})"

    for what, by in (("CPU s", rate), ("wall s", wall_rate)):
        print(f"tokens per {what}:")
        print(f"  engine all live / one at a time = {ratio('live', 'serial', by)}  (target >= 4)")
        print(f"  engine all live / transformers generate = {ratio('live', 'hf_generate', by)}  "
              "(target >= 1.0)")  # fmt: skip


if __name__ == "__main__":
    main()
