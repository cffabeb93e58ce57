"""debate-harness: AI-safety debate and multi-agent experiments with real language models.

From Python: `debate.run(...)`, `debate.tournament(...)`, `debate.evaluate(...)` and their async
twins (`debate.arun`, ...); see `debate.api`. They load on first use, so `import debate` stays
light."""

import os

__version__ = "0.1.0"

# OpenMP threads that sleep while they wait instead of spinning: on a machine shared with other
# jobs, spinning threads made a 2-thread forward pass 3.5x slower than 1 thread, and passive ones
# match it (bench/throughput.py). The OpenMP runtime reads this once, when torch loads, so it is
# set here, before any module of the package imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_API = {"arun", "tournament", "atournament", "evaluate", "aevaluate", "RunResult",
        "TournamentResult", "EvalResult"}  # fmt: skip


def __getattr__(name: str):
    # `debate.run` is the package debate/run/, made callable there; the rest load from
    # debate.api on first use (PEP 562)
    if name == "run":
        import debate.run

        return debate.run
    if name in _API:
        from debate import api

        return getattr(api, name)
    raise AttributeError(f"module 'debate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), "run", *_API])
