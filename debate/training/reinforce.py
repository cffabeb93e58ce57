"""Policy gradient on chosen evidence spans (`speech: choose`, `choose_by: self`).

The action is a choice among a handful of passage sentences, sampled from
softmax(log p(sentence | side prompt + "<quote>") / T). Its log-probability is a function of the
policy's scores of every candidate, not of sampled tokens, so `trl`'s trainers (GRPO, RLOO,
DPO), which score token completions the trainer generated itself, do not fit it; this is the
small REINFORCE step written by hand on the `peft` model instead.

- Reward: the frozen judge's probability for the speaker's answer; the truth is never read.
- Baseline: leave-one-out within a group (forks of one match: same item, sides and players), as
  in RLOO/GRPO, so a choice is credited only for doing better than its siblings.
- Both sides of every debate are trained: every chosen span of the current policy is a sample.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import torch
from accelerate import Accelerator
from pydantic import BaseModel, ConfigDict

from debate.match.actions import render_prompt
from debate.match.match import Match
from debate.models.hardware import configure_threads
from debate.models.shared_scoring import split_continuation
from debate.seeds import derive_seed
from debate.stats.estimates import leave_one_out
from debate.training.config import TrainConfig
from debate.training.distributed import Call, shared_backward


class ChoiceSample(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt: str  # the rendered text the policy continued, ending in "<quote>"
    spans: list[str]
    index: int
    temperature: float
    advantage: float
    reward: float | None = None  # the judge's probability for the speaker's answer


def choice_samples(
    groups: list[list[Match]],
    policy_model: str,
    keep: Callable[[Match, str], bool] | None = None,
) -> list[ChoiceSample]:
    """One sample per chosen span of the policy (any role, or those `keep(match, role)` keeps),
    with its leave-one-out advantage for that role within the group."""
    samples = []
    for forks in groups:
        roles = [r for r, a in forks[0].agents.items() if a.model == policy_model
                 and (keep is None or keep(forks[0], r))]  # fmt: skip
        for role in roles:
            rewards = [f.transcript.verdict.probs[f.transcript.assignment[role]] for f in forks]
            for f, adv in zip(forks, leave_one_out(rewards)):
                turns = f.transcript.turns
                for turn in (u for u in turns if u.speaker == role and u.choice is not None):
                    c = turn.choice
                    messages, _ = f.prompt_for(role, sees=turns[: c.seen])
                    samples.append(
                        ChoiceSample(prompt=render_prompt(policy_model, messages), spans=c.spans,
                                     index=c.index, temperature=c.temperature, advantage=adv,
                                     reward=f.transcript.verdict.probs[f.transcript.assignment[role]])
                    )  # fmt: skip
    return samples


def span_tokens(tokenizer, prompt: str, spans: list[str]) -> tuple[list[int], list[list[int]]]:
    """The prompt's and every span's token ids, tokenised exactly as the scoring backend
    tokenises a continuation (`HFModel._score_sync`): the prompt's trailing spaces belong to
    the continuation's first token, so training scores the same function the policy chose by."""

    def ids(text: str) -> list[int]:
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    stripped = split_continuation(prompt, "")[0]
    return ids(stripped), [ids(split_continuation(prompt, s)[1]) for s in spans]


def span_logprobs(model, tokenizer, prompt: str, spans: list[str]) -> torch.Tensor:
    """log p(span | prompt) for every span, with gradients.

    The prompt (~180 tokens on the default task) is run once and its KV cache shared by the
    spans (a sentence, ~7 tokens, each); running prompt + span once per span did the prompt's
    work, and kept its activations for the backward pass, len(spans) times. The prompt pass keeps
    its graph: LoRA on q/k/v/o changes the prompt's keys and values, so the gradient flows
    through the cache."""
    from transformers import DynamicCache

    ctx, conts = span_tokens(tokenizer, prompt, spans)
    device = next(model.parameters()).device
    cache = DynamicCache(config=model.config)
    first = model(
        input_ids=torch.tensor([ctx], device=device), cache=cache, use_cache=True,
        logits_to_keep=1,
    ).logits[0, -1]  # fmt: skip
    first = torch.log_softmax(first.float(), dim=-1)  # predicts every span's first token
    out = [first[c[0]] if c else first.new_zeros(()) for c in conts]  # an empty span: log 1
    feed = max(map(len, conts), default=0) - 1  # a span's last token predicts nothing that is read
    if feed > 0:
        cache.batch_repeat_interleave(len(conts))  # differentiable: the copies share the graph
        pad = tokenizer.pad_token_id
        ids = torch.full((len(conts), feed), pad, dtype=torch.long)
        mask = torch.zeros((len(conts), len(ctx) + feed), dtype=torch.long)
        mask[:, : len(ctx)] = 1
        for i, c in enumerate(conts):  # right padding: pads come after every token that is read
            fed = c[:-1]
            ids[i, : len(fed)] = torch.tensor(fed, dtype=torch.long)
            mask[i, len(ctx) : len(ctx) + len(fed)] = 1
        positions = (len(ctx) + torch.arange(feed)).expand(len(conts), feed)
        logits = model(
            input_ids=ids.to(device), attention_mask=mask.to(device),
            position_ids=positions.to(device), cache=cache, use_cache=True,
        ).logits  # fmt: skip
        logp = torch.log_softmax(logits.float(), dim=-1)
        for i, c in enumerate(conts):
            if len(c) > 1:
                rows = logp[i, : len(c) - 1]
                picked = rows.gather(1, torch.tensor(c[1:], device=device).unsqueeze(1))
                out[i] = out[i] + picked.sum()
    return torch.stack(out)


def choice_logprob(model, tokenizer, s: ChoiceSample) -> torch.Tensor:
    scores = span_logprobs(model, tokenizer, s.prompt, s.spans)
    t = max(s.temperature, 1e-3)  # a greedy choice still has a gradient through its scores
    return torch.log_softmax(scores / t, dim=-1)[s.index]


def reinforce_update(
    cfg: TrainConfig,
    base: str,
    previous: Path | None,
    samples: list[ChoiceSample],
    out: Path,
    generation: int,
) -> dict:
    """`update.epochs` passes over the samples, `update.batch_size` samples an optimiser step,
    loss = -mean(advantage * log p(choice)); samples with zero advantage teach nothing and are
    dropped. Saves the adapter (or full weights) to `out`."""
    from debate.training.monitor import current
    from debate.training.update import load_policy

    # seeded before the policy is built: a new adapter's LoRA A is drawn from torch's RNG
    torch.manual_seed(derive_seed(cfg.seed, "torch", generation) % 2**31)
    model, tokenizer = load_policy(cfg, base, previous)
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.update.choice_learning_rate, weight_decay=0.0)
    # one process or several (debate/training/distributed.py): DDP averages the ranks' shares
    accelerator = Accelerator(cpu=not torch.cuda.is_available())
    logprob = Call(model, lambda m, s: choice_logprob(m, tokenizer, s))
    call, opt = accelerator.prepare(logprob, opt)

    def loss(call, s: ChoiceSample) -> torch.Tensor:
        return -s.advantage * call(s)

    rng = random.Random(derive_seed(cfg.seed, "update", generation))
    useful = [s for s in samples if s.advantage != 0.0]
    epochs = max(1, round(cfg.update.epochs))
    losses, steps = [], 0
    monitor, total = current(), epochs * -(-len(useful) // cfg.update.batch_size)
    monitor.update_begins(generation, total)
    for _ in range(epochs):
        order = list(useful)
        rng.shuffle(order)
        for start in range(0, len(order), cfg.update.batch_size):
            batch = order[start : start + cfg.update.batch_size]
            configure_threads()  # as inference does: on a shared machine, spare cores only
            opt.zero_grad()
            # one sample's graph at a time: memory stays at one prompt
            losses.append(shared_backward(accelerator, call, batch, loss))
            opt.step()
            steps += 1
            rewards = [s.reward for s in batch if s.reward is not None]
            monitor.update_step(generation, steps, total, loss=losses[-1],
                                reward=sum(rewards) / len(rewards) if rewards else None,
                                advantage=sum(abs(s.advantage) for s in batch) / len(batch))  # fmt: skip
    if accelerator.is_main_process:  # every rank holds the same weights: one writes them
        out.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(str(out))  # a PEFT model saves only its adapter
        tokenizer.save_pretrained(str(out))
    accelerator.wait_for_everyone()
    return {"train_loss": sum(losses) / len(losses) if losses else 0.0, "steps": steps,
            "samples": len(samples), "useful_samples": len(useful),
            "step_losses": losses}  # fmt: skip
