"""OpenAI-compatible servers: hosted chat APIs, vLLM, `transformers serve`, llama.cpp."""

from __future__ import annotations

import os
from urllib.parse import parse_qsl

from debate.models import providers
from debate.models.base import LanguageModel, ModelError
from debate.models.providers import PREFILL_MODES
from debate.registry import register

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
_API_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def api_options(spec: str, query: str) -> dict:
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
        opts[k] = value
    if "prefill" in opts and opts["prefill"] not in PREFILL_MODES:
        raise ModelError(f"model spec {spec!r}: prefill must be one of {', '.join(PREFILL_MODES)}")
    if "cache" in opts:
        if opts["cache"].lower() not in _API_FLAGS:
            raise ModelError(f"model spec {spec!r}: cache must be true or false")
        opts["cache"] = _API_FLAGS[opts["cache"].lower()]
    return opts


@register("backend", "openai")
def openai(spec: str, rest: str) -> LanguageModel:
    """openai:MODEL@BASE_URL[?opt=value&...]: an OpenAI-compatible server"""
    from debate.models.openai_compat import OpenAIModel

    model, at, url = rest.partition("@")
    if not at or not model or not url:
        raise ModelError(f"model spec {spec!r}: write openai:MODEL@BASE_URL")
    url, _, query = url.partition("?")
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"model spec {spec!r}: the URL after '@' must start with http(s)://")
    opts = api_options(spec, query)
    try:
        return OpenAIModel(spec, model, url, **opts)
    except TypeError as e:
        raise ModelError(f"bad option in model spec {spec!r}: {e}") from None


def provider_model(spec: str) -> LanguageModel:
    """PROVIDER/MODEL[@BASE_URL][?opt=value&...]: a named API (debate/models/providers.py)"""
    from debate.models.openai_compat import OpenAIModel

    name, model, url, query = providers.split(spec)
    provider = providers.PROVIDERS[name]
    if not model:
        raise ModelError(f"model spec {spec!r}: write {name}/MODEL, e.g. {name}/my-model")
    if url is None:
        url = os.environ.get(f"{name.upper()}_BASE_URL") or provider.base_url
    if not url.startswith(("http://", "https://")):
        raise ModelError(f"model spec {spec!r}: the URL after '@' must start with http(s)://")
    opts = api_options(spec, query)
    opts.setdefault("key_env", provider.key_env)
    opts.setdefault("prefill", provider.prefill)
    if provider.needs_key and not os.environ.get(opts["key_env"]):
        raise ModelError(
            f"model spec {spec!r}: {name} needs an API key in the environment variable "
            f"{opts['key_env']} (set it, or name another with ?key_env=VAR)"
        )
    try:
        return OpenAIModel(spec, model, url, **opts)
    except TypeError as e:
        raise ModelError(f"bad option in model spec {spec!r}: {e}") from None
