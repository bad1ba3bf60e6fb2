"""Stage 2: in-domain inversion (paper III-B). G is frozen; E and D take turns with eq. 1 and 3."""

from __future__ import annotations

from pathlib import Path

from parface_training.config import InversionConfig
from parface_training.datasets import unlabeled_dataset
from parface_training.loop import StageRun, run_stage
from parface_training.stages.autoencoder import adversarial_step, perceptual_for, perceptual_metadata
from parface_training.stages.common import adam, data_metadata, freeze, prepare_network


def build_inversion(config: InversionConfig) -> StageRun:
    net = prepare_network(config, with_discriminator=True)
    perceptual, status = perceptual_for(config, net.spec)
    if perceptual is not None:
        perceptual = perceptual.to(next(net.parameters()).device)
    freeze(net.decoder, net.depth_head)
    opt_e = adam(net.encoder.parameters(), config.optimizer)
    opt_d = adam(net.discriminator.parameters(), config.critic_optimizer)
    dataset = unlabeled_dataset(config, net.spec)
    inner = adversarial_step(net, perceptual, config, opt_e, opt_d, config.reconstruction)

    return StageRun(
        config=config,
        net=net,
        spec=net.spec,
        dataset=dataset,
        step=lambda batch, progress: inner(batch),
        optimizers={"encoder": opt_e, "critic": opt_d},
        # G stays in eval mode: its batch-norm statistics are part of the frozen decoder.
        train_modules=[net.encoder, net.discriminator],
        metadata={
            "perceptual_inversion": status,
            **perceptual_metadata(config, perceptual),
            **data_metadata(config, dataset),
        },
    )


def train_inversion(config: InversionConfig, resume: bool = False) -> Path:
    """Train stage 2; returns ``run_dir/inversion/final.safetensors``."""
    return run_stage(build_inversion(config), resume=resume)
