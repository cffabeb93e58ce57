"""The fast paths of the transformers backend give today's answers: prompt-shared scoring equals
scoring each continuation alone, the own decoding loop writes what `generate` writes, and bf16
moves the embedded judge's probabilities by less than a stated tolerance."""

import pytest

from debate.config import JudgeConfig
from debate.judges.scored import ClozeJudge
from debate.match.judge import Case, softmax
from debate.match.prompts import debater_prompt
from debate.models import GenerationRequest, ScoreRequest
from debate.schema import Sampling
from debate.tasks.hidden_passage import hidden_passage

# bf16 may move a judge probability by this much, and may flip a pick only when fp32's
# probability was this close to a coin toss.
BF16_MAX_PROB_SHIFT = 0.06


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from debate.models.hf import HFModel

    return HFModel(f"hf:{tiny_model_dir}", str(tiny_model_dir), dtype="fp32")


def scores(model, reqs, *, share):
    model.share_prefix = share
    model.clear_score_cache()
    try:
        return [s.logprob for s in model._score_sync(reqs)]
    finally:
        model.share_prefix = True


def generations(model, reqs, *, drop_rows):
    model.drop_finished_rows = drop_rows
    try:
        return model._generate_sync(reqs)
    finally:
        model.drop_finished_rows = True


def test_shared_prompt_scores_equal_separate_ones(tiny, monkeypatch):
    import debate.models.hf as hf

    reqs = [
        ScoreRequest(prompt=p, continuation=c)
        for p in ("a long prompt about cats. ", "ab", "what is it? ")
        for c in ("x", "yes it is", " b", "AB")
    ] + [ScoreRequest(prompt="alone here", continuation="q")]
    for budget in (hf.SCORE_TOKENS_PER_BATCH, 40):  # one chunk, then several
        monkeypatch.setattr(hf, "SCORE_TOKENS_PER_BATCH", budget)
        separate, shared = scores(tiny, reqs, share=False), scores(tiny, reqs, share=True)
        assert max(abs(a - b) for a, b in zip(separate, shared)) < 1e-4
    assert len(set(shared)) > len(reqs) // 2  # the scores do depend on the text


def test_prompts_sharing_a_beginning_score_as_if_alone(tiny, monkeypatch):
    """A judge's view per candidate quote: one long beginning, different endings (one prompt a
    beginning of another, one repeated, one of a single token)."""
    import debate.models.hf as hf
    from debate.models import shared_scoring

    head = "The judge reads the evidence for the question: who has a pet cat? Evidence: "
    prompts = [head + e for e in ("Mira has a cat.", "Tomas has a dog.", "Ines plays the harp.")]
    prompts += [head, head + "Mira has a cat.", "x", "another prompt entirely, no shared head"]
    reqs = [ScoreRequest(prompt=p, continuation=c) for p in prompts for c in (" cat", " a dog")]
    encoded = {tuple(tiny._encode(p.rstrip(" "))) for p in prompts}
    assert max(len(c.prompts) for c in shared_scoring.clusters(list(encoded))) >= 4
    for budget in (hf.SCORE_TOKENS_PER_BATCH, 60):  # one chunk, then several
        monkeypatch.setattr(hf, "SCORE_TOKENS_PER_BATCH", budget)
        separate, shared = scores(tiny, reqs, share=False), scores(tiny, reqs, share=True)
        assert max(abs(a - b) for a, b in zip(separate, shared)) < 1e-4
    assert len(set(shared)) > len(reqs) // 2


def test_decoding_loop_writes_what_generate_writes(tiny):
    reqs = [
        GenerationRequest(
            prompt=p, seed=s, sampling=Sampling(temperature=t, max_new_tokens=n, top_p=0.9)
        )
        for p, s, t, n in [
            ("ab", 1, 1.0, 24), ("a much longer prompt", 2, 1.0, 24), ("x", 3, 0.0, 24),
            ("what", 4, 1.5, 24), ("is it", 5, 1.0, 8), ("ok.", 6, 2.0, 24),
        ]
    ]  # fmt: skip
    own = generations(tiny, reqs, drop_rows=True)
    ref = generations(tiny, reqs, drop_rows=False)
    # the reference path gives no sampling log-probabilities; everything else is the same
    assert [g.model_dump(exclude={"logprobs"}) for g in own] == [
        g.model_dump(exclude={"logprobs"}) for g in ref
    ]
    lengths = {g.tokens_out for g in own}
    # some rows ended early and left the batch while others ran to their budget
    assert min(lengths) < 24 and 24 in lengths


def judge_requests(n_items: int) -> list[list[ScoreRequest]]:
    """The default cloze judge's requests on built-in items, with and without the passage."""
    judge = ClozeJudge(JudgeConfig())
    groups = []
    for item in hidden_passage(n_items, seed=0):
        for sees in (True, False):
            view = judge.view(Case(item, [], sees_context=sees), labelled=False)
            prompt = judge.as_prompt(view, "What is the correct answer to the question?")
            groups.append(
                [
                    ScoreRequest(prompt=prompt, continuation=f"The correct answer is {a}")
                    for a in item.answers
                ]
            )
    return groups


def first_answer_probs(groups, logprobs):
    out, i = [], 0
    for g in groups:
        out.append(softmax(logprobs[i : i + len(g)])[0])
        i += len(g)
    return out


@pytest.mark.slow
def test_smollm2_shared_scores_and_bf16_judge_within_tolerance():
    from debate.models import smollm2_gguf
    from debate.models.hf import HFModel

    groups = judge_requests(10)
    flat = [r for g in groups for r in g]
    fp32 = HFModel("smollm2", "", gguf_file=smollm2_gguf(), dtype="fp32")
    separate, shared = scores(fp32, flat, share=False), scores(fp32, flat, share=True)
    assert max(abs(a - b) for a, b in zip(separate, shared)) < 1e-4
    del fp32
    bf16 = HFModel("smollm2", "", gguf_file=smollm2_gguf(), dtype="bf16")
    assert bf16.describe()["dtype"] == "bf16"
    p32 = first_answer_probs(groups, shared)
    p16 = first_answer_probs(groups, scores(bf16, flat, share=True))
    assert max(abs(a - b) for a, b in zip(p32, p16)) <= BF16_MAX_PROB_SHIFT
    flipped = [a for a, b in zip(p32, p16) if (a > 0.5) != (b > 0.5)]
    assert all(abs(a - 0.5) <= BF16_MAX_PROB_SHIFT for a in flipped)
    assert max(p32) - min(p32) > 0.1  # the judge's probabilities vary: not a vacuous check


@pytest.mark.slow
def test_smollm2_decoding_loop_writes_what_generate_writes():
    from debate.models import smollm2_gguf
    from debate.models.hf import HFModel

    model = HFModel("smollm2", "", gguf_file=smollm2_gguf(), dtype="fp32")
    reqs = []
    for i, item in enumerate(hidden_passage(4, seed=1)):
        msgs, prefill = debater_prompt(item, "consultant", 0, [], "quote", 16)
        sampling = Sampling(max_new_tokens=16, temperature=0.0 if i % 3 == 0 else 0.8)
        reqs.append(GenerationRequest(prompt=msgs, prefill=prefill, seed=i, sampling=sampling))
    own = generations(model, reqs, drop_rows=True)
    ref = generations(model, reqs, drop_rows=False)
    assert [g.text for g in own] == [g.text for g in ref]
