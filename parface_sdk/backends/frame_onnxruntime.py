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
from parface_sdk.backends.graph_io import (
    CONFIDENCE_OUTPUT,
    FRAME_INPUT,
    LANDMARKS_OUTPUT,
    TRANSFORMS_INPUT,
    check_transforms,
    frame_input,
    read_onnx_spec,
)
from parface_sdk.backends.ort_session import make_session
from parface_sdk.errors import ModelLoadError

__all__ = ["FrameOnnxRuntimeBackend", "check_transforms", "frame_input"]


class FrameOnnxRuntimeBackend(FrameGraphAdapter):
    """Runs a frame graph; ``run_frame`` returns landmarks already in image pixels."""

    name = "onnxruntime"  # the registry name; spec.graph says "frame"

    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None, session=None):
        self.device = "cpu" if device == "cpu" else "cuda"  # "tensorrt" names a provider set
        self.name = "onnxruntime-tensorrt" if device == "tensorrt" else "onnxruntime"
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
