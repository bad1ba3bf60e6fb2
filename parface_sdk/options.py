"""Aligner options, validated once at creation."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AlignerOptions(BaseModel):
    """How an :class:`~parface_sdk.Aligner` runs. Frozen; unknown fields are rejected.

    - ``backend``: which runtime: ``auto`` (read from the model file), ``onnxruntime``,
      ``onnxruntime-tensorrt`` (onnxruntime's TensorRT provider), ``torch`` or ``tensorrt`` (engine).
    - ``device``: where it runs: ``cpu`` or ``cuda``. A GPU that does not attach is an error,
      never a silent CPU run. (``tensorrt`` is the pre-0.2 spelling of
      ``backend="onnxruntime-tensorrt", device="cuda"``.)
    - ``detector``: ``auto`` picks the best detector available offline; see ``parface_sdk.detect``.
    - ``refine``: run a second pass cropped from the first pass's landmarks, so a loose detector
      box costs no accuracy (the model was trained on landmark crops).
    - ``batch_size``: faces per network call in ``align_batch``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    backend: Literal["auto", "onnxruntime", "onnxruntime-tensorrt", "torch", "tensorrt"] = "auto"
    device: Literal["cpu", "cuda", "tensorrt"] = "cpu"
    detector: str = "auto"
    detector_model: Path | None = None
    score_threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    max_faces: int | None = Field(default=None, ge=1)
    refine: bool = True
    batch_size: int = Field(default=16, ge=1)
    threads: int | None = Field(default=None, ge=1)
