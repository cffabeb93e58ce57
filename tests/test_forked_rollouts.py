"""Training plays through the protocols: forks of one match share every speech before the
policy's first, which each fork samples for itself (DPO) or is given (GRPO), and the protocol
plays the rest. Real components: a tiny transformers model speaks and judges."""

import asyncio
import json
from collections import Counter

import pytest

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.match.judge import make_judge
from debate.models import LanguageModel, load_model
from debate.registry import register
from debate.run.runner import load_items
from debate.training import rollouts


class Counted(LanguageModel):
    """Passes every request on to another model and keeps it, so a test can count what was
    generated."""

    def __init__(self, spec: str, inner: LanguageModel):
        self.spec, self.inner, self.requests = spec, inner, []

    async def generate(self, requests):
        self.requests += requests
        return await self.inner.generate(requests)

    def __getattr__(self, name):  # its tokenizer and chat template are the inner model's
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


register("backend", "counted")(lambda spec, rest: Counted(spec, load_model(rest)))


@pytest.fixture
def play(tmp_path, tiny_model_dir):
    """A run config of `protocol` with the tiny model as policy (in prompt style `style`),
    opponent (in the plain style, so that no request of its is ever the policy's) and judge;
    the debaters sample at temperature 1, and their model starts with no requests."""

    def make(protocol: str, speech_tokens: int = 8, style: str = "plain"):
        spec = f"counted:hf:{tiny_model_dir}"
        load_model(spec).requests.clear()
        policy, opponent = (AgentConfig(name=n, model=spec, prompt_style=s, temperature=1.0)
                            for n, s in (("policy", style), ("opponent", "plain")))  # fmt: skip
        judge = JudgeConfig(model=f"hf:{tiny_model_dir}", reads="speeches")
        cfg = RunConfig(name="t", out=str(tmp_path), debaters=[policy], judge=judge,
                        protocol=ProtocolConfig(name=protocol, rounds=2,
                                                speech_tokens=speech_tokens),
                        task=TaskConfig(n_items=1))  # fmt: skip
        items = load_items("hidden-passage", 1, 0, {})
        return cfg, items, policy, opponent, make_judge(judge), load_model(spec)

    return make


def requests_made(model: Counted) -> Counter:
    """How often each distinct request (the exact text continued, and its seed) was made."""
    return Counter((model.render(r.prompt) + r.prefill, r.seed) for r in model.requests)


def turn_at(transcript, role: str, round: int):
    return next(u for u in transcript.turns if (u.speaker, u.round) == (role, round))


PROTOCOLS = ["sequential", "simultaneous", "consultancy", "interactive"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_forks_share_every_speech_before_the_branch_point(play, protocol):
    cfg, items, policy, opponent, judge, model = play(protocol, style="quote")
    groups = asyncio.run(
        rollouts.branched_rollouts(cfg, items, policy, [opponent], judge, 3, generation=1)
    )
    roles = ["consultant"] if protocol == "consultancy" else ["A", "B"]
    assert sorted(g.role for g in groups) == sorted(roles * 2)  # each seat, on both answers
    # no request was made twice: what every fork would have said alike was said once
    assert max(requests_made(model).values()) == 1
    prompts = Counter(model.render(r.prompt) + r.prefill for r in model.requests)
    prefixes = 0
    for g in groups:
        [prompt] = {b.prompt for b in g.branches}  # the same history at the branch point
        assert prompt.endswith("<quote>")  # the text continued: template, then the prefill
        assert prompts[prompt] == 3  # where each fork sampled its own speech
        assert len({b.completion for b in g.branches}) > 1  # sampled apart
        forks = [b.transcript for b in g.branches]
        for t, b in zip(forks, g.branches):
            assert turn_at(t, g.role, 0).text == "<quote>" + b.completion
            assert t.verdict is not None
            # every fork's record holds the call behind each of its turns, shared ones too
            assert sum(c.kind == "generate" for c in t.calls) == len(t.turns)
            assert b.reward == t.verdict.probs[t.assignment[g.role]]
        # every turn spoken before the branch point in any fork is the same in every fork
        for t in forks:
            at = t.turns.index(turn_at(t, g.role, 0))
            prefixes += at > 0
            for u in t.turns[:at]:
                assert all(turn_at(f, u.speaker, u.round) == u for f in forks)
        if protocol == "simultaneous":  # the opponent's first speech reads nothing: shared
            other = "B" if g.role == "A" else "A"
            assert all(turn_at(f, other, 0) == turn_at(forks[0], other, 0) for f in forks)
    if protocol in ("sequential", "interactive"):
        assert prefixes == 3 * 2  # the forks where the policy spoke second: A's speech first


@pytest.mark.parametrize("protocol", ["sequential", "simultaneous", "consultancy"])
def test_a_stem_finished_with_a_completion_speaks_it_and_is_judged(play, protocol):
    from datasets import Dataset

    cfg, items, policy, opponent, judge, model = play(protocol, speech_tokens=120)
    rows = asyncio.run(rollouts.stems(cfg, items, policy, [opponent], judge, generation=1))
    rows = Dataset.from_list(rows).to_list()  # as the trainer holds them
    sentence = items[0].deciding[0]
    said = [f"<quote>{sentence}</quote>", "it is so."]
    batch = [{k: r[k] for k in rollouts.STEM_COLUMNS} for r in rows for _ in said]
    done = rollouts.finish_debates(cfg, judge, batch, said * len(rows))
    for row, t, completion in zip(batch, done, said * len(rows)):
        turn = turn_at(t, row["role"], 0)
        assert turn.text == completion and turn.agent == "policy"
        assert [q.verified for q in turn.quotes] == ([True] if "quote" in completion else [])
        assert t.verdict is not None and abs(sum(t.verdict.probs) - 1) < 1e-6
        assert len(t.turns) == (2 if protocol == "consultancy" else 4)  # played to the end
        # the stem's speeches are replayed, not made again
        for kept in json.loads(row["speeches"]).values():
            assert turn_at(t, kept["speaker"], kept["round"]).model_dump(mode="json") == kept
    stemmed = [len(json.loads(r["speeches"])) for r in rows]
    # sequential: A's speech when the policy is B; simultaneous: the opponent's first speech,
    # made beside the policy's and finished before the stem was kept; consultancy: none
    assert stemmed == {"sequential": [0, 0, 1, 1], "simultaneous": [1] * 4,
                       "consultancy": [0, 0]}[protocol]  # fmt: skip
    assert max(requests_made(model).values()) == 1
    # the stem stops where branched rollouts of the same match branch: at the same prompt
    groups = asyncio.run(
        rollouts.branched_rollouts(cfg, items, policy, [opponent], judge, 2, generation=1)
    )
    assert [r["prompt"] for r in rows] == [g.branches[0].prompt for g in groups]
