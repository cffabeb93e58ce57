"""Scoring continuations whose prompts share a beginning, computing each shared part once.

A judge scores its answers as continuations of one prompt, and the judge-aware quote choice
(`debate/match/actions.py`) asks for one view per candidate span: those views differ only in the
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


@dataclass
class PrefixGroup:
    """A cluster's prefix, run once, and the rows that read on from it."""

    prefix: list[int]
    rows: list[Row]

    @property
    def width(self) -> int:
        """The widest row's tokens, its prefix copy included: what the row pass costs per row."""
        return len(self.prefix) + max(len(r.rest) + len(r.continuation) for r in self.rows)


def plan(pairs: list[Pair]) -> tuple[list[PrefixGroup], list[int]]:
    """The pairs worth scoring from a shared prefix, and the indices of the rest (a prompt with
    one continuation and no neighbour shares nothing: one pass, not two)."""
    by_prompt: dict[tuple[int, ...], list[int]] = {}
    for i, (ctx, _) in enumerate(pairs):
        by_prompt.setdefault(tuple(ctx), []).append(i)
    groups, shared = [], set()
    for c in clusters(list(by_prompt)):
        members = [i for p in c.prompts for i in by_prompt[p]]
        if len(members) < 2:
            continue
        cut = len(c.common) - 1
        groups.append(
            PrefixGroup(c.prefix, [Row(i, pairs[i][0][cut:], pairs[i][1]) for i in members])
        )
        shared.update(members)
    return groups, [i for i in range(len(pairs)) if i not in shared]


def left_pad(seqs: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token lists as one batch padded on the left (every sequence ends at the last column),
    and its attention mask."""
    width = max(map(len, seqs))
    ids = torch.full((len(seqs), width), pad, dtype=torch.long)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(seqs):
        ids[i, width - len(s) :] = torch.tensor(s, dtype=torch.long)
        mask[i, width - len(s) :] = 1
    return ids, mask


def split_continuation(prompt: str, continuation: str) -> tuple[str, str]:
    """As lm-eval does: the prompt's trailing spaces belong to the continuation's first token.
    Scoring and training both tokenise through this, so they score the same function."""
    stripped = prompt.rstrip(" ")
    return stripped, prompt[len(stripped) :] + continuation


@torch.inference_mode()
def score_clusters(model, pad: int, device: str, chunk: list[PrefixGroup]):
    """-> [(pair index, (log p(continuation | prompt), continuation tokens))].

    Pass 1 runs the prefixes, left-padded. Pass 2 copies each prefix's cache to its rows and runs
    rest + continuation[:-1], left-padded too, so every continuation ends at the last column and
    only the last columns' logits are computed (the vocabulary is wide)."""
    from transformers import DynamicCache

    ids, mask = left_pad([g.prefix for g in chunk], pad)
    cache = DynamicCache(config=model.config)
    model(
        input_ids=ids.to(device),
        attention_mask=mask.to(device),
        position_ids=(mask.cumsum(-1) - 1).clamp(min=0).to(device),
        cache=cache,
        use_cache=True,
        logits_to_keep=1,
    )
    rows = [r for g in chunk for r in g.rows]
    owner = torch.tensor([k for k, g in enumerate(chunk) for _ in g.rows])
    cache.batch_select_indices(owner.to(device))
    row_ids, row_mask = left_pad([r.rest + r.continuation[:-1] for r in rows], pad)
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
