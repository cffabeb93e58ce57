"""Evidence actions (`speech: choose`): debaters that choose a passage sentence to quote, and the
policy-gradient step that trains that choice."""

import asyncio
import math

import pytest
import torch

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.match.actions import passage_spans, render_prompt
from debate.match.prompts import debater_prompt
from debate.models import ScoreRequest, load_model
from debate.run.runner import run
from debate.runfolder import RunFolder


def chooser_run(tmp_path, tiny_model_dir, name: str, seed: int = 0, **agent) -> list:
    spec = f"hf:{tiny_model_dir}"
    cfg = RunConfig(
        name=name,
        out=str(tmp_path),
        seed=seed,
        debaters=[AgentConfig(name="chooser", model=spec, speech="choose", **agent)],
        judge=JudgeConfig(model=spec),
        protocol=ProtocolConfig(name="sequential"),
        task=TaskConfig(n_items=3),
    )
    run(cfg)
    return sorted(RunFolder(cfg.run_dir).read_transcripts(), key=lambda t: t.match_id)


def choices(transcripts) -> list[tuple[int, list[float]]]:
    return [(u.choice.index, u.choice.probs) for t in transcripts for u in t.turns]


@pytest.mark.slow
def test_chosen_quotes_are_recorded_verified_and_seeded(tmp_path, tiny_model_dir):
    kw = dict(choose_by="self", choice_temperature=5.0)  # hot: the seed decides the choice
    first = chooser_run(tmp_path, tiny_model_dir, "a", **kw)
    again = chooser_run(tmp_path, tiny_model_dir, "b", **kw)
    other = chooser_run(tmp_path, tiny_model_dir, "c", seed=1, **kw)
    assert choices(first) == choices(again)  # same seed, same choices, in a fresh run folder
    assert [i for i, _ in choices(first)] != [i for i, _ in choices(other)]

    model = load_model(f"hf:{tiny_model_dir}")
    t = first[0]
    turn = t.turns[0]
    c = turn.choice
    assert c.spans == passage_spans(t.item.context) and len(c.spans) >= 4
    assert turn.text == f"<quote>{c.spans[c.index]}</quote>"
    assert [q.verified for q in turn.quotes] == [True] and "<v_quote>" in turn.shown
    assert math.isclose(c.logprob, math.log(c.probs[c.index]), rel_tol=1e-9)
    # the scores are the debater's own log p(span | its side's prompt + "<quote>")
    n_words = ProtocolConfig().speech_tokens * 3 // 4
    messages, _ = debater_prompt(t.item, "A", t.assignment["A"], [], "quote", n_words)
    prompt = render_prompt(model.spec, messages)
    direct = asyncio.run(model.score([ScoreRequest(prompt=prompt, continuation=s)
                                      for s in c.spans]))  # fmt: skip
    assert c.scores == pytest.approx([s.logprob for s in direct], abs=1e-3)
    expected = torch.softmax(torch.tensor(c.scores) / 5.0, 0).tolist()
    assert c.probs == pytest.approx(expected, abs=1e-3)


@pytest.mark.slow
def test_judge_aware_choice_takes_the_span_the_judge_likes_best(tmp_path, tiny_model_dir):
    transcripts = chooser_run(tmp_path, tiny_model_dir, "j", choose_by="judge",
                              choice_temperature=0.0)  # fmt: skip
    for t in transcripts:
        for u in t.turns:
            c = u.choice
            assert c.by == "judge" and c.index == max(
                range(len(c.scores)), key=c.scores.__getitem__
            )
            assert all(s <= 0 for s in c.scores)  # log P(own answer)
            assert u.quotes[0].verified


def test_free_speech_is_unchanged_for_other_models():
    assert AgentConfig(name="x", model="smollm2").chooses()
    assert not AgentConfig(name="x", model="hf:some/model").chooses()
    assert not AgentConfig(name="x", model="smollm2", speech="free").chooses()


def test_behaviour_follows_the_model_not_the_spec_string():
    """The same model with an option spelled out speaks and judges as it does without."""
    from debate.config import JudgeConfig
    from debate.judges.scored import ClozeJudge

    for spec in ("smollm2", "smollm2?dtype=auto", "smollm2?dtype=fp32"):
        assert AgentConfig(name="x", model=spec).chooses(), spec
        assert ClozeJudge(JudgeConfig(model=spec)).apart, spec


@pytest.mark.slow
def test_a_reinforce_step_moves_the_choice_towards_the_reward(tmp_path, tiny_model_dir):
    from debate.training.config import LoraSettings, TrainConfig, UpdateSettings
    from debate.training.reinforce import ChoiceSample, choice_logprob, reinforce_update
    from debate.training.update import load_policy

    spans = ["mira has a pet cat.", "omar lives in lima.", "ines plays the harp."]
    prompt = "passage: mira has a pet cat. omar lives in lima. ines plays the harp. quote:"
    cfg = TrainConfig(
        out=str(tmp_path),
        policy=AgentConfig(name="p", model=f"hf:{tiny_model_dir}", speech="choose",
                           choose_by="self"),
        update=UpdateSettings(choice_learning_rate=3e-3, batch_size=4, epochs=3),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
    )  # fmt: skip
    # span 2 was rewarded above its siblings, span 0 below
    samples = [ChoiceSample(prompt=prompt, spans=spans, index=i, temperature=1.0, advantage=a)
               for i, a in ((2, 0.5), (0, -0.5), (2, 0.3), (1, -0.3))]  # fmt: skip
    base = str(tiny_model_dir)

    def probs(previous) -> list[float]:
        model, tok = load_policy(cfg, base, previous)
        with torch.no_grad():
            return [math.exp(choice_logprob(model, tok, samples[0].model_copy(update={"index": i})))
                    for i in range(len(spans))]  # fmt: skip

    reward = [-0.5, -0.3, 0.8]  # each span's total advantage in the samples
    before = probs(None)
    out = tmp_path / "gen-1"
    result = reinforce_update(cfg, base, None, samples, out, generation=1)
    after = probs(out)
    assert result["steps"] == 3 and result["useful_samples"] == 4
    assert after[2] > before[2] + 0.005  # the rewarded span became likelier
    expected = lambda p: sum(x * r for x, r in zip(p, reward))  # noqa: E731
    assert expected(after) > expected(before) + 0.005  # and the policy's expected reward rose


def test_attributed_evidence_names_the_side_that_quoted_it():
    from debate.match.judge import attributed_evidence
    from debate.schema import QuoteCheck, Turn

    def turn(side: int, *quotes: tuple[str, bool]) -> Turn:
        checks = [QuoteCheck(text=q, verified=v, similarity=1.0 if v else 0.2) for q, v in quotes]
        return Turn(speaker="AB"[side], agent="x", side=side, round=0, text="", shown="",
                    quotes=checks)  # fmt: skip

    turns = [turn(0, ("Mira has a pet cat.", True), ("Mira has a pet lion.", False)),
             turn(1, ("Omar has a pet dog.", True), ("Mira has a pet cat.", True))]  # fmt: skip
    assert attributed_evidence(turns, ["cat", "dog"]).splitlines() == [
        'Evidence from the passage quoted by the side arguing "cat":',
        '"Mira has a pet cat."',
        'Evidence from the passage quoted by the side arguing "dog":',
        '"Omar has a pet dog."',
    ]  # unverified quotes never reach the judge; a repeated quote counts for its first side;
    # each quote on its own line, so two never read as one statement
    assert attributed_evidence([], ["cat", "dog"]).endswith("none was quoted.")
    # a fragment of a quote already read adds nothing, whoever quoted it and in what order
    cut = [turn(1, ("Mira has a pet…", True)), *turns, turn(1, ("…pet dog.", True))]
    assert attributed_evidence(cut, ["cat", "dog"]) == attributed_evidence(turns, ["cat", "dog"])
    from debate.match.judge import verified_quotes

    assert verified_quotes(cut) == ["Mira has a pet cat.", "Omar has a pet dog."]
    # a quote of the whole passage is read sentence by sentence: it cannot swallow, and so
    # hide, the sentence the other side quoted
    whole = [turn(1, ("Omar has a pet dog. Mira has a pet cat.", True)), turns[0]]
    assert verified_quotes(whole) == ["Omar has a pet dog.", "Mira has a pet cat."]


@pytest.mark.slow
def test_clause_spans_offer_the_parts_of_a_sentence_that_verify(tmp_path, tiny_model_dir):
    import json

    passage = "Mira has a cat, and Omar has a dog. Omar owns a dog, not a cat. Ines lives in Lima."
    # "Omar owns a dog" would leave the sentence's "not" out: it does not verify, so not offered
    assert passage_spans(passage, "clauses") == [
        "Mira has a cat, and Omar has a dog.", "Mira has a cat", "and Omar has a dog.",
        "Omar owns a dog, not a cat.", "not a cat.", "Ines lives in Lima.",
    ]  # fmt: skip
    assert passage_spans(passage) == [passage_spans(passage, "clauses")[i] for i in (0, 3, 5)]
    path = tmp_path / "q.jsonl"
    path.write_text(json.dumps({"article": passage, "question": "Who has a cat?",
                                "options": ["mira", "omar"], "answer": 0}) + "\n")  # fmt: skip
    spec = f"hf:{tiny_model_dir}"
    cfg = RunConfig(
        out=str(tmp_path), judge=JudgeConfig(model=spec),
        task=TaskConfig(name="quality", n_items=1, params={"path": str(path)}),
        debaters=[AgentConfig(name="c", model=spec, speech="choose", choose_by="self",
                              spans="clauses", choice_temperature=50.0)],
    )  # fmt: skip
    run(cfg)
    turns = [u for t in RunFolder(cfg.run_dir).read_transcripts() for u in t.turns]
    assert len(turns) == 4  # both side assignments, two speeches each
    for u in turns:
        assert u.choice.spans == passage_spans(passage, "clauses")
        assert u.text == f"<quote>{u.choice.spans[u.choice.index]}</quote>"
        assert [q.verified for q in u.quotes] == [True]
    # hot sampling over 6 spans: a clause (not only whole sentences) is chosen at some point
    assert any(u.choice.index in (1, 2, 4) for u in turns)
