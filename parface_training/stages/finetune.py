"""Stage 4: encoder fine-tuning (paper III-C3): E trained with the transfer layers and heatmap conv."""

from __future__ import annotations

from pathlib import Path

from parface_training.config import FinetuneConfig
from parface_training.loop import StageRun, run_stage
from parface_training.stages.landmarks import build_landmarks


def build_finetune(config: FinetuneConfig) -> StageRun:
    return build_landmarks(config, train_encoder=True)


def train_finetune(config: FinetuneConfig, resume: bool = False) -> Path:
    """Train stage 4; returns ``run_dir/finetune/final.safetensors``."""
    return run_stage(build_finetune(config), resume=resume)
