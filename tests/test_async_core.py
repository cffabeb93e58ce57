"""The async core: each model schedules itself, a model object outlives any one run, a failed
match is recorded while the others finish."""

import asyncio
import json

import pytest

from debate.config import AgentConfig, JudgeConfig, ProtocolConfig
from debate.models import Generation, LanguageModel, ModelError, load_model
from debate.registry import register
from debate.run import runner
from debate.run.engine import RunAborted
from debate.runfolder import RunFolder


def test_local_model_batches_concurrent_matches_and_gives_the_same_text(
    scripted_cfg, tiny_model_dir
):
    spec = f"hf:{tiny_model_dir}"
    debaters = [AgentConfig(name="tiny", model=spec, temperature=0.8)]
    judge = JudgeConfig(kind="cloze", model=spec)
    protocol = ProtocolConfig(name="sequential", rounds=1, speech_tokens=6)
    wide = scripted_cfg(name="wide", debaters=debaters, judge=judge, protocol=protocol)
    model = load_model(spec)
    before = len(model.generate_worker.batch_sizes)
    runner.run(wide)
    sizes = list(model.generate_worker.batch_sizes)[before:]
    # 12 matches, each speaker's first speech waits at the same time: they share batches
    assert sum(sizes) == 24 and max(sizes) >= 12
    narrow = scripted_cfg(
        name="narrow", debaters=debaters, judge=judge, protocol=protocol, max_live=1
    )
    runner.run(narrow)
    a = {t.match_id: t for t in RunFolder(wide.run_dir).read_transcripts()}
    b = {t.match_id: t for t in RunFolder(narrow.run_dir).read_transcripts()}
    assert a.keys() == b.keys()
    for k in a:  # per-request seeds: the same text whichever batch a request lands in
        assert [x.text for x in a[k].turns] == [x.text for x in b[k].turns]
        assert a[k].verdict.probs == pytest.approx(b[k].verdict.probs, abs=1e-5)


def test_one_model_object_serves_consecutive_runs(scripted_cfg, tiny_model_dir):
    spec = f"hf:{tiny_model_dir}"
    model = load_model(spec)
    for k in range(3):  # each run is its own asyncio.run, i.e. a new event loop
        cfg = scripted_cfg(
            name=f"r{k}",
            debaters=[AgentConfig(name="tiny", model=spec)],
            judge=JudgeConfig(kind="cloze", model=spec),
            protocol=ProtocolConfig(name="consultancy", rounds=1, speech_tokens=4),
        )
        assert runner.run(cfg)["n_matches"] == 12
    assert load_model(spec) is model


class FailsOnItem(LanguageModel):
    """A debater whose requests fail for good on one item (an endpoint that keeps erroring)."""

    reads_task = True  # it knows the item from the request's task data

    def __init__(self, spec: str, bad_item: str):
        self.spec, self.bad_item = spec, bad_item

    async def generate(self, requests):
        await asyncio.sleep(0.01)
        out = []
        for r in requests:
            if self.bad_item in r.meta["context"]:
                raise ModelError(f"{self.spec}: endpoint answered 500 after 6 tries")
            out.append(Generation(text=f"I argue {r.meta['answers'][r.meta['side']]}."))
        return out


register("backend", "fails-on")(lambda spec, rest: FailsOnItem(spec, rest))


def test_a_failed_match_is_recorded_and_the_others_finish(scripted_cfg):
    bad = runner.load_items("hidden-passage", 6, 0, {})[2].context.split(".")[0]
    debaters = [AgentConfig(name="flaky", model=f"fails-on:{bad}")]
    cfg = scripted_cfg(debaters=debaters, max_live=32)
    with pytest.raises(RunAborted, match="2 match"):
        runner.run(cfg)
    folder = RunFolder(cfg.run_dir)
    finished = folder.read_transcripts()
    failed = [t for t in folder.read_transcripts(failed=True) if t.error]
    assert len(finished) == 10 and len(failed) == 2  # every other match was written
    assert all("500 after 6 tries" in t.error for t in failed)
    # the run tolerates them when asked to, and a resume plays only the failed ones again
    result = runner.run(cfg.model_copy(update={"max_failures": 2}))
    assert result["resumed_matches"] == 10 and result["played_matches"] == 0
    assert len(result["failed_matches"]) == 2 and result["n_matches"] == 10


def test_after_a_failure_only_the_matches_already_under_way_finish(scripted_cfg):
    """With one match at a time, the first failure stops the run: nothing new starts, and the
    results say what failed and what was left unplayed."""
    bad = runner.load_items("hidden-passage", 4, 0, {})[0].context.split(".")[0]
    cfg = scripted_cfg(debaters=[AgentConfig(name="flaky", model=f"fails-on:{bad}")], max_live=1)
    cfg.task.n_items = 4
    with pytest.raises(RunAborted):
        runner.run(cfg)
    results = json.loads((cfg.run_dir / "results.json").read_text())
    assert len(results["failed_matches"]) == 1  # the first match; nothing after it started
    assert results["played_matches"] == 0 and results["unplayed_matches"] == 7


def test_a_bad_request_fails_alone_and_no_event_loop_is_kept():
    from debate.models.worker import BatchWorker

    def run_batch(requests):
        if "bad" in requests:
            raise ValueError("this prompt is too long")
        return [r.upper() for r in requests]

    worker = BatchWorker(run_batch, max_batch=8)

    async def four():
        return await asyncio.gather(
            *(worker.submit([r]) for r in ("a", "bad", "c", "d")), return_exceptions=True
        )

    for _ in range(20):  # each run its own event loop, as consecutive commands have
        got = asyncio.run(four())
    assert got[0] == ["A"] and got[2:] == [["C"], ["D"]]
    assert isinstance(got[1], ValueError)
    assert 4 in worker.batch_sizes  # they were batched together first
    assert len(worker._queues) == 0  # no finished loop is kept alive
