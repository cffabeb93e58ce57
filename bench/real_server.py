"""The same debate run through a real OpenAI-compatible server and on the local `hf` backend.

    python bench/real_server.py [--n-items 2]

`transformers serve` (the `serve` extra) serves the packaged SmolLM2 on 127.0.0.1; the API run
is `debate run` with API debaters and a verdict judge at default settings, as a user types it;
the local run is the same command with `hf:` specs for the same weights. Prints, per backend:
matches played and failed, the calls answered, the HTTP requests the client sent (retries
included) and how many ran past their deadline, and the wall time.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from typer.testing import CliRunner

from debate.cli.main import app
from debate.models import load_model, trainable_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the test server helper
from fakes.served import transformers_serve  # noqa: E402


def play(spec: str, out: Path, name: str, n_items: int) -> dict:
    start = time.perf_counter()
    result = CliRunner().invoke(app, ["run", "--debater", f"api={spec}", "--judge", spec,
                                      "--judge-kind", "verdict", "--n-items", str(n_items),
                                      "--no-cache", "--max-failures", "1000",
                                      "--out", str(out), "--name", name])  # fmt: skip
    wall = time.perf_counter() - start
    results = json.loads((out / name / "results.json").read_text())
    model = load_model(spec)
    return {
        "matches": results["n_matches"] + len(results["failed_matches"]),
        "failed": len(results["failed_matches"]),
        "calls answered": results["usage"]["requests"],
        "requests sent": getattr(model, "sent", "-"),
        "timed out": getattr(model, "timed_out", "-"),
        "wall s": round(wall, 1),
        "exit": result.exit_code,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-items", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        rows = {}
        with transformers_serve(out / "serve.log") as (spec, _):
            rows["transformers serve"] = play(spec, out, "api", args.n_items)
        rows["local hf"] = play(f"hf:{trainable_path('smollm2')}", out, "hf", args.n_items)
    keys = list(next(iter(rows.values())))
    print("| backend | " + " | ".join(keys) + " |")
    print("| --- " * (len(keys) + 1) + "|")
    for name, row in rows.items():
        print(f"| {name} | " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()
