"""The same stage command on one CPU or N processes (GPUs), through the user's launcher.

    VIDEOSTAR_LAUNCH="accelerate launch --num_processes 8" dvc repro
    VIDEOSTAR_LAUNCH="torchrun --nproc_per_node 2" dvc repro        # CPU: gloo

A stage calls ``relaunch`` first: when ``$VIDEOSTAR_LAUNCH`` is set and the process was not
started by a launcher, it replaces itself with ``<launcher> -m stages.<name> <same args>``. The
number of processes and the devices are hardware: they live in the environment (and the user's
accelerate config), never in params or dvc.yaml, so moving from 1 to 8 GPUs invalidates no
cache. What changes results (batch sizes, seeds) stays in params, and the merged outputs are the
same bytes for any number of processes.

    shard = current()                 # rank, world size; wait() is a barrier
    if shard.owns(batch_index): ...
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def launched() -> bool:
    """Whether a launcher (accelerate, torchrun) started this process."""
    return "WORLD_SIZE" in os.environ and "RANK" in os.environ


def relaunch(module: str) -> None:
    """Re-execute ``python -m module`` under ``$VIDEOSTAR_LAUNCH`` unless already launched."""
    launcher = os.environ.get("VIDEOSTAR_LAUNCH", "").strip()
    if not launcher or launched():
        return
    command = [*shlex.split(launcher), "-m", module, *sys.argv[1:]]
    sys.stdout.flush()
    os.execvp(command[0], command)


def _no_wait() -> None:
    pass


def _own(value: Any) -> Any:
    return value


def _from_main(value: Any) -> Any:
    import torch.distributed

    box = [value]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


@dataclass(frozen=True)
class Shard:
    """This process's place: ``rank`` of ``world``; ``wait`` returns once every process got
    there; ``share(value)`` returns the main process's value in every process (a barrier too)."""

    rank: int = 0
    world: int = 1
    wait: Callable[[], None] = field(default=_no_wait, compare=False)
    share: Callable[[Any], Any] = field(default=_own, compare=False)

    @property
    def main(self) -> bool:
        return self.rank == 0

    def owns(self, index: int) -> bool:
        """Work item ``index`` is this process's (round robin)."""
        return index % self.world == self.rank


ALONE = Shard()


def current() -> Shard:
    """The shard of this process: one of ``WORLD_SIZE`` under a launcher (the process group is
    set up by accelerate: gloo on CPU, NCCL on GPUs), else the only one."""
    if not launched() or int(os.environ["WORLD_SIZE"]) <= 1:
        return ALONE
    import torch
    from accelerate import PartialState

    # accelerate takes a launch without GPUs for one process unless told it is on CPU.
    cpu = os.environ.get("VIDEOSTAR_DEVICE") == "cpu" or not torch.cuda.is_available()
    state = PartialState(cpu=cpu)
    return Shard(state.process_index, state.num_processes, state.wait_for_everyone, _from_main)
