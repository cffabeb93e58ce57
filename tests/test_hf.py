"""The transformers backend on a tiny Llama built from a config (no downloads)."""

import asyncio
import math

import pytest
import torch

from debate.models import GenerationRequest, Message, ScoreRequest
from debate.schema import Sampling


@pytest.fixture(scope="module")
def tiny(tiny_model_dir):
    from debate.models.hf import HFModel

    # fp32: these tests compare against plain forward passes to 1e-4
    return HFModel(f"hf:{tiny_model_dir}", str(tiny_model_dir), dtype="fp32")


def req(text, seed, temperature=1.0, n=8):
    return GenerationRequest(
        prompt=text, seed=seed, sampling=Sampling(temperature=temperature, max_new_tokens=n)
    )


def test_sampling_is_per_request_whatever_the_batch_in_fp32(tiny):
    # the promise is made for fp32 only (bf16 rounds a row's sums with the batch's shape)
    assert tiny.describe()["dtype"] == "fp32"
    alone = asyncio.run(tiny.generate([req("ab", 7)]))[0].text
    batched = asyncio.run(tiny.generate([req("a longer prompt", 1), req("ab", 7), req("x", 3)]))
    assert batched[1].text == alone
    other_seed = asyncio.run(tiny.generate([req("ab", 8, n=16)]))[0].text
    assert other_seed != asyncio.run(tiny.generate([req("ab", 7, n=16)]))[0].text


def test_score_equals_a_plain_forward_pass(tiny):
    [s] = asyncio.run(tiny.score([ScoreRequest(prompt="ab", continuation="cd")]))
    ids = torch.tensor([tiny._encode("abcd")])
    with torch.no_grad():
        logp = torch.log_softmax(tiny.model(ids).logits[0], -1)
    expected = logp[1, ids[0, 2]] + logp[2, ids[0, 3]]
    assert s.n_tokens == 2 and math.isclose(s.logprob, expected.item(), abs_tol=1e-4)
    tiny.clear_score_cache()  # score it afresh inside a padded batch, not from the cache
    batched = asyncio.run(
        tiny.score(
            [
                ScoreRequest(prompt="a much longer prompt", continuation="x"),
                ScoreRequest(prompt="ab", continuation="cd"),
            ]
        )
    )
    assert math.isclose(batched[1].logprob, s.logprob, abs_tol=1e-4)


def test_repeated_score_requests_are_computed_once(tiny, monkeypatch):
    tiny.clear_score_cache()
    calls = []
    forward = tiny.model.forward
    monkeypatch.setattr(tiny.model, "forward", lambda *a, **k: calls.append(1) or forward(*a, **k))
    reqs = [ScoreRequest(prompt="ab", continuation="c")] * 3
    first = asyncio.run(tiny.score(reqs))
    again = asyncio.run(tiny.score(reqs[:1]))
    assert len(calls) == 1 and {s.logprob for s in first + again} == {first[0].logprob}


def test_chat_prompt_without_template_falls_back_to_plain(tiny):
    out = asyncio.run(
        tiny.generate(
            [
                GenerationRequest(
                    prompt=[Message(role="user", content="hi")], sampling=Sampling(max_new_tokens=3)
                )
            ]
        )
    )
    assert out[0].tokens_in > 0


@pytest.mark.slow
def test_embedded_smollm2_debate_end_to_end(tmp_path):
    from typer.testing import CliRunner

    from debate.cli.main import app

    res = CliRunner().invoke(
        app, ["run", "--out", str(tmp_path), "--n-items", "2", "--set", "protocol.speech_tokens=16"]
    )
    assert res.exit_code == 0, res.output
    assert "judge accuracy" in res.output


def test_dtype_option_env_and_provenance(tiny_model_dir, monkeypatch):
    from debate.models import ModelError
    from debate.models.hf import HFModel

    path = str(tiny_model_dir)
    assert HFModel("t", path, dtype="bf16").describe()["dtype"] == "bf16"
    monkeypatch.setenv("DEBATE_HARNESS_DTYPE", "bf16")
    assert HFModel("t", path).model.dtype == torch.bfloat16
    assert HFModel("t", path, dtype="fp32").describe()["dtype"] == "fp32"  # explicit wins
    monkeypatch.setenv("DEBATE_HARNESS_DTYPE", "fp16")
    with pytest.raises(ModelError, match="unknown dtype 'fp16'; valid: auto, bf16, fp32"):
        HFModel("t", path)


def test_auto_dtype_follows_the_cpu(monkeypatch):
    from debate.models import hardware

    monkeypatch.delenv("DEBATE_HARNESS_DTYPE", raising=False)
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: True)
    assert hardware.resolve_dtype("auto", "cpu") == torch.bfloat16
    monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: False)
    assert hardware.resolve_dtype("auto", "cpu") == torch.float32
    assert hardware.resolve_dtype("auto", "cuda") == torch.bfloat16


def test_threads_follow_affinity_and_cgroup_quota(monkeypatch, tmp_path):
    from debate.models import ModelError, hardware

    monkeypatch.setattr(hardware.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    quota = tmp_path / "cpu.max"
    real_path = hardware.Path
    monkeypatch.setattr(
        hardware, "Path", lambda p: quota if p == "/sys/fs/cgroup/cpu.max" else real_path(p)
    )
    quota.write_text("max 100000\n")
    assert hardware.usable_cores() == 4
    quota.write_text("250000 100000\n")  # 2.5 CPUs of quota: 2 threads keep within it
    assert hardware.usable_cores() == 2
    monkeypatch.setattr(hardware.torch, "get_num_threads", lambda: 2)
    assert hardware.torch_threads(load=2.3) == 2  # the load is this process's own threads
    assert hardware.torch_threads(load=3.2) == 1  # another job keeps a core busy
    monkeypatch.setenv("DEBATE_HARNESS_THREADS", "1")
    assert hardware.torch_threads() == 1
    monkeypatch.setenv("DEBATE_HARNESS_THREADS", "two")
    with pytest.raises(ModelError, match="positive integer"):
        hardware.torch_threads()


def test_dtype_is_a_spec_option_and_a_bad_option_is_one_line(tiny_model_dir):
    from debate.models import ModelError, load_model

    assert load_model(f"hf:{tiny_model_dir}?dtype=fp32").describe()["dtype"] == "fp32"
    with pytest.raises(ModelError, match="unknown option 'dtyp'"):
        load_model(f"hf:{tiny_model_dir}?dtyp=fp32")
