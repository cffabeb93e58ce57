"""How a protocol is declared: an async function over a `Match`, plus the roles it needs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from pydantic import BaseModel

from debate.config import ProtocolConfig, Strict, parse_options
from debate.match.match import Match
from debate.registry import interface, qualified, register


class NoOptions(Strict):
    """A protocol with no options of its own."""


Roles = tuple[str, ...] | Callable[[BaseModel], tuple[str, ...]]


@dataclass(frozen=True)
class Protocol:
    name: str
    run: Callable[[Match], Awaitable[None]]
    roles: Roles  # the speakers; () for judge-only baselines; a function of the options
    # True: each speaker is assigned an answer to argue; False: speakers pick their own
    assigned: bool = True
    options: type[BaseModel] = NoOptions  # its own settings, given as `protocol.params`

    def parse(self, cfg: ProtocolConfig) -> BaseModel:
        return parse_options(f"protocol {self.name!r}", "protocol.params", self.options, cfg.params)

    def roles_for(self, cfg: ProtocolConfig) -> tuple[str, ...]:
        return self.roles(self.parse(cfg)) if callable(self.roles) else self.roles


interface("protocol", lambda obj: isinstance(obj, Protocol), "a Protocol (made with @protocol)")


def protocol(
    name: str,
    roles: Roles,
    assigned: bool = True,
    options: type[BaseModel] = NoOptions,
):
    def wrap(fn: Callable[[Match], Awaitable[None]]) -> Protocol:
        p = Protocol(qualified(name), fn, roles, assigned, options)
        register("protocol", name)(p)
        return p

    return wrap
