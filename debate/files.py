"""Reading what a user or a run folder hands us, always with a limit on its size: a device given
as a file (/dev/zero), a runaway log or a mistaken path then fails with one line instead of
filling memory. Callers name what the file is (`what`) and the error class they raise, so the
line reads as theirs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

MiB = 2**20
# far above any config, results.json or report a run writes
TEXT_LIMIT = 16 * MiB
# one JSON line of a transcripts or records file: a transcript holds its passage and speeches
LINE_LIMIT = 64 * MiB
# a plot, a model's small metadata file
BYTES_LIMIT = 64 * MiB


class UnreadableFile(ValueError):
    """A file that cannot be read as what it should be; the message is one line for the user."""


def _check(path: Path, what: str, error: type[Exception]) -> None:
    if path.is_dir():
        raise error(f"{what} {path} is a folder, not a file")
    if not path.exists():
        raise error(f"{what} not found: {path}")


def read_bytes(
    path: Path, what: str, error: type[Exception] = UnreadableFile, limit: int = BYTES_LIMIT
) -> bytes:
    """The file's bytes, at most `limit` of them (more is an error, never a partial read)."""
    path = Path(path)
    _check(path, what, error)
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    if len(data) > limit:
        raise error(f"{what} {path} is larger than {limit // MiB} MiB; is it the right file?")
    return data


def read_text(
    path: Path, what: str, error: type[Exception] = UnreadableFile, limit: int = TEXT_LIMIT
) -> str:
    """A UTF-8 text file's contents, bounded as `read_bytes`."""
    data = read_bytes(path, what, error, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise error(f"{what} {path} is not UTF-8 text (byte {e.start})") from None


def read_lines(
    path: Path, what: str, error: type[Exception] = UnreadableFile, limit: int = LINE_LIMIT
) -> Iterator[tuple[int, bytes]]:
    """(line number, line) for each line, however long the file, but no line longer than
    `limit` (a file with no line ends, such as /dev/zero, stops there)."""
    path = Path(path)
    _check(path, what, error)
    try:
        with path.open("rb") as f:
            n = 0
            while line := f.readline(limit + 1):
                n += 1
                if len(line) > limit:
                    raise error(
                        f"line {n} of {what} {path} is longer than {limit // MiB} MiB; "
                        "is it the right file? (the file was left as it is)"
                    )
                yield n, line
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
