"""How a protocol is declared: an async function over a `Match`, plus the roles it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from debate.match import Match
from debate.registry import register


@dataclass(frozen=True)
class Protocol:
    name: str
    run: Callable[[Match], Awaitable[None]]
    roles: tuple[str, ...]  # speakers, each assigned an answer; () for judge-only baselines
    judge_sees_context: bool = False


def protocol(name: str, roles: tuple[str, ...], judge_sees_context: bool = False):
    def wrap(fn: Callable[[Match], Awaitable[None]]) -> Protocol:
        p = Protocol(name, fn, roles, judge_sees_context)
        register("protocol", name)(p)
        return p

    return wrap
