"""Model names as researchers already type them (inspect_ai and litellm write them this way):
`PROVIDER/MODEL`, e.g. `openai/gpt-4o-mini`, `vllm/meta-llama/Llama-3.1-8B-Instruct`.

Each provider is an OpenAI-compatible endpoint with a default base URL and the environment
variable its API key is read from. The base URL is, first to last: the spec's `@URL`
(`vllm/M@http://gpu-box:8000/v1`), the command's `--model-base-url`, the variable
`<PROVIDER>_BASE_URL` (as inspect_ai reads it, e.g. `VLLM_BASE_URL`), the default below.
Options follow a `?` as in `openai:` specs (`openai/gpt-4o?concurrency=32&timeout_s=120`).

    provider     default base URL                                        key variable
    openai       https://api.openai.com/v1                               OPENAI_API_KEY
    openrouter   https://openrouter.ai/api/v1                            OPENROUTER_API_KEY
    together     https://api.together.xyz/v1                             TOGETHER_API_KEY
    groq         https://api.groq.com/openai/v1                          GROQ_API_KEY
    fireworks    https://api.fireworks.ai/inference/v1                   FIREWORKS_API_KEY
    deepseek     https://api.deepseek.com/v1                             DEEPSEEK_API_KEY
    mistral      https://api.mistral.ai/v1                               MISTRAL_API_KEY
    gemini       https://generativelanguage.googleapis.com/v1beta/openai GEMINI_API_KEY
    xai          https://api.x.ai/v1                                     XAI_API_KEY
    vllm         http://localhost:8000/v1                                VLLM_API_KEY (optional)
    transformers http://localhost:8000/v1 (`transformers serve`)         none
    ollama       http://localhost:11434/v1                               none
    llamacpp     http://localhost:8080/v1 (llama.cpp's llama-server)     LLAMACPP_API_KEY (optional)

Every request goes to `/chat/completions` unless the provider says it serves more: vLLM continues
an assistant message (`continue_final_message`), so a prompt style's reply prefix (`<quote>`)
is kept; elsewhere it is dropped. `?prefill=completions` sends such requests to the legacy
`/completions` endpoint instead, for servers that keep it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Provider:
    base_url: str
    key_env: str
    needs_key: bool = True  # a hosted API: no key, no call worth making
    prefill: str = "drop"  # how a reply prefix is sent: drop, continue, completions


PROVIDERS: dict[str, Provider] = {
    "openai": Provider("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "openrouter": Provider("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY"),
    "together": Provider("https://api.together.xyz/v1", "TOGETHER_API_KEY"),
    "groq": Provider("https://api.groq.com/openai/v1", "GROQ_API_KEY"),
    "fireworks": Provider("https://api.fireworks.ai/inference/v1", "FIREWORKS_API_KEY"),
    "deepseek": Provider("https://api.deepseek.com/v1", "DEEPSEEK_API_KEY"),
    "mistral": Provider("https://api.mistral.ai/v1", "MISTRAL_API_KEY"),
    "gemini": Provider("https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY"),
    "xai": Provider("https://api.x.ai/v1", "XAI_API_KEY"),
    "vllm": Provider("http://localhost:8000/v1", "VLLM_API_KEY", False, "continue"),
    "transformers": Provider("http://localhost:8000/v1", "TRANSFORMERS_API_KEY", False),
    "ollama": Provider("http://localhost:11434/v1", "OLLAMA_API_KEY", False),
    "llamacpp": Provider("http://localhost:8080/v1", "LLAMACPP_API_KEY", False),
}
KEY_ENVS = frozenset(p.key_env for p in PROVIDERS.values())
PREFILL_MODES = ("drop", "continue", "completions")


def provider_of(spec: str) -> str | None:
    """The provider a `PROVIDER/MODEL` spec names, else None (`hf:org/name` is not one: its
    scheme comes before any slash)."""
    head, slash, _ = spec.partition("/")
    return head if slash and head in PROVIDERS else None


def is_api(spec: str) -> bool:
    """Whether a spec names a model behind an HTTP API (it bills by the token)."""
    return spec.startswith("openai:") or provider_of(spec) is not None


def with_base_url(spec: str, url: str | None) -> str:
    """`--model-base-url`: a provider spec without its own `@URL` is given this one."""
    name = provider_of(spec)
    if not url or name is None:
        return spec
    model, _, query = spec.partition("?")
    if "@" in model:
        return spec
    return f"{model}@{url}" + (f"?{query}" if query else "")


def split(spec: str) -> tuple[str, str, str | None, str]:
    """`PROVIDER/MODEL[@URL][?QUERY]` -> (provider, model, url or None, query)."""
    name, _, rest = spec.partition("/")
    head, _, query = rest.partition("?")
    model, at, url = head.partition("@")
    return name, model, (url if at else None), query
