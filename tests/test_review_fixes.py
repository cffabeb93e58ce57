"""Fixes from the 2026-12-06 review of `debate rejudge`, `debate export` and the panel judge:
real runs of scripted debaters judged by the oracle and by verdict judges whose model says
fixed text."""

import json

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import JudgeConfig
from debate.judges.panel import pooled
from debate.runfolder import RunFolder
from debate.schema import Verdict
from tests.test_outputs import play, says

cli = CliRunner()


def test_a_majority_panel_whose_members_all_tie_is_a_read_tie_not_unread():
    tie = Verdict(probs=[0.5, 0.5], judge="j", parsed=True)
    assert pooled([tie, tie], 2, "majority") == ([0.5, 0.5], True)
    unread = Verdict(probs=[0.5, 0.5], judge="j", parsed=False)
    assert pooled([unread, unread], 2, "majority") == ([0.5, 0.5], False)


def test_a_panels_text_under_both_orders_gives_the_pooled_member_readings(tmp_path):
    first = says(tmp_path, "first", "Final answer: A")  # picks the first-listed answer
    params = {"judges": ["oracle", f"verdict:{first}"]}
    run = play(tmp_path, JudgeConfig(kind="panel", orders="both", params=params), n_items=2)
    for t in RunFolder(run).read_transcripts():
        member = t.verdict.members[1]
        assert member.probs == [0.5, 0.5]  # A in both orders: one vote each way
        assert f"verdict:{first}: 0.50, 0.50" in t.verdict.raw


def test_export_of_dot_names_the_log_after_the_run_folder(tmp_path, monkeypatch):
    run = play(tmp_path, JudgeConfig(kind="oracle"), name="liars", n_items=1)
    monkeypatch.chdir(run)
    res = cli.invoke(app, ["export", ".", "--format", "inspect", "--out", str(tmp_path / "x")])
    assert res.exit_code == 0, res.output
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["liars.eval"]


def test_rejudge_refuses_a_negative_seed_in_one_line_before_judging(tmp_path):
    run = play(tmp_path, JudgeConfig(kind="oracle"), n_items=1)
    res = cli.invoke(app, ["rejudge", str(run), "--judge", "oracle", "--seed", "-5"])
    assert res.exit_code == 2 and "--seed must be 0 or more" in res.output
    assert not (run / "rejudged").exists()


def test_exports_name_the_models_a_panel_or_the_oracle_judged_with(tmp_path):
    datasets = pytest.importorskip("datasets")
    read_eval_log = pytest.importorskip("inspect_ai.log").read_eval_log

    first = says(tmp_path, "first", "Final answer: A")
    params = {"judges": ["oracle", f"verdict:{first}"]}
    panel = play(tmp_path, JudgeConfig(kind="panel", params=params), name="panel", n_items=1)
    oracle = play(tmp_path, JudgeConfig(kind="oracle"), name="oracle", n_items=1)
    for run, model in ((panel, first), (oracle, "none")):
        assert cli.invoke(app, ["export", str(run), "--format", "inspect"]).exit_code == 0
        assert cli.invoke(app, ["export", str(run), "--format", "hf"]).exit_code == 0
        [path] = (run / "export-inspect").glob("*.eval")
        log = read_eval_log(str(path))
        assert log.eval.model == model and log.eval.model_roles["judge"].model == model
        assert log.samples[0].messages[-1].model == model
        ds = datasets.load_from_disk(str(run / "export-hf" / "transcripts"))
        assert ds[0]["judge_model"] == model


def test_rejudge_reports_each_arm_apart_and_refuses_a_folder_of_runs(tmp_path):
    res = cli.invoke(app, ["eval", "protocols", "--debater", "scripted:honest", "--judge-kind",
                           "oracle", "--n-items", "2", "--arms", "naive,majority-vote",
                           "--out", str(tmp_path), "--name", "ev"])  # fmt: skip
    assert res.exit_code == 0, res.output
    res = cli.invoke(app, ["rejudge", str(tmp_path / "ev"), "--judge", "oracle"])
    assert res.exit_code == 0, res.output
    results = json.loads((tmp_path / "ev" / "rejudged" / "1" / "results.json").read_text())
    groups = results["groups"]
    assert len(groups) == 2 and "judges" not in results  # never one pooled accuracy
    recorded = sorted(next(iter(g["judges"])) for g in groups.values())
    assert recorded == ["J0 recorded oracle", "J0 recorded vote"]
    assert all(g["transcripts"] == 2 for g in groups.values())
    for command in (["rejudge", str(tmp_path), "--judge", "oracle"],
                    ["export", str(tmp_path), "--format", "hf", "--out", str(tmp_path / "x")]):  # fmt: skip
        res = cli.invoke(app, command)
        assert res.exit_code == 2 and "is not a run folder" in res.output and "ev" in res.output
    assert not (tmp_path / "rejudged").exists() and not (tmp_path / "x").exists()


def test_rejudge_refuses_a_judge_that_cannot_read_the_run_and_counts_single_failures(tmp_path):
    run = play(tmp_path, JudgeConfig(kind="oracle"), n_items=2)
    res = cli.invoke(app, ["rejudge", str(run), "--judge", "verdict:scripted:honest"])
    assert res.exit_code == 2 and "cannot re-judge" in res.output
    assert "Traceback" not in res.output and not (run / "rejudged").exists()
    # one transcript saved with no recorded view and its speeches on an answer that is not
    # there: a judge that names each quote's answer cannot read it
    file = run / "transcripts.jsonl"
    lines = file.read_text().splitlines()
    broken = json.loads(lines[-1])
    broken["verdict"]["views"] = []
    for turn in broken["turns"]:
        turn["side"] = 7
    file.write_text("\n".join([*lines[:-1], json.dumps(broken)]) + "\n")
    said = says(tmp_path, "said", "Final answer: A")
    judge = f"{{kind: verdict, model: '{said}', attribute: true}}"
    res = cli.invoke(app, ["rejudge", str(run), "--judge", judge])
    assert res.exit_code == 0, res.output
    assert "1 transcript(s) could not be re-judged" in " ".join(res.output.split())
    results = json.loads((run / "rejudged" / "1" / "results.json").read_text())
    assert results["failed"] == 1 and results["transcripts"] == len(lines) - 1
    assert "IndexError" in results["first_failure"]
    written = (run / "rejudged" / "1" / "verdicts.jsonl").read_text().splitlines()
    assert len(written) == len(lines)  # the failed one too, with its error


def test_rejudge_reads_both_orders_when_asked_and_its_config_says_what_was_read(tmp_path):
    import yaml

    given = play(tmp_path, JudgeConfig(kind="oracle"), name="given", n_items=2)
    first = says(tmp_path, "first", "Final answer: A")  # picks the first-listed answer
    judge = f"{{kind: verdict, model: '{first}', orders: both}}"
    res = cli.invoke(app, ["rejudge", str(given), "--judge", judge])
    assert res.exit_code == 0, res.output
    folder = given / "rejudged" / "1"
    n = len(RunFolder(given).read_transcripts())
    for line in (folder / "verdicts.jsonl").read_text().splitlines():
        [v] = json.loads(line)["verdicts"]
        assert [w["swapped"] for w in v["views"]] == [False, True]
        assert v["probs"] == [0.5, 0.5] and len(v["order_probs"]) == 2  # its bias cancelled
    assert json.loads((folder / "results.json").read_text())["rebuilt_readings"] >= n
    assert yaml.safe_load((folder / "config.yaml").read_text())["judges"][0]["orders"] == "both"
    both = play(tmp_path, JudgeConfig(kind="verdict", model=first, orders="both"), name="both")
    res = cli.invoke(app, ["rejudge", str(both), "--judge", f"verdict:{first}"])  # orders: given
    assert res.exit_code == 0, res.output
    written = yaml.safe_load((both / "rejudged" / "1" / "config.yaml").read_text())
    assert written["judges"][0]["orders"] == "both"  # the recorded readings, both orders


def test_exports_of_failed_runs_say_so_and_an_empty_run_is_refused(tmp_path):
    datasets = pytest.importorskip("datasets")
    read_eval_log = pytest.importorskip("inspect_ai.log").read_eval_log

    from debate.run.engine import RunAborted

    try:  # the judge's model cannot judge: every match fails
        run = play(tmp_path, JudgeConfig(kind="verdict", model="scripted:honest"), n_items=1)
    except RunAborted:
        run = tmp_path / "runs" / "r"
    transcripts = RunFolder(run).read_transcripts(failed=True)
    assert transcripts and all(t.error for t in transcripts)
    res = cli.invoke(app, ["export", str(run), "--format", "inspect"])
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert f"{len(transcripts)} failed match(es) exported with their error" in said
    assert "every match failed in: r" in said
    [path] = (run / "export-inspect").glob("*.eval")
    log = read_eval_log(str(path))
    assert log.status == "error" and log.results is None and "failed" in log.error.message
    assert [s.error.message for s in log.samples] == [t.error for t in transcripts]
    res = cli.invoke(app, ["export", str(run), "--format", "hf"])
    assert res.exit_code == 0, res.output
    ds = datasets.load_from_disk(str(run / "export-hf" / "transcripts"))
    assert ds["error"] == [t.error for t in transcripts]
    (run / "transcripts.jsonl").write_text("")
    res = cli.invoke(app, ["export", str(run), "--format", "hf", "--out", str(tmp_path / "e")])
    assert res.exit_code == 2 and "no transcripts in" in res.output
    assert not (tmp_path / "e").exists()
