"""`debate train` on two processes (`accelerate launch`, gloo on the CPU) against one process.

The same config is trained by a plain `debate train` and by two ranks, the second interrupted
after generation 1 and resumed. Every match is seeded by its id and fp32 play is
batch-invariant, so both runs must play the same rollouts; each REINFORCE step then takes the
same batch's mean gradient, once computed in one process and once averaged by DDP over the two
ranks' halves (one of them padded with a zero-weight pass when the batch is odd). The trained
adapters may differ by float reassociation only: a wrong scale of the ranks' shares or
unsynchronised ranks would move them by the size of the update itself.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
from fakes.served import free_port
from safetensors.torch import load_file

from debate.config import (
    AgentConfig,
    JudgeConfig,
    ProtocolConfig,
    TaskConfig,
    dump_yaml,
    load_config,
)
from debate.training.config import LeagueSettings, LoraSettings, TrainConfig, UpdateSettings
from debate.training.loop import read_records

pytestmark = pytest.mark.slow

# adapters trained by one and by two processes: at most this apart, element by element, where
# the update moved LoRA B (from zero) by at least CHANGE
WEIGHT_TOLERANCE = 1e-5
CHANGE = 1e-3
LOSS_TOLERANCE = 1e-5  # relative, per optimiser step
# the judge's probabilities, scored in batches of other compositions: fp32 sums over padded
# batches of other shapes move in the fourth decimal (a CI run saw 1.008e-4)
PROB_TOLERANCE = 1e-3


def config(tiny_model_dir: Path, out: Path) -> Path:
    spec = f"hf:{tiny_model_dir}"
    cfg = TrainConfig(
        out=str(out),
        name="ranks",
        policy=AgentConfig(name="policy", model=spec, speech="choose", choose_by="self",
                           choice_temperature=50.0),  # near-uniform: forks differ
        judge=JudgeConfig(model=spec),
        protocol=ProtocolConfig(name="simultaneous"),
        task=TaskConfig(n_items=2),
        eval_items=2,
        generations=2,
        # an odd batch: the two ranks' shares differ and one is padded
        update=UpdateSettings(group_size=2, batch_size=3),
        lora=LoraSettings(target_modules=["q_proj", "v_proj"]),
        league=LeagueSettings(opponents="uniform", anchors=[]),
    )  # fmt: skip
    path = out / "train.yaml"
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_yaml(cfg))
    return path


def command(processes: int, config_path: Path) -> list[str]:
    train = ["-m", "debate.cli", "train", "--config", str(config_path)]
    if processes == 1:
        return [sys.executable, *train]
    launcher = Path(sys.executable).parent / "accelerate"
    return [str(launcher), "launch", "--multi_gpu", "--num_processes", str(processes),
            "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
            "--main_process_port", str(free_port()), *train]  # fmt: skip


def env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def run(processes: int, config_path: Path, log: Path) -> float:
    start = time.monotonic()
    with log.open("w") as f:
        done = subprocess.run(command(processes, config_path), stdout=f, stderr=subprocess.STDOUT,
                              env=env(), timeout=900)  # fmt: skip
    assert done.returncode == 0, log.read_text()[-3000:]
    return time.monotonic() - start


def interrupted_after_generation_1(config_path: Path, run_dir: Path, log: Path) -> None:
    """Two ranks, stopped (SIGTERM to the launcher and its ranks) once generation 1 is recorded."""
    records = run_dir / "generations.jsonl"
    with log.open("w") as f:
        proc = subprocess.Popen(command(2, config_path), stdout=f, stderr=subprocess.STDOUT,
                                env=env(), start_new_session=True)  # fmt: skip
        try:
            deadline = time.monotonic() + 900
            while not (records.exists() and len(records.read_text().splitlines()) >= 2):
                assert proc.poll() is None, log.read_text()[-3000:]
                assert time.monotonic() < deadline
                time.sleep(0.2)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    assert len(records.read_text().splitlines()) == 2  # stopped before generation 2 finished


def adapter(run_dir: Path, g: int) -> dict[str, torch.Tensor]:
    return load_file(str(run_dir / "checkpoints" / f"gen-{g}" / "adapter_model.safetensors"))


def plays(run_dir: Path, g: int) -> tuple[list, list[float]]:
    """Every match's speeches and choices by (round, speaker), and the verdicts' probabilities.
    A simultaneous round records its speeches in the order they finished, which concurrency
    decides, so they are compared by speaker."""
    lines = (run_dir / "rollouts" / f"gen-{g}.jsonl").read_text().splitlines()
    speeches, probs = [], []
    for t in map(json.loads, lines):
        turns = sorted((u["round"], u["speaker"], u["text"], (u.get("choice") or {}).get("index"))
                       for u in t["turns"])  # fmt: skip
        speeches.append((t["match_id"], turns))
        probs += t["verdict"]["probs"]
    return speeches, probs


def test_two_processes_train_as_one_does_and_resume(tmp_path, tiny_model_dir):
    one_cfg = config(tiny_model_dir, tmp_path / "one")
    two_cfg = config(tiny_model_dir, tmp_path / "two")
    one_dir, two_dir = tmp_path / "one" / "ranks", tmp_path / "two" / "ranks"

    one_wall = run(1, one_cfg, tmp_path / "one.log")
    start = time.monotonic()
    interrupted_after_generation_1(two_cfg, two_dir, tmp_path / "two-a.log")
    first = (two_dir / "generations.jsonl").read_text().splitlines()
    run(2, two_cfg, tmp_path / "two-b.log")  # the same command resumes
    two_wall = time.monotonic() - start
    log = (two_dir / "generations.jsonl").read_text().splitlines()
    assert log[:2] == first and len(log) == 3  # resumed after generation 1, not replayed

    one, two = (
        read_records(one_dir / "generations.jsonl"),
        read_records(two_dir / "generations.jsonl"),
    )
    # the two ranks joined one process group (unjoined, each would train alone, and agree)
    assert [r.processes for r in one] == [1, 1, 1] and [r.processes for r in two] == [2, 2, 2]
    worst = 0.0
    for g in (1, 2):
        # the ranks' shares, gathered, are one run: the same speeches, choices and verdicts
        (said_one, p_one), (said_two, p_two) = plays(one_dir, g), plays(two_dir, g)
        assert said_one == said_two and p_two == pytest.approx(p_one, abs=PROB_TOLERANCE)
        a, b = one[g].update, two[g].update
        assert a["steps"] == b["steps"] > 1 and a["useful_samples"] == b["useful_samples"]
        if p_two != pytest.approx(p_one, abs=1e-7):
            # The judge scores in batches whose make-up follows the process count, so its
            # probabilities, hence the rewards, can differ in the fourth decimal; the gradient
            # comparison below, and everything later, then holds only approximately.
            warnings.warn(f"generation {g}: the judge's probabilities differ between 1 and 2 "
                          "processes; losses and adapters not compared from here",
                          stacklevel=1)  # fmt: skip
            break
        assert b["step_losses"] == pytest.approx(a["step_losses"], rel=LOSS_TOLERANCE, abs=1e-7)
        wa, wb = adapter(one_dir, g), adapter(two_dir, g)
        assert wa.keys() == wb.keys()
        moved = max(float(v.abs().max()) for k, v in wa.items() if "lora_B" in k)
        assert moved > CHANGE  # the update moved the weights far more than the tolerance
        gap = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
        assert gap <= WEIGHT_TOLERANCE, (g, gap, moved)
        worst = max(worst, gap)
    # only rank 0 wrote: one line per generation, one history row set, one lock holder
    assert [r.generation for r in two] == [0, 1, 2]
    print(f"\n1 process {one_wall:.0f} s, 2 processes {two_wall:.0f} s (interrupted and resumed); "
          f"generation 1 {one[1].wall_s:.0f} s vs {two[1].wall_s:.0f} s; largest adapter "
          f"difference {worst:.2e}; steps {[r.update['steps'] for r in one[1:]]}")  # fmt: skip


def test_what_rank_0_refuses_every_rank_refuses_at_once(tmp_path, tiny_model_dir):
    """Rank 0 alone claims the folder; its refusal reaches the other rank, which would otherwise
    wait for rank 0 at the next collective until the timeout (hours)."""
    path = config(tiny_model_dir, tmp_path)
    cfg = load_config(TrainConfig, path, [])
    cfg.run_dir.mkdir(parents=True)
    (cfg.run_dir / "config.yaml").write_text(dump_yaml(cfg.model_copy(update={"seed": 5})))
    start = time.monotonic()
    done = subprocess.run(command(2, path), capture_output=True, text=True, env=env(), timeout=600)
    assert done.returncode != 0
    refusals = [x for x in done.stderr.splitlines() if "holds a different run" in x]
    assert len(refusals) == 2, done.stdout[-2000:] + done.stderr[-2000:]  # one line from each rank
    print(f"\nrefused on both ranks in {time.monotonic() - start:.0f} s")
