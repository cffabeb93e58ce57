"""The protocol-comparison suite: arms, both answer orders, paired differences, history."""

import json

import pytest
import yaml
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, TaskConfig
from debate.match.judge import Judge
from debate.registry import register
from debate.runfolder import RunFolder
from debate.schema import Verdict
from debate.suites.protocols import ProtocolSuiteConfig, run_suite


@register("judge", "first-listed")
class FirstListedJudge(Judge):
    """A maximally position-biased judge: always the answer listed first."""

    async def decide(self, case) -> Verdict:
        n = len(case.item.answers)
        return Verdict(probs=[1.0] + [0.0] * (n - 1), judge="first-listed", calls=1)


def suite(tmp_path, judge: JudgeConfig, **kw) -> ProtocolSuiteConfig:
    return ProtocolSuiteConfig(
        out=str(tmp_path),
        task=TaskConfig(n_items=kw.pop("n_items", 6)),
        judge=judge,
        debaters=[AgentConfig(name="honest", model="scripted:honest")],
        **kw,
    )


def test_every_arm_runs_on_the_same_items_and_writes_report_and_history(tmp_path, tiny_model_dir):
    # the defaults: the two bounds, consultancy and debate
    assert ProtocolSuiteConfig().arms == ["naive", "expert", "consultancy", "sequential"]
    six = ["naive", "expert", "consultancy", "sequential", "simultaneous", "self-consistency"]
    cfg = suite(
        tmp_path, JudgeConfig(kind="cloze", model=f"hf:{tiny_model_dir}", orders="both"), arms=six
    )
    res = run_suite(cfg)
    assert set(res["arms"]) == {
        "naive", "expert", "consultancy", "sequential", "simultaneous", "self-consistency"
    }  # fmt: skip
    for m in res["arms"].values():
        assert m["accuracy"]["n"] == 6  # one value per item in every arm
    # compute-matched: a sequential debate made 2 speeches + 1 verdict per order
    assert res["arms"]["self-consistency"]["judge_calls_per_match"] == 3 * 2
    # a deterministic judge asked three times agrees with itself: self-consistency = naive
    assert res["arms"]["self-consistency"]["accuracy"] == res["arms"]["naive"]["accuracy"]
    assert "sequential - consultancy" in res["paired_differences"]
    assert (cfg.run_dir / "report.md").exists() and (cfg.run_dir / "plots/reliability.png").exists()
    seq = res["paired_differences"]["sequential - naive"]
    assert 0 < seq["sign_test_p"] <= 1
    assert "| sign test p |" in (cfg.run_dir / "report.md").read_text()
    rows = [json.loads(x) for x in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert {r["metric"] for r in rows} >= {"accuracy/naive", "difference/sequential - naive"}
    # resuming replays nothing
    again = run_suite(cfg)
    assert again["arms"] == json.loads(json.dumps(res["arms"]))


def test_both_orders_cancel_and_measure_position_bias(tmp_path):
    cfg = suite(tmp_path, JudgeConfig(kind="first-listed", orders="both"), arms=["naive"])
    m = run_suite(cfg)["arms"]["naive"]
    assert m["accuracy"]["value"] == 0.5  # right in exactly one of the two orders, every item
    assert m["position_bias"]["first_listed_minus_half"]["value"] == 0.5
    assert m["position_bias"]["orders_agree"] == 0.0
    given = suite(tmp_path, JudgeConfig(kind="first-listed"), arms=["naive"], name="given")
    assert run_suite(given)["arms"]["naive"]["position_bias"] is None


def test_consultancy_reports_how_often_a_wrong_consultant_fools_the_judge(tmp_path):
    # the oracle is never fooled; a consultant is wrong on about half the items
    cfg = suite(tmp_path, JudgeConfig(kind="oracle"), arms=["consultancy"], n_items=20)
    sides = run_suite(cfg)["arms"]["consultancy"]["sides"]
    assert sides["fooled_by_wrong_speaker"]["value"] == 0.0
    assert 0 < sides["fooled_by_wrong_speaker"]["n"] < 20
    assert sides["honest_advantage"]["value"] == 1.0


def test_eval_cli_errors_and_history_plot(tmp_path):
    run = CliRunner().invoke
    base = ["eval", "protocols", "--out", str(tmp_path), "--judge-kind", "oracle", "--n-items", "2",
            "--debater", "scripted:honest"]  # fmt: skip
    res = run(app, base + ["--arms", "naive,debate"])
    assert res.exit_code == 2 and "unknown arm" in res.output and "Traceback" not in res.output
    res = run(app, base + ["--arms", "naive,self-consistency"])
    assert res.exit_code == 2 and "compute_match" in res.output
    for gen in ("gen-0", "gen-1"):
        res = run(app, base + ["--arms", "naive,expert", "--checkpoint", gen, "--name", gen,
                               "--max-failures", "3"])  # fmt: skip
        assert res.exit_code == 0, res.output
    arm = yaml.safe_load((tmp_path / "gen-1" / "arms" / "expert" / "config.yaml").read_text())
    assert arm["max_failures"] == 3  # every arm runs with the suite's --max-failures
    res = run(app, ["eval", "history", "--out", str(tmp_path), "--metric", "accuracy/expert"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "history_accuracy_expert.png").exists()
    res = run(app, ["eval", "history", "--out", str(tmp_path), "--metric", "mc2"])
    assert res.exit_code == 2 and "accuracy/naive" in res.output


@pytest.mark.parametrize("bad", ["nonsense"])
def test_unknown_suite_is_refused(bad):
    res = CliRunner().invoke(app, ["eval", bad])
    assert res.exit_code != 0 and "No such command" in res.output


@register("judge", "last-quote")
class LastQuoteJudge(Judge):
    """A maximally recency-biased judge: the answer named in the last quote it reads."""

    async def decide(self, case) -> Verdict:
        view = self.view(case, labelled=False)
        quotes = [line.lower() for line in view.splitlines() if line.startswith('"')]
        n = len(case.item.answers)
        probs = (
            [float(a.lower() in quotes[-1]) for a in case.item.answers] if quotes else [1 / n] * n
        )
        return Verdict(probs=probs, judge="last-quote", calls=1)


def test_reading_the_evidence_both_ways_cancels_the_last_word(tmp_path):
    """Sequential debate of an honest quoter on both sides: B's quote is read last. Read as
    given, the last-quote judge always sides with B; read both ways, never with either."""
    from debate.runfolder import RunFolder

    for order in ("given", "both"):
        judge = JudgeConfig(kind="last-quote", evidence_order=order)
        cfg = suite(tmp_path, judge, arms=["sequential"], name=order, n_items=8)
        run_suite(cfg)
        ts = list(RunFolder(cfg.run_dir / "arms" / "sequential").read_transcripts())
        assert len(ts) == 8
        argued = [t for t in ts if all(u.quotes for u in t.turns)]
        assert len(argued) >= 6  # both sides quoted a sentence naming their answer
        for t in argued:
            b_side = t.assignment["B"]
            if order == "given":
                assert t.verdict.probs[b_side] == 1.0 and t.verdict.calls == 1
            else:
                assert t.verdict.probs == [0.5, 0.5] and t.verdict.calls == 2


def test_statistics_that_round_to_zero_print_without_a_minus_sign():
    # a judge with no position bias measures it as a float sum near zero: the report said
    # "-0.0% (-0.0% to -0.0%)"
    from debate.stats.formatting import estimate, percent

    near_zero = {"value": -1e-17, "ci95": [-3e-4, -1e-18], "n": 200}
    assert estimate(near_zero, signed=True) == "+0.0% (+0.0% to +0.0%)"
    assert percent(-4e-4) == "0.0%" and percent(-6e-4) == "-0.1%"
    assert estimate({"value": 0.715, "ci95": [0.65, 0.78]}) == "71.5% (65.0% to 78.0%)"
    assert estimate({"value": None, "ci95": None}) == "-" and estimate(None) == "-"
    from debate.stats.formatting import pct, signed_pct

    assert signed_pct({"value": -1e-17, "ci95": [-1e-3, 0.02]}) == "+0% (+0% to +2%)"
    assert pct({"value": 0.715, "ci95": [-1e-17, 0.78]}) == "72% (0%-78%)"


def test_every_pair_of_arms_is_differenced_paired_over_items(tmp_path):
    arms = ["naive", "expert", "consultancy", "sequential"]
    res = run_suite(suite(tmp_path, JudgeConfig(kind="oracle"), arms=arms, n_items=8))
    assert set(res["paired_differences"]) == {
        "consultancy - naive", "sequential - naive", "sequential - consultancy",
        "expert - naive", "expert - consultancy", "expert - sequential",
    }  # fmt: skip
    d = res["paired_differences"]["consultancy - naive"]
    assert d["n"] == 8 and "sign_test_p" in d
    adv = res["arms"]["sequential"]["sides"]["honest_advantage"]
    assert adv["interval"] == "bootstrap over items" and adv["n"] == 8


def test_majority_vote_is_compute_matched_to_collaborative_debate_and_votes_by_round(tmp_path):
    from debate.config import ProtocolConfig

    cfg = ProtocolSuiteConfig(
        out=str(tmp_path), task=TaskConfig(n_items=10), judge=JudgeConfig(kind="oracle"),
        debaters=[AgentConfig(name="random", model="scripted:random")],
        protocol=ProtocolConfig(rounds=2, params={"n_agents": 3}),
        arms=["collaborative", "majority-vote"],
    )  # fmt: skip
    res = run_suite(cfg)
    collab, vote = res["arms"]["collaborative"], res["arms"]["majority-vote"]
    # the vote makes as many generations as the discussion: 3 agents x 2 rounds
    ts = RunFolder(cfg.run_dir / "arms" / "majority-vote").read_transcripts()
    assert {len(t.turns) for t in ts} == {6} and {x.round for t in ts for x in t.turns} == {0}
    assert [r["round"] for r in collab["rounds"]["by_round"]] == [0, 1]
    assert [r["round"] for r in vote["rounds"]["by_round"]] == [0]
    # the collaborative verdict is its last round's vote, and so is its accuracy
    same = ("value", "ci95", "n")  # the arm's accuracy also counts unparsed verdicts
    assert all(
        collab["rounds"]["by_round"][-1]["accuracy"][k] == collab["accuracy"][k] for k in same
    )
    assert all(vote["rounds"]["by_round"][0]["accuracy"][k] == vote["accuracy"][k] for k in same)
    assert "majority-vote - collaborative" not in res["paired_differences"]
    assert "collaborative - majority-vote" in res["paired_differences"]
    assert "| voting arm | round |" in (cfg.run_dir / "report.md").read_text()
