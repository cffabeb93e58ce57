"""A real OpenAI-compatible server for tests and benchmarks: `transformers serve` (the `serve`
extra) on 127.0.0.1 with the packaged SmolLM2, read from the folder the harness converts it to
once (no download)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx


class ServeMissing(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def transformers_serve(log_path: Path, *, start_s: float = 300) -> Iterator[tuple[str, str]]:
    """(the served SmolLM2's `transformers/...@URL` spec, its base URL) while the server runs."""
    from debate.models import trainable_path

    exe = Path(sys.executable).parent / "transformers"
    if importlib.util.find_spec("fastapi") is None or not exe.exists():
        raise ServeMissing('transformers serve is missing: pip install -e ".[serve]"')
    folder = trainable_path("smollm2")
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [str(exe), "serve", folder, "--host", "127.0.0.1", "--port", str(port),
           "--device", "cpu"]  # fmt: skip
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.monotonic() + start_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"transformers serve exited ({proc.returncode}); see {log_path}"
                    )
                with contextlib.suppress(httpx.HTTPError):
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"transformers serve did not come up in {start_s:g} s")
                time.sleep(1)
            yield f"transformers/{folder}@{url}", url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
