"""The REINFORCE update's span scores: the prompt-shared computation in `span_logprobs` gives the
scores the policy chose by (the scoring backend's), and the gradients of running prompt + span
in one forward pass per span."""

import pytest
import torch

from debate.models import ScoreRequest
from debate.models.hf import HFModel
from debate.training.config import LoraSettings, TrainConfig
from debate.training.reinforce import span_logprobs
from debate.training.update import load_policy

PROMPTS = ["a long prompt about cats. <quote>", "what is it? "]  # the second ends in a space
SPANS = ["the cat sat.", "x", " b is it", "AB ab."]


def lora_policy(path: str, targets: list[str]):
    """The trainable policy as the update loads it, with LoRA B moved off zero so the prompt's
    keys and values (and so the shared cache) depend on the adapter."""
    cfg = TrainConfig(lora=LoraSettings(target_modules=targets))
    model, tokenizer = load_policy(cfg, path, None)
    torch.manual_seed(1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.05)
    model.train()
    return model, tokenizer


def one_pass_per_span(model, tokenizer, prompt: str, spans: list[str]) -> torch.Tensor:
    """The straightforward computation: prompt + span as one sequence, no cache, and the span's
    tokens read from its own positions. Tokenised as lm-eval and the scoring backend do: the
    prompt's trailing spaces start the continuation."""
    stripped = prompt.rstrip(" ")
    ctx = tokenizer(stripped, add_special_tokens=False)["input_ids"]
    out = []
    for s in spans:
        cont = tokenizer(prompt[len(stripped) :] + s, add_special_tokens=False)["input_ids"]
        logits = model(input_ids=torch.tensor([ctx + cont]), use_cache=False).logits[0]
        logp = torch.log_softmax(logits.float(), dim=-1)[len(ctx) - 1 : -1]
        out.append(logp.gather(1, torch.tensor(cont).unsqueeze(1)).sum())
    return torch.stack(out)


def grads_of(model, scores: torch.Tensor) -> dict[str, torch.Tensor]:
    model.zero_grad()
    weights = torch.linspace(-1.0, 2.0, len(scores))  # every span's score counts differently
    (weights * scores).sum().backward()
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.requires_grad}


def check_against_references(path: str, targets: list[str], spec: str) -> None:
    model, tokenizer = lora_policy(path, targets)
    backend = HFModel(spec, path, dtype="fp32")  # the scores the policy chose its span by
    for prompt in PROMPTS:
        shared = span_logprobs(model, tokenizer, prompt, SPANS)
        reference = one_pass_per_span(model, tokenizer, prompt, SPANS)
        assert torch.allclose(shared, reference, atol=1e-4, rtol=1e-5), (shared, reference)
        assert len({round(float(x), 3) for x in shared.detach()}) == len(
            SPANS
        )  # they depend on the span

        got, want = grads_of(model, shared), grads_of(model, reference)
        assert set(got) == set(want) and any("lora_A" in n for n in got)
        for name in want:
            assert want[name].abs().sum() > 0, name  # the test would catch a missing gradient
            # float32 summation order differs between the two: about 1e-4 of the norm on SmolLM2
            assert (got[name] - want[name]).norm() <= 1e-3 * want[name].norm(), name

        # the base weights (adapter off) score as the backend the policy chose its span by does
        with torch.no_grad(), model.disable_adapter():
            base = span_logprobs(model, tokenizer, prompt, SPANS)
        backend.clear_score_cache()
        scored = backend._score_sync([ScoreRequest(prompt=prompt, continuation=s) for s in SPANS])
        assert torch.allclose(base, torch.tensor([s.logprob for s in scored]), atol=1e-4)
        assert not torch.allclose(base, shared.detach(), atol=1e-3)  # the adapter did matter


def test_shared_prompt_span_scores_and_gradients_match_one_pass_per_span(tiny_model_dir):
    check_against_references(str(tiny_model_dir), ["q_proj", "k_proj", "v_proj", "o_proj"],
                             f"hf:{tiny_model_dir}")  # fmt: skip


@pytest.mark.slow
def test_the_same_on_smollm2_whose_tokenizer_merges_a_leading_space():
    from debate.models import trainable_path

    check_against_references(trainable_path("smollm2"), ["q_proj", "k_proj", "v_proj", "o_proj"],
                             "smollm2")  # fmt: skip


def test_an_update_is_a_function_of_its_seed(tmp_path, tiny_model_dir):
    """Same config, generation and samples: the same adapter, bit for bit (a new adapter's LoRA
    A is drawn after seeding); another generation's seed gives another."""
    from safetensors.torch import load_file

    from debate.training.reinforce import ChoiceSample, reinforce_update

    samples = [ChoiceSample(prompt=p, spans=SPANS, index=i, temperature=1.0, advantage=a)
               for p, i, a in ((PROMPTS[0], 0, 0.5), (PROMPTS[1], 2, -0.3), (PROMPTS[0], 1, 0.2))]  # fmt: skip
    cfg = TrainConfig(update={"batch_size": 2})

    def adapter(out: str, generation: int) -> dict:
        reinforce_update(cfg, str(tiny_model_dir), None, samples, tmp_path / out, generation)
        return load_file(str(tmp_path / out / "adapter_model.safetensors"))

    first, again, other = adapter("a", 1), adapter("b", 1), adapter("c", 2)
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert any(not torch.equal(first[k], other[k]) for k in first)
    assert any("lora_B" in k and first[k].abs().sum() > 0 for k in first)  # it did train
