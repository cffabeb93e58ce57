"""GRPO's completions from a vLLM server (`update.vllm_server`), through trl's own client.

trl's GRPO trainer generates with vLLM in "server" mode: a separate `trl vllm-serve --model ...`
process generates, and the trainer pushes its new weights to it after each step. This module only
turns the config key into trl's arguments, after asking the server's `/health` once: trl's client
retries a missing server for minutes and then raises a traceback, where a user needs one line.

DPO has no such option: trl's DPO trains on fixed preference pairs and generates nothing. Its
pairs come from the harness's own rollouts, whose opponents a server can play
(`league.server`, debate/training/served.py).
"""

from __future__ import annotations

import importlib.util

import httpx

from debate.config import ConfigError
from debate.training.config import TrainConfig

HEALTH_TIMEOUT_S = 5.0


def vllm_args(cfg: TrainConfig) -> dict:
    """trl GRPOConfig arguments for `update.vllm_server` ({} without it)."""
    url = cfg.update.vllm_server
    if url is None:
        return {}
    if cfg.update.method != "grpo":
        raise ConfigError(
            f"update.vllm_server is for update.method grpo (trl's DPO generates nothing, and "
            f"{cfg.update.method} here is played by the harness); serve the league's opponents "
            "with league.server instead"
        )
    base = url.rstrip("/")
    try:
        status = httpx.get(f"{base}/health", timeout=HEALTH_TIMEOUT_S).status_code
    except httpx.HTTPError as e:
        raise ConfigError(
            f"update.vllm_server: no vLLM server answers at {base} ({type(e).__name__}); start "
            "one with `trl vllm-serve --model MODEL` or drop the key"
        ) from None
    if status != 200:
        raise ConfigError(f"update.vllm_server: {base}/health answered HTTP {status}, not 200")
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            "update.vllm_server: trl's vLLM client needs vllm installed in this environment "
            "(pip install vllm)"
        )
    return {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": base}


__all__ = ["vllm_args"]
