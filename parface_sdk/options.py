"""Aligner options, validated once at creation."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AlignerOptions(BaseModel):
    """How an :class:`~parface_sdk.Aligner` runs. Frozen; unknown fields are rejected.

    - ``backend``: ``auto`` picks the runtime from the model file's suffix.
    - ``device``: ``cpu``, ``cuda`` (CUDA execution provider) or ``tensorrt``.
    - ``detector``: ``auto`` picks the best detector available offline; see ``parface_sdk.detect``.
    - ``refine``: run a second pass cropped from the first pass's landmarks, so a loose detector
      box costs no accuracy (the model was trained on landmark crops).
    - ``batch_size``: faces per network call in ``align_batch``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["auto", "onnxruntime", "torch", "tensorrt"] = "auto"
    device: Literal["cpu", "cuda", "tensorrt"] = "cpu"
    detector: str = "auto"
    detector_model: Path | None = None
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_faces: int | None = Field(default=None, ge=1)
    refine: bool = True
    batch_size: int = Field(default=16, ge=1)
    threads: int | None = Field(default=None, ge=1)
