"""The Python API, called from inside a running event loop as a notebook does: the async twins
awaited, and the sync functions called straight from the loop's thread (they must not fail with
"asyncio.run() cannot be called from a running event loop"). Scripted debaters, the oracle judge
and a tiny transformers judge: real components, no downloads."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest

import debate
from debate.config import ConfigError, RunConfig
from debate.schema import Transcript

SCRIPTED = ["honest=scripted:honest", "liar=scripted:liar"]


def test_run_and_its_twin_inside_a_running_loop(tmp_path):
    async def notebook():
        a = await debate.arun(debaters=SCRIPTED, judge_kind="oracle", n_items=2, out=str(tmp_path))
        b = debate.run(protocol="consultancy", debaters=SCRIPTED[:1], judge_kind="oracle",
                       n_items=2, out=str(tmp_path))  # fmt: skip
        return a, b

    a, b = asyncio.run(notebook())
    # two different runs, two folders, neither named by hand
    assert a.run_dir != b.run_dir and a.run_dir.parent == b.run_dir.parent == tmp_path
    assert isinstance(a.config, RunConfig) and a.config.protocol.name == "sequential"
    assert b.config.protocol.name == "consultancy"
    # both sides of 2 items; the oracle is always right
    assert len(a.transcripts) == 4 and all(isinstance(t, Transcript) for t in a.transcripts)
    assert a.summary["judge_accuracy"]["value"] == 1.0 and a.summary["played_matches"] == 4
    assert {t.match_id for t in a.transcripts} == {
        t.match_id for t in debate.run(a.config).transcripts
    }


def test_the_same_call_again_resumes_its_folder(tmp_path):
    kw = dict(debaters=SCRIPTED, judge_kind="oracle", n_items=2, out=str(tmp_path))
    first = debate.run(**kw)
    again = debate.run(**kw)
    assert again.run_dir == first.run_dir
    assert (again.summary["played_matches"], again.summary["resumed_matches"]) == (0, 4)


def test_a_moved_folder_resumes_from_its_own_config_file(tmp_path):
    # config.yaml holds the absolute `out` it was written with; the file's place wins
    first = debate.run(debaters=SCRIPTED, judge_kind="oracle", n_items=2, out=str(tmp_path / "a"))
    moved = tmp_path / "b" / first.run_dir.name
    moved.parent.mkdir()
    first.run_dir.rename(moved)
    again = debate.run(moved / "config.yaml")
    assert again.run_dir.resolve() == moved.resolve() and not first.run_dir.exists()
    assert (again.summary["played_matches"], again.summary["resumed_matches"]) == (0, 4)
    # an `out` given with it still wins
    assert (
        debate.run(moved / "config.yaml", out=str(tmp_path / "c")).run_dir.parent == tmp_path / "c"
    )


def test_tournament_and_its_twin_inside_a_running_loop(tmp_path):
    kw = dict(debaters=[*SCRIPTED, "random=scripted:random"], judge_kind="oracle", n_items=1,
              out=str(tmp_path), **{"ratings.n_boot": 20})  # fmt: skip

    async def notebook():
        return await debate.atournament(**kw), debate.tournament(**kw)

    a, b = asyncio.run(notebook())
    assert a.run_dir == b.run_dir and b.standings["resumed_matches"] == len(a.transcripts)
    names = {r["name"] for r in a.standings["ratings"]}
    assert names == {"honest", "liar", "random"}
    # 3 pairs x 2 speaking orders x 2 assignments, plus 3 x 2 self-play games, on one item
    assert len(a.transcripts) == 18


def test_evaluate_and_its_twin_inside_a_running_loop(tmp_path, tiny_model_dir):
    kw = dict(debater="scripted:honest", judge=f"hf:{tiny_model_dir}", judge_kind="cloze",
              n_items=2, out=str(tmp_path), arms="naive,consultancy")  # fmt: skip

    async def notebook():
        return await debate.aevaluate(**kw), debate.evaluate(**kw)

    a, b = asyncio.run(notebook())
    assert a.suite == "protocols" and a.run_dir == b.run_dir
    # the suite's own defaults hold under the overrides: both answer orders, sides drawn
    assert (a.config.judge.orders, a.config.protocol.sides) == ("both", "random")
    assert set(a.transcripts) == {"naive", "consultancy"}
    assert all(len(ts) == 2 for ts in a.transcripts.values())
    assert set(a.summary["arms"]) == {"naive", "consultancy"}


def test_evaluate_truthfulqa_inside_a_running_loop(tmp_path, tiny_model_dir):
    path = tmp_path / "tqa.jsonl"
    row = {"question": "Is a tomato a fruit?",
           "mc1_targets": {"choices": ["Yes.", "No."], "labels": [1, 0]},
           "mc2_targets": {"choices": ["Yes.", "No."], "labels": [1, 0]}}  # fmt: skip
    path.write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    kw = dict(suite="truthfulqa", model=f"hf:{tiny_model_dir}", path=str(path), n_items=1,
              out=str(tmp_path))  # fmt: skip

    async def notebook():
        return await debate.aevaluate(**kw), debate.evaluate(**kw)

    a, b = asyncio.run(notebook())
    assert a.suite == "truthfulqa" and a.config.n_items == 1 and a.transcripts == {}
    assert a.summary["mc1"]["n"] == 1 and a.summary["mc1"] == b.summary["mc1"]


def test_a_config_file_and_a_config_object_with_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(
        "debaters: [{name: h, model: 'scripted:honest'}, {name: l, model: 'scripted:liar'}]\n"
        "judge: {kind: oracle}\ntask: {n_items: 1}\n"
    )
    res = debate.run(path, out=str(tmp_path), rounds=2, **{"debaters.1.temperature": 0.5})
    assert res.config.protocol.rounds == 2 and res.config.debaters[1].temperature == 0.5
    assert res.config.debaters[0].name == "h" and len(res.transcripts) == 2
    again = debate.run(res.config, name="copy")
    assert again.run_dir == tmp_path / "copy" and len(again.transcripts) == 2


def test_bad_input_is_a_config_error():
    with pytest.raises(ConfigError, match="'nope' does not exist"):
        debate.run(nope=1)
    with pytest.raises(ConfigError, match="unknown suite"):
        debate.evaluate(suite="mmlu")


def test_import_debate_loads_neither_the_api_nor_torch():
    code = ("import sys, debate; assert callable(debate.run); "
            "print(sorted(m for m in ('torch', 'transformers', 'debate.api') if m in sys.modules))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
