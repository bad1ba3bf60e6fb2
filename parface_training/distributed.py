"""Data parallel without a wrapper: process group from torchrun, device, gradient averaging.

Under ``torchrun`` (``WORLD_SIZE`` set) every process trains on its shard of the data and
:func:`update` averages the gradients over processes before each optimiser step -- what
``DistributedDataParallel`` does, done explicitly because the stages call submodules
(``encoder``, ``decoder.heatmaps``) and the WGAN-GP penalty needs a double backward, neither of
which the DDP wrapper supports. Without ``WORLD_SIZE`` everything is a single local process.
"""

from __future__ import annotations

import os
import random

import numpy as np
import torch


def world() -> tuple[int, int]:
    """(rank, world size); initialises the process group on first use under torchrun."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    return dist.get_rank(), dist.get_world_size()


def device() -> torch.device:
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return torch.device("cpu")


def update(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """zero_grad, backward, average gradients over processes (if distributed), step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    _, size = world()
    if size > 1:
        import torch.distributed as dist

        for group in optimizer.param_groups:
            for parameter in group["params"]:
                if parameter.grad is not None:
                    dist.all_reduce(parameter.grad)
                    parameter.grad.div_(size)
    optimizer.step()


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


__all__ = ["device", "seed_everything", "update", "world"]
