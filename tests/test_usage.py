"""Tokens, cost and limits per model and role, checked against what the server counted."""

import json

import pytest
from fakes.provider import FakeProvider
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import Price
from debate.usage import Usage

runner = CliRunner()


def run_args(p, out, *extra):
    return [
        "run", "--debater", f"d=openai:deb@{p.url}", "--judge", f"openai:judge@{p.url}",
        "--judge-kind", "verdict", "--n-items", "3", "--out", str(out), "--name", "r", *extra,
    ]  # fmt: skip


def server_counts(p, model):
    bodies = [r.body for r in p.log if r.status == 200 and r.body.get("model") == model]
    return len(bodies)


def test_usage_per_model_and_role_matches_the_server(tmp_path):
    with FakeProvider() as p:
        res = runner.invoke(app, run_args(p, tmp_path, "--price", "deb=1/2", "--price",
                                          "judge=10/20", "--no-cache"))  # fmt: skip
        assert res.exit_code == 0, res.output
        usage = json.loads((tmp_path / "r/results.json").read_text())["usage"]
        rows = {(r["model"].split("@")[0], r["role"]): r for r in usage["rows"]}
        # the judge's row is "other" until the match bills its verdict calls to "judge"
        deb = rows[("openai:deb", "debater")]
        [judge] = [r for (model, _), r in rows.items() if model == "openai:judge"]
        assert deb["requests"] == server_counts(p, "deb") == 6 * 2  # 6 matches, 2 speeches
        assert judge["requests"] == server_counts(p, "judge") == 6
    for row, (pin, pout) in ((deb, (1, 2)), (judge, (10, 20))):
        assert row["input_tokens"] > 0 and row["output_tokens"] > 0
        expected = (row["input_tokens"] * pin + row["output_tokens"] * pout) / 1e6
        assert row["cost"] == pytest.approx(expected)
    assert usage["cost"] == pytest.approx(deb["cost"] + judge["cost"], abs=1e-6)
    assert "usage: 18 requests, 0 cache hits" in res.output


def test_max_tokens_stops_a_run_cleanly_and_it_resumes(tmp_path):
    with FakeProvider() as p:
        stopped = runner.invoke(
            app, run_args(p, tmp_path, "--max-tokens", "300", "--set", "max_live=1")
        )
        assert stopped.exit_code == 0, stopped.output
        first = json.loads((tmp_path / "r/results.json").read_text())
        assert 0 < first["played_matches"] < 6 and first["unplayed_matches"] > 0
        assert first["usage"]["stopped"].startswith("max_tokens reached")
        assert "stopped early" in stopped.output
        resumed = runner.invoke(app, run_args(p, tmp_path, "--set", "max_live=1"))
        assert resumed.exit_code == 0, resumed.output
        second = json.loads((tmp_path / "r/results.json").read_text())
    assert second["resumed_matches"] == first["played_matches"]
    assert second["unplayed_matches"] == 0 and second["n_matches"] == 6


def test_over_budget_by_cost_and_parent_budget():
    suite = Usage({"m": Price(input=1e6, output=0)}, max_cost=5.0)
    arm = Usage(suite.prices, parent=suite)
    arm.record("m", "judge", tokens_in=3, started=0.0, ended=1.0)
    assert suite.over_budget() is None and arm.over_budget() is None
    arm.record("m", "judge", tokens_in=2, started=1.0, ended=2.0)
    assert suite.over_budget().startswith("max_cost reached") and arm.over_budget()


@pytest.mark.parametrize("bad", ["gpt-4o", "gpt-4o=1", "gpt-4o=a/b", "=1/2", "m=-1/2"])
def test_a_bad_price_is_a_clear_error(tmp_path, bad):
    res = runner.invoke(app, ["run", "--price", bad, "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--price needs MODEL=IN/OUT" in res.output
    assert not any(tmp_path.iterdir())
