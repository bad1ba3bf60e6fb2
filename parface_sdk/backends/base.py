"""The protocol every landmark backend implements, whatever runtime sits behind it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from parface_sdk.backends.graph_io import CONFIDENCE_OUTPUT, CROPS_INPUT, LANDMARKS_OUTPUT  # noqa: F401
from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.spec import ModelSpec


@runtime_checkable
class LandmarkBackend(Protocol):
    """Runs the landmark network on faces of RGB images, whatever the graph and the runtime.

    ``infer(images, transforms, image_index)`` takes RGB uint8 images, the (K, 2, 3) image->crop
    affines of K faces and the (K,) index of each face's image, and returns
    ``(landmarks (K, N, 3) float32 in image pixels, confidence (K, N) float32)``. Crop-graph
    runtimes implement ``run(crops)`` and get ``infer`` from
    :class:`~parface_sdk.backends.adapter.CropGraphAdapter`; frame graphs answer natively.
    ``device`` is where it runs (``cpu`` or ``cuda``); ``name`` is the runtime.
    """

    name: str
    spec: ModelSpec
    device: str

    def infer(
        self,
        images: Sequence[np.ndarray],
        transforms: np.ndarray,
        image_index: np.ndarray | None = None,
        batch_size: int = 16,
        timings: dict[str, float] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]: ...

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
