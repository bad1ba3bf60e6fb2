"""One module per training stage of ParFace-Net, in the paper's order."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from parface_training.config import StageConfig


def stage_trainer(stage: str) -> Callable[[StageConfig, bool], Path]:
    """``train(config, resume) -> final checkpoint`` of the named stage (imports torch lazily)."""
    from parface_training.stages import autoencoder, depth, finetune, inversion, joint, landmarks

    trainers = {
        "autoencoder": autoencoder.train_autoencoder,
        "inversion": inversion.train_inversion,
        "landmarks": landmarks.train_landmarks,
        "finetune": finetune.train_finetune,
        "depth": depth.train_depth,
        "joint": joint.train_joint,
    }
    try:
        return trainers[stage]
    except KeyError:
        raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(trainers)}") from None
