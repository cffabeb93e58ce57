"""What an OpenAI-compatible reply means: its text, its log-probabilities, its error message,
each read off untrusted JSON and checked (debate/models/untrusted.py), so that a reply either
yields what the API promises or is `Malformed` (and retried)."""

from __future__ import annotations

import math
from typing import Any

from debate.models.untrusted import Malformed, clean_text, logprob, parse_json


def server_message(raw: bytes) -> str:
    """The error text a server gave, one line, cleaned; never trusted to be JSON."""
    try:
        data = parse_json(raw)
        err = data.get("error", data) if isinstance(data, dict) else data
        text = err.get("message", err) if isinstance(err, dict) else err
        text = str(text)
    except Malformed:
        text = raw[:2000].decode("utf-8", "replace")
    return " ".join(clean_text(text).split())[:300]


def _first_choice(data: Any) -> dict:
    if not isinstance(data, dict):
        raise Malformed("the body is not a JSON object")
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise Malformed("no 'choices'")
    return choices[0]


def chat_text(data: Any) -> str:
    message = _first_choice(data).get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if not isinstance(content, str):
        raise Malformed("the message content is null")
    return content


def completion_text(data: Any) -> str:
    text = _first_choice(data).get("text")
    if not isinstance(text, str):
        raise Malformed("'text' is null")
    return text


def top_logprobs(data: Any) -> dict[str, float]:
    """The first reply token's alternatives, from a chat or a legacy completions reply: token
    text -> log-probability (two token ids that decode alike add up). Empty: none given."""
    lp = _first_choice(data).get("logprobs")
    if lp is None:
        return {}
    if not isinstance(lp, dict):
        raise Malformed("'logprobs' is not an object")
    pairs: list[tuple[object, object]] = []
    if "content" in lp:  # chat
        content = lp.get("content") or []
        first = content[0] if isinstance(content, list) and content else {}
        entries = first.get("top_logprobs") if isinstance(first, dict) else None
        if not isinstance(entries or [], list):
            raise Malformed("'top_logprobs' is not a list")
        pairs = [(e.get("token"), e.get("logprob")) for e in entries or [] if isinstance(e, dict)]
    else:  # legacy completions: a list of {token: logprob}
        tops = lp.get("top_logprobs") or []
        first = tops[0] if isinstance(tops, list) and tops else {}
        pairs = list(first.items()) if isinstance(first, dict) else []
    out: dict[str, float] = {}
    for token, value in pairs:
        if not isinstance(token, str):
            raise Malformed("a top_logprobs token is not text")
        v = logprob(value)
        prev = out.get(token)
        out[token] = v if prev is None else _logaddexp(prev, v)
    if sum(math.exp(v) for v in out.values()) > 1.001:
        raise Malformed("the top_logprobs add up to more than probability 1")
    return out


def echoed_logprobs(data: Any, start: int, end: int) -> list[float]:
    """The log-probabilities of the echoed prompt tokens that start in [start, end)."""
    lp = _first_choice(data).get("logprobs")
    if lp is None:
        return []
    if not isinstance(lp, dict):
        raise Malformed("'logprobs' is not an object")
    offsets, values = lp.get("text_offset") or [], lp.get("token_logprobs") or []
    if not isinstance(offsets, list) or not isinstance(values, list):
        raise Malformed("'text_offset' or 'token_logprobs' is not a list")
    if len(offsets) != len(values):
        raise Malformed("'text_offset' and 'token_logprobs' differ in length")
    picked = []
    for o, v in zip(offsets, values):
        if isinstance(o, bool) or not isinstance(o, int):
            raise Malformed("a 'text_offset' is not a whole number")
        if start <= o < end:
            picked.append(None if v is None else logprob(v))
    if any(v is None for v in picked):
        return []
    return picked  # type: ignore[return-value]


def _logaddexp(a: float, b: float) -> float:
    hi = max(a, b)
    return hi + math.log(math.exp(a - hi) + math.exp(b - hi))
