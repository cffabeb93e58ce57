import json

import pytest

from debate.config import AgentConfig, ProtocolConfig
from debate.run import runner
from debate.runfolder import RunFolder


def transcripts(cfg):
    return {t.match_id: t for t in RunFolder(cfg.run_dir).read_transcripts()}


def test_run_writes_folder(scripted_cfg):
    cfg = scripted_cfg()
    result = runner.run(cfg)
    assert (cfg.run_dir / "config.yaml").exists()
    assert json.loads((cfg.run_dir / "results.json").read_text())["n_matches"] == 12
    # 6 items x both side assignments; 2 rounds x 2 speeches each, every match written
    assert result["n_matches"] == 12 and result["played_matches"] == 12
    t = next(iter(transcripts(cfg).values()))
    assert [turn.speaker for turn in t.turns] == ["A", "B", "A", "B"]
    assert t.provenance.agents["honest"]["model"] == "scripted:honest"
    assert t.provenance.package_version


def test_every_debater_argues_both_sides(scripted_cfg):
    result = runner.run(scripted_cfg())
    for name in ("honest", "liar"):
        assert result["win_rate"][name]["as_true"]["n"] == 6
        assert result["win_rate"][name]["as_false"]["n"] == 6


def test_results_do_not_depend_on_concurrency(scripted_cfg, tmp_path):
    debaters = [
        AgentConfig(name="r", model="scripted:random"),
        AgentConfig(name="l", model="scripted:liar"),
    ]
    a = scripted_cfg(name="a", max_live=1, debaters=debaters)
    b = scripted_cfg(name="b", max_live=32, debaters=debaters)
    runner.run(a)
    runner.run(b)
    ta, tb = transcripts(a), transcripts(b)
    assert ta.keys() == tb.keys()
    for k in ta:
        assert [x.text for x in ta[k].turns] == [x.text for x in tb[k].turns]


def test_killed_run_resumes_without_replaying(scripted_cfg, monkeypatch):
    cfg = scripted_cfg()
    real_append = RunFolder.append
    calls = {"n": 0}

    def dying_append(self, t):
        if calls["n"] == 5:
            raise KeyboardInterrupt
        calls["n"] += 1
        real_append(self, t)

    monkeypatch.setattr(RunFolder, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        runner.run(cfg)
    monkeypatch.setattr(RunFolder, "append", real_append)
    assert len(transcripts(cfg)) == 5
    resumed = runner.run(cfg)
    assert resumed["resumed_matches"] == 5 and resumed["played_matches"] == 7
    fresh = runner.run(scripted_cfg(name="fresh"))
    assert resumed["judge_accuracy"] == fresh["judge_accuracy"]
    assert resumed["win_rate"] == fresh["win_rate"]


@pytest.mark.parametrize("name", ["simultaneous", "consultancy", "naive", "expert"])
def test_each_protocol_runs(scripted_cfg, name):
    debaters = [AgentConfig(name="honest", model="scripted:honest")]
    cfg = scripted_cfg(name=name, protocol=ProtocolConfig(name=name, rounds=2), debaters=debaters)
    result = runner.run(cfg)
    t = next(iter(transcripts(cfg).values()))
    expected_turns = {"simultaneous": 4, "consultancy": 2, "naive": 0, "expert": 0}[name]
    assert len(t.turns) == expected_turns
    assert result["judge_accuracy"]["value"] == 1.0  # oracle


def test_simultaneous_speakers_do_not_see_each_other_in_a_round(scripted_cfg):
    from debate.match.match import Match

    seen = []
    real = Match.speak

    async def spy(self, role, r, *, sees=None):
        seen.append((r, len(sees if sees is not None else self.transcript.turns)))
        return await real(self, role, r, sees=sees)

    import pytest as _p

    mp = _p.MonkeyPatch()
    mp.setattr(Match, "speak", spy)
    try:
        cfg = scripted_cfg(protocol=ProtocolConfig(name="simultaneous", rounds=2))
        cfg.task.n_items = 1
        runner.run(cfg)
    finally:
        mp.undo()
    assert sorted(seen)[:4] == [(0, 0), (0, 0), (0, 0), (0, 0)]
    assert all(n == 2 for r, n in seen if r == 1)


def test_coroutines_still_queued_when_cancelled_are_not_left_unawaited():
    # Ctrl-C during a run: matches waiting for a slot are closed, not warned about
    import asyncio
    import contextlib
    import gc
    import warnings

    from debate.run.engine import gather_limited

    async def match(i: int) -> int:
        await asyncio.sleep(10)
        return i

    async def stopped() -> None:
        task = asyncio.ensure_future(gather_limited([match(i) for i in range(3)], limit=1))
        await asyncio.sleep(0.05)  # the first is playing, two wait for a slot
        task.cancel()  # what Ctrl-C does to asyncio.run's task
        with contextlib.suppress(asyncio.CancelledError):
            await task

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        asyncio.run(stopped())
        gc.collect()
    assert not [w for w in seen if "never awaited" in str(w.message)]
