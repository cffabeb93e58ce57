"""The league's opponents played by an OpenAI-compatible server (`league.server`).

A vLLM fleet serves a base model and LoRA adapters by name (`vllm serve BASE
--served-model-name gen-0 --enable-lora --lora-modules gen-1=PATH ...`): an opponent drawn from
the league is then asked for by its league name, `openai:gen-N@SERVER`, and the training
processes keep only the policy they update. With `league.load_adapters`, each new checkpoint is
handed to the server as it joins the league (vLLM's `/load_lora_adapter`, enabled on the server
by VLLM_ALLOW_RUNTIME_LORA_UPDATING=True); the server must see the checkpoint's path.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from debate.config import AgentConfig, ConfigError
from debate.training.config import LeagueSettings
from debate.training.league import OPPONENT

LOAD_TIMEOUT_S = 300.0  # loading an adapter reads it from disk on the server


def served_opponents(opponents: list[AgentConfig], league: LeagueSettings) -> list[AgentConfig]:
    """Each opponent as the server's model of its league name (unchanged without a server)."""
    if league.server is None:
        return opponents
    base = league.server.rstrip("/")
    options = f"?{league.server_options}" if league.server_options else ""
    return [
        o.model_copy(update={"model": f"openai:{o.name.removeprefix(OPPONENT)}@{base}{options}"})
        for o in opponents
    ]


def load_adapter(league: LeagueSettings, name: str, path: Path) -> None:
    """Ask the server to serve the adapter at `path` as `name` (with `league.load_adapters`)."""
    if league.server is None or not league.load_adapters:
        return
    url = f"{league.server.rstrip('/')}/load_lora_adapter"
    body = {"lora_name": name, "lora_path": str(path)}
    try:
        reply = httpx.post(url, json=body, timeout=LOAD_TIMEOUT_S)
    except httpx.HTTPError as e:
        raise ConfigError(f"league.server: {url} did not answer ({type(e).__name__})") from None
    if reply.status_code != 200:
        said = " ".join(reply.text.split())[:200]
        raise ConfigError(
            f"league.server refused adapter {name} (HTTP {reply.status_code}: {said}); start vLLM "
            "with --enable-lora and VLLM_ALLOW_RUNTIME_LORA_UPDATING=True"
        )


__all__ = ["served_opponents", "load_adapter"]
