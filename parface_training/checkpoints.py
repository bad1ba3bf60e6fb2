"""Stage checkpoints: safetensors weights with the model spec, plus a ``.pt`` sidecar to resume.

``spec.training`` accumulates over the stages: the data each stage used, the loss settings (for
example ``perceptual``), and a ``stage_history`` entry per stage with steps, epochs, samples,
minutes, the last logged losses and the stage's full config.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from parface_sdk.nn.checkpoint import save_checkpoint
from parface_training.distributed import world

if TYPE_CHECKING:
    from parface_training.loop import StageRun

logger = logging.getLogger(__name__)


def _training_metadata(run: StageRun, step: int, epoch: float, elapsed: float, losses: dict) -> dict:
    previous = dict(run.spec.training)
    history = [h for h in previous.get("stage_history", []) if h.get("stage") != run.config.stage]
    history.append(
        {
            "stage": run.config.stage,
            "steps": step,
            "epochs": round(epoch, 3),
            "samples": step * run.config.batch_size * world()[1],
            "minutes": round(elapsed / 60, 2),
            "losses": {k: round(v, 6) for k, v in losses.items()},
            "config": run.config.model_dump(mode="json"),
        }
    )
    merged = dict(previous)
    for key, value in run.metadata.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    merged["stage_history"] = history
    return merged


def save_stage(run: StageRun, name: str, state: dict[str, Any], losses: dict[str, float]) -> Path:
    """``<output_dir>/<name>.safetensors`` plus ``<name>.pt`` (optimisers and counters)."""
    out = run.config.output_dir
    training = _training_metadata(run, state["step"], state["epoch_float"], state["elapsed"], losses)
    spec = run.spec.model_copy(update={"training": training})
    path = save_checkpoint(run.net, out / f"{name}.safetensors", spec)
    sidecar = {
        **state,
        "optimizers": {key: opt.state_dict() for key, opt in run.optimizers.items()},
        "torch_rng": torch.get_rng_state(),
    }
    temporary = out / f"{name}.pt.tmp"
    torch.save(sidecar, temporary)
    os.replace(temporary, out / f"{name}.pt")
    return path


def restore_stage(run: StageRun) -> dict[str, Any] | None:
    from safetensors.torch import load_file

    sidecar = run.config.output_dir / "last.pt"
    weights = run.config.output_dir / "last.safetensors"
    if not (sidecar.is_file() and weights.is_file()):
        return None
    run.net.load_state_dict(load_file(str(weights)), strict=False)
    state = torch.load(sidecar, map_location="cpu", weights_only=False)
    for key, opt in run.optimizers.items():
        opt.load_state_dict(state["optimizers"][key])
    torch.set_rng_state(state["torch_rng"])
    logger.info("%s: resumed at step %d (epoch %d)", run.config.stage, state["step"], state["epoch"])
    return state
