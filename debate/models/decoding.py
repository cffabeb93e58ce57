"""Sampling many requests in one batch, each as if it ran alone: a per-row sampler with its own
seeded generator, and a decoding loop that drops rows from the batch once they end."""

from __future__ import annotations

import threading

import torch

from debate.models.base import GenerationRequest

NUCLEUS_CANDIDATES = 512


class PerRowSampler:
    """Each row samples with its own generator, temperature and top-p, so a row's tokens do not
    depend on which other rows share its batch.

    As a logits processor for `generate` it returns a mask that leaves only the chosen token
    (greedy decoding over choices made here); the engine's own decoding loop calls `pick`.
    """

    def __init__(self, requests: list[GenerationRequest]):
        self.temps = [r.sampling.temperature for r in requests]
        self.top_ps = [r.sampling.top_p for r in requests]
        self.gens = [torch.Generator().manual_seed(r.seed) for r in requests]

        self.last_logprobs: list[float] = []  # of the tokens `pick` chose last

    def keep(self, rows: list[int]) -> None:
        """Forget the rows not listed (finished ones), in the order given."""
        self.temps = [self.temps[i] for i in rows]
        self.top_ps = [self.top_ps[i] for i in rows]
        self.gens = [self.gens[i] for i in rows]

    def __call__(self, input_ids: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
        chosen = self.pick(scores)
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(scores.shape[0], device=scores.device), chosen] = 0.0
        return out

    def pick(self, scores: torch.Tensor) -> torch.Tensor:
        """One token id per row: a draw from the row's nucleus (its likeliest tokens whose
        probabilities add up to top-p), by inverse CDF over the tokens from likeliest down."""
        scores = scores.float()
        temps = torch.tensor(self.temps, device=scores.device).clamp(min=1e-6).unsqueeze(1)
        probs = torch.softmax(scores / temps, dim=-1)
        greedy = torch.tensor([t <= 0 for t in self.temps], device=scores.device)
        if bool(greedy.all()):  # nothing to draw
            return self._keep_logprobs(probs, scores.argmax(-1))
        top_p = torch.tensor(self.top_ps, device=scores.device).unsqueeze(1)
        whole = top_p >= 1.0  # no nucleus: any token may be drawn
        # One uniform draw per row from that row's own generator keeps rows independent.
        u = torch.cat([torch.rand(1, generator=g) for g in self.gens]).to(scores.device)
        # Sorting the whole vocabulary per step cost several times the model's own step at
        # batch 32. A draw nearly always lands among the few hundred likeliest tokens: take
        # those with topk (in the order a sort gives) and sort a row only when its nucleus, or
        # its draw, reaches past them. Same tokens as sorting every row.
        head_p, head_ids = probs.topk(min(NUCLEUS_CANDIDATES, probs.shape[1]), dim=-1)
        cdf = (head_p * ((head_p.cumsum(-1) - head_p) < top_p)).cumsum(-1)
        # The whole vocabulary's mass, as the sorted cumsum would end (it adds in double). A
        # softmax may add up to a little over 1; a nucleus of 1 then ends where the sorted
        # cumsum reaches 1, within a rounding step.
        mass = probs.double().sum(-1, keepdim=True).float().clamp(max=1.0)
        target = u.unsqueeze(1) * torch.where(whole, mass, cdf[:, -1:])
        pos = torch.searchsorted(cdf, target)[:, 0]
        past_head = torch.where(whole[:, 0], pos >= cdf.shape[1], head_p.sum(-1) < top_p[:, 0])
        chosen = head_ids.gather(1, pos.clamp(max=cdf.shape[1] - 1).unsqueeze(1))[:, 0]
        for r in torch.nonzero(past_head & ~greedy)[:, 0].tolist():
            chosen[r] = self._draw_sorted(probs[r], self.top_ps[r], u[r], target[r])
        return self._keep_logprobs(probs, torch.where(greedy, scores.argmax(-1), chosen))

    def _keep_logprobs(self, probs: torch.Tensor, chosen: torch.Tensor) -> torch.Tensor:
        # each token's log-probability under the distribution it was drawn from, before top-p
        self.last_logprobs = (
            probs.gather(1, chosen.unsqueeze(1)).clamp(min=1e-45).log()[:, 0].tolist()
        )
        return chosen

    @staticmethod
    def _draw_sorted(p: torch.Tensor, top_p: float, u: torch.Tensor, target: torch.Tensor) -> int:
        """One row's draw over its whole vocabulary sorted, as `pick` draws within the head:
        at `target` with no nucleus, else at `u` of the nucleus's mass."""
        sorted_p, order = torch.sort(p, descending=True)
        cdf = (sorted_p * ((sorted_p.cumsum(-1) - sorted_p) < top_p)).cumsum(-1)
        if top_p < 1.0:
            target = u * cdf[-1]
        at = torch.searchsorted(cdf, target.reshape(1)).clamp(max=cdf.shape[0] - 1)
        return int(order[at])


def decode(
    model: torch.nn.Module,
    ids: torch.Tensor,
    mask: torch.Tensor,
    sampler: PerRowSampler,
    eos: set[int],
    pad: int,
    budget: int,
    interrupted: threading.Event | None = None,
) -> tuple[list[list[int]], list[list[float]]]:
    """Sample up to `budget` tokens per row; rows leave the batch soon after they end, so
    late decoding steps are not spent on rows whose text is already complete. Gives each row's
    tokens and their sampling log-probabilities."""
    from transformers import DynamicCache

    out: list[list[int]] = [[] for _ in range(ids.shape[0])]
    logprobs: list[list[float]] = [[] for _ in range(ids.shape[0])]
    rows = list(range(ids.shape[0]))  # the request behind each batch row
    ended: set[int] = set()  # batch rows that are done but not yet dropped
    cache = DynamicCache(config=model.config)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)
    step_ids = ids
    for step in range(budget):
        if interrupted is not None and interrupted.is_set():  # Ctrl-C: don't hold the exit up
            raise KeyboardInterrupt
        logits = model(
            input_ids=step_ids,
            attention_mask=mask,
            position_ids=positions,
            cache=cache,
            use_cache=True,
            logits_to_keep=1,
        ).logits[:, -1]
        chosen = sampler.pick(logits).tolist()
        for b, t in enumerate(chosen):
            if b not in ended:
                out[rows[b]].append(t)
                logprobs[rows[b]].append(sampler.last_logprobs[b])
                if t in eos:
                    ended.add(b)
        if len(ended) == len(rows) or step == budget - 1:
            break
        # Dropping rows copies the cache once, about what one step's cache append costs;
        # it pays off once an eighth of the batch has ended.
        if ended and len(ended) >= len(rows) / 8:
            live = [b for b in range(len(rows)) if b not in ended]
            idx = torch.tensor(live, device=mask.device)
            cache.batch_select_indices(idx)
            sampler.keep(live)
            mask, positions = mask[idx], positions[idx]
            chosen, rows, ended = [chosen[b] for b in live], [rows[b] for b in live], set()
        step_ids = torch.tensor(
            [[pad if b in ended else t] for b, t in enumerate(chosen)], device=mask.device
        )
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        positions = positions[:, -1:] + 1
    return out, logprobs
