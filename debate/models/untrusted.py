"""What an API server sends is data to check, never trusted: its bytes become JSON only if they
decode to finite numbers at a sane depth, its text loses terminal control sequences, its numbers
must be what the API promises (log-probabilities finite and at most 0, token counts whole and
not negative), and no API key leaves this process in a message, a URL or a stored reply.

A reply that fails a check is `Malformed`: the caller retries it like a 5xx, then gives up
with one line."""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

MAX_REPLY_BYTES = 16 * 2**20  # far above any chat reply; a server streaming forever is cut off
MAX_TOKENS_PER_REPLY = 10_000_000  # a usage count above this is garbage, not a long reply
# A log-probability a little above 0 is float rounding of a certain token; more is nonsense.
LOGPROB_SLACK = 1e-4

# CSI and OSC escape sequences (colours, cursor moves, window titles, hyperlinks), then single
# control characters: C0 but tab and newline, DEL, C1, and the bidi overrides that reorder text
# on screen (a "Trojan Source" reply).
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x9b[0-?]*[ -/]*[@-~]"
)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class Malformed(ValueError):
    """A 2xx reply that is not what the API promises; retried like a 5xx."""


def clean_text(text: str) -> str:
    """Server text as it may reach a terminal or a file: no escape sequences, no control
    characters but newlines and tabs (a CR-LF pair becomes a newline)."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text.replace("\r\n", "\n")))


def secrets(extra_envs: Iterable[str] = ()) -> list[str]:
    """Every API key this process holds: the provider table's variables and the model's own."""
    from debate.models.providers import KEY_ENVS

    names = {*KEY_ENVS, *extra_envs}
    # a key shorter than this could match ordinary words; no real provider issues one
    return sorted({v for n in names if len(v := os.environ.get(n, "")) >= 8}, key=len, reverse=True)


def redact(text: str, keys: Iterable[str]) -> str:
    """`text` with every key, also percent- or form-encoded, replaced by ***."""
    for key in keys:
        for form in {key, quote(key, safe=""), quote_plus(key)}:
            text = text.replace(form, "***")
    return text


def shown_url(url: str) -> str:
    """A URL as it may be printed or stored: scheme, host, port and path; never the user-info
    or query string, where keys and signed tokens travel."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable URL)"
    return clean_text(f"{parts.scheme}://{host}{port}{parts.path}")[:200]


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise Malformed("a number in the reply is not finite")
    return value


def _no_constant(name: str) -> float:
    raise Malformed(f"the reply holds {name}, which JSON does not allow")


def parse_json(raw: bytes) -> Any:
    """The reply body as JSON: UTF-8 (or another JSON encoding), finite numbers only, nested no
    deeper than the parser's recursion allows."""
    try:
        return json.loads(raw, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise Malformed("the body is JSON nested too deep") from None
    except Malformed:
        raise
    except ValueError:  # JSONDecodeError, UnicodeDecodeError
        raise Malformed("the body is not JSON") from None


def token_count(value: object, what: str) -> int:
    """A `usage` count: absent is 0; otherwise a whole number, 0 or more."""
    if value is None:
        return 0
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Malformed(f"usage {what} is not a whole number")
    if not 0 <= value <= MAX_TOKENS_PER_REPLY:
        raise Malformed(f"usage {what} is {value}, not a token count")
    return value


def usage_counts(data: dict) -> tuple[int, int]:
    counts = data.get("usage")
    if counts is None:
        return 0, 0
    if not isinstance(counts, dict):
        raise Malformed("'usage' is not an object")
    return (
        token_count(counts.get("prompt_tokens"), "prompt_tokens"),
        token_count(counts.get("completion_tokens"), "completion_tokens"),
    )


def logprob(value: object) -> float:
    """A log-probability: a finite number at most 0 (a hair above 0 is rounding, read as 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Malformed("a log-probability is not a number")
    if not math.isfinite(value) or value > LOGPROB_SLACK:
        raise Malformed(f"a log-probability is {value}, not a finite number at most 0")
    return min(float(value), 0.0)
