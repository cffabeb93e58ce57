"""One registry for protocols, judges and tasks. Third parties add theirs through the
`debate_harness.plugins` entry-point group: each entry point is a module imported on first use,
whose decorators register what it defines."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

KINDS = ("protocol", "judge", "task")
_entries: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
_loaded_plugins = False
BUILTINS = (
    "debate.tasks.hidden_passage",
    "debate.tasks.datasets",
    "protocols.debate",
    "protocols.consultancy",
    "protocols.baselines",
    "protocols.interactive",
    "protocols.collaborative",
    "judges.scored",
    "judges.verdict",
    "judges.oracle",
)


class UnknownName(ValueError):
    pass


def register(kind: str, name: str) -> Callable[[Any], Any]:
    def add(obj: Any) -> Any:
        _entries[kind][name] = obj
        return obj

    return add


def _load_builtins() -> None:
    global _loaded_plugins
    if _loaded_plugins:
        return
    _loaded_plugins = True
    for module in BUILTINS:
        import_module(module)
    for ep in entry_points(group="debate_harness.plugins"):
        ep.load()


def names(kind: str) -> list[str]:
    _load_builtins()
    return sorted(_entries[kind])


def get(kind: str, name: str) -> Any:
    _load_builtins()
    if name not in _entries[kind]:
        raise UnknownName(f"unknown {kind} {name!r}; choose from: {', '.join(names(kind))}")
    return _entries[kind][name]
