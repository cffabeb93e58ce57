"""What the local machine offers a transformers model: the cores this process may use and
whether the CPU computes in bfloat16 natively.

    DEBATE_HARNESS_DTYPE=auto|bf16|fp32   weights' dtype (auto: bf16 on a GPU or a CPU with
                                          native bf16, else fp32)
    DEBATE_HARNESS_THREADS=N              torch threads (default: the usable cores that other
                                          jobs leave free, see `torch_threads`)
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import torch

from debate.models.base import ModelError

DTYPES = {"bf16": torch.bfloat16, "fp32": torch.float32}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
# CPU flags of instructions that compute bf16 dot products natively (x86). Without them torch
# emulates bf16 through fp32 and it is slower than fp32 itself.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16() -> bool:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: stay with fp32 rather than guess
        return False
    words = set(flags.split())
    return any(f in words for f in BF16_FLAGS)


def resolve_dtype(requested: str, device: str) -> torch.dtype:
    """The weights' dtype: an explicit request wins, then DEBATE_HARNESS_DTYPE, then auto."""
    if requested == "auto":
        requested = os.environ.get("DEBATE_HARNESS_DTYPE", "auto") or "auto"
    if requested == "auto":
        native = device.startswith("cuda") or (device == "cpu" and cpu_has_native_bf16())
        return torch.bfloat16 if native else torch.float32
    if requested not in DTYPES:
        raise ModelError(f"unknown dtype {requested!r}; valid: auto, {', '.join(DTYPES)}")
    return DTYPES[requested]


# far above any machine's cores; torch fails to start tens of thousands of threads
MAX_THREADS = 1024


def usable_cores() -> int:
    """Cores this process may run on: its CPU affinity, capped by a cgroup v2 CPU quota (a
    container limited to 2 CPUs on a 64-core host sees 64 in os.cpu_count())."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            n = min(n, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, n)


def torch_threads(load: float | None = None) -> int:
    """The usable cores less those other jobs keep busy (the 1-minute load average less this
    process's own threads), at least one. Threads of one matmul wait for each other: on 2 cores
    shared with other jobs, a 2-thread forward pass ran 3.5x slower than a 1-thread one
    (bench/throughput.py), while on free cores 2 threads are the faster."""
    raw = os.environ.get("DEBATE_HARNESS_THREADS", "")
    if raw:
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_THREADS:
            raise ModelError(
                f"DEBATE_HARNESS_THREADS must be a positive integer up to {MAX_THREADS}, "
                f"got {raw!r}"
            )
        return int(raw)
    cores = usable_cores()
    if load is None:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    others = max(0.0, load - torch.get_num_threads())
    return max(1, cores - math.ceil(others - 0.5))


def configure_threads() -> int:
    """Set torch's intra-op threads; called before each batch, so it follows the load."""
    n = torch_threads()
    if torch.get_num_threads() != n:
        torch.set_num_threads(n)
    return n
