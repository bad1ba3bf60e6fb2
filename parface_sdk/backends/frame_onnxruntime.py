"""Frame-graph models on onnxruntime: the frame and the crop affines in, frame-pixel landmarks out.

A frame graph (``spec.graph == "frame"``, exported with ``parface export onnx --graph frame``)
crops inside the model, so with the CUDA or TensorRT provider the crops never leave the GPU.

>>> backend = FrameOnnxRuntimeBackend("parface-frame.onnx", device="cuda")   # doctest: +SKIP
>>> landmarks, confidence = backend.run_frame(image_rgb, transforms)       # image pixels
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from parface_sdk.backends.adapter import FrameGraphAdapter
from parface_sdk.backends.base import CONFIDENCE_OUTPUT, LANDMARKS_OUTPUT
from parface_sdk.backends.onnxruntime import read_onnx_spec
from parface_sdk.backends.ort_session import make_session
from parface_sdk.errors import ModelLoadError, UnsupportedShapeError

FRAME_INPUT = "frame"
TRANSFORMS_INPUT = "transforms"


def frame_input(image_rgb: np.ndarray) -> np.ndarray:
    """An RGB uint8 (H, W, 3) image as the graph's (1, 3, H, W) float32 ``frame`` input."""
    image_rgb = np.asarray(image_rgb)
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3:
        raise UnsupportedShapeError(f"the frame must be an RGB (H, W, 3) image, got {image_rgb.shape}")
    return np.ascontiguousarray(image_rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def check_transforms(transforms: np.ndarray) -> np.ndarray:
    transforms = np.asarray(transforms)
    if transforms.ndim != 3 or transforms.shape[1:] != (2, 3) or len(transforms) == 0:
        raise UnsupportedShapeError(
            f"transforms must be a non-empty (B, 2, 3) stack of image->crop affines, got {transforms.shape}"
        )
    return np.ascontiguousarray(transforms, dtype=np.float32)


class FrameOnnxRuntimeBackend(FrameGraphAdapter):
    """Runs a frame graph; ``run_frame`` returns landmarks already in image pixels."""

    name = "onnxruntime-frame"

    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None, session=None):
        self.device = "cpu" if device == "cpu" else "cuda"  # "tensorrt" names a provider set
        self.session = session or make_session(model_path, device=device, threads=threads)
        self.spec = read_onnx_spec(self.session, str(model_path))
        inputs = {node.name for node in self.session.get_inputs()}
        if self.spec.graph != "frame" or not {FRAME_INPUT, TRANSFORMS_INPUT} <= inputs:
            raise ModelLoadError(
                f"{model_path}: expected a frame graph with inputs {FRAME_INPUT!r} and "
                f"{TRANSFORMS_INPUT!r} (spec graph {self.spec.graph!r}, inputs {sorted(inputs)}); "
                "crop graphs run on OnnxRuntimeBackend"
            )
        self.providers = self.session.get_providers()

    def run_frame(self, image_rgb: np.ndarray, transforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(landmarks (B, N, 3) image px, confidence (B, N))`` for the faces ``transforms`` crop."""
        feeds = {FRAME_INPUT: frame_input(image_rgb), TRANSFORMS_INPUT: check_transforms(transforms)}
        landmarks, confidence = self.session.run([LANDMARKS_OUTPUT, CONFIDENCE_OUTPUT], feeds)
        return landmarks.astype(np.float32), confidence.astype(np.float32)

    def warmup(self, batch_size: int = 1) -> None:
        size = self.spec.input_size
        image = np.zeros((2 * size, 2 * size, 3), np.uint8)
        transform = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
        self.run_frame(image, np.repeat(transform[None], batch_size, axis=0))

    def close(self) -> None:
        self.session = None
