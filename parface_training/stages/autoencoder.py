"""Stage 1: the self-supervised adversarial autoencoder (paper III-A, eq. 1 and 3).

E and G learn to reconstruct unlabeled faces (L2 for the first ``l2_fraction`` of the budget, then
L1), with the perceptual term and an adversarial term from the WGAN-GP critic D; D and the
autoencoder take alternating gradient steps.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from parface_training.config import AdversarialConfig, AutoencoderConfig
from parface_training.datasets import unlabeled_dataset
from parface_training.distributed import update
from parface_training.loop import StageRun, run_stage
from parface_training.losses import (
    build_perceptual_loss,
    critic_loss,
    generator_adversarial_loss,
    reconstruction_loss,
)
from parface_training.stages.common import adam, data_metadata, freeze, prepare_network

logger = logging.getLogger(__name__)


def adversarial_step(net, perceptual, config: AdversarialConfig, opt_ae, opt_d, rec_kind: str):
    """One critic update then one autoencoder (or encoder) update on the same batch."""

    def step(batch: dict[str, torch.Tensor]) -> dict[str, float]:
        image = batch["image"]
        reconstruction = net.decoder.image(net.encoder(image))
        d_loss = critic_loss(net.discriminator, image, reconstruction, config.gp_gamma)
        update(opt_d, d_loss)
        freeze(net.discriminator)
        rec = reconstruction_loss(reconstruction, image, rec_kind)
        total = config.lambda_rec * rec
        losses = {"rec": rec.item()}
        if perceptual is not None and config.lambda_perc > 0:
            perc = perceptual(reconstruction, image)
            total = total + config.lambda_perc * perc
            losses["perc"] = perc.item()
        if config.lambda_adv > 0:
            adv = generator_adversarial_loss(net.discriminator, reconstruction)
            total = total + config.lambda_adv * adv
            losses["adv"] = adv.item()
        update(opt_ae, total)
        net.discriminator.requires_grad_(True)
        losses["critic"] = d_loss.item()
        return losses

    return step


def perceptual_for(config: AdversarialConfig, spec):
    """The perceptual loss of an adversarial stage and its status string for the metadata."""
    if config.perceptual_weights is None and config.require_perceptual and config.lambda_perc > 0:
        raise FileNotFoundError(
            "the recipe requires the perceptual loss but gives no perceptual_weights (a VGG16 .npz "
            "of features.N arrays or a torchvision vgg19-dcbb9e9d.pth); set perceptual_weights or "
            "require_perceptual: false"
        )
    if config.lambda_perc == 0:
        return None, "off (lambda_perc = 0)"
    perceptual, status = build_perceptual_loss(config.perceptual_weights_file(), spec.mean, spec.std)
    return perceptual, status


def perceptual_metadata(config: AdversarialConfig, perceptual) -> dict:
    """``perceptual_network``: the network, layers, weights file and SHA-256 per stage."""
    if perceptual is None:
        return {}
    return {
        "perceptual_network": {config.stage: {**perceptual.metadata(), "lambda_perc": config.lambda_perc}}
    }


def build_autoencoder(config: AutoencoderConfig) -> StageRun:
    net = prepare_network(config, with_discriminator=True)
    perceptual, status = perceptual_for(config, net.spec)
    if perceptual is not None:
        perceptual = perceptual.to(next(net.parameters()).device)
    freeze(net.depth_head)
    net.decoder.transfer.requires_grad_(False)
    net.decoder.to_heatmaps.requires_grad_(False)
    opt_ae = adam([*net.encoder.parameters(), *net.decoder.parameters()], config.optimizer)
    opt_d = adam(net.discriminator.parameters(), config.critic_optimizer)
    dataset = unlabeled_dataset(config, net.spec)
    steps = {kind: adversarial_step(net, perceptual, config, opt_ae, opt_d, kind) for kind in ("l2", "l1")}

    def step(batch, progress: float) -> dict[str, float]:
        kind = "l2" if progress < config.l2_fraction else "l1"
        return steps[kind](batch)

    return StageRun(
        config=config,
        net=net,
        spec=net.spec,
        dataset=dataset,
        step=step,
        optimizers={"autoencoder": opt_ae, "critic": opt_d},
        train_modules=[net.encoder, net.decoder, net.discriminator],
        metadata={
            "perceptual": status,
            **perceptual_metadata(config, perceptual),
            **data_metadata(config, dataset),
        },
    )


def train_autoencoder(config: AutoencoderConfig, resume: bool = False) -> Path:
    """Train stage 1; returns ``run_dir/autoencoder/final.safetensors``."""
    return run_stage(build_autoencoder(config), resume=resume)
