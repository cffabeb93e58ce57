"""Tournaments: schedules, resume, report regeneration, bad input."""

from collections import Counter

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import (
    AgentConfig,
    JudgeConfig,
    ProtocolConfig,
    RatingsConfig,
    ScheduleConfig,
    TaskConfig,
    TournamentConfig,
)
from debate.run.tournament import run_tournament
from debate.runfolder import RunFolder

SCRIPTED = ["honest", "random", "liar", "assert"]


def config(tmp_path, judge: JudgeConfig, n=3, schedule=None, **kw) -> TournamentConfig:
    return TournamentConfig(
        name="t",
        out=str(tmp_path),
        debaters=[AgentConfig(name=a, model=f"scripted:{a}") for a in SCRIPTED[:n]],
        judge=judge,
        protocol=ProtocolConfig(name="sequential"),
        task=TaskConfig(n_items=kw.pop("n_items", 2)),
        schedule=schedule or ScheduleConfig(),
        **kw,
    )


def test_round_robin_plays_every_ordered_pair_on_both_sides(tmp_path):
    cfg = config(tmp_path, JudgeConfig(kind="oracle"))
    result = run_tournament(cfg)
    transcripts = RunFolder(cfg.run_dir).read_transcripts()
    # 3 pairs x 2 speaking orders x 2 sides x 2 items, plus 3 self-play x 2 sides x 2 items
    assert len(transcripts) == result["n_matches"] == 24 + 12
    seen = Counter()
    for t in transcripts:
        first, second = t.assignment
        seen[(t.agents[first], t.agents[second], t.assignment[first] == t.item.correct)] += 1
    for x in ("honest", "random", "liar"):
        for y in ("honest", "random", "liar"):
            for true_first in (True, False):
                assert seen[(x, y, true_first)] == 2
    # the oracle always picks the truth: in self-play the judge is always right
    assert result["judge_accuracy"]["self_play"]["value"] == 1.0
    for f in ("ratings.csv", "matches.csv", "report.md", "plots/matrix.png"):
        assert (cfg.run_dir / f).exists()


def test_swiss_pairs_new_opponents_by_rating(tmp_path):
    sched = ScheduleConfig(kind="swiss", swiss_rounds=3, swiss_items_per_round=1, self_play=False)
    cfg = config(tmp_path, JudgeConfig(kind="oracle"), n=4, schedule=sched, n_items=3)
    run_tournament(cfg)
    pairs = Counter(frozenset(t.agents.values()) for t in RunFolder(cfg.run_dir).read_transcripts())
    # 3 rounds x 2 pairs, 4 matches each (2 orders x 2 sides); 4 players meet 3 distinct others
    assert len(pairs) == 6 and set(pairs.values()) == {4}


@pytest.mark.parametrize("kind", ["round-robin", "swiss"])
def test_resumed_tournament_equals_uninterrupted(tmp_path, tiny_model_dir, kind):
    # soft outcomes: the tiny judge's probabilities move with what it reads, its picks barely do
    judge = JudgeConfig(kind="cloze", model=f"hf:{tiny_model_dir}", reads="speeches")
    sched = ScheduleConfig(kind=kind, swiss_rounds=3, swiss_items_per_round=2)
    soft = RatingsConfig(outcome="soft", n_boot=200)
    whole = run_tournament(config(tmp_path / "a", judge, n=4, schedule=sched, ratings=soft))
    cfg = config(tmp_path / "b", judge, n=4, schedule=sched, ratings=soft)

    def die(k, n):
        if k == n // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_tournament(cfg, on_progress=die)
    resumed = run_tournament(cfg)
    assert 0 < resumed["resumed_matches"] < resumed["n_matches"]
    assert resumed["resumed_matches"] + resumed["played_matches"] == whole["played_matches"]
    a = {t.match_id: t for t in RunFolder(tmp_path / "a" / "t").read_transcripts()}
    b = {t.match_id: t for t in RunFolder(cfg.run_dir).read_transcripts()}
    assert a.keys() == b.keys()
    # Equal up to float noise: a batch's padding changes the last bits of a score on CPU.
    for k in a:
        assert a[k].verdict.probs == pytest.approx(b[k].verdict.probs, abs=1e-6)
    for x, y in zip(whole["ratings"], resumed["ratings"]):
        assert x["name"] == y["name"]
        assert x["elo"] == pytest.approx(y["elo"], abs=1e-3)
        assert x["elo_ci95"] == pytest.approx(y["elo_ci95"], abs=1e-3)
    assert whole["judge_accuracy"] == resumed["judge_accuracy"]


def test_report_regenerates_from_the_folder_alone(tmp_path, tiny_model_dir):
    cfg = config(tmp_path, JudgeConfig(kind="cloze", model=f"hf:{tiny_model_dir}"))
    result = run_tournament(cfg)
    for f in ("report.md", "ratings.csv", "plots/ratings.png"):
        (cfg.run_dir / f).unlink()
    res = CliRunner().invoke(app, ["report", str(cfg.run_dir)])
    assert res.exit_code == 0, res.output
    assert (cfg.run_dir / "plots/ratings.png").exists()
    text = (cfg.run_dir / "report.md").read_text()
    assert all(r["name"] in text for r in result["ratings"])
    import json

    again = json.loads((cfg.run_dir / "results.json").read_text())
    assert again["ratings"] == json.loads(json.dumps(result["ratings"]))


def cli(tmp_path, *args):
    base = ["tournament", "--out", str(tmp_path), "--judge-kind", "oracle", "--n-items", "1"]
    return CliRunner().invoke(app, base + list(args))


def one_line_error(res, *needles):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = [x for x in res.output.strip().splitlines() if x.strip()]
    text = " ".join(lines)
    assert len(lines) <= 3, res.output  # one message, wrapped at most by the terminal width
    for n in needles:
        assert n in text, text


def test_bad_tournament_input(tmp_path):
    two = ["--debater", "a=scripted:honest", "--debater", "b=scripted:random"]
    one_line_error(
        cli(tmp_path, "--debater", "a=scripted:honest", "--debater", "a=scripted:random"),
        "more than once",
        "a",
    )
    one_line_error(cli(tmp_path, "--debater", "a=scripted:honest"), "at least two debaters")
    one_line_error(cli(tmp_path, *two, "--schedule", "knockout"), "schedule.kind")
    one_line_error(cli(tmp_path, *two, "--protocol", "consultancy"), "two opposed debaters")
    assert cli(tmp_path, *two, "--name", "t").exit_code == 0
    # a named folder holding another run is refused; an unnamed run gets a folder of its own
    one_line_error(cli(tmp_path, *two, "--name", "t", "--n-items", "2"), "task.n_items")
    assert cli(tmp_path, *two, "--n-items", "2").exit_code == 0
    one_line_error(CliRunner().invoke(app, ["report", str(tmp_path / "nothing")]), "config.yaml")


@pytest.mark.slow
def test_honest_quoter_beats_random_quoter_with_the_embedded_judge(tmp_path):
    """The embedded default's judge and task, with its two scripted debaters."""
    default = TournamentConfig()
    cfg = default.model_copy(
        update={
            "out": str(tmp_path),
            "debaters": [a for a in default.debaters if a.model.startswith("scripted:")],
        }
    )
    result = run_tournament(cfg)
    elo = {r["name"]: r for r in result["ratings"]}
    assert elo["honest-quoter"]["elo_ci95"][0] > elo["random-quoter"]["elo"]
    assert result["matrix"]["honest-quoter"]["random-quoter"] > 0.6
