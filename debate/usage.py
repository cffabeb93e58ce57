"""Tokens, cost and limits of a run, per model and per role.

Backends record each call (`record`) into the `Usage` of the run in progress, found through a
context variable so that one model object, cached for the whole process, bills whichever run is
calling it. The engine asks `usage.over_budget()` before it starts another match; a run that is
over budget stops starting matches, keeps the finished ones and can be resumed.

Prices are per million tokens, from config (`prices: {MODEL: {input: X, output: Y}}`) or
`--price MODEL=IN/OUT`; MODEL is a model spec or the model name inside one (`model_name`).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
import time
from collections.abc import Iterator
from typing import TypeVar

from pydantic import BaseModel, ConfigDict

from debate.config import ConfigError, Price

T = TypeVar("T")


class ModelUsage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    model: str
    role: str
    requests: int = 0  # calls answered by the backend (retries not counted)
    cache_hits: int = 0  # calls answered from the response cache (no tokens billed)
    input_tokens: int = 0
    output_tokens: int = 0
    request_s: float = 0.0  # summed latency of the calls
    wall_s: float = 0.0  # first call sent to last reply received
    cost: float | None = None  # None when no price is known for the model


class UsageReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: list[ModelUsage]
    requests: int
    cache_hits: int
    input_tokens: int
    output_tokens: int
    cost: float | None
    stopped: str | None = None  # why the run stopped early, if it did


def parse_price(text: str) -> tuple[str, Price]:
    """`MODEL=IN/OUT` (dollars per million input/output tokens)."""
    model, sep, rest = text.rpartition("=")
    inp, slash, out = rest.partition("/")
    try:
        if not (sep and model and slash):
            raise ValueError
        return model, Price(input=float(inp), output=float(out))
    except ValueError:
        raise ConfigError(
            f"--price needs MODEL=IN/OUT in dollars per million tokens, e.g. gpt-4o=2.5/10; "
            f"got {text!r}"
        ) from None


def model_name(spec: str) -> str:
    """The model's own name inside a spec, for prices: `openai:NAME@URL?...`, `hf:NAME?...`,
    `PROVIDER/NAME[@URL][?...]` give NAME, whatever the backend; `smollm2` is its own name."""
    name = spec.partition("?")[0].partition("@")[0]
    _, colon, rest = name.partition(":")
    if colon:
        return rest or name
    return name.partition("/")[2] or name  # a spec with no scheme and a '/' names a provider


class Usage:
    def __init__(
        self,
        prices: dict[str, Price] | None = None,
        *,
        max_cost: float | None = None,
        max_tokens: int | None = None,
        parent: Usage | None = None,
    ):
        """`parent`: an enclosing budget (an eval suite around its arms) that every call is
        also billed to and whose limits also stop this run."""
        self.prices, self.parent = prices or {}, parent
        self.max_cost, self.max_tokens = max_cost, max_tokens
        self._rows: dict[tuple[str, str], ModelUsage] = {}
        self._spans: dict[tuple[str, str], list[float]] = {}
        self._lock = threading.Lock()  # local backends record from worker threads

    def price(self, spec: str) -> Price | None:
        return self.prices.get(spec) or self.prices.get(model_name(spec))

    def record(
        self,
        model: str,
        role: str,
        *,
        tokens_in: int = 0,
        tokens_out: int = 0,
        cached: bool = False,
        started: float,
        ended: float,
    ) -> None:
        if self.parent is not None:
            self.parent.record(
                model, role, tokens_in=tokens_in, tokens_out=tokens_out, cached=cached,
                started=started, ended=ended,
            )  # fmt: skip
        with self._lock:
            row = self._rows.setdefault((model, role), ModelUsage(model=model, role=role))
            span = self._spans.setdefault((model, role), [started, ended])
            span[0], span[1] = min(span[0], started), max(span[1], ended)
            row.wall_s = round(span[1] - span[0], 4)
            if cached:
                row.cache_hits += 1
                return
            row.requests += 1
            row.input_tokens += tokens_in
            row.output_tokens += tokens_out
            row.request_s = round(row.request_s + (ended - started), 4)
            price = self.price(model)
            if price is not None:
                row.cost = (row.input_tokens * price.input + row.output_tokens * price.output) / 1e6

    def tokens(self) -> int:
        with self._lock:
            return sum(r.input_tokens + r.output_tokens for r in self._rows.values())

    def cost(self) -> float | None:
        with self._lock:
            costs = [r.cost for r in self._rows.values() if r.cost is not None]
        return sum(costs) if costs else None

    def over_budget(self) -> str | None:
        """Why no further match should start, or None while within the limits."""
        cost = self.cost()
        if self.max_cost is not None and cost is not None and cost >= self.max_cost:
            return f"max_cost reached: ${cost:.4f} of ${self.max_cost:.4f}"
        if self.max_tokens is not None and (n := self.tokens()) >= self.max_tokens:
            return f"max_tokens reached: {n} of {self.max_tokens}"
        return self.parent.over_budget() if self.parent is not None else None

    def report(self) -> UsageReport:
        with self._lock:
            rows = [r.model_copy() for _, r in sorted(self._rows.items())]
        costs = [r.cost for r in rows if r.cost is not None]
        return UsageReport(
            rows=rows,
            requests=sum(r.requests for r in rows),
            cache_hits=sum(r.cache_hits for r in rows),
            input_tokens=sum(r.input_tokens for r in rows),
            output_tokens=sum(r.output_tokens for r in rows),
            cost=round(sum(costs), 6) if costs else None,
            stopped=self.over_budget(),
        )


_current: contextvars.ContextVar[Usage | None] = contextvars.ContextVar("usage", default=None)
_role: contextvars.ContextVar[str | None] = contextvars.ContextVar("usage_role", default=None)


def current() -> Usage | None:
    return _current.get()


@contextlib.contextmanager
def tracking(usage: Usage) -> Iterator[Usage]:
    """Bill every model call made inside this block (and inside `asyncio.run` started in it)
    to `usage`."""
    token = _current.set(usage)
    try:
        yield usage
    finally:
        _current.reset(token)


@contextlib.contextmanager
def acting_as(role: str) -> Iterator[None]:
    """Calls made inside this block are billed to `role` (e.g. "judge", a debater's name)."""
    token = _role.set(role)
    try:
        yield
    finally:
        _role.reset(token)


def role_of(meta: dict | None) -> str:
    """The role a call is billed to: the enclosing `acting_as`, else the request's own meta
    (the match tags speeches with the speaker's role), else "judge" for a judge's question,
    else "other"."""
    role = _role.get()
    if role:
        return role
    meta = meta or {}
    if meta.get("role") == "judge":
        return "judge"
    return "debater" if meta.get("role") else "other"


def record(
    model: str,
    meta: dict | None = None,
    *,
    tokens_in: int = 0,
    tokens_out: int = 0,
    cached: bool = False,
    started: float,
    ended: float | None = None,
) -> None:
    """Bill one call to the run in progress (nothing happens outside a run)."""
    usage = _current.get()
    if usage is not None:
        usage.record(
            model,
            role_of(meta),
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cached=cached,
            started=started,
            ended=time.monotonic() if ended is None else ended,
        )


def summary_lines(report: UsageReport | dict) -> list[str]:
    """A few lines for the terminal: totals, then one per model and role."""
    r = UsageReport.model_validate(report) if isinstance(report, dict) else report
    if not r.rows:
        return []

    def money(cost: float | None) -> str:
        return f"${cost:.4f}" if cost is not None else "cost unknown (no --price)"

    lines = [
        f"usage: {r.requests} requests, {r.cache_hits} cache hits, {r.input_tokens} in / "
        f"{r.output_tokens} out tokens, {money(r.cost)}"
    ]
    for row in r.rows:
        lines.append(
            f"  {row.model} as {row.role}: {row.requests} requests, {row.cache_hits} hits, "
            f"{row.input_tokens}/{row.output_tokens} tokens, {row.wall_s:.1f} s, {money(row.cost)}"
        )
    if r.stopped:
        lines.append(f"stopped early: {r.stopped}; finished matches are kept, re-run to resume")
    return lines


def markdown(report: UsageReport | dict) -> str:
    """The usage table of a report."""
    r = UsageReport.model_validate(report) if isinstance(report, dict) else report
    if not r.rows:
        return ""
    out = [
        "## Tokens and cost",
        "",
        "| model | role | requests | cache hits | input tokens | output tokens | wall s | cost |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in r.rows:
        cost = f"${row.cost:.4f}" if row.cost is not None else "-"
        out.append(
            f"| `{row.model}` | {row.role} | {row.requests} | {row.cache_hits} | "
            f"{row.input_tokens} | {row.output_tokens} | {row.wall_s:.1f} | {cost} |"
        )
    if r.stopped:
        out += ["", f"Stopped early: {r.stopped}."]
    return "\n".join(out) + "\n"
