"""Where a network runs: the device a name asks for, and, on several processes (torchrun), the
process group and the sums and agreements (each process's shard is `loaders.ShardSampler`) that
keep the processes in step.

Each process trains on its shard of every (global) batch with DistributedDataParallel; metrics are
summed over processes, and one process's stop request stops them all at the same step.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

from ..errors import ParameterError

__all__ = ["resolve_device", "init", "agree", "all_reduce"]


def resolve_device(name: str) -> torch.device:
    """The device `name` asks for: 'auto' (CUDA where there is one, else the CPU), 'cpu', 'cuda',
    'cuda:N', 'mps'; one that does not exist here is refused by name, before anything runs."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ParameterError(f"`device={name}`: not a device name; use auto, cpu, cuda, cuda:N or mps") from None
    there = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not there.get(device.type, False):
        raise ParameterError(f"`device={name}`: no such device on this machine; use auto or cpu")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ParameterError(f"`device={name}`: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return device


def init() -> tuple[int, int]:
    """(rank, world size): joins the process group torchrun describes, or (0, 1) alone."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    if dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def agree(flag: bool, world: int, check_now: bool) -> bool:
    """One process's stop request stops all of them, at the same step (else the others hang)."""
    if world == 1:
        return flag
    if not check_now:
        return False
    t = torch.tensor([1.0 if flag else 0.0], device="cuda" if dist.get_backend() == "nccl" else "cpu")
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


def all_reduce(t: torch.Tensor, world: int) -> list[float]:
    if world > 1:
        dist.all_reduce(t)
    return t.tolist()
