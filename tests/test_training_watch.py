"""Training one can watch and take away: TensorBoard logs of `debate train`, curves on the
viewer's training page, run folders that still resume once moved, and `debate export-model`
folders that plain `transformers` loads with the harness out of reach."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch
from test_training import tiny_config
from typer.testing import CliRunner

from debate.cli.main import app
from debate.config import dump_yaml
from debate.training.config import LeagueSettings
from debate.training.loop import train
from debate.training.portable import base_spec, read_league

cli = CliRunner()


def numbers(x) -> int:
    """How many numbers (True/False included) a JSON value holds: what TensorBoard should get."""
    if isinstance(x, dict):
        return sum(numbers(v) for v in x.values())
    if isinstance(x, list):
        return sum(numbers(v) for v in x)
    return int(isinstance(x, int | float))


def scalars(logdir: Path) -> dict[str, dict[int, float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0})
    acc.Reload()
    return {t: {e.step: e.value for e in acc.Scalars(t)} for t in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_model_dir) -> Path:
    """A one-generation DPO run of the tiny model, trained through the CLI with TensorBoard on."""
    tmp = tmp_path_factory.mktemp("watch")
    cfg = tiny_config(tmp, tiny_model_dir, "dpo", generations=1)
    (tmp / "train.yaml").write_text(dump_yaml(cfg))
    res = cli.invoke(app, ["train", "--config", str(tmp / "train.yaml"), "--tensorboard"])
    assert res.exit_code == 0, res.output
    assert "gen 1 update" in res.output  # the update's own progress bar
    return cfg.run_dir


def test_tensorboard_holds_every_figure_of_generations_jsonl_and_each_update_step(trained):
    events = list((trained / "tensorboard").glob("events.out.tfevents.*"))
    assert events
    got = scalars(trained / "tensorboard")
    lines = [json.loads(x) for x in (trained / "generations.jsonl").read_text().splitlines()]
    for r in lines:
        g = r.pop("generation")
        at_g = {tag: v[g] for tag, v in got.items() if g in v and not tag.startswith("step/")}
        assert len(at_g) == numbers(r)  # every number of the line, nothing else
        acc = r["eval"]["selfplay_accuracy"]
        assert at_g["eval/selfplay_accuracy/value"] == pytest.approx(acc["value"])
        assert at_g["eval/selfplay_accuracy/ci95/low"] == pytest.approx(acc["ci95"][0])
        assert at_g["wall_s"] == pytest.approx(r["wall_s"])
    one = lines[1]
    assert got["train_reward"][1] == pytest.approx(one["train_reward"])
    assert got["update/train_loss"][1] == pytest.approx(one["update"]["train_loss"])
    # the update's loss and reward at every optimiser step
    steps = one["update"]["steps"]
    assert sorted(got["step/loss"]) == list(range(1, steps + 1))
    assert len(got["step/rewards/margins"]) == steps


def stop_after(generation: int):
    def on_line(record) -> None:
        if record.generation == generation:
            raise KeyboardInterrupt  # killed once that generation was recorded

    return on_line


def test_resumed_run_numbers_update_steps_after_the_finished_ones(tmp_path, tiny_model_dir):
    from debate.training import monitor

    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo", generations=2)
    with pytest.raises(KeyboardInterrupt), monitor.watching(cfg.run_dir, tensorboard=True):
        train(cfg, on_line=stop_after(1))
    with monitor.watching(cfg.run_dir, tensorboard=True):
        records = train(cfg)
    steps = records[1].update["steps"] + records[2].update["steps"]
    got = scalars(cfg.run_dir / "tensorboard")
    assert sorted(got["step/loss"]) == list(range(1, steps + 1))
    assert sorted(got["eval/selfplay_accuracy/value"]) == [0, 1, 2]


def test_tensorboard_missing_is_one_line_before_any_work(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # as if not installed
    cfg = tiny_config(tmp_path, tiny_model_dir, "dpo", generations=1)
    (tmp_path / "train.yaml").write_text(dump_yaml(cfg))
    res = cli.invoke(app, ["train", "--config", str(tmp_path / "train.yaml"), "--tensorboard"])
    assert res.exit_code == 2 and "pip install tensorboard" in res.output
    assert not cfg.run_dir.exists()


def test_viewer_training_page_draws_curves(trained):
    from debate.present.viewer import page_data

    data = page_data(trained)
    plots = data["sections"][0]["plots"]
    assert [p["title"] for p in plots[:2]] == [
        "judge accuracy on held-out items, by generation",
        "honest advantage against the anchors, by generation",
    ]
    assert all(p["src"].startswith("data:image/png;base64,") for p in plots)
    assert len(plots) == 6 and all(len(p["src"]) > 10_000 for p in plots)


def test_moved_run_folder_resumes_and_its_checkpoints_name_their_base_by_spec(
    tmp_path, tiny_model_dir
):
    cfg = tiny_config(tmp_path / "a", tiny_model_dir, "dpo", generations=2)
    cfg = cfg.model_copy(update={"league": LeagueSettings(opponents="uniform", anchor_items=1)})
    with pytest.raises(KeyboardInterrupt):
        train(cfg, on_line=stop_after(1))
    ckpt = cfg.run_dir / "checkpoints" / "gen-1"
    adapter = json.loads((ckpt / "adapter_config.json").read_text())
    assert adapter["base_model_name_or_path"] == str(Path(tiny_model_dir).resolve())
    assert str(Path(tiny_model_dir).resolve()) in (ckpt / "README.md").read_text()
    league = json.loads((ckpt / "league.json").read_text())
    assert [m["model"] for m in league["members"]] == [cfg.policy.model, "peft:checkpoints/gen-1"]

    # the killed process's exit lets go of its folders' locks
    from debate import runfolder

    for held in [p for p in runfolder._held if p.is_relative_to(cfg.run_dir.resolve())]:
        runfolder.RunFolder(held).release()
    moved = tmp_path / "b"
    moved.mkdir()
    shutil.move(str(cfg.run_dir), str(moved / cfg.name))
    assert not cfg.run_dir.exists()
    records = train(cfg.model_copy(update={"out": str(moved)}))
    assert [r.generation for r in records] == [0, 1, 2]
    drawn = set(records[2].opponents)
    assert f"peft:{(moved / cfg.name / 'checkpoints' / 'gen-1').resolve()}" in drawn
    assert all(str(tmp_path / "a") not in o for o in drawn)

    # a league written before (absolute paths, into where the run used to be) still reads
    old = json.loads((moved / cfg.name / "checkpoints" / "gen-2" / "league.json").read_text())
    for m in old["members"]:
        if m["model"].startswith("peft:"):
            m["model"] = f"peft:{tmp_path / 'a' / cfg.name / m['model'][5:]}"
    legacy = tmp_path / "legacy.json"
    legacy.write_text(json.dumps(old))
    read = read_league(legacy, moved / cfg.name)
    assert read.members[1].model == f"peft:{(moved / cfg.name / 'checkpoints/gen-1').resolve()}"


def test_base_spec_names_the_model_not_the_machine(tmp_path):
    assert base_spec("smollm2") == base_spec("smollm2?dtype=fp32") == "smollm2"
    assert (
        base_spec("hf:HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"")
    assert base_spec(f"gguf:{gguf}?dtype=bf16") == f"gguf:{gguf.resolve()}"


def harness_free_python(model_dir: Path, tokens: list[int]) -> list[list[float]]:
    """Load an exported folder in a Python that cannot import this harness (isolated, no site
    hooks, so not the editable install either; only the venv's site-packages on the path) and
    return the logits of `tokens`."""
    site = sysconfig.get_paths()["purelib"]
    code = f"""
import json, sys
sys.path.append({site!r})
try:
    import debate
    raise SystemExit("the harness is importable")
except ModuleNotFoundError:
    pass
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
AutoTokenizer.from_pretrained({str(model_dir)!r})
model = AutoModelForCausalLM.from_pretrained({str(model_dir)!r}, dtype=torch.float32)
with torch.no_grad():
    logits = model(torch.tensor([{tokens!r}])).logits[0]
print(json.dumps(logits.tolist()))
"""
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], capture_output=True,
                          text=True, cwd=model_dir.parent, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def adapter_on_base_logits(ckpt: Path, tokens: list[int]) -> torch.Tensor:
    """The checkpoint as training uses it: its adapter on its base model, not merged."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from debate.models.hf import adapter_base

    base = AutoModelForCausalLM.from_pretrained(adapter_base(ckpt), dtype=torch.float32)
    model = PeftModel.from_pretrained(base, str(ckpt)).eval()
    with torch.no_grad():
        return model(torch.tensor([tokens])).logits[0]


def lora_checkpoint(base_dir: str, policy_spec: str, out: Path) -> Path:
    """An adapter with non-zero B (so merging changes the weights), saved as training saves one."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from debate.training.portable import name_base

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    lora = LoraConfig(r=4, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    get_peft_model(model, lora).save_pretrained(str(out))
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(str(out))
    name_base(out, policy_spec)
    return out


def test_export_model_loads_in_transformers_without_the_harness(tmp_path, tiny_model_dir):
    ckpt = lora_checkpoint(str(tiny_model_dir), f"hf:{tiny_model_dir}", tmp_path / "gen-1")
    res = cli.invoke(app, ["export-model", str(ckpt), str(tmp_path / "merged")])
    assert res.exit_code == 0, res.output
    tokens = [5, 9, 14, 3, 20, 7]
    exported = torch.tensor(harness_free_python(tmp_path / "merged", tokens))
    on_base = adapter_on_base_logits(ckpt, tokens)
    base_only = torch.tensor(harness_free_python(Path(tiny_model_dir), tokens))
    assert not torch.allclose(on_base, base_only, atol=1e-3)  # the adapter changes the model
    torch.testing.assert_close(exported, on_base, atol=1e-4, rtol=1e-4)

    again = cli.invoke(app, ["export-model", str(ckpt), str(tmp_path / "merged")])
    assert again.exit_code == 2 and "already exists" in again.output
    missing = cli.invoke(app, ["export-model", str(tmp_path / "nope"), str(tmp_path / "m2")])
    assert missing.exit_code == 2 and "no checkpoint folder" in missing.output
    assert not (tmp_path / "m2").exists()


def test_export_model_of_a_half_written_checkpoint_is_one_line(tmp_path):
    # a checkpoint killed while being saved: its config is there, its weights are not
    adapter, full = tmp_path / "adapter", tmp_path / "full"
    adapter.mkdir(), full.mkdir()
    (adapter / "adapter_config.json").write_text('{"base_model_name_or_path": "smollm2"}')
    (full / "config.json").write_text("{}")
    for ckpt in (adapter, full):
        res = cli.invoke(app, ["export-model", str(ckpt), str(tmp_path / "out")])
        assert res.exit_code == 2
        assert "not a complete checkpoint" in res.output and len(res.output.splitlines()) == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_export_model_of_a_smollm2_checkpoint_dequantises_its_gguf_base(tmp_path):
    from debate.models import trainable_path

    converted = trainable_path("smollm2")  # the folder training starts from
    ckpt = lora_checkpoint(converted, "smollm2", tmp_path / "gen-1")
    assert json.loads((ckpt / "adapter_config.json").read_text())["base_model_name_or_path"] == (
        "smollm2"
    )
    assert converted not in (ckpt / "README.md").read_text()  # nor the model card
    res = cli.invoke(app, ["export-model", f"peft:{ckpt}", str(tmp_path / "merged")])
    assert res.exit_code == 0, res.output
    assert not list((tmp_path / "merged").glob("*.gguf"))
    tokens = [1, 504, 3458, 282, 253, 1345, 30]
    exported = torch.tensor(harness_free_python(tmp_path / "merged", tokens))
    torch.testing.assert_close(exported, adapter_on_base_logits(ckpt, tokens), atol=1e-3, rtol=1e-4)

    # the next generation continues this adapter and saves it without asking the hub what
    # "smollm2" is (peft looks a base name up when it saves)
    import warnings

    from debate.training.config import TrainConfig
    from debate.training.update import load_policy

    model, _ = load_policy(TrainConfig(), converted, ckpt)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.save_pretrained(str(tmp_path / "gen-2"))
    assert not [w for w in caught if "smollm2" in str(w.message)]


@pytest.mark.slow
def test_training_page_shows_its_curves_in_chromium(trained, tmp_path):
    from chromium import Browser, find

    if not find():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    res = cli.invoke(app, ["view", str(trained)])
    assert res.exit_code == 0, res.output
    b = Browser()
    try:
        b.open((trained / "view.html").resolve().as_uri())
        drawn = b.js(
            "[...document.querySelectorAll('#summary figure img')]"
            ".map(i => [i.alt, i.complete && i.naturalWidth])"
        )
        assert len(drawn) == 6 and drawn[0][0].startswith("judge accuracy")
        assert all(width >= 500 for _, width in drawn)  # decoded: the page's CSP let it in
        assert b.errors() == []
        assert b.screenshot(tmp_path / "training.png").stat().st_size > 10_000
    finally:
        b.close()


@pytest.mark.slow
def test_reinforce_update_logs_loss_and_reward_per_step(tmp_path, tiny_model_dir):
    from debate.config import AgentConfig, JudgeConfig, ProtocolConfig, TaskConfig
    from debate.training import monitor
    from debate.training.config import LoraSettings, TrainConfig, UpdateSettings

    spec = f"hf:{tiny_model_dir}"
    cfg = TrainConfig(
        out=str(tmp_path), name="choice",
        policy=AgentConfig(name="policy", model=spec, speech="choose", choose_by="self",
                           choice_temperature=50.0),  # near-uniform: forks differ
        judge=JudgeConfig(model=spec), protocol=ProtocolConfig(name="sequential"),
        task=TaskConfig(n_items=1), eval_items=2, generations=1,
        update=UpdateSettings(group_size=3, batch_size=4),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
        league=LeagueSettings(opponents="latest", anchors=[]),
    )  # fmt: skip
    bars: dict[str, tuple[int, int]] = {}
    with monitor.watching(cfg.run_dir, lambda k, d, n: bars.update({k: (d, n)}), True):
        records = train(cfg)
    steps = records[1].update["steps"]
    assert steps > 0 and bars["gen 1 update"] == (steps, steps)
    got = scalars(cfg.run_dir / "tensorboard")
    assert sorted(got["step/loss"]) == sorted(got["step/reward"]) == list(range(1, steps + 1))
    assert all(0 <= r <= 1 for r in got["step/reward"].values())  # a judge's probability
    assert got["update/train_loss"][1] == pytest.approx(records[1].update["train_loss"])
