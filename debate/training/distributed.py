"""`debate train` on several processes, through accelerate.

Launched as `accelerate launch --multi_gpu --num_processes N -m debate.cli train ...` (on a
machine without GPUs the processes join over gloo on the CPU) or `torchrun --nproc_per_node N -m
debate.cli train ...`; a plain `debate train` is the same code with one rank.

- Rollouts: each rank plays a contiguous share of a generation's matches
  (`split_between_processes`). A match's seed comes from (run seed, generation, match id), never
  from the rank, so the experience gathered from every rank is the one a single process plays.
- Update: every rank holds all of the experience (`gather_object`). trl's trainers shard it and
  synchronise gradients themselves (they run on accelerate); the hand-written REINFORCE step
  shares each optimiser batch across the ranks and lets DDP average the gradients
  (`shared_backward`), so a step is the one a single process takes on the same batch.
- One writer: rank 0 claims the run folder, evaluates, and writes checkpoints, records and
  rollouts; the others wait for it. What rank 0 raises, every rank raises (`on_main`), so no
  rank is left waiting on a process that has stopped.
- Resume: every rank reads `generations.jsonl` after rank 0's claim, so all of them start
  again at the same generation.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

import torch

T = TypeVar("T")

# the other ranks wait while rank 0 evaluates a generation alone: longer than torch's default
WAIT = timedelta(hours=12)


class Ranks:
    """This process's place among the training processes (one, unless launched by accelerate
    or torchrun), over accelerate's `PartialState`."""

    def __init__(self) -> None:
        from accelerate import PartialState
        from accelerate.utils import InitProcessGroupKwargs

        kwargs = InitProcessGroupKwargs(timeout=WAIT).to_kwargs()
        # without `cpu`, accelerate leaves CPU-only processes unjoined (one process each)
        self.state = PartialState(cpu=not torch.cuda.is_available(), **kwargs)

    @property
    def count(self) -> int:
        return self.state.num_processes

    @property
    def index(self) -> int:
        return self.state.process_index

    @property
    def is_main(self) -> bool:
        return self.state.is_main_process

    def share(self, work: list[T]) -> list[T]:
        """This rank's contiguous share of `work` (all of it on one rank)."""
        with self.state.split_between_processes(list(work)) as mine:
            return list(mine)

    def gather(self, mine: list[T]) -> list[T]:
        """Every rank's list, concatenated in rank order, on every rank."""
        if self.count == 1:
            return list(mine)
        from accelerate.utils import gather_object

        return gather_object(list(mine))

    def wait(self) -> None:
        self.state.wait_for_everyone()

    def on_main(self, work: Callable[[], T]) -> T:
        """`work()` on rank 0 only; every rank returns its result, or raises what it raised."""
        result: Any = None
        error: BaseException | None = None
        if self.is_main:
            try:
                result = work()
            except Exception as e:  # handed to the other ranks, then raised here too
                error = e
        if self.count > 1:
            from accelerate.utils import broadcast_object_list

            box = [(result, error)]
            broadcast_object_list(box, from_process=0)
            if not self.is_main:
                result, error = box[0]
        if error is not None:
            raise error
        return result


@functools.cache
def ranks() -> Ranks:
    return Ranks()


class Call(torch.nn.Module):
    """`fn(model, *args)` as one module call: DDP synchronises gradients per call of the module
    it wraps, and a sample's log-probability takes several calls of the model itself."""

    def __init__(self, model: torch.nn.Module, fn: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.model = model
        self.fn = fn

    def forward(self, *args: Any) -> torch.Tensor:
        return self.fn(self.model, *args)


def shared_backward(accelerator, call, batch: list, loss: Callable[[Any, Any], torch.Tensor]):
    """Gradients of mean(loss(call, x) for x in batch), with the batch shared across ranks.

    Each rank takes its contiguous share and pads it to the longest share with zero-weight
    passes (DDP needs the same number of synchronised passes on every rank). The ranks'
    gradients are averaged by DDP on each rank's last pass, so each term is scaled by
    ranks / len(batch): the average is then the batch mean one process computes. Returns the
    batch's mean loss, summed over the ranks."""
    n = accelerator.num_processes
    with accelerator.split_between_processes(list(range(len(batch)))) as mine:
        mine = list(mine)
    longest = math.ceil(len(batch) / n)
    passes = [(i, 1.0) for i in mine] + [(0, 0.0)] * (longest - len(mine))
    scale = n / len(batch)
    total = torch.zeros((), device=accelerator.device)
    for k, (i, weight) in enumerate(passes):
        last = k == len(passes) - 1
        with contextlib.nullcontext() if last else accelerator.no_sync(call):
            term = loss(call, batch[i]) * weight
            accelerator.backward(term * scale)
        total += term.detach()
    return float(accelerator.reduce(total, reduction="sum")) / len(batch)


__all__ = ["Call", "Ranks", "ranks", "shared_backward"]
