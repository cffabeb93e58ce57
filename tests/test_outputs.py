"""Runs taken to other tools and judged again: `debate export` (inspect logs read back by
inspect's own reader, a Hugging Face dataset read back by `datasets`), `debate rejudge`, the
panel judge, unread verdicts shown as such, the human judge's queue. Real runs of scripted
debaters; the judges are the oracle and a verdict judge whose model says fixed text."""

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.match.judge import Case, judge_view, relabelled
from debate.match.prompts import LABELS
from debate.models import load_model
from debate.run import runner
from debate.runfolder import RunFolder

cli = CliRunner()
PANEL = "{kind: panel, params: {judges: [oracle, verdict:scripted:say@%s], aggregate: %s}}"


def says(tmp_path: Path, name: str, text: str) -> str:
    """A model spec that answers every request with `text` (a judge's reply)."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({"*": text}))
    return f"scripted:say@{path}"


def play(tmp_path: Path, judge: JudgeConfig, name: str = "r", n_items: int = 4) -> Path:
    cfg = RunConfig(
        name=name,
        out=str(tmp_path / "runs"),
        debaters=[AgentConfig(name="honest", model="scripted:honest"),
                  AgentConfig(name="liar", model="scripted:liar")],
        judge=judge,
        protocol=ProtocolConfig(name="sequential", rounds=1),
        task=TaskConfig(n_items=n_items),
    )  # fmt: skip
    runner.run(cfg)
    return cfg.run_dir


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}  # fmt: skip


def test_a_judge_whose_replies_cannot_be_read_is_shown_unparsed_not_wrong(tmp_path):
    garbage = says(tmp_path, "garbage", "I would rather not say.")
    res = cli.invoke(app, ["run", "--out", str(tmp_path), "--name", "g", "--n-items", "4",
                           "--debater", "h=scripted:honest", "--debater", "l=scripted:liar",
                           "--judge-kind", "verdict", "--judge", garbage])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "8 of 8 verdicts unparsed" in " ".join(res.output.split())
    results = json.loads((tmp_path / "g" / "results.json").read_text())
    assert results["judge_accuracy"]["unparsed"] == 8 and results["judge_accuracy"]["value"] == 0
    shown = cli.invoke(app, ["show", str(tmp_path / "g"), "--limit", "1"])
    assert "unparsed" in shown.output and "wrong" not in shown.output

    from debate.present.view_summary import run_section
    from debate.present.viewer import match_data

    t = RunFolder(tmp_path / "g").read_transcripts()[0]
    assert match_data("g", t)["outcome"] == "unparsed"
    stats = dict(run_section(results, "g")["stats"])
    assert stats["judge wrong"]["text"] == "0" and stats["verdicts unparsed"]["text"] == "8"


def test_panel_keeps_each_members_verdict_and_pools_what_could_be_read(tmp_path):
    garbage = says(tmp_path, "garbage", "No idea.")
    params = {"judges": ["oracle", f"verdict:{garbage}"]}
    mean = play(tmp_path, JudgeConfig(kind="panel", orders="both", params=params), "mean")
    for t in RunFolder(mean).read_transcripts():
        v = t.verdict
        assert [m.judge for m in v.members] == ["oracle", f"verdict:{garbage}"]
        assert v.members[0].probs == [float(i == t.item.correct) for i in range(2)]
        assert not v.members[1].parsed and v.parsed  # the unread member is left out of the mean
        assert v.probs == v.members[0].probs
        # each member's views are marked by the reading they were read in (both orders)
        assert [w.swapped for w in v.members[1].views] == [False, True]
        assert v.members[1].views[1].answers == t.item.answers[::-1]
    majority = {"judges": [f"verdict:{garbage}", f"verdict:{garbage}"], "aggregate": "majority"}
    unread = play(tmp_path, JudgeConfig(kind="panel", params=majority), "none")
    assert all(not t.verdict.parsed for t in RunFolder(unread).read_transcripts())


def test_a_panel_needs_members_it_can_make(tmp_path):
    from debate.config import ConfigError
    from debate.match.judge import make_judge

    with pytest.raises(ConfigError, match="two or more judges"):
        make_judge(JudgeConfig(kind="panel", params={"judges": ["oracle"]}))
    with pytest.raises(ConfigError, match="unknown judge kind 'nope'"):
        make_judge(JudgeConfig(kind="panel", params={"judges": ["oracle", "nope:x"]}))


def test_a_recorded_view_is_relabelled_exactly_as_the_judge_would_build_it():
    from debate.schema import Item, Turn

    item = Item(id="i", question="What colour?", answers=["red", "blue"], correct=0,
                context="The car is red.")  # fmt: skip
    turn = Turn(speaker="A", agent="a", side=0, round=0, text="x", shown="It is red.")
    for reads in ("speeches", "evidence"):
        views = {lab: judge_view(Case(item, [turn]), labelled=lab, reads=reads)
                 for lab in (True, False)}  # fmt: skip
        for lab in (True, False):
            assert relabelled(views[not lab], item, lab) == views[lab]
            assert relabelled(views[lab], item, lab) == views[lab]


def test_rejudge_reads_the_recorded_views_and_writes_beside_the_run(tmp_path):
    first = says(tmp_path, "first", "Final answer: A")
    run = play(tmp_path, JudgeConfig(kind="verdict", model=first, orders="both"))
    before = digest(run)
    transcripts = RunFolder(run).read_transcripts()
    garbage = says(tmp_path, "garbage", "Hmm.")
    second = says(tmp_path, "second", "Final answer: B")
    res = cli.invoke(app, ["rejudge", str(run), "--judge", f"verdict:{second}",
                           "--judge", PANEL % (tmp_path / "garbage.json", "mean")])  # fmt: skip
    assert res.exit_code == 0, res.output
    after = digest(run)
    assert all(after[k] == h for k, h in before.items())  # the run's own files are unchanged
    results = json.loads((run / "rejudged" / "1" / "results.json").read_text())
    judges = results["judges"]
    assert list(judges) == [f"J0 recorded verdict:{first}", f"J1 verdict:{second}",
                            f"J2 panel-mean(oracle, verdict:{garbage})", "J2.1 oracle",
                            f"J2.2 verdict:{garbage}"]  # fmt: skip
    n = len(transcripts)
    assert results["transcripts"] == n and results["rebuilt_readings"] == 0
    # "A" in both orders names each answer once: no pick, every verdict a tie
    truth = [t.item.correct for t in transcripts]
    assert judges["J2.1 oracle"]["accuracy"]["value"] == 1.0
    assert judges[f"J2.2 verdict:{garbage}"]["unparsed"] == n
    assert judges[f"J2 panel-mean(oracle, verdict:{garbage})"]["accuracy"]["value"] == 1.0
    agree = results["agreement"][f"J2 panel-mean(oracle, verdict:{garbage}) vs J2.1 oracle"]
    assert agree["rate"]["value"] == 1.0 and agree["no_pick"] == 0
    assert agree["kappa"]["value"] == (1.0 if len(set(truth)) > 1 else None)
    # the new judge read exactly the views the first one read, in both orders
    recorded = [v.texts[0] for t in transcripts for v in t.verdict.views]
    read = [p[0].content.rsplit("\n\n", 1)[0] for p in load_model(second).prompts]
    assert sorted(read) == sorted(recorded)
    again = cli.invoke(app, ["rejudge", str(run), "--judge", "oracle"])
    assert again.exit_code == 0, again.output
    assert (run / "rejudged" / "2" / "results.json").exists()
    assert json.loads((run / "rejudged" / "1" / "results.json").read_text()) == results
    bad = cli.invoke(app, ["rejudge", str(run), "--judge", "nope:x"])
    assert bad.exit_code == 2 and "unknown judge kind 'nope'" in bad.output
    assert not (run / "rejudged" / "3").exists()


def test_export_inspect_is_read_back_by_inspects_own_reader(tmp_path):
    pytest.importorskip("inspect_ai")
    from inspect_ai.log import read_eval_log

    garbage = says(tmp_path, "garbage", "Who knows.")
    params = {"judges": ["oracle", f"verdict:{garbage}"]}
    run = play(tmp_path, JudgeConfig(kind="panel", params=params))
    res = cli.invoke(app, ["export", str(run), "--format", "inspect"])
    assert res.exit_code == 0, res.output
    [path] = (run / "export-inspect").glob("*.eval")
    log = read_eval_log(str(path))
    transcripts = RunFolder(run).read_transcripts()
    assert log.status == "success" and len(log.samples) == len(transcripts)
    assert set(log.eval.model_roles) == {"A", "B", "judge"}
    assert log.eval.model_roles["A"].model == "scripted:honest"
    for s, t in zip(log.samples, transcripts):
        assert s.id == t.match_id and s.target == LABELS[t.item.correct]
        assert s.choices == t.item.answers
        speeches = [m for m in s.messages if m.role == "assistant"][:-1]
        assert [m.text for m in speeches] == [u.shown for u in t.turns]
        assert [m.metadata["speaker"] for m in speeches] == [u.speaker for u in t.turns]
        score = s.scores["judge"]
        assert score.value == ("C" if t.judge_correct else "I")
        assert list(score.metadata["probs"].values()) == t.verdict.probs
        assert [m["parsed"] for m in score.metadata["members"]] == [True, False]
        assert s.scores["p_correct"].value == t.p_correct
        assert len(s.events) == len(t.calls) and {e.event for e in s.events} <= {"model"}
    assert log.results.scores[0].metrics["accuracy"].value == 1.0
    again = cli.invoke(app, ["export", str(run), "--format", "inspect"])
    assert again.exit_code == 2 and "exists" in again.output


def test_export_hf_is_read_back_by_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    garbage = says(tmp_path, "garbage", "Pass.")
    run = play(tmp_path, JudgeConfig(kind="verdict", model=garbage))
    res = cli.invoke(app, ["export", str(run), "--format", "hf", "--out", str(tmp_path / "hf")])
    assert res.exit_code == 0, res.output
    ds = datasets.load_from_disk(str(tmp_path / "hf" / "transcripts"))
    transcripts = RunFolder(run).read_transcripts()
    assert len(ds) == len(transcripts) and not (tmp_path / "hf" / "preferences").exists()
    for row, t in zip(ds, transcripts):
        assert (row["match_id"], row["question"], row["answers"], row["correct"]) == (
            t.match_id, t.item.question, t.item.answers, t.item.correct)  # fmt: skip
        assert [u["text"] for u in row["turns"]] == [u.text for u in t.turns]
        assert [u["model"] for u in row["turns"]] == ["scripted:honest", "scripted:liar"]
        assert row["probs"] == t.verdict.probs and row["parsed"] is False and row["choice"] == -1
        assert {s["role"]: s["side"] for s in row["speakers"]} == t.assignment


@pytest.mark.slow
def test_export_hf_preferences_are_the_pairs_training_makes(tmp_path, tiny_model_dir):
    """Branched rollouts saved as training saves them give, read back, the same (prompt,
    chosen, rejected) pairs training built from the live forks."""
    import asyncio

    datasets = pytest.importorskip("datasets")
    from debate.match.judge import make_judge
    from debate.run.runner import load_items
    from debate.training import rollouts
    from debate.training.loop import save_rollouts

    spec = f"hf:{tiny_model_dir}"
    policy, opponent = (AgentConfig(name=n, model=spec, prompt_style="plain", temperature=1.0)
                        for n in ("policy", "opponent"))  # fmt: skip
    judge = JudgeConfig(model=spec, reads="speeches")
    cfg = RunConfig(name="train", out=str(tmp_path), debaters=[policy], judge=judge,
                    protocol=ProtocolConfig(rounds=1, speech_tokens=6),
                    task=TaskConfig(n_items=2))  # fmt: skip
    items = load_items("hidden-passage", 2, 0, {})
    groups = asyncio.run(
        rollouts.branched_rollouts(cfg, items, policy, [opponent], make_judge(judge), 3, 1)
    )
    live = rollouts.preference_pairs(groups, 0.0)
    assert live
    save_rollouts(cfg.run_dir / "rollouts" / "gen-1.jsonl",
                  [b.transcript for g in groups for b in g.branches])  # fmt: skip
    res = cli.invoke(app, ["export", str(cfg.run_dir), "--format", "hf"])
    assert res.exit_code == 0, res.output
    prefs = datasets.load_from_disk(str(cfg.run_dir / "export-hf" / "preferences"))
    read = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in prefs]
    assert sorted(read, key=json.dumps) == sorted(live, key=json.dumps)
    assert all(r["score_chosen"] >= r["score_rejected"] for r in prefs)


def test_the_human_judges_queue_is_shuffled_by_seed_and_spread_over_debaters(tmp_path):
    from debate.config import TournamentConfig
    from debate.present.human_judge import lineup, matches_of, queue
    from debate.run.tournament import run_tournament

    cfg = TournamentConfig(
        name="t", out=str(tmp_path),
        debaters=[AgentConfig(name=n, model=f"scripted:{n}") for n in ("honest", "liar", "random")],
        judge=JudgeConfig(kind="oracle"), task=TaskConfig(n_items=4),
    )  # fmt: skip
    run_tournament(cfg)
    matches = matches_of(cfg.run_dir)
    order = queue(matches, 0)
    assert sorted(id(x[1]) for x in order) == sorted(id(x[1]) for x in matches)
    lineups = {lineup(x[1]) for x in matches}
    assert len(lineups) > 3  # self-play games and pairings
    first = order[: len(lineups)]
    assert {lineup(x[1]) for x in first} == lineups  # every lineup before any comes again
    items = [x[1].item.id for x in first]
    assert all(a != b for a, b in zip(items, items[1:]))  # not one item twice running
    assert len(set(items[:4])) == 4  # the four items before any comes again
    assert [x[1].match_id for x in queue(matches, 0)] == [x[1].match_id for x in order]
    assert [x[1].match_id for x in queue(matches, 1)] != [x[1].match_id for x in order]


def test_a_panel_judges_in_a_tournament_and_the_eval_report_compares_its_members(tmp_path):
    from debate.config import TournamentConfig
    from debate.run.tournament import run_tournament
    from debate.suites.protocols import ProtocolSuiteConfig, run_suite

    garbage = says(tmp_path, "garbage", "Perhaps.")
    panel = JudgeConfig(kind="panel", orders="both",
                        params={"judges": ["oracle", f"verdict:{garbage}"]})  # fmt: skip
    tour = TournamentConfig(
        name="t", out=str(tmp_path), judge=panel, task=TaskConfig(n_items=2),
        debaters=[AgentConfig(name=n, model=f"scripted:{n}") for n in ("honest", "liar")],
    )  # fmt: skip
    res = run_tournament(tour)
    assert res["judge_accuracy"]["rated_games"]["value"] == 1.0
    cfg = ProtocolSuiteConfig(out=str(tmp_path), name="e", task=TaskConfig(n_items=4),
                              judge=panel, arms=["naive", "sequential"],
                              debaters=[AgentConfig(name="honest", model="scripted:honest")])  # fmt: skip
    results = run_suite(cfg)
    judges = results["arms"]["sequential"]["judges"]
    assert list(judges["judges"]) == [results["judge"], "oracle", f"verdict:{garbage}"]
    assert judges["judges"]["oracle"]["accuracy"]["value"] == 1.0
    assert judges["judges"][f"verdict:{garbage}"]["unparsed"] == 4
    assert judges["agreement"][f"{results['judge']} vs oracle"]["rate"]["value"] == 1.0
    report = (cfg.run_dir / "report.md").read_text()
    assert "Cohen's kappa" in report and f"| verdict:{garbage} | " in report
