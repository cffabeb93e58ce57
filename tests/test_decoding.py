"""The per-row sampler draws within the likeliest tokens (topk) and sorts a row's whole
vocabulary only when its nucleus or its draw reaches past them: the same tokens as sorting
every row, and no sort at all in the common case, top_p = 1 included."""

import pytest
import torch

from debate.models import GenerationRequest, decoding
from debate.models.decoding import PerRowSampler
from debate.schema import Sampling

VOCAB = 49152  # SmolLM2's


def requests(top_ps, temps=(0.0, 0.7, 1.0, 1.5)):
    return [
        GenerationRequest(prompt="x", seed=i, sampling=Sampling(temperature=temps[i % len(temps)],
                                                                top_p=top_ps[i % len(top_ps)]))
        for i in range(16)
    ]  # fmt: skip


def logits(steps, spread, head=10.0, seed=0):
    """Scores with a head of 50 likely tokens over a noisy tail; `spread` widens the tail."""
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(steps):
        s = torch.randn(16, VOCAB, generator=g) * spread
        s[:, :50] += head
        out.append(s)
    return out


def draws(reqs, scores):
    sampler = PerRowSampler(reqs)
    tokens, logprobs = [], []
    for s in scores:
        tokens.append(sampler.pick(s).tolist())
        logprobs.append(sampler.last_logprobs)
    return tokens, logprobs


@pytest.fixture
def sorts(monkeypatch):
    """Counts calls of torch.sort (the only full sort the sampler makes)."""
    calls = []
    real = torch.sort
    monkeypatch.setattr(torch, "sort", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


@pytest.mark.parametrize("top_ps", [(1.0,), (0.95,), (0.5, 1.0, 0.9)])
def test_draws_are_those_of_a_sort_of_the_whole_vocabulary(top_ps, monkeypatch, sorts):
    reqs = [r for r in requests(top_ps)]
    scores = logits(6, spread=3.0)  # a heavy tail: some draws land past the candidates
    fast = draws(reqs, scores)
    fallbacks = len(sorts)
    # every row's nucleus within the candidates: topk over the whole vocabulary is a sort of it
    monkeypatch.setattr(decoding, "NUCLEUS_CANDIDATES", VOCAB)
    ref = draws(reqs, scores)
    assert ref[1] == fast[1]  # the same probabilities drawn
    ties = [(a, b) for k in range(len(scores)) for a, b in zip(ref[0][k], fast[0][k]) if a != b]
    assert len(ties) <= 1  # tokens of equal probability, which topk and sort order either way
    if top_ps == (1.0,):
        assert fallbacks > 0  # the sorted path was taken for some rows, and agreed


def test_top_p_of_one_does_not_sort_the_vocabulary(sorts):
    scores = logits(8, spread=1.0, head=25.0)  # the likeliest 512 hold all but ~1e-6 of it
    tokens, _ = draws(requests((1.0,)), scores)
    assert sorts == []
    assert len({t for step in tokens for t in step}) > 16  # real draws, not one token each


def test_a_sampled_row_is_the_same_alone_and_in_a_batch():
    reqs = requests((1.0, 0.9))
    scores = logits(4, spread=2.0)
    batched, _ = draws(reqs, scores)
    for r in (1, 2, 5):
        alone, _ = draws([reqs[r]], [s[r : r + 1] for s in scores])
        assert [step[0] for step in alone] == [step[r] for step in batched]


def test_generation_is_unchanged_when_every_row_takes_the_sorted_path(tiny_model_dir, monkeypatch):
    from debate.models.hf import HFModel

    model = HFModel(f"hf:{tiny_model_dir}", str(tiny_model_dir), dtype="fp32")
    reqs = [
        GenerationRequest(prompt=p, seed=s, sampling=Sampling(temperature=1.0, top_p=tp,
                                                              max_new_tokens=12))
        for p, s, tp in [("ab", 1, 1.0), ("what is it", 2, 0.9), ("x", 3, 1.0), ("ok", 4, 0.5)]
    ]  # fmt: skip
    default = [g.token_ids for g in model._generate_sync(reqs)]
    monkeypatch.setattr(decoding, "NUCLEUS_CANDIDATES", 2)  # nearly every draw reaches past 2
    assert [g.token_ids for g in model._generate_sync(reqs)] == default
