"""Training with servers: GRPO's completions from trl's vLLM server (`update.vllm_server`), and
the league's opponents played by an OpenAI-compatible server that serves LoRA adapters by name
(`league.server`), as vLLM does with `--lora-modules` and runtime adapter loading.

vLLM itself cannot run here (no GPU, not installed): the first part checks that the key reaches
trl's own GRPOConfig, and that a missing server or a missing vllm is one line before any work."""

from __future__ import annotations

import importlib.util
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fakes.provider import FakeProvider
from test_training import tiny_config
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import ConfigError, dump_yaml
from debate.training.config import LeagueSettings, UpdateSettings
from debate.training.loop import read_records, train


class Health(BaseHTTPRequestHandler):
    """What `trl vllm-serve` answers on /health (and nothing else)."""

    def do_GET(self) -> None:
        ok = self.path.rstrip("/") == "/health"
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def health_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def grpo(tmp_path, tiny_model_dir, url: str):
    cfg = tiny_config(tmp_path, tiny_model_dir, "grpo")
    return cfg.model_copy(update={"update": cfg.update.model_copy(update={"vllm_server": url})})


def test_vllm_server_reaches_trls_grpo_config(tmp_path, tiny_model_dir, health_server,
                                              monkeypatch):  # fmt: skip
    from trl import GRPOConfig

    from debate.training.update import grpo_config

    cfg = grpo(tmp_path, tiny_model_dir, health_server + "/")
    find_spec = importlib.util.find_spec
    # trl's client itself needs vllm; here only the step before it is checked
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "vllm" else find_spec(name, *a))  # fmt: skip
    args = grpo_config(cfg, tmp_path / "out", 1)
    assert isinstance(args, GRPOConfig)
    assert (args.use_vllm, args.vllm_mode, args.vllm_server_base_url) == (
        True, "server", health_server)  # fmt: skip
    assert args.num_generations == cfg.update.group_size
    # without the key, trl generates with the policy itself
    plain = grpo_config(tiny_config(tmp_path, tiny_model_dir, "grpo"), tmp_path / "out", 1)
    assert plain.use_vllm is False


def one_line(result) -> str:
    lines = [x for x in result.output.splitlines() if x.strip()]
    assert result.exit_code != 0 and len(lines) == 1, result.output
    return lines[0]


def test_a_missing_vllm_server_is_one_line_before_any_work(tmp_path, tiny_model_dir):
    from fakes.served import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    (tmp_path / "t.yaml").write_text(dump_yaml(grpo(tmp_path, tiny_model_dir, url)))
    result = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "t.yaml")])
    line = one_line(result)
    assert "update.vllm_server" in line and url in line and "trl vllm-serve" in line
    assert not (tmp_path / "grpo").exists()  # nothing written


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_a_server_without_vllm_here_is_one_line(tmp_path, tiny_model_dir, health_server):
    (tmp_path / "t.yaml").write_text(dump_yaml(grpo(tmp_path, tiny_model_dir, health_server)))
    result = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "t.yaml")])
    assert "update.vllm_server" in (line := one_line(result)) and "trl[vllm]" in line


def test_dpo_refuses_a_vllm_server_naming_what_does_apply(tmp_path, tiny_model_dir, health_server):
    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo")
    cfg = cfg.model_copy(
        update={"update": cfg.update.model_copy(update={"vllm_server": health_server})}
    )
    with pytest.raises(ConfigError, match="league.server"):
        train(cfg)


class LoraServer(FakeProvider):
    """An OpenAI-compatible server that, as vLLM with --enable-lora, answers only for the models
    it serves (the base as gen-0, adapters once loaded) and loads adapters at run time."""

    def __init__(self) -> None:
        super().__init__()
        self.adapters = {"gen-0": "base"}

    def answer(self, path: str, body: dict) -> dict:
        if path.endswith("/load_lora_adapter"):
            self.adapters[body["lora_name"]] = body["lora_path"]
            return {}
        if body.get("model") not in self.adapters:
            raise LookupError(body.get("model"))  # a 404, as vLLM answers an unknown model
        return super().answer(path, body)


def test_league_opponents_are_played_by_the_server_by_adapter_name(tmp_path, tiny_model_dir):
    with LoraServer() as server:
        url = server.url
        cfg = tiny_config(tmp_path, tiny_model_dir, "dpo", generations=2)
        league = LeagueSettings(anchor_items=1, server=url, load_adapters=True)
        cfg = cfg.model_copy(update={"league": league, "update": UpdateSettings(
            method="dpo", min_margin=0.0, batch_size=2, learning_rate=1e-3)})  # fmt: skip
        records = train(cfg)
    asked = [r.body["model"] for r in server.log if r.path.endswith("completions")]
    assert {"gen-0", "gen-1"} <= set(asked) <= {"gen-0", "gen-1"}
    assert server.adapters["gen-1"] == str(cfg.run_dir.resolve() / "checkpoints" / "gen-1")
    assert all(o.startswith("openai:gen-") and url in o
               for r in records[1:] for o in r.opponents)  # fmt: skip
    # the served opponents' speeches are in the rollouts the update learned from
    lines = (cfg.run_dir / "rollouts" / "gen-2.jsonl").read_text().splitlines()
    played = {a for t in map(json.loads, lines) for a in t["agents"].values()}
    assert {"opp-gen-0", "opp-gen-1"} & played
    assert read_records(cfg.run_dir / "generations.jsonl")[2].pairs > 0
