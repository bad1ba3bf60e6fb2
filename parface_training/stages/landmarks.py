"""Stage 3: the 3DA-2D landmark head (paper III-C1). E and G frozen; the interleaved transfer
layers and the heatmap convolution learn Gaussian heatmaps with the adaptive wing loss (or MSE)."""

from __future__ import annotations

from pathlib import Path

import torch

from parface_sdk.nn.softargmax import heatmap_to_crop, soft_argmax
from parface_training.config import FinetuneConfig, LandmarksConfig
from parface_training.datasets import labeled_dataset
from parface_training.distributed import update
from parface_training.loop import StageRun, run_stage
from parface_training.losses import heatmap_loss
from parface_training.stages.common import adam, data_metadata, freeze, prepare_network


def mean_point_error(heatmaps: torch.Tensor, landmarks: torch.Tensor, spec) -> float:
    """Mean 2D distance (crop pixels) between decoded heatmap peaks and the labels: a readable
    training signal next to the loss."""
    with torch.no_grad():
        xy, _ = soft_argmax(heatmaps.detach(), spec.softargmax_radius)
        xy = heatmap_to_crop(xy, spec.input_size, spec.heatmap_size)
        return (xy - landmarks[..., :2]).norm(dim=2).mean().item()


def heatmap_step(net, optimizer, loss_kind: str, train_encoder: bool):
    def step(batch, progress: float) -> dict[str, float]:
        if train_encoder:
            z = net.encoder(batch["image"])
        else:
            with torch.no_grad():
                z = net.encoder(batch["image"])
        heatmaps = net.decoder.heatmaps(z)
        loss = heatmap_loss(heatmaps, batch["heatmaps"], loss_kind)
        update(optimizer, loss)
        return {loss_kind: loss.item(), "err_px": mean_point_error(heatmaps, batch["landmarks"], net.spec)}

    return step


def build_landmarks(config: LandmarksConfig | FinetuneConfig, train_encoder: bool = False) -> StageRun:
    net = prepare_network(config)
    freeze(net.encoder, net.decoder, net.depth_head)
    head = net.decoder.landmark_parameters()
    for parameter in head:
        parameter.requires_grad_(True)
    groups = [{"params": head}]
    train_modules = [net.decoder.transfer, net.decoder.to_heatmaps]
    if train_encoder:
        net.encoder.requires_grad_(True)
        groups.append({"params": list(net.encoder.parameters()),
                       "lr": getattr(config, "encoder_lr", None) or config.optimizer.lr})  # fmt: skip
        train_modules.append(net.encoder)
    optimizer = adam(groups, config.optimizer)
    dataset = labeled_dataset(config, net.spec)
    return StageRun(
        config=config,
        net=net,
        spec=net.spec,
        dataset=dataset,
        step=heatmap_step(net, optimizer, config.loss, train_encoder),
        optimizers={"landmarks": optimizer},
        train_modules=train_modules,
        metadata={"heatmap_loss": config.loss, **data_metadata(config, dataset)},
    )


def train_landmarks(config: LandmarksConfig, resume: bool = False) -> Path:
    """Train stage 3; returns ``run_dir/landmarks/final.safetensors``."""
    return run_stage(build_landmarks(config), resume=resume)
