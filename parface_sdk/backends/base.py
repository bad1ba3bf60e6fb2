"""The protocol every landmark backend implements, whatever runtime sits behind it."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.spec import ModelSpec

CROPS_INPUT = "crops"
LANDMARKS_OUTPUT = "landmarks"
CONFIDENCE_OUTPUT = "confidence"


@runtime_checkable
class LandmarkBackend(Protocol):
    """Runs the landmark network on a batch of normalised crops.

    ``run(crops)`` takes float32 ``(B, 3, S, S)`` crops (``S = spec.input_size``) and returns
    ``(landmarks (B, N, 3) float32 in crop pixels, confidence (B, N) float32)``.
    """

    name: str
    spec: ModelSpec
    device: str

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def warmup(self, batch_size: int = 1) -> None: ...

    def close(self) -> None: ...


def check_crops(crops: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """Validate a crop batch before it reaches a runtime, so errors name the fix."""
    if not isinstance(crops, np.ndarray):
        raise UnsupportedShapeError(f"crops must be a numpy array, got {type(crops).__name__}")
    size = spec.input_size
    if crops.ndim != 4 or crops.shape[1:] != (3, size, size):
        raise UnsupportedShapeError(
            f"crops must have shape (B, 3, {size}, {size}) for this model, got {crops.shape}"
        )
    if crops.shape[0] == 0:
        raise UnsupportedShapeError("crops is an empty batch")
    return np.ascontiguousarray(crops, dtype=np.float32)


def warmup_batch(spec: ModelSpec, batch_size: int) -> np.ndarray:
    return np.zeros((batch_size, 3, spec.input_size, spec.input_size), dtype=np.float32)
