"""Every model call is on the record: a run folder alone gives back every prompt every model
saw, byte for byte, and the judge's view as it read it, which `debate judge` replays even for a
protocol that narrows what the judge reads."""

import json
from collections import Counter

import pytest

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig
from debate.match.match import Match
from debate.match.protocol import protocol
from debate.models import LanguageModel, load_model
from debate.present.human_judge import view_for
from debate.registry import register
from debate.run import runner
from debate.runfolder import RunFolder


class Witness(LanguageModel):
    """Passes every request on to another model and writes down, as the model receives it,
    the exact text it continues or scores: what the records must give back."""

    def __init__(self, spec: str, inner: LanguageModel):
        self.spec, self.inner, self.seen = spec, inner, Counter()

    async def generate(self, requests):
        self.seen.update(("generate", self.inner.render(r.prompt) + r.prefill) for r in requests)
        return await self.inner.generate(requests)

    async def score(self, requests):
        self.seen.update(("score", self.inner.render(r.prompt) + r.continuation) for r in requests)
        return await self.inner.score(requests)

    async def next_token_logprobs(self, prompts, top_k=20):
        self.seen.update(("next_token", self.inner.render(p)) for p in prompts)
        return await self.inner.next_token_logprobs(prompts, top_k)

    def describe(self):
        return {**self.inner.describe(), "model": self.spec}

    def __getattr__(self, name):  # its tokenizer and chat template are the inner model's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


register("backend", "witness")(lambda spec, rest: Witness(spec, load_model(rest)))


@protocol("last-round-only", roles=("A", "B"))
async def last_round_only(m: Match) -> None:
    """Sequential debate whose judge reads only the last round's speeches."""
    for r in range(m.rounds):
        for role in m.roles:
            await m.speak(role, r)
    await m.decide(sees=[t for t in m.transcript.turns if t.round == m.rounds - 1])


def rebuilt(call) -> tuple[str, str]:
    """The text a model saw, from its record alone."""
    if call.kind == "score":
        return call.kind, call.sent + call.continuation
    return call.kind, call.sent


@pytest.mark.parametrize("judge_kind", ["cloze", "letter", "verdict"])
def test_the_records_give_back_every_prompt_byte_for_byte(scripted_cfg, tiny_model_dir,
                                                           judge_kind):  # fmt: skip
    spec = f"witness:hf:{tiny_model_dir}"
    load_model(spec).seen.clear()
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="tiny", model=spec, temperature=0.8),
                  AgentConfig(name="chooser", model=spec, speech="choose", choose_by="judge")],
        judge=JudgeConfig(kind=judge_kind, model=spec, orders="both"),
        protocol=ProtocolConfig(name="interactive", rounds=2, speech_tokens=6),
    )  # fmt: skip
    cfg.task.n_items = 2
    runner.run(cfg)
    transcripts = RunFolder(cfg.run_dir).read_transcripts()
    assert transcripts and not any(t.error for t in transcripts)
    recorded = Counter(rebuilt(c) for t in transcripts for c in t.calls)
    assert recorded == load_model(spec).seen  # every call, each as often as it was made
    calls = [c for t in transcripts for c in t.calls]
    # B, the chooser, only asks the judge how each sentence would read: its calls are its own
    assert {c.role for c in calls} == {"A", "B/judge", "judge"}
    for t in transcripts:
        desc = t.models[spec]
        assert desc["dtype"] in ("fp32", "bf16") and desc["device"] == "cpu"
        assert desc["backend"] == "hf" and desc["path"] == str(tiny_model_dir)


def test_generations_record_their_tokens_and_sampling_logprobs(scripted_cfg, tiny_model_dir):
    spec = f"hf:{tiny_model_dir}"
    cfg = scripted_cfg(
        debaters=[AgentConfig(name="tiny", model=spec, temperature=0.8)],
        judge=JudgeConfig(kind="cloze", model=spec),
        protocol=ProtocolConfig(name="sequential", rounds=1, speech_tokens=6),
    )
    cfg.task.n_items = 2
    runner.run(cfg)
    tok = load_model(spec).tokenizer
    gens = [c for t in RunFolder(cfg.run_dir).read_transcripts() for c in t.calls
            if c.kind == "generate"]  # fmt: skip
    assert len(gens) == 8  # 2 items x 2 side assignments x 2 speakers
    for c in gens:
        assert c.token_ids and len(c.token_ids) == len(c.token_logprobs) <= 6
        assert all(lp <= 0 for lp in c.token_logprobs)
        assert c.reply == c.prefill + tok.decode(c.token_ids, skip_special_tokens=True)
        assert c.seed is not None and c.sampling.temperature == 0.8


def test_debate_judge_replays_the_view_a_narrowing_protocol_gave(scripted_cfg):
    cfg = scripted_cfg(
        judge=JudgeConfig(kind="oracle", reads="speeches"),
        protocol=ProtocolConfig(name="last-round-only", rounds=2),
    )
    cfg.task.n_items = 2
    runner.run(cfg)
    for t in RunFolder(cfg.run_dir).read_transcripts():
        assert len(t.turns) == 4
        [view] = [v for v in t.verdict.views if not v.swapped]
        assert len(view.texts) == 0  # the oracle reads nothing


def test_a_model_judge_of_a_narrowing_protocol_is_replayed_as_it_read(scripted_cfg, tiny_model_dir):
    cfg = scripted_cfg(
        judge=JudgeConfig(kind="cloze", model=f"hf:{tiny_model_dir}", reads="speeches"),
        protocol=ProtocolConfig(name="last-round-only", rounds=2),
    )
    cfg.task.n_items = 2
    runner.run(cfg)
    for t in RunFolder(cfg.run_dir).read_transcripts():
        shown = view_for(t, "speeches")
        assert shown.startswith(t.verdict.views[0].texts[0])
        assert len(t.turns) == 4 and shown.count("<speech by=") == 2  # the last round only
        assert all(u.shown in shown for u in t.turns if u.round == 1)


def test_version_1_folders_still_read_and_replay(scripted_cfg):
    cfg = scripted_cfg(judge=JudgeConfig(kind="oracle", reads="speeches"))
    cfg.task.n_items = 1
    runner.run(cfg)
    path = RunFolder(cfg.run_dir).transcripts_path
    old = []
    for line in path.read_text().splitlines():
        data = json.loads(line)
        data["schema_version"] = 1
        for key in ("calls", "models"):
            data.pop(key)
        data["verdict"].pop("views")
        old.append(json.dumps(data))
    path.write_text("\n".join(old) + "\n")
    [t, *_] = RunFolder(cfg.run_dir).read_transcripts()
    assert t.schema_version == 1 and t.calls == []
    shown = view_for(t, "speeches")
    assert all(u.shown in shown for u in t.turns) and "rebuilt from the transcript" in shown


def test_an_open_debater_choosing_its_side_is_on_the_record_as_itself(scripted_cfg):
    cfg = scripted_cfg(protocol=ProtocolConfig(name="open-debate", rounds=1,
                                               params={"choose": "ask"}))  # fmt: skip
    cfg.task.n_items = 1
    runner.run(cfg)
    for t in RunFolder(cfg.run_dir).read_transcripts():
        assert t.calls and all(c.role in ("A", "B") for c in t.calls), [c.role for c in t.calls]
