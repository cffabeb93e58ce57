"""A learner per side (`policy.share: false`) and `debate eval exploit`, on a tiny model."""

import json

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, RunConfig, TaskConfig
from debate.registry import get
from debate.run.engine import plan_matches
from debate.run.runner import load_items
from debate.runfolder import RunFolder
from debate.training.config import LeagueSettings, LoraSettings, TrainConfig, UpdateSettings
from debate.training.exploit import exploit
from debate.training.loop import train as shared_weights_train
from debate.training.sides import SideRoute, train


def choice_config(tmp_path, tiny_model_dir, name: str, share: bool, **kw) -> TrainConfig:
    spec = f"hf:{tiny_model_dir}"
    return TrainConfig(
        out=str(tmp_path),
        name=name,
        policy={"model": spec, "speech": "choose", "choose_by": "self",
                "choice_temperature": 50.0, "share": share},  # near-uniform: forks differ
        judge=JudgeConfig(model=spec),
        task=TaskConfig(n_items=1),
        eval_items=2,
        generations=1,
        update=UpdateSettings(group_size=2, batch_size=4),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
        league=LeagueSettings(anchor_items=1),
        **kw,
    )  # fmt: skip


def adapter(folder):
    return load_file(str(folder / "adapter_model.safetensors"))


def test_the_route_seats_each_sides_learner_where_that_side_is_argued():
    honest, liar = AgentConfig(name="h", model="scripted:honest"), AgentConfig(name="l")
    cfg = RunConfig(task=TaskConfig(n_items=3), protocol=ProtocolConfig(sides="both"))
    protocol = get("protocol", "sequential")
    items = load_items("hidden-passage", 3, 0, {})
    placeholder = AgentConfig(name="pair")
    specs = plan_matches(cfg, items, protocol, {r: placeholder for r in ("A", "B")})
    route = SideRoute("pair", {"honest": honest, "liar": liar})
    routed = [route(s, protocol.name) for s in specs]
    assert len({s.match_id for s in routed}) == len(routed) == 6
    for s in routed:
        for role, agent in s.agents.items():
            truthful = s.assignment[role] == s.item.correct
            assert agent.model == (honest.model if truthful else liar.model)
            assert agent.name == ("pair-honest" if truthful else "pair-liar")
            assert agent.name in s.match_id
    # one routed seat keeps the placeholder's name (an anchor game rates the pair)
    anchor = AgentConfig(name="anchor", model="scripted:random")
    [one, *_] = plan_matches(cfg, items, protocol, {"A": placeholder, "B": anchor})
    seated = route(one, protocol.name).agents
    assert seated["A"].name == "pair" and seated["B"] == anchor


@pytest.mark.slow
def test_each_side_learns_only_from_its_own_side(tmp_path, tiny_model_dir):
    cfg = choice_config(tmp_path, tiny_model_dir, "sides", share=False)
    records = train(cfg)
    assert [r.generation for r in records] == [0, 1]
    one = records[1]
    ckpt = cfg.run_dir / "checkpoints" / "gen-1"
    honest, liar = adapter(ckpt / "honest"), adapter(ckpt / "liar")
    assert any(float((honest[k] - liar[k]).abs().sum()) > 0 for k in honest if "lora_B" in k)
    league = json.loads((ckpt / "league.json").read_text())
    assert {m["name"] for m in league["members"]} == {"gen-0", "honest-gen-1", "liar-gen-1"}
    lines = (cfg.run_dir / "rollouts" / "gen-1.jsonl").read_text().splitlines()
    # the matches shared weights would play: one item, each seat, both answers, two forks
    assert len(lines) == 2 * 2 * 2
    for t in map(json.loads, lines):
        for role, name in t["agents"].items():
            if not name.startswith("opp-"):
                side = "honest" if t["assignment"][role] == t["item"]["correct"] else "liar"
                assert name == f"{side}-gen-0"
    # generation 1's learners are the base model: the base opponent's seat is a sample of the
    # other side's learner, as shared weights learn from both seats
    assert one.update["honest"]["samples"] == one.update["liar"]["samples"] == len(lines)
    assert one.pairs == 2 * len(lines)
    # held-out self-play: each learner only ever argues its own side
    played = RunFolder(cfg.run_dir / "eval" / "gen-1" / "selfplay").read_transcripts()
    assert len(played) == 2 * cfg.eval_items
    for t in played:
        for role, name in t.agents.items():
            side = "honest" if t.assignment[role] == t.item.correct else "liar"
            assert name == f"gen-1-{side}"
            assert t.provenance.agents[name]["model"].endswith(f"gen-1/{side}")
    consulted = RunFolder(cfg.run_dir / "eval" / "gen-1" / "consultancy").read_transcripts()
    for t in consulted:
        side = "honest" if t.assignment["consultant"] == t.item.correct else "liar"
        assert t.provenance.agents["gen-1"]["model"].endswith(f"gen-1/{side}")
    assert set(one.elo) >= {"gen-0", "gen-1"}
    assert one.eval["choices"]["choices"] == 2 * 2 * cfg.eval_items


@pytest.mark.slow
def test_exploit_trains_a_liar_against_a_frozen_debater(tmp_path, tiny_model_dir):
    cfg = choice_config(tmp_path, tiny_model_dir, "shared", share=True)
    train(cfg)
    r = exploit(cfg.run_dir, 0, updates=1)
    folder = cfg.run_dir / "exploit" / "gen-0"
    ckpt = folder / "checkpoints" / "gen-1"
    assert (ckpt / "liar" / "adapter_model.safetensors").exists()
    assert not (ckpt / "honest").exists()  # the frozen debater is never updated
    assert r.target == cfg.policy.model and r.updates == 1 and r.n_items == cfg.eval_items
    base, best = r.accuracy_vs_base["value"], r.accuracy_vs_best_response["value"]
    assert r.exploitability["value"] == pytest.approx(base - best)
    assert r.exploitability["n"] == cfg.eval_items and "sign_test_p" in r.exploitability
    for g, liar in ((0, cfg.policy.model), (1, f"peft:{ckpt / 'liar'}")):
        for t in RunFolder(folder / "eval" / f"gen-{g}" / "selfplay").read_transcripts():
            models = {n: a["model"] for n, a in t.provenance.agents.items()}
            assert models == {"pair-honest": cfg.policy.model, "pair-liar": liar}
    # the liar trained only from its own seats
    rollouts = (folder / "rollouts" / "gen-1.jsonl").read_text().splitlines()
    assert len(rollouts) == 2 * 2  # one item, the liar in each seat, two forks
    assert len(r.train_reward) == 1 and r.train_reward[0] is not None


def test_exploit_refuses_what_is_not_a_training_run(tmp_path):
    res = CliRunner().invoke(app, ["eval", "exploit", str(tmp_path)])
    assert res.exit_code == 2 and "not a `debate train` folder" in res.output


def test_separate_learners_train_chosen_spans_only(tmp_path, tiny_model_dir):
    from debate.config import ConfigError

    cfg = choice_config(tmp_path, tiny_model_dir, "dpo", share=False)
    policy = cfg.policy.model_copy(update={"speech": "free"})
    cfg = cfg.model_copy(update={"update": UpdateSettings(method="dpo"), "policy": policy})
    with pytest.raises(ConfigError, match="share: false trains chosen evidence spans"):
        train(cfg)
    assert not (cfg.run_dir / "generations.jsonl").exists()
    with pytest.raises(ConfigError, match="debate.training.sides.train"):
        shared_weights_train(cfg)  # never silently trains shared weights instead
