"""Scoring continuations whose prompts share a beginning, computing each shared part once.

A judge scores its answers as continuations of one prompt, and the judge-aware quote choice
(`debate/actions.py`) asks for one view per candidate span: those views differ only in the
evidence near their end. So the prompts of a batch are sorted, and neighbours that share at least
half of the shorter one form a cluster. A cluster's common beginning (its prefix) is run once;
its cache is copied to one row per (prompt, continuation), and each row reads what is left of
its own prompt, then its continuation. Identical prompts are the special case where what is left
is one token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

Pair = tuple[list[int], list[int]]  # (prompt tokens, continuation tokens)

# A prompt joins its neighbour's cluster when they share this share of the shorter one: below
# it, copying the shorter prefix to every row would cost more than it saves.
MIN_SHARED = 0.5


@dataclass
class Cluster:
    common: tuple[int, ...]  # the longest beginning every member prompt has
    shortest: int
    prompts: list[tuple[int, ...]] = field(default_factory=list)

    @property
    def prefix(self) -> list[int]:
        # the last common token is left to the rows, so every row predicts its continuation's
        # first token itself
        return list(self.common[:-1])


def common_length(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


def clusters(prompts: list[tuple[int, ...]]) -> list[Cluster]:
    """Prompts of two tokens or more, sorted and grouped with neighbours that share a beginning
    (`MIN_SHARED`); a cluster's prefix is never empty."""
    out: list[Cluster] = []
    for p in sorted(p for p in prompts if len(p) >= 2):
        if out:
            c = out[-1]
            n = common_length(c.common, p)
            if n >= 2 and n >= MIN_SHARED * min(c.shortest, len(p)):
                c.common, c.shortest = c.common[:n], min(c.shortest, len(p))
                c.prompts.append(p)
                continue
        out.append(Cluster(common=p, shortest=len(p), prompts=[p]))
    return out


@dataclass
class Row:
    index: int  # the pair's position in the caller's list
    rest: list[int]  # the prompt after its cluster's prefix (at least one token)
    continuation: list[int]


def rows_of(cluster: Cluster, by_prompt: dict[tuple[int, ...], list[int]], pairs: list[Pair]):
    cut = len(cluster.common) - 1
    return [Row(i, list(p[cut:]), pairs[i][1]) for p in cluster.prompts for i in by_prompt[p]]


def row_cost(cluster: Cluster, by_prompt, pairs: list[Pair]) -> tuple[int, int]:
    """(rows, widest row): what the copied caches and the row pass cost."""
    rows = rows_of(cluster, by_prompt, pairs)
    return len(rows), len(cluster.common) + max(len(r.rest) + len(r.continuation) for r in rows)


@torch.inference_mode()
def score_clusters(model, pad: int, device: str, chunk: list[tuple[list[int], list[Row]]]):
    """[(prefix, rows)] -> [(pair index, (log p(continuation | prompt), continuation tokens))].

    Pass 1 runs the prefixes, left-padded. Pass 2 copies each prefix's cache to its rows and runs
    rest + continuation[:-1], left-padded too, so every continuation ends at the last column and
    only the last columns' logits are computed (the vocabulary is wide)."""
    from transformers import DynamicCache

    prefixes = [p for p, _ in chunk]
    width = max(map(len, prefixes))
    ids = torch.full((len(prefixes), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, p in enumerate(prefixes):
        ids[i, width - len(p) :] = torch.tensor(p)
        mask[i, width - len(p) :] = 1
    cache = DynamicCache(config=model.config)
    model(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(device),
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    rows = [r for _, rs in chunk for r in rs]
    owner = torch.tensor([k for k, (_, rs) in enumerate(chunk) for _ in rs])
    cache.batch_select_indices(owner.to(device))
    seqs = [r.rest + r.continuation[:-1] for r in rows]
    feed = max(map(len, seqs))
    row_ids = torch.full((len(rows), feed), pad, dtype=torch.long)
    row_mask = torch.zeros_like(row_ids)
    for j, s in enumerate(seqs):
        row_ids[j, feed - len(s) :] = torch.tensor(s)
        row_mask[j, feed - len(s) :] = 1
    start = mask.sum(-1)[owner].unsqueeze(1)
    keep = max(len(r.continuation) for r in rows)
    logits = model(
        input_ids=row_ids.to(device),
        attention_mask=torch.cat([mask[owner], row_mask], 1).to(device),
        position_ids=(start + (row_mask.cumsum(-1) - 1).clamp(min=0)).to(device),
        cache=cache,
        use_cache=True,
        logits_to_keep=keep,
    ).logits
    logp = torch.log_softmax(logits.float(), dim=-1).cpu()
    out = []
    for j, r in enumerate(rows):
        x = r.continuation
        picked = logp[j, keep - len(x) :].gather(1, torch.tensor(x).unsqueeze(1))
        out.append((r.index, (float(picked.sum()), len(x))))
    return out
