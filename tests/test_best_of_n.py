"""Best-of-N speeches: N seeded candidates, the preference judge's favourite is spoken."""

import pytest

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, TaskConfig
from debate.match.judge import Judge
from debate.registry import register
from debate.run import runner
from debate.runfolder import RunFolder
from debate.schema import Transcript, Verdict


def persuasion(text: str) -> float:
    return len(text) / (len(text) + 100)


@register("judge", "longest-last-speech")
class LongestLastSpeech(Judge):
    """Believes the last speaker the more, the longer it spoke: a deterministic preference whose
    favourite among candidates is known from their texts alone."""

    def models(self) -> set[str]:
        return set()

    async def decide(self, case) -> Verdict:
        n, last = len(case.item.answers), case.turns[-1]
        p = persuasion(last.text)
        probs = [p if i == last.side else (1 - p) / (n - 1) for i in range(n)]
        return Verdict(probs=probs, judge="longest-last-speech", calls=1)


def transcripts(cfg) -> list[Transcript]:
    return RunFolder(cfg.run_dir).read_transcripts()


def best_of(n: int, preference: JudgeConfig | None = None, model: str = "scripted:random"):
    return [AgentConfig(name="d", model=model, best_of=n, preference=preference)]


@pytest.mark.parametrize("protocol", ["sequential", "simultaneous"])
def test_the_candidate_the_preference_judge_rates_highest_is_spoken(scripted_cfg, protocol):
    # the run's judge is the oracle; the preference judge is a different, checkable one
    cfg = scripted_cfg(
        debaters=best_of(4, JudgeConfig(kind="longest-last-speech")),
        protocol=ProtocolConfig(name=protocol, rounds=2),
        task=TaskConfig(n_items=8),
    )
    runner.run(cfg)
    picked_later = 0
    for t in transcripts(cfg):
        assert t.verdict.judge == "oracle"
        for turn in t.turns:
            texts = [c.text for c in turn.candidates]
            assert len(texts) == 4
            assert [c.score for c in turn.candidates] == pytest.approx(list(map(persuasion, texts)))
            lengths = [len(x) for x in texts]
            assert turn.chosen == lengths.index(max(lengths))  # the first of the longest
            assert turn.text == texts[turn.chosen]
            picked_later += turn.chosen > 0
    assert picked_later > 0  # the candidates differ: a later one is sometimes the best


def test_best_of_n_is_deterministic_under_a_seed(scripted_cfg):
    def play(name: str, seed: int) -> list[list]:
        cfg = scripted_cfg(name=name, seed=seed, debaters=best_of(3),
                           judge=JudgeConfig(kind="longest-last-speech"))  # fmt: skip
        runner.run(cfg)
        return [[(x.text, x.chosen, x.candidates) for x in t.turns] for t in transcripts(cfg)]

    assert play("one", 0) == play("two", 0)
    assert play("three", 1) != play("one", 0)


def test_best_of_one_is_the_plain_speech_and_candidate_zero_is_too(scripted_cfg, tiny_model_dir):
    spec = f"hf:{tiny_model_dir}"
    judge = JudgeConfig(kind="cloze", model=spec)  # the run's judge, so also the preference
    common = dict(judge=judge, task=TaskConfig(n_items=3),
                  protocol=ProtocolConfig(name="consultancy", speech_tokens=8))  # fmt: skip
    plain = scripted_cfg(name="plain", debaters=best_of(1, model=spec), **common)
    four = scripted_cfg(name="four", debaters=best_of(4, model=spec), **common)
    runner.run(plain)
    runner.run(four)
    one, many = transcripts(plain), transcripts(four)
    assert [t.match_id for t in one] == [t.match_id for t in many]
    for a, b in zip(one, many):
        [x], [y] = a.turns, b.turns
        assert x.candidates == [] and x.chosen is None
        assert y.candidates[0].text == x.text  # candidate 0 keeps the match's own seed
        assert len({c.text for c in y.candidates}) > 1  # the others have their own seeds
        # the score is the cloze judge's probability for the consultant's answer
        scores = [c.score for c in y.candidates]
        assert all(0 < s < 1 for s in scores) and y.chosen == scores.index(max(scores))
    # and the run's verdict reads the chosen speech: equal to the plain one where 0 was chosen
    for a, b in zip(one, many):
        if b.turns[0].chosen == 0:
            assert b.verdict.probs == pytest.approx(a.verdict.probs)


def test_a_bad_preference_judge_fails_before_the_run_starts(scripted_cfg):
    cfg = scripted_cfg(debaters=best_of(2, JudgeConfig(kind="no-such-judge")))
    with pytest.raises(ValueError, match="unknown judge 'no-such-judge'"):
        runner.run(cfg)
    assert not cfg.run_dir.exists()
