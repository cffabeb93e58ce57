"""What every speed benchmark here prints beside its ratios: the machine, and the compute
ceiling measured in the same process (a large matmul in the dtype the model runs in), with
the model's matmul work counted the same way, so a rate can be read as a share of the ceiling.

Not a benchmark itself: `bench/baselines.py`, `bench/engine_batching.py` and
`bench/throughput.py` import it (they run as scripts, so this folder is on the path).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

# as the package does: OpenMP threads that sleep while they wait, read once when torch loads
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

# CPU flags that decide which matmul kernels torch can use: AVX2/FMA (fp32), AVX-512, and the
# instructions that compute bf16 natively (without them torch converts bf16 through fp32).
MATMUL_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16")


def cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo") as f:
            return set(f.read().split())
    except OSError:
        return set()


def hardware_line(dtype: torch.dtype) -> str:
    flags = cpu_flags()
    have = " ".join(f"{f}{'+' if f in flags else '-'}" for f in MATMUL_FLAGS)
    return (
        f"hardware: {cpu_model()} ({os.cpu_count()} CPUs seen), flags {have}; torch "
        f"{torch.__version__}, {torch.get_num_threads()} thread(s), dtype "
        f"{str(dtype).removeprefix('torch.')}, load average {os.getloadavg()[0]:.1f}"
    )


def matmul_ceiling(dtype: torch.dtype, n: int = 2048, reps: int = 4) -> tuple[float, float]:
    """GFLOP per CPU second and per wall second of `reps` products of two n x n matrices."""
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b  # first call: allocation, kernel choice
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(reps):
        a @ b
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    flop = 2 * n**3 * reps
    return flop / cpu / 1e9, flop / wall / 1e9


@dataclass
class Timed:
    cpu: float  # this process's CPU seconds, every thread
    wall: float
    result: object


def timed(fn: Callable[[], object]) -> Timed:
    cpu, wall = time.process_time(), time.perf_counter()
    out = fn()
    return Timed(time.process_time() - cpu, time.perf_counter() - wall, out)


def paired(sides: dict[str, Callable[[], object]], pairs: int) -> dict[str, list[Timed]]:
    """Each side once per pair, in reverse order every other pair (A B C, C B A, ...), so load
    that comes and goes on a shared machine falls on every side alike."""
    names = list(sides)
    runs: dict[str, list[Timed]] = {n: [] for n in names}
    for k in range(pairs):
        for n in names if k % 2 == 0 else names[::-1]:
            runs[n].append(timed(sides[n]))
    return runs


def ratio_line(label: str, values: list[float], unit: str = "x") -> str:
    return (
        f"  {label:<62} median {statistics.median(values):6.2f}{unit}  "
        f"(pairs: {', '.join(f'{v:.2f}' for v in values)})"
    )


class MatmulWork:
    """Counts a model's matmul FLOPs from what its layers are given: 2 FLOP per weight of the
    decoder's linear layers per real (unpadded) position read, and 2 per lm_head weight per row
    of logits computed. Attention's own products (queries against keys) are left out, and so
    are padded positions: a lower bound of the work the CPU does."""

    def __init__(self, model: torch.nn.Module):
        self.model = model
        decoder = model.get_decoder()
        self.body_params = sum(
            m.weight.numel() for m in decoder.modules() if isinstance(m, torch.nn.Linear)
        )
        self.head_params = model.get_output_embeddings().weight.numel()
        self.tokens = self.positions = self.logit_rows = 0
        decoder.register_forward_pre_hook(self._count_body, with_kwargs=True)
        model.get_output_embeddings().register_forward_hook(self._count_head)

    def _count_body(self, _module, args, kwargs) -> None:
        ids = kwargs.get("input_ids", args[0] if args else None)
        if ids is None:
            return
        mask, width = kwargs.get("attention_mask"), ids.shape[1]
        self.positions += ids.numel()
        self.tokens += int(mask[:, -width:].sum()) if mask is not None else ids.numel()

    def _count_head(self, _module, _args, output) -> None:
        self.logit_rows += output.shape[:-1].numel()

    def measure(self, fn: Callable[[], object]) -> tuple[object, dict]:
        """fn's result and the work its forward passes did."""
        self.tokens = self.positions = self.logit_rows = 0
        out = fn()
        flop = 2.0 * (self.body_params * self.tokens + self.head_params * self.logit_rows)
        return out, {"flop": flop, "tokens": self.tokens, "positions": self.positions,
                     "logit_rows": self.logit_rows}  # fmt: skip
