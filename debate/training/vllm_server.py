"""GRPO's completions from vLLM, through trl: a server (`update.vllm_server`) or colocated.

In "server" mode a separate `trl vllm-serve --model ...` process (on GPUs of its own) generates,
and the trainer pushes its new weights to it after each step; in "colocate" mode
(`update.vllm_colocate`) vLLM runs inside each training process on its GPU. This module only
turns the config keys into trl's arguments, after asking a server's `/health` once: trl's client
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
    """trl GRPOConfig arguments for `update.vllm_server` or `update.vllm_colocate` ({} without
    either)."""
    url, colocate = cfg.update.vllm_server, cfg.update.vllm_colocate
    if url is None and not colocate:
        return {}
    key = "update.vllm_server" if url else "update.vllm_colocate"
    if cfg.update.method != "grpo":
        raise ConfigError(
            f"{key} is for update.method grpo (trl's DPO generates nothing, and "
            f"{cfg.update.method} here is played by the harness); serve the league's opponents "
            "with league.server instead"
        )
    if url and colocate:
        raise ConfigError("set update.vllm_server or update.vllm_colocate, not both")
    if colocate:
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("update.vllm_colocate needs a CUDA GPU; this machine has none")
        need_vllm(key)
        return {"use_vllm": True, "vllm_mode": "colocate"}
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
    need_vllm(key)
    return {"use_vllm": True, "vllm_mode": "server", "vllm_server_base_url": base}


def need_vllm(key: str) -> None:
    if importlib.util.find_spec("vllm") is None:
        raise ConfigError(
            f"{key}: trl's vLLM generation needs vllm installed in this environment "
            '(pip install "trl[vllm]")'
        )


__all__ = ["vllm_args"]
