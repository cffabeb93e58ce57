"""A response cache on disk, shared by every run and process: SQLite in WAL mode.

A reply is stored under a hash of everything that can change it: backend, model, base URL,
endpoint, and the whole request body (the full prompt, sampling settings, per-request seed). Only
reproducible calls are stored or served: temperature 0, or a sampled call whose request carries a
seed the harness stands behind (`GenerationRequest.cache`). WAL lets several processes read while
one writes; writes wait on each other through SQLite's own lock (`busy_timeout`), so two
concurrent runs share hits without corrupting the file.

Location: `$DEBATE_HARNESS_RESPONSE_CACHE` if set (tests point it at a temporary file), else
`$DEBATE_HARNESS_CACHE/responses.sqlite` (default ~/.cache/debate-harness).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from debate.models.base import ModelError

# `--no-cache` turns this off for one command; models read it at call time, so a model object
# cached for the whole process obeys whichever command is running.
_enabled: contextvars.ContextVar[bool] = contextvars.ContextVar("response_cache", default=True)

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    reply TEXT NOT NULL,
    created REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
)
"""


def cache_path() -> Path:
    override = os.environ.get("DEBATE_HARNESS_RESPONSE_CACHE")
    if override:
        return Path(override)
    root = os.environ.get("DEBATE_HARNESS_CACHE", Path.home() / ".cache" / "debate-harness")
    return Path(root) / "responses.sqlite"


def enabled() -> bool:
    return _enabled.get()


@contextlib.contextmanager
def disabled() -> Iterator[None]:
    """No cache reads or writes inside this block (the `--no-cache` flag)."""
    token = _enabled.set(False)
    try:
        yield
    finally:
        _enabled.reset(token)


def request_key(backend: str, model: str, base_url: str, path: str, body: dict) -> str:
    blob = json.dumps([backend, model, base_url, path, body], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class CacheStats(BaseModel):
    path: str
    entries: int
    hits: int
    bytes: int


class CacheError(ModelError):
    """The cache file cannot be used; one line for the user."""


# pseudo-file systems: nothing written there is kept (/proc/x was "cleared" with exit 0)
SYSTEM_FOLDERS = (Path("/proc"), Path("/sys"), Path("/dev"))


def check_cache_path(path: Path) -> None:
    """The cache must be a regular file (or not yet made) on real storage."""
    full = path.expanduser().absolute()
    if any(full == d or d in full.parents for d in SYSTEM_FOLDERS):
        raise CacheError(f"cannot use {path} as the response cache: it is in a system folder")
    if path.is_dir():
        raise CacheError(f"cannot use {path} as the response cache: it is a folder")
    if path.exists() and not path.is_file():
        raise CacheError(f"cannot use {path} as the response cache: it is not a regular file")
    if path.parent.exists() and not path.parent.is_dir():
        raise CacheError(f"cannot use {path} as the response cache: {path.parent} is a file")


class ResponseCache:
    """One connection per process and file, used under a lock (sqlite3 objects are not shared
    across threads safely otherwise); each call is a millisecond-scale local transaction."""

    def __init__(self, path: Path):
        self.path = path
        check_cache_path(path)
        self._lock = threading.Lock()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
            self._setup()
        except sqlite3.DatabaseError as e:
            raise CacheError(
                f"response cache {path} is not a usable SQLite database ({e}); remove it, or "
                "point DEBATE_HARNESS_RESPONSE_CACHE elsewhere"
            ) from None
        except OSError as e:
            raise CacheError(
                f"cannot use {path} as the response cache: {e.strerror or e}"
            ) from None

    def _setup(self) -> None:
        # Two processes opening a new file at once: switching it to WAL can answer "database is
        # locked" at once instead of waiting for the busy timeout; try again for a while.
        for attempt in range(50):
            try:
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
                self._db.execute(SCHEMA)
                self._db.commit()
                break
            except sqlite3.OperationalError:
                if attempt == 49:
                    raise
                self._db.rollback()
                time.sleep(0.05 + 0.05 * attempt)

    def get(self, key: str) -> dict | None:
        """The cached reply, or None. A cache that cannot be read now is a miss, never a
        failed run."""
        with self._lock:
            try:
                row = self._db.execute(
                    "SELECT reply FROM responses WHERE key = ?", (key,)
                ).fetchone()
                if row is None:
                    return None
                self._db.execute("UPDATE responses SET hits = hits + 1 WHERE key = ?", (key,))
                self._db.commit()
            except sqlite3.OperationalError:
                self._db.rollback()
                return None
        return json.loads(row[0])

    def put(self, key: str, backend: str, model: str, reply: dict) -> None:
        with self._lock:
            try:
                self._db.execute(
                    "INSERT OR IGNORE INTO responses (key, backend, model, reply, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (key, backend, model, json.dumps(reply), time.time()),
                )
                self._db.commit()
            except sqlite3.OperationalError:  # not kept this time; the run goes on
                self._db.rollback()

    @contextlib.contextmanager
    def _reading(self) -> Iterator[None]:
        """The whole-cache commands: a damaged file is one line, not a traceback."""
        with self._lock:
            try:
                yield
            except sqlite3.DatabaseError as e:
                self._db.rollback()
                raise CacheError(
                    f"response cache {self.path} is damaged ({e}); remove it"
                ) from None

    def stats(self) -> CacheStats:
        with self._reading():
            n, hits = self._db.execute(
                "SELECT count(*), coalesce(sum(hits), 0) FROM responses"
            ).fetchone()
        size = sum(p.stat().st_size for p in (self.path, Path(f"{self.path}-wal")) if p.exists())
        return CacheStats(path=str(self.path), entries=n, hits=hits, bytes=size)

    def by_model(self) -> list[tuple[str, str, int, int]]:
        with self._reading():
            return self._db.execute(
                "SELECT backend, model, count(*), sum(hits) FROM responses "
                "GROUP BY backend, model ORDER BY backend, model"
            ).fetchall()

    def clear(self) -> int:
        with self._reading():
            n = self._db.execute("DELETE FROM responses").rowcount
            self._db.commit()
            self._db.execute("VACUUM")
        return n


_open: dict[Path, ResponseCache] = {}
_open_lock = threading.Lock()


def open_cache(path: Path | None = None) -> ResponseCache:
    path = path or cache_path()
    with _open_lock:
        if path not in _open:
            _open[path] = ResponseCache(path)
        return _open[path]
