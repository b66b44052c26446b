"""DistributedDataParallel under ``torchrun``: the rank, its device, barriers, sums and each rank's share of an epoch."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["Dist", "dist_from_env", "barrier", "all_sum", "epoch_order"]


@dataclass(frozen=True)
class Dist:
    """This process's place in a ``torchrun`` launch (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def active(self) -> bool:
        """Whether several processes train together."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the files (rank 0)."""
        return self.rank == 0


def dist_from_env(device: torch.device) -> tuple[Dist, torch.device]:
    """Join the process group when launched by torchrun (``WORLD_SIZE`` > 1); pick this rank's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist(), device
    import torch.distributed as dist

    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return Dist(rank, world, local), device


def barrier(d: Dist) -> None:
    """Wait for every rank (nothing to wait for in one process)."""
    if d.active:
        import torch.distributed as dist

        dist.barrier()


def all_sum(t: torch.Tensor, d: Dist) -> torch.Tensor:
    """``t`` summed over the ranks, in place."""
    if d.active:
        import torch.distributed as dist

        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def epoch_order(n: int, *, seed: int, epoch: int, d: Dist) -> torch.Tensor:
    """``(n / world_size,)`` int64: indices of this rank's slices for ``epoch`` (DistributedSampler's rule)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n), num_replicas=d.world_size, rank=d.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return torch.tensor(list(iter(sampler)), dtype=torch.int64)
