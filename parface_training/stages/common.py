"""What every stage does before its loop: threads, seed, network from the previous stage, data."""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from parface_sdk.nn.checkpoint import load_checkpoint
from parface_sdk.nn.parface_net import ParFaceNet
from parface_sdk.spec import ModelSpec
from parface_training.config import StageConfig
from parface_training.distributed import device, seed_everything

logger = logging.getLogger(__name__)


def prepare_network(config: StageConfig, with_discriminator: bool = False) -> ParFaceNet:
    """A fresh network (first stage) or the previous stage's final checkpoint, on the run's device."""
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    init = config.initial_checkpoint()
    if init is None:
        net = ParFaceNet(ModelSpec.for_variant(config.variant), with_discriminator=with_discriminator)
    else:
        if not Path(init).is_file():
            raise FileNotFoundError(
                f"stage {config.stage!r} starts from {init}, which does not exist: train the previous "
                f"stage first, or set init_from in the recipe"
            )
        net = load_checkpoint(init, with_discriminator=with_discriminator)
        if net.spec.variant != config.variant:
            raise ValueError(
                f"{init} is the {net.spec.variant!r} variant but the recipe asks for {config.variant!r}"
            )
        logger.info("%s: starting from %s", config.stage, init)
    return net.to(device())


def freeze(*modules: torch.nn.Module) -> None:
    for module in modules:
        module.requires_grad_(False)


def adam(parameters, optimizer_config, lr: float | None = None) -> torch.optim.Adam:
    return torch.optim.Adam(
        parameters,
        lr=lr or optimizer_config.lr,
        betas=tuple(float(b) for b in optimizer_config.betas),
        weight_decay=optimizer_config.weight_decay,
    )


def data_metadata(config: StageConfig, dataset) -> dict:
    unlabeled = config.stage in ("autoencoder", "inversion")
    return {
        "data": {
            config.stage: {
                "samples": len(dataset),
                "unlabeled_dirs": list(config.data.unlabeled_dirs) if unlabeled else [],
                "labeled_dirs": list(config.data.labeled_dirs),
                "label_cache": config.data.label_cache,
                "label_convention": config.data.label_convention,
            }
        }
    }
