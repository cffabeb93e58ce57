"""Self-play training on a tiny model: one generation of each method, checkpoint, resume."""

import pytest
from safetensors.torch import load_file
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import (
    AgentConfig,
    ConfigError,
    JudgeConfig,
    ProtocolConfig,
    TaskConfig,
    dump_yaml,
)
from debate.models import load_model
from debate.run.runner import load_items
from debate.runfolder import RunFolder
from debate.training.config import LeagueSettings, LoraSettings, TrainConfig, UpdateSettings
from debate.training.loop import read_records, train


def tiny_config(tmp_path, tiny_model_dir, method: str, **kw) -> TrainConfig:
    return TrainConfig(
        out=str(tmp_path),
        name=method,
        policy=AgentConfig(name="policy", model=f"hf:{tiny_model_dir}", prompt_style="plain",
                           temperature=1.0),
        # the tiny judge reads whole speeches: what a debater says moves its probabilities
        judge=JudgeConfig(model=f"hf:{tiny_model_dir}", reads="speeches"),
        protocol=ProtocolConfig(speech_tokens=8),
        task=TaskConfig(n_items=2),
        eval_items=2,
        update=UpdateSettings(method=method, min_margin=0.0, batch_size=2, group_size=2,
                              learning_rate=1e-3),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
        league=LeagueSettings(anchor_items=1),
        **kw,
    )  # fmt: skip


def lora_b_norm(folder) -> float:
    weights = load_file(str(folder / "adapter_model.safetensors"))
    return sum(float(v.abs().sum()) for k, v in weights.items() if "lora_B" in k)


@pytest.mark.parametrize("method", ["dpo", "grpo"])
def test_one_generation_trains_saves_and_resumes(tmp_path, tiny_model_dir, method):
    cfg = tiny_config(tmp_path, tiny_model_dir, method, generations=2)
    seen = []

    def stop_after_first_update(record):
        seen.append(record.generation)
        if record.generation == 1:
            raise KeyboardInterrupt  # killed after generation 1 was recorded

    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_line=stop_after_first_update)
    ckpt = cfg.run_dir / "checkpoints" / "gen-1"
    assert (ckpt / "adapter_config.json").exists() and (ckpt / "league.json").exists()
    assert lora_b_norm(ckpt) > 0  # LoRA B starts at zero: the update changed the parameters
    first = read_records(cfg.run_dir / "generations.jsonl")
    assert [r.generation for r in first] == [0, 1]
    assert first[1].pairs > 0 and first[1].update["steps"] > 0
    assert first[1].train_reward is not None and "unverified_quote_share" in first[1].watch
    assert set(first[1].elo) >= {"gen-0", "gen-1", "honest-quoter", "random-quoter"}
    # the change since generation 0, paired over the held-out items
    for arm, key in (("selfplay", "selfplay_accuracy"), ("consultancy", "consultancy_accuracy")):
        change = first[1].eval["since_gen0"][arm]
        assert change["n"] == cfg.eval_items
        expected = first[1].eval[key]["value"] - first[0].eval[key]["value"]
        assert change["value"] == pytest.approx(expected)
    # accuracy by held-out item (both seats averaged), not by match
    assert first[0].eval["selfplay_accuracy"]["n"] == cfg.eval_items
    assert 0 < first[0].peak_rss_gib < 64
    # held-out items come from a task seed of their own, not training's
    gen0 = RunFolder(cfg.run_dir / "eval" / "gen-0" / "selfplay").read_transcripts()
    held_out = {t.item.id for t in gen0}
    params = {"offset": cfg.eval_offset}
    seed = cfg.task.seed
    assert held_out == {i.id for i in load_items(cfg.task.name, cfg.eval_items, seed + 1, params)}
    assert not held_out & {i.id for i in load_items(cfg.task.name, cfg.eval_items, seed, params)}
    # a checkpoint loads for play as its base does: merging LoRA must not leave weights frozen
    # (frozen bf16 weights made CPU scoring peak at several times the memory)
    played = load_model(f"peft:{ckpt}").model
    assert all(p.requires_grad for p in played.parameters())
    assert all(p.requires_grad for p in load_model(f"hf:{tiny_model_dir}").model.parameters())

    resumed = []
    records = train(cfg, on_line=lambda r: resumed.append(r.generation))
    assert resumed == [2] and [r.generation for r in records] == [0, 1, 2]
    # generation 2 against generation 1, paired over the same held-out items
    acc = [r.eval["selfplay_accuracy"]["value"] for r in records]
    assert records[2].eval["since_previous"]["selfplay"]["value"] == pytest.approx(acc[2] - acc[1])
    assert records[2].eval["since_gen0"]["selfplay"]["value"] == pytest.approx(acc[2] - acc[0])
    assert records[1] == first[1]  # read back, not replayed
    assert (cfg.run_dir / "checkpoints" / "gen-2" / "adapter_model.safetensors").exists()


@pytest.mark.slow
@pytest.mark.parametrize(("method", "protocol"), [("dpo", "interactive"), ("grpo", "simultaneous")])
def test_free_text_training_plays_the_configured_protocol(tmp_path, tiny_model_dir, method,
                                                          protocol):  # fmt: skip
    cfg = tiny_config(tmp_path, tiny_model_dir, method, generations=1)
    cfg = cfg.model_copy(update={"protocol": ProtocolConfig(name=protocol, speech_tokens=8)})
    records = train(cfg)
    assert records[1].pairs > 0 and records[1].update["steps"] > 0
    rollouts = (cfg.run_dir / "rollouts" / "gen-1.jsonl").read_text().splitlines()
    assert rollouts and all(f'"protocol":"{protocol}"' in line for line in rollouts)


def test_training_refuses_what_it_cannot_train(tmp_path, tiny_model_dir):
    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo")
    api = cfg.model_copy(
        update={"policy": AgentConfig(name="p", model="openai:m@http://127.0.0.1:9/v1")}
    )
    with pytest.raises(ConfigError, match="cannot be trained"):
        train(api)
    bad = cfg.model_copy(update={"lora": LoraSettings(target_modules=["q_proj", "c_attn"])})
    with pytest.raises(ConfigError, match=r"\['c_attn'\].*q_proj"):
        train(bad)


def test_cli_refuses_a_resume_folder_from_another_config(tmp_path, tiny_model_dir):
    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo")
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "config.yaml").write_text(dump_yaml(cfg.model_copy(update={"seed": 5})))
    (tmp_path / "train.yaml").write_text(dump_yaml(cfg))
    res = CliRunner().invoke(app, ["train", "--config", str(tmp_path / "train.yaml")])
    assert res.exit_code == 2 and "different run" in res.output and "seed" in res.output


def test_full_fine_tuning_saves_whole_weights(tmp_path, tiny_model_dir):
    from debate.models import load_model

    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo", generations=1)
    cfg = cfg.model_copy(update={"lora": LoraSettings(enabled=False)})
    records = train(cfg)
    ckpt = cfg.run_dir / "checkpoints" / "gen-1"
    assert records[-1].policy == f"hf:{ckpt.resolve()}"
    trained = load_model(records[-1].policy).model.state_dict()
    base = load_model(f"hf:{tiny_model_dir}").model.state_dict()
    assert any(not (trained[k] == base[k]).all() for k in base)


def test_league_draws_opponents_and_finds_cycles():
    import random

    from debate.training.league import LeagueState, Member

    league = LeagueState(members=[Member(name=f"gen-{i}", model=f"m{i}", generation=i)
                                  for i in range(3)])  # fmt: skip
    policy = AgentConfig(name="gen-3", model="m3")
    [me] = league.opponents("latest", policy, 3, random.Random(0))
    assert me.model == "m3" and me.name != policy.name
    # the policy always beats gen-0 and gen-1 and always loses to gen-2: prioritised play
    # should draw gen-2 far more often than uniform play does
    league.policy_scores = {"gen-0": [1.0] * 5, "gen-1": [1.0] * 5, "gen-2": [0.0] * 5}
    draws = [o.model for _ in range(200)
             for o in league.opponents("prioritized", policy, 1, random.Random(_))]  # fmt: skip
    assert draws.count("m2") > 150
    league.pairwise = {"a": {"b": 0.8, "c": 0.3}, "b": {"c": 0.7, "a": 0.2},
                       "c": {"a": 0.7, "b": 0.3}}  # fmt: skip
    assert league.cycles() == [["a", "b", "c"]]
    league.pairwise["c"]["a"] = 0.4
    assert league.cycles() == []


@pytest.mark.slow
def test_choice_training_plays_the_registered_protocol_and_reports_choices(
    tmp_path, tiny_model_dir
):
    spec = f"hf:{tiny_model_dir}"
    cfg = TrainConfig(
        out=str(tmp_path),
        name="choice",
        policy=AgentConfig(name="policy", model=spec, speech="choose", choose_by="self",
                           choice_temperature=50.0),  # near-uniform: forks differ
        judge=JudgeConfig(model=spec),
        protocol=ProtocolConfig(name="simultaneous"),  # any two-player protocol
        task=TaskConfig(n_items=1),
        eval_items=2,
        generations=1,
        update=UpdateSettings(group_size=3, batch_size=4),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
        league=LeagueSettings(opponents="latest", anchors=[]),
    )  # fmt: skip
    records = train(cfg)
    assert [r.generation for r in records] == [0, 1]
    rollouts = (cfg.run_dir / "rollouts" / "gen-1.jsonl").read_text().splitlines()
    assert len(rollouts) == 2 * 2 * 3  # two lineups x two answers x three forks
    assert all('"protocol":"simultaneous"' in line for line in rollouts)
    one = records[1]
    assert one.pairs == 2 * len(rollouts)  # both sides' chosen spans are samples
    assert one.update["steps"] > 0 and lora_b_norm(cfg.run_dir / "checkpoints" / "gen-1") > 0
    for r in records:
        c = r.eval["choices"]
        assert c["choices"] == 2 * 2 * 2  # two held-out items, both answers, two speakers
        assert 0 <= c["honest_quotes_deciding"] <= 1


def test_the_reward_hacking_flag_needs_a_fall_beyond_noise():
    from debate.suites.metrics import paired_difference
    from debate.training.loop import GenerationRecord, flags

    before = {f"i{k}": 1.0 for k in range(100)}  # held-out items, each right in both seats

    def record(g: int, reward: float | None, seats_lost: int = 0):
        now = {k: v - 0.5 * (i < seats_lost) for i, (k, v) in enumerate(before.items())}
        change = {"selfplay": paired_difference(now, before)} if g else {}
        return GenerationRecord(generation=g, policy="p", train_reward=reward,
                                eval={"since_previous": change})  # fmt: skip

    history = [record(0, None), record(1, 0.55)]
    # reward up, one seat of 4 items lost and none gained: the bootstrap interval lies below
    # zero, but such a split comes by chance one time in eight: no flag
    four = record(2, 0.60, seats_lost=4)
    assert four.eval["since_previous"]["selfplay"]["ci95"][1] < 0
    assert flags(history, four) == []
    # reward up, 12 items lost and none gained: flagged, with its size and its test
    [flag] = flags(history, record(2, 0.60, seats_lost=12))
    assert "0.550 -> 0.600" in flag and "-6.0%" in flag and "100 items" in flag
    assert "p = 0.000" in flag
    # reward down: whatever accuracy did, not reward hacking
    assert flags(history, record(2, 0.50, seats_lost=12)) == []
