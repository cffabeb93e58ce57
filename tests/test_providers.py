"""Model names as researchers type them (`openai/gpt-4o-mini`, `vllm/org/model`), and chat
first: what the server is sent, read off the fake provider's log."""

from __future__ import annotations

import json

import pytest
from fakes.provider import FakeProvider
from typer.testing import CliRunner

from debate.cli.main import app
from debate.models import ModelError, load_model, unload
from debate.models.providers import PROVIDERS, with_base_url
from debate.usage import model_name


@pytest.fixture
def fresh():
    """Specs built in a test are dropped after it (one instance per spec per process)."""
    built: list[str] = []

    def build(spec: str):
        built.append(spec)
        unload(spec)
        return load_model(spec)

    yield build
    for s in built:
        unload(s)


def test_a_hosted_provider_has_its_url_and_key_variable(fresh, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-abcdefgh")
    m = fresh("openai/gpt-4o-mini")
    assert (m.model, m.base_url, m.key_env, m.prefill) == (
        "gpt-4o-mini", "https://api.openai.com/v1", "OPENAI_API_KEY", "drop"
    )  # fmt: skip


def test_a_hosted_provider_without_its_key_is_one_clear_line(fresh, monkeypatch):
    monkeypatch.delenv("TOGETHER_API_KEY", raising=False)
    with pytest.raises(ModelError, match="together needs an API key in .*TOGETHER_API_KEY"):
        fresh("together/meta-llama/Llama-3-8b-chat-hf")


def test_a_local_server_provider_keeps_slashes_in_the_model_and_needs_no_key(fresh, monkeypatch):
    monkeypatch.delenv("VLLM_BASE_URL", raising=False)
    m = fresh("vllm/meta-llama/Llama-3.1-8B-Instruct?concurrency=3")
    assert m.model == "meta-llama/Llama-3.1-8B-Instruct"
    assert m.base_url == "http://localhost:8000/v1" and m.concurrency == 3
    assert m.prefill == "continue"  # vLLM continues an assistant message


def test_the_base_url_comes_from_the_spec_then_the_flag_then_the_environment(fresh, monkeypatch):
    monkeypatch.setenv("VLLM_BASE_URL", "http://env-box:9000/v1")
    assert fresh("vllm/m").base_url == "http://env-box:9000/v1"
    assert fresh("vllm/m@http://spec-box:1/v1").base_url == "http://spec-box:1/v1"
    flagged = with_base_url("vllm/m?concurrency=2", "http://flag-box:2/v1")
    assert flagged == "vllm/m@http://flag-box:2/v1?concurrency=2"
    assert with_base_url("vllm/m@http://spec-box:1/v1", "http://flag-box:2/v1").endswith(
        "spec-box:1/v1"
    )
    assert with_base_url("hf:org/model", "http://flag-box:2/v1") == "hf:org/model"


@pytest.mark.parametrize(
    "spec, words",
    [
        ("openai/", "write openai/MODEL"),
        ("vllm/m@ftp://x", "must start with http"),
        ("vllm/m?prefill=sideways", "prefill must be one of"),
        ("nosuch/model", "unknown model spec"),
    ],
)
def test_bad_provider_specs_are_one_clear_line(fresh, spec, words):
    with pytest.raises(ModelError, match=words):
        fresh(spec)


def test_every_provider_is_documented():
    from debate.models import providers

    for name, p in PROVIDERS.items():
        assert name in providers.__doc__ and p.base_url.split("(")[0] in providers.__doc__


def test_prices_name_the_model_inside_a_provider_spec():
    assert model_name("openai/gpt-4o") == "gpt-4o"
    assert model_name("vllm/org/m@http://h:1/v1?concurrency=2") == "org/m"


def run(p: FakeProvider, tmp_path, *args: str):
    return CliRunner().invoke(app, ["run", "--judge-kind", "verdict", "--n-items", "2",
                                    "--out", str(tmp_path), "--name", "r", *args])  # fmt: skip


def test_defaults_send_every_request_to_chat_completions(tmp_path):
    """The default prompt style pre-fills `<quote>`: a chat API gets the chat request all the
    same (hosted chat models serve no legacy `/completions`)."""
    with FakeProvider() as p:
        spec = f"openai:m@{p.url}"
        result = run(p, tmp_path, "--debater", spec, "--judge", spec)
        paths = {r.path for r in p.log}
    assert result.exit_code == 0, result.output
    assert paths == {"/v1/chat/completions"}


def test_model_base_url_points_provider_specs_at_a_server(tmp_path):
    """`vllm/m` at a server given once with --model-base-url; vLLM continues the reply prefix."""
    with FakeProvider() as p:
        result = run(p, tmp_path, "--debater", "vllm/deb", "--judge", "vllm/judge",
                     "--model-base-url", p.url)  # fmt: skip
        bodies = [r.body for r in p.log if r.body.get("model") == "deb"]
    assert result.exit_code == 0, result.output
    assert all(b["messages"][-1] == {"role": "assistant", "content": "<quote>"} for b in bodies)
    assert all(b["continue_final_message"] is True for b in bodies)
    speeches = [
        t["turns"][0]["text"]
        for t in map(json.loads, (tmp_path / "r" / "transcripts.jsonl").open())
    ]
    assert all(s.startswith("<quote>") for s in speeches)


def test_legacy_completions_only_when_asked(tmp_path):
    with FakeProvider() as p:
        spec = f"openai:m@{p.url}?prefill=completions"
        result = run(p, tmp_path, "--debater", spec, "--judge", f"openai:j@{p.url}")
        paths = {(r.body["model"], r.path) for r in p.log}
    assert result.exit_code == 0, result.output
    assert paths == {("m", "/v1/completions"), ("j", "/v1/chat/completions")}


def test_a_chat_only_host_runs_the_defaults_and_refuses_the_cloze_judge_at_once(tmp_path):
    """Hosted chat models serve no `/completions`: a run at default settings with a verdict
    judge plays every match; the cloze judge (echoed prompt log-probabilities) stops the run
    before any match, naming the option to change."""
    with FakeProvider(chat_only=True) as p:
        spec = f"openai:m@{p.url}"
        ok = run(p, tmp_path, "--debater", spec, "--judge", spec)
        cloze = CliRunner().invoke(app, ["run", "--debater", spec, "--judge", spec,
                                         "--judge-kind", "cloze", "--n-items", "2",
                                         "--out", str(tmp_path), "--name", "c"])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert json.loads((tmp_path / "r" / "results.json").read_text())["n_matches"] == 4
    assert cloze.exit_code != 0 and not (tmp_path / "c").exists()
    [line] = [x for x in cloze.output.splitlines() if x.strip()]
    assert "answered 404" in line and "--judge-kind verdict" in line
