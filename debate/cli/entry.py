"""The `debate` command's entry point. It imports nothing heavy itself, so that Ctrl-C while the
command line is still loading (torch, transformers, the plugins: a second or more) ends in one
line, as it does once matches run, instead of an import traceback."""

from __future__ import annotations

import sys


def main() -> None:
    try:
        from debate.cli.main import app

        app()
    except KeyboardInterrupt:
        # a folder being written is resumable as it is (every finished match is on disk)
        print("interrupted", file=sys.stderr)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()
