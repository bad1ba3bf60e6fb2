"""The one training loop every stage shares: batches, budget, progress bar, CSV log, checkpoints, resume.

A stage supplies a :class:`StageRun` (network, optimisers, dataset and a ``step(batch, progress)``
function returning its losses); :func:`run_stage` does the rest. Checkpoints are safetensors with
the model spec (``spec.training`` holds data, stage history, losses and timing); the optimiser
state and counters go to a ``.pt`` sidecar so an interrupted stage resumes where it stopped.

Data parallel: under ``torchrun`` (``WORLD_SIZE`` set) each process reads its own shard through a
``DistributedSampler`` and :func:`update` all-reduces the gradients before each optimiser step.
The stages call submodules (``encoder``, ``decoder.heatmaps``) and the WGAN-GP penalty needs a
double backward, neither of which ``DistributedDataParallel``'s wrapper supports, so the gradient
averaging DDP would do is done explicitly.
"""

from __future__ import annotations

import csv
import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from parface_sdk.nn.parface_net import ParFaceNet
from parface_sdk.spec import ModelSpec
from parface_training.checkpoints import restore_stage, save_stage
from parface_training.config import StageConfig
from parface_training.distributed import device, seed_everything, world

logger = logging.getLogger(__name__)

StepFn = Callable[[dict[str, torch.Tensor], float], dict[str, float]]


@dataclass
class StageRun:
    """Everything one stage hands to the loop."""

    config: StageConfig
    net: ParFaceNet
    spec: ModelSpec
    dataset: Dataset
    step: StepFn
    optimizers: dict[str, torch.optim.Optimizer]
    train_modules: Sequence[torch.nn.Module]  # put in train mode; everything else stays in eval
    metadata: dict[str, Any] = field(default_factory=dict)  # merged into spec.training


# --------------------------------------------------------------------------- batches


class _ListSampler(Sampler[int]):
    def __init__(self, indices: list[int]) -> None:
        self.indices = indices

    def __iter__(self):
        return iter(self.indices)

    def __len__(self) -> int:
        return len(self.indices)


def _epoch_indices(dataset_size: int, config: StageConfig, epoch: int) -> list[int]:
    rank, size = world()
    sampler = DistributedSampler(
        range(dataset_size), num_replicas=size, rank=rank, shuffle=True, seed=config.seed, drop_last=True
    )
    sampler.set_epoch(epoch)
    return list(sampler)


def _loader(dataset: Dataset, config: StageConfig, epoch: int, skip_batches: int) -> DataLoader:
    from parface_training.datasets import set_epoch

    set_epoch(dataset, epoch)
    indices = _epoch_indices(len(dataset), config, epoch)[skip_batches * config.batch_size :]

    def init_worker(worker: int) -> None:
        seed_everything(config.seed * 1000 + epoch * 100 + worker)
        torch.set_num_threads(1)

    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=_ListSampler(indices),
        drop_last=True,
        num_workers=config.num_workers,
        worker_init_fn=init_worker,
        persistent_workers=False,
    )


# --------------------------------------------------------------------------- budget and schedule


def _lr_factor(config: StageConfig, step: int, progress: float) -> float:
    opt = config.optimizer
    factor = 1.0
    if opt.schedule == "cosine":
        progress = min(max(progress, 0.0), 1.0)
        factor = opt.min_lr_factor + (1 - opt.min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    if opt.warmup_steps and step < opt.warmup_steps:
        factor *= (step + 1) / opt.warmup_steps
    return factor


class _Budget:
    """Progress in [0, 1] as the larger of steps done and wall-clock used."""

    def __init__(self, config: StageConfig, steps_per_epoch: int, elapsed: float) -> None:
        steps = math.ceil(config.epochs * steps_per_epoch)
        if config.max_steps is not None:
            steps = min(steps, config.max_steps)
        self.total_steps = max(1, steps)
        self.seconds = config.max_minutes * 60 if config.max_minutes else None
        self.start = time.monotonic() - elapsed

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def progress(self, step: int) -> float:
        done = step / self.total_steps
        if self.seconds:
            done = max(done, self.elapsed / self.seconds)
        return min(done, 1.0)

    def finished(self, step: int) -> bool:
        return step >= self.total_steps or (self.seconds is not None and self.elapsed >= self.seconds)


# --------------------------------------------------------------------------- the loop


class _CsvLog:
    """Appends one row of averaged losses per ``log_every`` steps (resumed runs append)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = None
        self.writer = None

    def write(self, step: int, epoch: float, minutes: float, lr_factor: float, losses: dict) -> None:
        if self.writer is None:
            new = not self.path.is_file() or self.path.stat().st_size == 0
            self.file = open(self.path, "a", newline="")  # noqa: SIM115
            self.writer = csv.writer(self.file)
            if new:
                self.writer.writerow(["step", "epoch", "minutes", "lr_factor", *losses])
        values = (f"{v:.6g}" for v in losses.values())
        self.writer.writerow([step, f"{epoch:.3f}", f"{minutes:.2f}", f"{lr_factor:.4f}", *values])
        self.file.flush()

    def close(self) -> None:
        if self.file is not None:
            self.file.close()


def _set_modes(run: StageRun) -> None:
    run.net.eval()
    for module in run.train_modules:
        module.train()


def _progress_bar(run: StageRun, total: int, initial: int):
    from tqdm import tqdm

    rank, _ = world()
    disable = not run.config.progress_bar or rank != 0
    return tqdm(
        total=total,
        initial=initial,
        desc=run.config.stage,
        disable=disable,
        mininterval=2.0,
        dynamic_ncols=True,
    )


def run_stage(run: StageRun, resume: bool = False) -> Path:
    """Train ``run`` until its epochs, steps or minutes are used up; returns ``final.safetensors``."""
    config = run.config
    rank, _ = world()
    out = config.output_dir
    final = out / "final.safetensors"
    if resume and final.is_file():
        logger.info("%s: already finished (%s); skipping", config.stage, final)
        return final
    out.mkdir(parents=True, exist_ok=True)
    seed_everything(config.seed)
    state = restore_stage(run) if resume else None
    step = state["step"] if state else 0
    epoch = state["epoch"] if state else 0
    batch_in_epoch = state["batch_in_epoch"] if state else 0
    steps_per_epoch = len(_epoch_indices(len(run.dataset), config, 0)) // config.batch_size
    if steps_per_epoch == 0:
        raise ValueError(
            f"{config.stage}: {len(run.dataset)} samples are fewer than one batch of {config.batch_size}"
        )
    budget = _Budget(config, steps_per_epoch, state["elapsed"] if state else 0.0)
    base_lrs = {key: [g["lr"] for g in opt.param_groups] for key, opt in run.optimizers.items()}
    if state:
        base_lrs = state["base_lrs"]
    log = _CsvLog(config.log_csv) if rank == 0 else None
    window: dict[str, list[float]] = {}
    last: dict[str, float] = {}

    def snapshot() -> dict[str, Any]:
        return {
            "step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch,
            "epoch_float": epoch + batch_in_epoch / steps_per_epoch,
            "elapsed": budget.elapsed, "base_lrs": base_lrs,
        }  # fmt: skip

    _set_modes(run)
    bar = _progress_bar(run, budget.total_steps, step)
    logger.info(
        "%s: %d samples, %d steps/epoch, budget %d steps%s",
        config.stage, len(run.dataset), steps_per_epoch, budget.total_steps,
        f" or {config.max_minutes} min" if config.max_minutes else "",
    )  # fmt: skip
    try:
        while not budget.finished(step):
            for batch in _loader(run.dataset, config, epoch, batch_in_epoch):
                progress = budget.progress(step)
                factor = _lr_factor(config, step, progress)
                for key, opt in run.optimizers.items():
                    for group, base in zip(opt.param_groups, base_lrs[key]):
                        group["lr"] = base * factor
                batch = {k: v.to(device()) if torch.is_tensor(v) else v for k, v in batch.items()}
                losses = run.step(batch, progress)
                step += 1
                batch_in_epoch += 1
                for key, value in losses.items():
                    if not math.isfinite(value):
                        raise FloatingPointError(f"{config.stage}: {key} is {value} at step {step}")
                    window.setdefault(key, []).append(value)
                bar.update(1)
                bar.set_postfix({k: f"{v:.4g}" for k, v in losses.items()}, refresh=False)
                if step % config.log_every == 0 and log is not None:
                    last = {k: float(np.mean(v)) for k, v in window.items()}
                    window.clear()
                    epochs_done = epoch + batch_in_epoch / steps_per_epoch
                    log.write(step, epochs_done, budget.elapsed / 60, factor, last)
                    if not config.progress_bar:
                        losses_text = " ".join(f"{k}={v:.4g}" for k, v in last.items())
                        logger.info("%s step %d/%d (%.1f min): %s", config.stage, step,
                                    budget.total_steps, budget.elapsed / 60, losses_text)  # fmt: skip
                if step % config.checkpoint_every == 0 and rank == 0:
                    save_stage(run, "last", snapshot(), last)
                if budget.finished(step):
                    break
            else:
                epoch += 1
                batch_in_epoch = 0
    finally:
        bar.close()
        if log is not None:
            log.close()
    if window and not last:  # fewer steps than one log row
        last = {k: float(np.mean(v)) for k, v in window.items()}
    if rank == 0:
        save_stage(run, "last", snapshot(), last)
        save_stage(run, "final", snapshot(), last)
        logger.info("%s: done after %d steps, %.1f min -> %s", config.stage, step, budget.elapsed / 60, final)
    return final
