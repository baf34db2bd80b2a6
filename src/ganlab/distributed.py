"""Data-parallel training on several processes (GPUs, or CPU processes with gloo), via
torch.distributed.

Launch with ``torchrun --nproc-per-node N -m ganlab train dcgan ...``; torchrun sets ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK``, and :func:`setup` joins the process group. ``ganlab.train``
then wraps G and D in ``DistributedDataParallel``. Every process draws the *global* batch (noise
and real-data indices) from the same seeded generator and keeps its own slice, so a run with the
same seed and global batch gives the same result on any number of processes: exactly, up to
float rounding in the gradient all-reduce, for networks without batch norm; with batch norm each
process normalises its own slice, unless ``sync_batchnorm`` (GPUs) shares the statistics.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class World:
    """Where this process stands: ``rank`` of ``size`` processes; ``device`` it trains on."""

    rank: int = 0
    size: int = 1
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """True on the process that writes files and shows progress (rank 0)."""
        return self.rank == 0


def world() -> World:
    """The current process group (a single process when torch.distributed is not initialised)."""
    if not (dist.is_available() and dist.is_initialized()):
        return World()
    device = (
        torch.device("cuda", torch.cuda.current_device())
        if dist.get_backend() == "nccl"
        else torch.device("cpu")
    )
    return World(dist.get_rank(), dist.get_world_size(), device)


def launched() -> bool:
    """True when this process was started by torchrun (or another launcher) with WORLD_SIZE > 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(backend: str | None = None) -> World:
    """Join the process group that torchrun describes in the environment; pick this process's GPU.

    ``backend``: ``nccl`` when CUDA is available, else ``gloo`` (CPU processes).
    """
    if not launched():
        return World()
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return world()


def shutdown() -> None:
    """Leave the process group (call once at the end of a launched run)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def shard(x: torch.Tensor, w: World) -> torch.Tensor:
    """This process's equal slice of a global batch ``(B, ...)``; B must divide by the world
    size.
    """
    if w.size == 1:
        return x
    if len(x) % w.size:
        raise ValueError(
            f"the global batch of {len(x)} does not split evenly over {w.size} processes"
        )
    return x.chunk(w.size)[w.rank]


def mean_over_processes(x: torch.Tensor, w: World) -> torch.Tensor:
    """The average of ``x`` over all processes (``x`` itself on one process)."""
    if w.size == 1:
        return x
    x = x.clone()
    dist.all_reduce(x)
    return x / w.size


def average_gradients(module: torch.nn.Module, w: World) -> None:
    """Replace every gradient of ``module`` by its average over the processes, in one all-reduce.

    What DDP does during ``backward()``, done by hand for a module that cannot be wrapped in DDP
    (a penalised discriminator: its gradient-penalty term needs a double backward through the plain
    module). With equal slices of a global batch, the average of the slices' mean-loss gradients is
    the gradient of the global batch's mean loss.
    """
    if w.size == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= w.size
    for g, part in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(part.view_as(g))


def barrier(w: World) -> None:
    if w.size > 1:
        dist.barrier()
