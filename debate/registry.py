"""One strict registry for every kind of plugin: protocols, judges, tasks, model backends (spec
schemes), metrics and sub-commands. A plugin registers itself with `@register(kind, name)`.

- Strict: a name registered twice is an error that names both origins (a file dropped into
  `protocols/` cannot silently replace `sequential`).
- Lazy: a kind's plugins are imported when that kind is first asked for, so `debate --help`
  imports no judge, and no command imports plotting it does not draw.
- Typed: an entry is checked against its kind's interface when it registers (the module that
  defines the interface says what it is, with `interface`).
- Namespaced: a third-party package declares an entry point in the group `debate_harness.KIND`
  (for example `[debate_harness.protocol] acme = "acme_debate.protocols"`); its names are
  registered as `acme/NAME`, so they can never collide with the built-in ones. A package named
  there is imported with all its submodules; one that fails to import is reported in one line
  and skipped, so it cannot take every command down with it.
- Built-in plugins are found the same way, from the packages in `KINDS`: a new file in
  `debate/protocols/` or `debate/models/backends/` is found without editing any list.
"""

from __future__ import annotations

import functools
import pkgutil
import sys
import threading
from collections.abc import Callable
from contextlib import contextmanager
from importlib import import_module
from importlib.metadata import entry_points
from typing import Any

# kind -> the modules or packages that hold its built-in entries
KINDS: dict[str, tuple[str, ...]] = {
    "protocol": ("debate.protocols",),
    "judge": ("debate.judges",),
    "task": ("debate.tasks",),
    "backend": ("debate.models.backends",),
    "metric": ("debate.suites.metrics", "debate.suites.choices"),
    "command": ("debate.cli.eval", "debate.cli.mnist"),
}
GROUP = "debate_harness.{kind}"  # a third-party package's entry-point group, per kind


class UnknownName(ValueError):
    pass


class RegistryError(RuntimeError):
    """A plugin broke a rule of the registry (a duplicate name, an entry of the wrong type)."""


_entries: dict[str, dict[str, Any]] = {k: {} for k in KINDS}
_origins: dict[str, dict[str, str]] = {k: {} for k in KINDS}
_checks: dict[str, tuple[Callable[[Any], bool], str]] = {}
_loaded: set[str] = set()  # kinds whose plugins are all imported
_loading: set[str] = set()  # kinds being imported now (by the thread holding _lock)
# One loader at a time: a second thread (two `debate.arun` gathered) waits for the first to
# finish rather than read a half-filled registry. Re-entrant: a plugin may ask for another kind.
_lock = threading.RLock()
_namespace: str | None = None  # set while a third-party plugin is being imported


def interface(kind: str, check: Callable[[Any], bool], what: str) -> None:
    """Declare what an entry of `kind` must be; `what` names it in the error."""
    _checks[kind] = (check, what)


def _origin(obj: Any) -> str:
    target = getattr(obj, "run", obj)  # a Protocol is named by its function
    module = getattr(target, "__module__", None) or "?"
    return f"{module}.{getattr(target, '__qualname__', type(obj).__name__)}"


def qualified(name: str) -> str:
    """The name a plugin registering `name` now is known by (namespaced for a third party)."""
    return f"{_namespace}/{name}" if _namespace else name


def register(kind: str, name: str) -> Callable[[Any], Any]:
    if kind not in KINDS:
        raise RegistryError(f"unknown plugin kind {kind!r}; kinds: {', '.join(KINDS)}")
    full = qualified(name)

    def add(obj: Any) -> Any:
        check, what = _checks.get(kind, (callable, "callable"))
        origin = _origin(obj)
        if not check(obj):
            raise RegistryError(f"{kind} {full!r} from {origin} is not {what}")
        if full in _entries[kind] and _origins[kind][full] != origin:
            raise RegistryError(
                f"{kind} {full!r} is registered twice: by {_origins[kind][full]} and by {origin}"
            )
        _entries[kind][full], _origins[kind][full] = obj, origin
        return obj

    return add


def import_tree(name: str) -> None:
    """Import a module, or a package and every module below it."""
    module = import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), prefix=f"{name}."):
        import_module(info.name)


@contextmanager
def _as_namespace(namespace: str):
    global _namespace
    _namespace = namespace
    try:
        yield
    finally:
        _namespace = None


@functools.cache
def _entry_points():
    # Reading every installed distribution's entry points is the slow part of start-up (once
    # per kind before, four times for `debate --help`): read them once.
    return entry_points()


def _load(kind: str) -> None:
    if kind in _loaded:
        return
    with _lock:
        if kind in _loaded or kind in _loading:  # done meanwhile, or asked for while loading
            return
        _loading.add(kind)
        try:
            _import_kind(kind)
            _loaded.add(kind)  # only once every entry is in
        finally:
            _loading.discard(kind)


def _import_kind(kind: str) -> None:
    for target in KINDS[kind]:
        import_tree(target)
    for ep in _entry_points().select(group=GROUP.format(kind=kind)):
        target = ep.value.partition(":")[0].strip()
        try:
            with _as_namespace(ep.name):
                import_tree(target)
        except RegistryError:
            raise
        except Exception as e:  # a broken plugin: say so once, keep the harness usable
            print(f"warning: plugin {ep.name!r} ({target}) skipped: {e}", file=sys.stderr)


def names(kind: str) -> list[str]:
    _load(kind)
    return sorted(_entries[kind])


def entries(kind: str) -> dict[str, Any]:
    _load(kind)
    return dict(sorted(_entries[kind].items()))


def get(kind: str, name: str) -> Any:
    _load(kind)
    if name not in _entries[kind]:
        raise UnknownName(f"unknown {kind} {name!r}; choose from: {', '.join(names(kind))}")
    return _entries[kind][name]
