"""`debate train` on one process against two (`accelerate launch`, gloo on the CPU).

    python bench/train_processes.py [--policy smollm2] [--pairs 3] [--items 2] [--generations 1]

The same config, trained from an empty folder by a plain `debate train` and by two ranks,
alternating (1, 2, 1, 2, ...) so that a change in the machine's load falls on both arms. Prints
each run's wall time, the mean of each arm, and the agreement of the two arms' last adapters
(largest difference of any weight, next to the largest weight of LoRA B, which starts at zero)
and of their per-step losses.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from safetensors.torch import load_file

from debate.config import AgentConfig, ProtocolConfig, TaskConfig, dump_yaml
from debate.training.config import LeagueSettings, TrainConfig, UpdateSettings
from debate.training.loop import read_records


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def write_config(folder: Path, args: argparse.Namespace) -> Path:
    cfg = TrainConfig(
        out=str(folder),
        name="run",
        policy=AgentConfig(
            name="policy",
            model=args.policy,
            speech="choose",
            choose_by="self",
            choice_temperature=1.0,
        ),  # fmt: skip
        protocol=ProtocolConfig(speech_tokens=40),
        task=TaskConfig(n_items=args.items),
        eval_items=args.items,
        generations=args.generations,
        update=UpdateSettings(group_size=2, batch_size=3),
        league=LeagueSettings(anchors=[]),
    )
    folder.mkdir(parents=True)
    path = folder / "train.yaml"
    path.write_text(dump_yaml(cfg))
    return path


def command(processes: int, config: Path) -> list[str]:
    train = ["-m", "debate.cli", "train", "--config", str(config)]
    if processes == 1:
        return [sys.executable, *train]
    return [str(Path(sys.executable).parent / "accelerate"), "launch", "--multi_gpu",
            "--num_processes", str(processes), "--num_machines", "1", "--mixed_precision", "no",
            "--dynamo_backend", "no", *train]  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="smollm2")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--items", type=int, default=2)
    ap.add_argument("--generations", type=int, default=1)
    args = ap.parse_args()
    print(f"{cpu_name()}, {len(__import__('os').sched_getaffinity(0))} cores; policy {args.policy}")
    walls: dict[int, list[float]] = {1: [], 2: []}
    runs: dict[int, Path] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.pairs):
            for n in (1, 2):
                folder = Path(tmp) / f"{n}-{k}"
                config = write_config(folder, args)
                start = time.monotonic()
                done = subprocess.run(command(n, config), capture_output=True, text=True)
                wall = time.monotonic() - start
                if done.returncode:
                    sys.exit(f"{n} process(es) failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
                walls[n].append(wall)
                runs[n] = folder / "run"
                print(f"pair {k}: {n} process{'es' if n > 1 else ''} {wall:.1f} s", flush=True)
        for n, w in walls.items():
            print(f"{n} process(es): mean {statistics.mean(w):.1f} s over {len(w)} runs "
                  f"(min {min(w):.1f}, max {max(w):.1f})")  # fmt: skip
        print(
            f"2 / 1 processes, ratio of means: "
            f"{statistics.mean(walls[2]) / statistics.mean(walls[1]):.2f}"
        )
        g = args.generations
        name = f"checkpoints/gen-{g}/adapter_model.safetensors"
        a, b = load_file(str(runs[1] / name)), load_file(str(runs[2] / name))
        gap = max(float((a[k] - b[k]).abs().max()) for k in a)
        moved = max(float(v.abs().max()) for k, v in a.items() if "lora_B" in k)
        ua = read_records(runs[1] / "generations.jsonl")[g].update
        ub = read_records(runs[2] / "generations.jsonl")[g].update
        print(f"generation {g} adapters: largest difference {gap:.2e} (largest LoRA B weight "
              f"{moved:.2e}); steps {ua['steps']} vs {ub['steps']}, mean loss "
              f"{ua['train_loss']:.6g} vs {ub['train_loss']:.6g}")  # fmt: skip


if __name__ == "__main__":
    main()
