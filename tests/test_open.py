"""Open debate and open consultancy: the debater chooses its answer, the choice is recorded and
becomes the assignment, and the eval suite reports how the judge treats true and false choices."""

import math

import pytest
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, TaskConfig
from debate.models import ScoreRequest
from debate.models.base import Score
from debate.models.scripted import ScriptedModel
from debate.registry import register
from debate.run import runner
from debate.run.engine import RunAborted
from debate.runfolder import RunFolder
from debate.suites.protocols import ProtocolSuiteConfig, run_suite


class PrefersShortAnswers(ScriptedModel):
    """Argues like the honest script; as a scorer, the shorter a continuation, the likelier."""

    async def score(self, requests: list[ScoreRequest]) -> list[Score]:
        return [
            Score(logprob=-float(len(r.continuation)), n_tokens=1, n_chars=len(r.continuation))
            for r in requests
        ]


register("backend", "prefers-short")(lambda spec, rest: PrefersShortAnswers(spec, "honest"))


def transcripts(cfg):
    return RunFolder(cfg.run_dir).read_transcripts()


@pytest.mark.parametrize("name", ["open-debate", "open-consultancy"])
def test_the_debater_chooses_its_answer_and_the_assignment_follows(scripted_cfg, name):
    # a random chooser (asked, it states a seeded random answer) picks true and false answers
    cfg = scripted_cfg(
        name=name,
        debaters=[AgentConfig(name="chooser", model="scripted:random")],
        protocol=ProtocolConfig(name=name, rounds=2, params={"choose": "ask"}),
        task=TaskConfig(n_items=12),
    )
    result = runner.run(cfg)
    runs = transcripts(cfg)
    assert len(runs) == 12  # one match per item: no sides to enumerate
    first = "A" if name == "open-debate" else "consultant"
    for t in runs:
        chose = t.choices[0]
        assert (chose.role, chose.method, chose.parsed) == (first, "ask", True)
        assert "Final answer" in chose.text and t.assignment[first] == chose.side
        if name == "open-debate":  # the antagonist takes the answer the protagonist left
            assert [(c.role, c.method) for c in t.choices[1:]] == [("B", "remaining")]
            assert t.assignment["B"] == 1 - chose.side
        for turn in t.turns:  # every speech argues the chosen side
            assert turn.side == t.assignment[turn.speaker]
            assert f"The answer is {t.item.answers[turn.side]}." in turn.text
    chose_true = [t.assignment[first] == t.item.correct for t in runs]
    assert 0 < sum(chose_true) < 12  # both kinds of choice happened
    # statistics read the chosen sides: the oracle sides with whoever argues the truth
    wins = result["win_rate"]["chooser"]
    assert wins["as_true"]["value"] == 1.0 and wins["as_false"]["value"] == 0.0


def test_an_honest_chooser_takes_the_true_answer_and_a_liar_a_false_one(scripted_cfg):
    for agent, true in (("honest", True), ("liar", False)):
        cfg = scripted_cfg(
            name=agent,
            debaters=[AgentConfig(name=agent, model=f"scripted:{agent}")],
            protocol=ProtocolConfig(name="open-consultancy", params={"choose": "ask"}),
        )
        runner.run(cfg)
        assert all((t.assignment["consultant"] == t.item.correct) == true for t in transcripts(cfg))


def test_choosing_by_probabilities_takes_the_answer_the_debater_scores_higher(scripted_cfg):
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="short", model="prefers-short")],
        protocol=ProtocolConfig(name="open-debate", params={"choose": "probs"}),
        task=TaskConfig(n_items=10),
    )
    runner.run(cfg)
    runs = transcripts(cfg)
    assert {t.choices[0].side for t in runs} == {0, 1}  # not merely the first listed
    for t in runs:
        chose, lengths = t.choices[0], [len(a) for a in t.item.answers]
        assert chose.method == "probs" and not chose.text
        assert chose.side == lengths.index(min(lengths))
        # the recorded probabilities are the model's own: a softmax of minus the length
        z = sum(math.exp(-n) for n in lengths)
        assert chose.probs == pytest.approx([math.exp(-n) / z for n in lengths])
        assert t.assignment == {"A": chose.side, "B": 1 - chose.side}


def test_choosing_by_probabilities_with_a_transformers_model(scripted_cfg, tiny_model_dir):
    spec = f"hf:{tiny_model_dir}"
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="tiny", model=spec)],
        protocol=ProtocolConfig(name="open-consultancy", speech_tokens=8),
        task=TaskConfig(n_items=4),
    )
    runner.run(cfg)
    for t in transcripts(cfg):
        [chose] = t.choices
        assert len(chose.probs) == 2 and sum(chose.probs) == pytest.approx(1.0)
        assert chose.probs[chose.side] > chose.probs[1 - chose.side]
        assert t.assignment == {"consultant": chose.side} and t.turns[0].side == chose.side
    # the probabilities come from the debater's model reading the passage: a different
    # passage gives different probabilities
    assert len({tuple(t.choices[0].probs) for t in transcripts(cfg)}) > 1


def test_an_unreadable_stated_answer_is_drawn_from_the_seed_and_marked(scripted_cfg, tmp_path):
    say = tmp_path / "say.json"
    say.write_text('{"*": "I cannot tell."}')
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="mute", model=f"scripted:say@{say}")],
        protocol=ProtocolConfig(name="open-consultancy", params={"choose": "ask"}),
        task=TaskConfig(n_items=8),
    )
    runner.run(cfg)
    runs = transcripts(cfg)
    assert all(not t.choices[0].parsed for t in runs)
    assert {t.assignment["consultant"] for t in runs} == {0, 1}  # drawn, not always the first
    again = scripted_cfg(name="again", debaters=cfg.debaters, protocol=cfg.protocol,
                         task=cfg.task)  # fmt: skip
    runner.run(again)
    assert [t.assignment for t in transcripts(again)] == [t.assignment for t in runs]


def test_a_debater_that_cannot_score_is_told_to_be_asked_instead(scripted_cfg):
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="honest", model="scripted:honest")],
        protocol=ProtocolConfig(name="open-consultancy", params={"choose": "probs"}),
    )
    with pytest.raises(RunAborted, match="protocol.params.choose=ask"):
        runner.run(cfg)


def test_the_suite_reports_agreement_with_true_and_false_choosers(tmp_path):
    cfg = ProtocolSuiteConfig(
        out=str(tmp_path),
        task=TaskConfig(n_items=16),
        judge=JudgeConfig(kind="oracle", orders="both"),
        debaters=[AgentConfig(name="chooser", model="scripted:random")],
        arms=["consultancy", "open-consultancy", "open-debate"],
        protocol=ProtocolConfig(sides="random", params={"choose": "ask"}),
    )
    arms = run_suite(cfg)["arms"]
    assert arms["consultancy"]["open"] is None
    for arm in ("open-consultancy", "open-debate"):
        o = arms[arm]["open"]
        n_true, n_false = o["agrees_if_chose_true"]["n"], o["agrees_if_chose_false"]["n"]
        assert n_true + n_false == 16 and n_true > 0 and n_false > 0
        assert o["chose_true"]["value"] == n_true / 16
        # the oracle agrees with a true chooser and never with a false one
        assert o["agrees_if_chose_true"]["value"] == 1.0
        assert o["agrees_if_chose_false"]["value"] == 0.0
        assert o["agreement_gap"]["value"] == 1.0
    report = (cfg.run_dir / "report.md").read_text()
    assert "| open-debate | " in report and "judge agrees if it chose true" in report


def test_open_debate_from_the_command_line(tmp_path):
    res = CliRunner().invoke(
        app,
        ["run", "--protocol", "open-debate", "--debater", "scripted:honest", "--judge-kind",
         "oracle", "--n-items", "3", "--set", "protocol.params.choose=ask", "--out", str(tmp_path),
         "--name", "cli"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    runs = RunFolder(tmp_path / "cli").read_transcripts()
    assert [t.assignment["A"] == t.item.correct for t in runs] == [True] * 3
    bad = CliRunner().invoke(
        app, ["run", "--protocol", "open-debate", "--set", "protocol.params.choose=vote", "--out",
              str(tmp_path), "--name", "bad"],
    )  # fmt: skip
    assert bad.exit_code != 0 and "protocol.params.choose" in bad.output
