"""Every model call on the record. A match opens a `CallLog` (`recording`) and says who is
speaking (`speaking_as`); every `LanguageModel` method a caller awaits inside it appends one
`ModelCall` per request, whatever the backend, so a transcript holds exactly what each model was
given and gave back. Only the outermost call is recorded: a backend that wraps another (a
cache, a test's counter) is one call, not two."""

from __future__ import annotations

import contextlib
import contextvars
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from debate.schema import ModelCall


@dataclass
class CallLog:
    calls: list[ModelCall] = field(default_factory=list)
    models: dict[str, dict] = field(default_factory=dict)  # spec -> describe()


_log: contextvars.ContextVar[CallLog | None] = contextvars.ContextVar("call_log", default=None)
_role: contextvars.ContextVar[str] = contextvars.ContextVar("call_role", default="")
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("inside_call", default=False)


@contextlib.contextmanager
def recording(log: CallLog) -> Iterator[CallLog]:
    """Record every model call made inside this block (and in tasks it starts) into `log`."""
    token = _log.set(log)
    try:
        yield log
    finally:
        _log.reset(token)


def add(other: CallLog) -> None:
    """Put another log's calls on the record in progress (a turn that forks share was made
    once, and each fork's transcript holds its calls)."""
    log = _log.get()
    if log is not None:
        log.calls.extend(c.model_copy(deep=True) for c in other.calls)
        log.models.update({k: v for k, v in other.models.items() if k not in log.models})


@contextlib.contextmanager
def speaking_as(role: str) -> Iterator[None]:
    token = _role.set(role)
    try:
        yield
    finally:
        _role.reset(token)


def role_within(role: str) -> str:
    """`role` acting inside whoever is speaking now: a judge consulted while debater A chooses
    its quote is "A/judge", so the run's own judge calls stay apart."""
    outer = _role.get()
    return f"{outer}/{role}" if outer and outer != role else role


def _messages(prompt: Any) -> list[dict] | str:
    return prompt if isinstance(prompt, str) else [m.model_dump() for m in prompt]


def _sent(model: Any, prompt: Any, prefill: str = "") -> str:
    render = getattr(model, "render", None)
    return render(prompt) + prefill if render is not None else ""


def _records(kind: str, model: Any, asked: list, got: list) -> list[ModelCall]:
    role, spec = _role.get(), model.spec
    if kind == "generate":
        return [
            ModelCall(role=role, model=spec, kind=kind, prompt=_messages(r.prompt),
                      prefill=r.prefill, sent=_sent(model, r.prompt, r.prefill),
                      sampling=r.sampling, seed=r.seed, reply=g.text, token_ids=g.token_ids,
                      token_logprobs=g.logprobs)
            for r, g in zip(asked, got)
        ]  # fmt: skip
    if kind == "score":
        return [
            ModelCall(role=role, model=spec, kind=kind, prompt=_messages(r.prompt),
                      continuation=r.continuation, sent=_sent(model, r.prompt),
                      logprob=s.logprob)
            for r, s in zip(asked, got)
        ]  # fmt: skip
    return [
        ModelCall(role=role, model=spec, kind=kind, prompt=_messages(p), sent=_sent(model, p),
                  top_logprobs=top)
        for p, top in zip(asked, got)
    ]  # fmt: skip


def recorded(kind: str, method: Callable) -> Callable:
    """`method` (a backend's generate, score or next_token_logprobs), recording its calls."""

    @functools.wraps(method)
    async def call(self: Any, asked: list, *args: Any, **kwargs: Any) -> Any:
        log = _log.get()
        if log is None or _inside.get():
            return await method(self, asked, *args, **kwargs)
        token = _inside.set(True)
        try:
            got = await method(self, asked, *args, **kwargs)
        finally:
            _inside.reset(token)
        if self.spec not in log.models:
            log.models[self.spec] = self.describe()
        log.calls.extend(_records(kind, self, asked, got))
        return got

    call.__recorded__ = True  # type: ignore[attr-defined]
    return call
