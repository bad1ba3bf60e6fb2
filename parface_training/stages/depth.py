"""Stage 5: the depth head (paper III-C2). A ResNet-18 on the ground-truth heatmaps plus z from
the frozen encoder regresses each landmark's depth, normalised to [-1, 1], with MSE (eq. 5).
``heatmaps: predicted`` trains on the landmark head's own heatmaps instead (not in the paper)."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from parface_training.config import DepthConfig
from parface_training.datasets import labeled_dataset
from parface_training.distributed import update
from parface_training.loop import StageRun, run_stage
from parface_training.stages.common import adam, data_metadata, freeze, prepare_network


def build_depth(config: DepthConfig) -> StageRun:
    net = prepare_network(config)
    freeze(net.encoder, net.decoder)
    net.depth_head.requires_grad_(True)
    optimizer = adam(net.depth_head.parameters(), config.optimizer)
    dataset = labeled_dataset(config, net.spec)
    predicted = None if config.heatmaps == "ground_truth" else True

    def step(batch, progress: float) -> dict[str, float]:
        with torch.no_grad():
            z = net.encoder(batch["image"])
            heatmaps = batch["heatmaps"] if predicted is None else net.decoder.heatmaps(z)
        depth = net.depth_head(heatmaps, z)
        loss = F.mse_loss(depth, batch["depth"])
        update(optimizer, loss)
        error_px = (depth - batch["depth"]).abs().mean().item() * net.spec.depth_scale
        return {"mse": loss.item(), "abs_err_px": error_px}

    return StageRun(
        config=config,
        net=net,
        spec=net.spec,
        dataset=dataset,
        step=step,
        optimizers={"depth": optimizer},
        train_modules=[net.depth_head],
        metadata={"depth_heatmaps": config.heatmaps, **data_metadata(config, dataset)},
    )


def train_depth(config: DepthConfig, resume: bool = False) -> Path:
    """Train stage 5; returns ``run_dir/depth/final.safetensors``: the complete model."""
    return run_stage(build_depth(config), resume=resume)
