"""A run folder: the resolved config, transcripts appended and flushed as each match ends, and
results. Re-running into the same folder resumes: finished matches are read back, not replayed.

One process writes a folder at a time. `claim` takes an OS lock on `.lock` inside the folder
before it reads or writes anything and holds it until the process ends, so a crash never leaves
a stale lock and a second command gets a clear error instead of writing every match twice."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import threading
from pathlib import Path

from pydantic import BaseModel, ValidationError

from debate.config import (
    SPEED_KEYS,
    ConfigError,
    dump_yaml,
    flatten,
    one_line,
    parse_yaml,
    read_text,
)
from debate.files import read_lines
from debate.files import read_text as read_bounded
from debate.schema import READABLE_VERSIONS, Transcript

# Settings that change how fast a run goes, never what it produces.
# Where the folder lies (`out`) is not what it holds either: a moved run folder resumes.
NOT_COMPARED = SPEED_KEYS | {"out"}
LOCK_NAME = ".lock"

# Locks this process holds, by resolved folder, with the thread that claimed each: a thread
# that claims a folder again (a resumed run, an eval suite's arms) already owns it, and so does
# any thread once the claiming one has ended. Another live thread (two API calls at once on one
# folder) is refused, as another process is. Each is released when the process exits.
_held: dict[Path, tuple[int, threading.Thread]] = {}
_claiming = threading.Lock()


def _mine(key: Path) -> bool:
    """Whether this thread may use (or give up) a folder this process holds."""
    owner = _held[key][1]
    return owner is threading.current_thread() or not owner.is_alive()


class RunFolderError(RuntimeError):
    pass


def release_under(path: Path) -> None:
    """Give up every folder this process holds at or under `path` (a run and its arms): for a
    long-lived caller, such as a notebook, that is done with the run."""
    top = Path(path).resolve()
    for key in [k for k in _held if (k == top or top in k.parents) and _mine(k)]:
        os.close(_held.pop(key)[0])


def _os_error(path: Path, e: OSError) -> RunFolderError:
    """One line for a folder that cannot be made or written: blocked, too long, read-only."""
    why = {
        errno.ENAMETOOLONG: "the path is too long",
        errno.ENOTDIR: "part of the path is a file, not a folder",
        errno.EEXIST: "a file is in the way",
    }.get(e.errno or 0, e.strerror or str(e))
    blocked = e.filename if isinstance(e.filename, str) and e.errno != errno.ENAMETOOLONG else ""
    where = f" ({blocked})" if blocked and blocked != str(path) else ""
    return RunFolderError(f"cannot use {path} as a run folder: {why}{where}")


def lock_holder(lock_path: Path) -> int | None:
    """The pid holding an flock on this file, read from /proc/locks (Linux) without writing
    anything; None where that is unavailable."""
    try:
        inode = lock_path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if "FLOCK" in fields and len(fields) > 5 and fields[5].endswith(f":{inode}"):
            with contextlib.suppress(ValueError):
                return int(fields[4])
    return None


class RunFolder:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.config_path = self.path / "config.yaml"
        self.transcripts_path = self.path / "transcripts.jsonl"
        self.results_path = self.path / "results.json"
        # what `claim` made (folders, config.yaml), for `abandon` to take back
        self._made: list[Path] = []
        self._wrote_config = False

    def existing(self) -> RunFolder:
        """This folder, or a clear error when there is none to read."""
        if not self.path.exists():
            raise RunFolderError(f"run folder not found: {self.path}")
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path} is a file, not a run folder")
        return self

    def lock(self) -> None:
        """Become the folder's one writer (made if missing), or fail at once naming the other."""
        with _claiming:  # two threads of this process never take the same folder at once
            self._lock()

    def _lock(self) -> None:
        key = self.path.resolve()
        if key in _held:
            if not _mine(key):
                raise RunFolderError(
                    f"run folder {self.path} is in use by another run in this process; wait "
                    "for it to finish or use another --name"
                )
            _held[key] = (_held[key][0], threading.current_thread())
            return
        try:
            if self.path.exists() and not self.path.is_dir():
                raise RunFolderError(f"cannot use {self.path} as a run folder: it is a file")
            missing = [p for p in (self.path, *self.path.parents) if not p.exists()]
            self.path.mkdir(parents=True, exist_ok=True)
            self._made = missing  # deepest first
            lock_path = self.path / LOCK_NAME
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as e:
            raise _os_error(self.path, e) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = lock_holder(lock_path)
            by = f" (pid {pid})" if pid else ""
            raise RunFolderError(
                f"run folder {self.path} is in use by another process{by}; wait for it to "
                "finish or use another --name"
            ) from None
        _held[key] = (fd, threading.current_thread())

    def release(self) -> None:
        """Give the folder up before the process ends (a long-lived caller that is done)."""
        key = self.path.resolve()
        if key in _held and _mine(key):
            os.close(_held.pop(key)[0])  # closing the only descriptor drops the flock

    def read_config(self) -> dict:
        """The config.yaml written by the run, as a mapping (a clear error if it is not one)."""
        try:
            raw = parse_yaml(read_text(self.config_path, "run config"), str(self.config_path))
        except ConfigError as e:
            raise RunFolderError(f"{e}; fix or remove it, the folder was left as it is") from None
        if not isinstance(raw, dict):
            raise RunFolderError(
                f"{self.config_path} does not hold a mapping of config keys; fix or remove it"
            )
        return raw

    def claim(self, cfg: BaseModel) -> None:
        """Lock the folder, then write the config, or check that the folder holds this same run
        (refuse if not). The transcripts are read once first so that a corrupt line is reported
        before anything is written."""
        self.lock()
        if self.config_path.exists() or self.config_path.is_symlink():
            raw = self.read_config()
            # keys added to the config since the folder was written take their defaults; a
            # config that no longer validates is compared as written, naming the odd keys
            with contextlib.suppress(ValidationError):
                raw = type(cfg).model_validate(raw).model_dump(mode="json")
            old = flatten(raw)
            new = flatten(cfg.model_dump(mode="json"))
            differ = sorted(
                k
                for k in old.keys() | new.keys()
                if old.get(k) != new.get(k) and k.split(".")[0] not in NOT_COMPARED
            )
            if differ:
                raise RunFolderError(
                    f"{self.path} holds a different run (keys that differ: {', '.join(differ[:8])}); "
                    "use another --out or name"
                )
            self.read_transcripts()
        else:
            self._wrote_config = True
        self._write_atomic(self.config_path, dump_yaml(cfg))

    def abandon(self) -> None:
        """Take back a claim whose run could not start (a model that does not load, a bad
        data file): a folder this claim made is removed again, one that was there is left as it
        was. Nothing is removed once a match has been written."""
        if self.transcripts_path.exists() or not self._wrote_config:
            return
        self.config_path.unlink(missing_ok=True)
        if self._made:
            (self.path / LOCK_NAME).unlink(missing_ok=True)
        self.release()
        for folder in self._made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only while empty

    def refuse_to_overwrite(self, inputs: list[object]) -> None:
        """A run never writes over a file it reads (a data file given as the folder's own
        transcripts.jsonl would have its matches appended to it)."""
        written = {p.resolve() for p in (self.config_path, self.transcripts_path,
                                         self.results_path)}  # fmt: skip
        for given in inputs:
            if isinstance(given, str) and given and Path(given).resolve() in written:
                raise RunFolderError(
                    f"{given} is an input of this run and a file it writes; copy it elsewhere "
                    "or use another --name"
                )

    def read_transcripts(self, *, failed: bool = False) -> list[Transcript]:
        """Every finished match in the folder once (with `failed`, the failed ones too). A match
        id met again keeps its first finished record (a folder that two processes wrote before
        runs were locked holds two); a failed record gives way to a later one (the match was
        retried on resume)."""
        if not self.transcripts_path.exists():
            return []
        if self.transcripts_path.is_dir():
            raise RunFolderError(f"{self.transcripts_path} is a folder, not a transcripts file")
        out: dict[str, Transcript] = {}
        for n, raw in read_lines(self.transcripts_path, "transcripts file", RunFolderError):
            if not raw.strip():
                continue
            t = self._parse_line(raw, n)
            if t.match_id not in out or out[t.match_id].error:
                out[t.match_id] = t
        return [t for t in out.values() if failed or not t.error]

    def _parse_line(self, raw: bytes, n: int) -> Transcript:
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError(f"a JSON {type(data).__name__}, not an object")
            if data.get("schema_version") not in READABLE_VERSIONS:
                raise ValueError(f"schema version {data.get('schema_version')}")
            return Transcript.model_validate(data)
        except UnicodeDecodeError as e:
            msg = f"not UTF-8 text (byte {e.start})"
        except (ValueError, ValidationError) as e:
            msg = one_line(e)[:120]
        raise RunFolderError(
            f"line {n} of {self.transcripts_path} is corrupt ({msg}); "
            "fix or remove that line, the file was left as it is"
        )

    def append(self, transcript: Transcript) -> None:
        line = transcript.model_dump_json() + "\n"
        with self.transcripts_path.open("a") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def read_results(self) -> dict:
        """results.json as a mapping, or one line saying why it cannot be read."""
        path = self.results_path
        text = read_bounded(path, "results file", RunFolderError)
        try:
            data = json.loads(text)
        except ValueError as e:
            raise RunFolderError(
                f"{path} is not JSON ({one_line(e)[:80]}); fix or remove it "
                "(`debate report` rewrites a tournament's)"
            ) from None
        if not isinstance(data, dict):
            raise RunFolderError(
                f"{path} holds a JSON {type(data).__name__}, not the results' mapping; fix or "
                "remove it"
            )
        return data

    def write_results(self, results: dict) -> None:
        self._write_atomic(self.results_path, json.dumps(results, indent=2))

    @staticmethod
    def _write_atomic(path: Path, text: str) -> None:
        """Readers see the old file or the new one, never half of one."""
        if path.exists() and path.is_dir():
            raise RunFolderError(f"{path} is a folder, not a file; remove it")
        data = text.encode()
        if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
            return  # unchanged: leave the file (and its time stamp) alone
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            with tmp.open("w", encoding="utf-8") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise _os_error(path, e) from None
