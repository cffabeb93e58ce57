"""API models at research scale, against a real HTTP server on 127.0.0.1 with latency: two
models work at the same time, and multi-run commands (a tournament, an eval suite) run end to
end with API debaters and an API judge in one process."""

from __future__ import annotations

import json

from fakes.provider import FakeProvider
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, ProtocolConfig
from debate.run import runner


def busy_intervals(log, model: str) -> list[tuple[float, float]]:
    return [(r.start, r.end) for r in log if r.body and r.body.get("model") == model]


def overlap_s(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    """Seconds during which both models had a request in flight on the server."""

    def union(spans):
        out: list[list[float]] = []
        for s, e in sorted(spans):
            if out and s <= out[-1][1]:
                out[-1][1] = max(out[-1][1], e)
            else:
                out.append([s, e])
        return out

    total = 0.0
    for s1, e1 in union(a):
        for s2, e2 in union(b):
            total += max(0.0, min(e1, e2) - max(s1, s2))
    return total


def test_debater_and_judge_models_are_in_flight_at_the_same_time(scripted_cfg):
    with FakeProvider(latency_mean_s=0.05, latency_sigma=0.5) as p:
        cfg = scripted_cfg(
            name="overlap",
            debaters=[AgentConfig(name="api", model=f"openai:deb@{p.url}?concurrency=8&cache=0")],
            judge=JudgeConfig(kind="verdict", model=f"openai:judge@{p.url}?concurrency=8&cache=0"),
            protocol=ProtocolConfig(name="sequential", rounds=2, speech_tokens=16),
            max_live=16,
        )
        cfg.task.n_items = 16
        result = runner.run(cfg)
        log = list(p.log)
    assert result["n_matches"] == 32
    deb, judge = busy_intervals(log, "deb"), busy_intervals(log, "judge")
    assert len(deb) == 32 * 4 and len(judge) == 32
    whole = [(min(s for s, _ in judge), max(e for _, e in judge))]
    judge_busy = overlap_s(judge, whole)  # seconds with any judge request in flight
    # while one match waits for its verdict, other matches' speeches go on: most of the judge's
    # busy time overlaps the debaters' (a loop that sent one model's batch at a time: none;
    # measured here about 0.9)
    assert overlap_s(deb, judge) > 0.5 * judge_busy


def test_tournament_and_eval_suite_run_with_api_debaters_and_judge_in_one_process(tmp_path):
    cli = CliRunner()
    with FakeProvider(latency_mean_s=0.01, latency_sigma=1.0) as p:
        judge = ["--judge", f"openai:judge@{p.url}?concurrency=16", "--judge-kind", "letter"]
        t = cli.invoke(app, ["tournament", "--debater", f"a=openai:deb-a@{p.url}",
                             "--debater", f"b=openai:deb-b@{p.url}", "--debater",
                             "h=scripted:honest", *judge, "--n-items", "3",
                             "--out", str(tmp_path), "--name", "t"])  # fmt: skip
        assert t.exit_code == 0, t.output
        e = cli.invoke(app, ["eval", "protocols", "--debater", f"openai:deb-a@{p.url}", *judge,
                             "--n-items", "3", "--out", str(tmp_path / "e"),
                             "--name", "eval-protocols"])  # fmt: skip
        assert e.exit_code == 0, e.output
        models = {r.body.get("model") for r in p.log if r.body}
    standings = json.loads((tmp_path / "t" / "results.json").read_text())
    # 3 debaters round robin (6 ordered pairs) + 3 self-play pairings, 3 items, both sides
    assert standings["n_matches"] == (6 + 3) * 3 * 2
    assert {r["name"] for r in standings["ratings"]} == {"a", "b", "h"}
    arms = json.loads((tmp_path / "e" / "eval-protocols" / "results.json").read_text())["arms"]
    assert {"naive", "consultancy", "sequential"} <= arms.keys()
    assert all(a["accuracy"]["n"] == 3 for a in arms.values())
    assert models == {"deb-a", "deb-b", "judge"}
