"""Hostile server behaviours for the fault suite: each takes over one reply of the fake provider
(`FakeProvider.fail_next(NAME)`), given the key the client sent and the reply a sound server
would have sent, and writes whatever it likes to the socket.

They are what a broken proxy, an overloaded GPU box or a malicious endpoint does: lie about
status, encoding or length, stall, echo the key, or send numbers no API may send."""

from __future__ import annotations

import copy
import gzip
import json
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

# handler, the key the client sent (may be ""), the sound reply (None where the route is unknown)
Behaviour = Callable[[BaseHTTPRequestHandler, str, dict | None], None]
ESC = "\x1b"
SHOUT = (
    f"{ESC}[2J{ESC}]0;pwned{ESC}\\{ESC}[31mRED\u202eevil\x00\x07"  # clear, retitle, colour, bidi
)


def send(
    h: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    headers: dict[str, str] | None = None,
    *,
    length: int | None = None,
) -> None:
    h.send_response(status)
    headers = {"Content-Type": "application/json", **(headers or {})}
    for k, v in headers.items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body) if length is None else length))
    h.end_headers()
    h.wfile.write(body)
    h.wfile.flush()


def _json(status: int, data: object, headers: dict | None = None) -> Behaviour:
    def act(h, key, good):
        send(h, status, json.dumps(data).replace("KEY", key).encode(), headers)

    return act


def _raw(status: int, body: bytes, headers: dict | None = None) -> Behaviour:
    def act(h, key, good):
        send(h, status, body.replace(b"KEY", key.encode()), headers)

    return act


def _corrupt(change: Callable[[dict, str], None], *, text: str | None = None) -> Behaviour:
    """The sound reply with something changed (with `text`, its NaN/Infinity literals written as
    Python's json writes them)."""

    def act(h, key, good):
        data = copy.deepcopy(good or {})
        change(data, key)
        send(h, 200, json.dumps(data).encode())  # json.dumps writes NaN and Infinity bare

    return act


def _set_usage(value: object) -> Behaviour:
    def change(d, key):
        d["usage"] = {"prompt_tokens": value, "completion_tokens": 3, "total_tokens": 3}

    return _corrupt(change)


def _set_logprobs(value: float) -> Behaviour:
    """Every log-probability in the reply, chat top_logprobs and echoed ones, set to `value`."""

    def change(d, key):
        for c in d.get("choices", []):
            lp = c.get("logprobs") or {}
            for entry in lp.get("content") or []:
                entry["logprob"] = value
                for alt in entry.get("top_logprobs") or []:
                    alt["logprob"] = value
            if "token_logprobs" in lp:
                lp["token_logprobs"] = [None] + [value] * (len(lp["token_logprobs"]) - 1)

    return _corrupt(change)


def _say(text: str) -> Behaviour:
    """A sound reply whose text is `text` (KEY: the client's key)."""

    def change(d, key):
        for c in d.get("choices", []):
            said = text.replace("KEY", key)
            if isinstance(c.get("message"), dict):
                c["message"]["content"] = said + " " + c["message"]["content"]
            if "text" in c and not (c.get("logprobs") or {}).get("text_offset"):
                c["text"] = said + c["text"]

    return _corrupt(change)


def _string_offsets(d, key):
    for c in d.get("choices", []):
        lp = c.get("logprobs") or {}
        if "text_offset" in lp:
            lp["text_offset"] = [str(o) for o in lp["text_offset"]]


def _drip(h, key, good):
    """Headers at once, then the body a byte every half second: no read ever times out."""
    body = json.dumps(good or {}).encode()
    h.send_response(200)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    for b in body:
        h.wfile.write(bytes([b]))
        h.wfile.flush()
        time.sleep(0.5)


def _stall(h, key, good):
    """Says nothing for longer than any test's deadline, then answers."""
    time.sleep(3)
    send(h, 200, json.dumps(good or {}).encode())


def _hang_up(h, key, good):
    h.close_connection = True
    h.connection.close()


def _short_body(h, key, good):
    body = json.dumps(good or {}).encode()
    send(h, 200, body[: len(body) // 2], length=len(body))
    h.close_connection = True


def _gzip_garbage(h, key, good):
    send(h, 200, b"\x1f\x8b\x08\x00not really gzip at all", {"Content-Encoding": "gzip"})


def _gzip_bomb(h, key, good):
    """17 MiB of zeros in 17 KiB: over the reply cap once inflated."""
    send(h, 200, gzip.compress(b"0" * (17 * 2**20)), {"Content-Encoding": "gzip"})


def _deep(h, key, good):
    send(h, 200, b"[" * 200_000 + b"]" * 200_000)


HOSTILE: dict[str, Behaviour] = {
    # rate limits and overload
    "429 Retry-After 1e9": _json(429, {"error": {"message": "slow down"}}, {"Retry-After": "1e9"}),
    "429 Retry-After -5": _json(429, {"error": {"message": "slow down"}}, {"Retry-After": "-5"}),
    "429 Retry-After nan": _json(429, {"error": {"message": "slow down"}}, {"Retry-After": "nan"}),
    "429 Retry-After garbage": _json(429, {"error": "x"}, {"Retry-After": "soon-ish"}),
    "503 Retry-After year 9999": _json(
        503, {"error": "down"}, {"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}
    ),
    "503 html": _raw(
        503, b"<html><body>Service Unavailable</body></html>", {"Content-Type": "text/html"}
    ),
    "500 escapes and key": _json(500, {"error": {"message": f"boom {SHOUT} key=KEY"}}),
    "502 empty": _raw(502, b""),
    "504 text": _raw(504, b"gateway timeout KEY", {"Content-Type": "text/plain"}),
    # redirects
    "302 key in Location": _raw(302, b"", {"Location": "https://evil.example/steal?api_key=KEY"}),
    "307 key in path": _raw(307, b"", {"Location": "https://user:KEY@evil.example/v1/KEY/x"}),
    # bodies that are not a reply
    "200 html": _raw(200, b"<html>login</html>", {"Content-Type": "text/html"}),
    "200 empty": _raw(200, b""),
    "200 truncated json": _raw(200, b'{"choices": [{"message": {"content": "hal'),
    "200 json array": _json(200, [1, 2, 3]),
    "200 no choices": _json(200, {"object": "chat.completion"}),
    "200 empty choices": _json(200, {"choices": []}),
    "200 choices a string": _json(200, {"choices": "KEY"}),
    "200 content null": _json(200, {"choices": [{"message": {"content": None}, "text": None}]}),
    "200 content a number": _json(200, {"choices": [{"message": {"content": 7}, "text": 7}]}),
    "200 nested 200k deep": _deep,
    "200 invalid utf-8": _raw(200, b'{"choices": [{"message": {"content": "\xff\xfe\xfa"}}]}'),
    "200 gzip garbage": _gzip_garbage,
    "200 gzip bomb": _gzip_bomb,
    "200 body over the cap": _raw(200, b" " * (17 * 2**20)),
    # numbers no API may send
    "usage negative": _set_usage(-8_000_000),
    "usage a string": _set_usage("12"),
    "usage NaN": _set_usage(float("nan")),
    "usage 1e999": _raw(
        200,
        b'{"choices": [{"message": {"content": "x"}, "text": "x"}], '
        b'"usage": {"prompt_tokens": 1e999}}',
    ),  # fmt: skip
    "usage true": _set_usage(True),
    "usage a list": _corrupt(lambda d, k: d.update(usage=[1, 2])),
    "logprobs NaN": _set_logprobs(float("nan")),
    "logprobs -inf": _set_logprobs(float("-inf")),
    "logprobs positive": _set_logprobs(3.0),
    "logprobs a string": _set_logprobs("-0.1"),  # type: ignore[arg-type]
    "text_offset strings": _corrupt(_string_offsets),
    # text meant for a terminal or a reader
    "content with escapes": _say(f"{SHOUT} hello"),
    "content echoes the key": _say("your key is KEY ok"),
    # the connection itself
    "drip a byte per 0.5 s": _drip,
    "stall 3 s": _stall,
    "hang up": _hang_up,
    "short body": _short_body,
}
