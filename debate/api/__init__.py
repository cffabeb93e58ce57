"""The Python API: `debate.run`, `debate.tournament` and `debate.evaluate`, each with an async
twin (`arun`, `atournament`, `aevaluate`), returning typed results that hold the transcripts.

    import debate
    res = debate.run(protocol="consultancy", n_items=10)          # the CLI's defaults and flags
    res = debate.run("examples/debate.yaml", rounds=3, **{"judge.kind": "letter"})
    res = await debate.atournament(debaters=["a=smollm2", "b=scripted:honest"])  # in a notebook

Each takes a config (an object, or a YAML/TOML path) or nothing (the command's defaults), then
keyword overrides: the command-line flags' names (`protocol`, `n_items`, `judge`, `judge_kind`,
`rounds`, `seed`, `name`, `out`, `debaters`, ...) or any config key, dotted ones through
`**{"a.b": v}`. Each changes exactly the key it names, as `--set` does. Runs write and resume
the same run folders as the command line (`result.run_dir`)."""

from debate.api.calls import (
    EvalResult,
    RunResult,
    TournamentResult,
    aevaluate,
    arun,
    atournament,
    evaluate,
    run,
    tournament,
)

__all__ = [
    "EvalResult",
    "RunResult",
    "TournamentResult",
    "aevaluate",
    "arun",
    "atournament",
    "evaluate",
    "run",
    "tournament",
]
