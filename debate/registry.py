"""One registry for every kind of plugin: protocols, judges, tasks, model backends (spec
schemes), metrics and sub-commands. A plugin registers itself with `@register(kind, name)`.

Where plugins come from: the `debate_harness.plugins` entry-point group. Each entry names a
module or a package; a package is imported with all its submodules, so a new file in
`protocols/` is found without editing any list. The harness's own packages are listed there
too (see pyproject.toml) and are also imported when the group lacks them (a checkout run
without `pip install`, or an install made before the group listed them). A third-party package
adds its own entry; one that fails to import is reported in one line and skipped, so it cannot
take every command down with it.
"""

from __future__ import annotations

import pkgutil
import sys
from collections.abc import Callable
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

KINDS = ("protocol", "judge", "task", "backend", "metric", "command")
GROUP = "debate_harness.plugins"
BUILTIN_PACKAGES = ("protocols", "judges", "debate.tasks", "eval", "debate.pixels.plugins")
_entries: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
_discovered = False


class UnknownName(ValueError):
    pass


def register(kind: str, name: str) -> Callable[[Any], Any]:
    if kind not in KINDS:
        raise ValueError(f"unknown plugin kind {kind!r}; kinds: {', '.join(KINDS)}")

    def add(obj: Any) -> Any:
        _entries[kind][name] = obj
        return obj

    return add


def import_tree(name: str) -> None:
    """Import a module, or a package and every module below it."""
    module = import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
        import_module(info.name)


def discover() -> None:
    global _discovered
    if _discovered:
        return
    _discovered = True
    import debate.models  # noqa: F401  the backends register where the specs are parsed

    targets = {ep.value.partition(":")[0].strip(): ep.name for ep in entry_points(group=GROUP)}
    for package in BUILTIN_PACKAGES:
        targets.setdefault(package, package)
    for target, name in targets.items():
        try:
            import_tree(target)
        except Exception as e:  # a broken plugin: say so once, keep the harness usable
            if target in BUILTIN_PACKAGES:
                raise
            print(f"warning: plugin {name!r} ({target}) skipped: {e}", file=sys.stderr)


def names(kind: str) -> list[str]:
    discover()
    return sorted(_entries[kind])


def entries(kind: str) -> dict[str, Any]:
    discover()
    return dict(sorted(_entries[kind].items()))


def get(kind: str, name: str) -> Any:
    discover()
    if name not in _entries[kind]:
        raise UnknownName(f"unknown {kind} {name!r}; choose from: {', '.join(names(kind))}")
    return _entries[kind][name]
