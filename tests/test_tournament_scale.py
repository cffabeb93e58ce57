"""Tournaments of 4, 8 and 12 scripted debaters on 40 items finish with their reports (issue 25:
all six crashed after playing every match, when the report drew an interval that did not hold
its point), and every interval in their results holds its own point estimate."""

from __future__ import annotations

import json

import pytest

from debate.config import AgentConfig, JudgeConfig, ScheduleConfig, TaskConfig, TournamentConfig
from debate.run.tournament import run_tournament

AGENTS = ["honest", "liar", "random", "assert"]


def intervals(results: dict) -> list[tuple[str, float, list[float]]]:
    """(where, point, interval) for every estimate with an interval in a tournament's results."""
    out = []
    for r in results["ratings"]:
        for key in ("elo", "honest_elo", "dishonest_elo"):
            out.append((f"{r['name']}.{key}", r[key], r[f"{key}_ci95"]))
        for key in ("win_rate_as_true", "win_rate_as_false", "self_play_judge_accuracy",
                    "quotes_verified", "honest_advantage"):  # fmt: skip
            est = r[key]
            if est.get("value") is not None:
                out.append((f"{r['name']}.{key}", est["value"], est["ci95"]))
    for key, est in [*results["judge_accuracy"].items(),
                     ("first_speaker", results["first_speaker_win_rate"])]:  # fmt: skip
        if est["value"] is not None:
            out.append((key, est["value"], est["ci95"]))
    return out


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("schedule", ["round-robin", "swiss"])
@pytest.mark.parametrize("n", [4, 8, 12])
def test_tournament_at_scale_finishes_with_its_report(tmp_path, schedule: str, n: int) -> None:
    cfg = TournamentConfig(
        name="t",
        out=str(tmp_path),
        judge=JudgeConfig(kind="oracle"),
        debaters=[AgentConfig(name=f"d{k}", model=f"scripted:{AGENTS[k % 4]}") for k in range(n)],
        task=TaskConfig(n_items=40),
        schedule=ScheduleConfig(kind=schedule),
    )
    result = run_tournament(cfg)
    assert "report_error" not in result
    for f in ("results.json", "report.md", "report.html", "ratings.csv", "matches.csv",
              "plots/ratings.png", "plots/matrix.png", "plots/accuracy_vs_rating.png"):  # fmt: skip
        assert (cfg.run_dir / f).stat().st_size > 0, f
    saved = json.loads((cfg.run_dir / "results.json").read_text())
    assert len(saved["ratings"]) == n
    # the oracle judge is right in all 80 self-play games of a debater: Wilson's 80 of 80
    assert any(r["self_play_judge_accuracy"]["n"] == 80 for r in saved["ratings"])
    for where, point, (lo, hi) in intervals(saved):
        assert lo <= point <= hi, (where, point, lo, hi)


def test_a_plot_that_fails_costs_no_results(tmp_path, monkeypatch) -> None:
    """Results are written before anything is drawn, and a drawing failure is one line."""
    from debate.present import report

    def broken(results, out):
        raise ValueError("'xerr' must not contain negative values")

    monkeypatch.setitem(report.PLOTS, "ratings.png", broken)
    cfg = TournamentConfig(
        name="t", out=str(tmp_path), judge=JudgeConfig(kind="oracle"),
        debaters=[AgentConfig(name=a, model=f"scripted:{a}") for a in AGENTS[:2]],
        task=TaskConfig(n_items=2),
    )  # fmt: skip
    result = run_tournament(cfg)
    error = result["report_error"]
    assert "\n" not in error and "plots/ratings.png" in error and "debate report" in error
    assert (
        json.loads((cfg.run_dir / "results.json").read_text())["n_matches"] == result["n_matches"]
    )
    assert (cfg.run_dir / "report.md").exists() and (cfg.run_dir / "plots/matrix.png").exists()
