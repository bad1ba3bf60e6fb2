"""Landmark backend on onnxruntime: CPU by default, CUDA or TensorRT providers when present."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from parface_sdk.backends.adapter import CropGraphAdapter
from parface_sdk.backends.base import check_crops, warmup_batch
from parface_sdk.backends.graph_io import CONFIDENCE_OUTPUT, CROPS_INPUT, LANDMARKS_OUTPUT, read_onnx_spec
from parface_sdk.backends.ort_session import make_session
from parface_sdk.errors import ModelLoadError


class OnnxRuntimeBackend(CropGraphAdapter):
    name = "onnxruntime"

    def __init__(self, model_path: str | Path, device: str = "cpu", threads: int | None = None, session=None):
        self.device = "cpu" if device == "cpu" else "cuda"  # "tensorrt" names a provider set
        self.name = "onnxruntime-tensorrt" if device == "tensorrt" else "onnxruntime"  # the registry's
        self.session = session or make_session(model_path, device=device, threads=threads)
        self.spec = read_onnx_spec(self.session, str(model_path))
        inputs = {node.name for node in self.session.get_inputs()}
        outputs = {node.name for node in self.session.get_outputs()}
        if (
            self.spec.graph != "crop"
            or CROPS_INPUT not in inputs
            or not {LANDMARKS_OUTPUT, CONFIDENCE_OUTPUT} <= outputs
        ):
            raise ModelLoadError(
                f"{model_path}: expected a crop graph with input {CROPS_INPUT!r} and outputs "
                f"{LANDMARKS_OUTPUT!r}, {CONFIDENCE_OUTPUT!r}; got inputs {sorted(inputs)}, "
                f"outputs {sorted(outputs)}"
            )
        self.providers = self.session.get_providers()

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        crops = check_crops(crops, self.spec)
        landmarks, confidence = self.session.run([LANDMARKS_OUTPUT, CONFIDENCE_OUTPUT], {CROPS_INPUT: crops})
        return landmarks.astype(np.float32), confidence.astype(np.float32)

    def warmup(self, batch_size: int = 1) -> None:
        self.run(warmup_batch(self.spec, batch_size))

    def close(self) -> None:
        self.session = None


def open_onnx(
    model_path: str | Path, device: str = "cpu", threads: int | None = None, precision: str = "fp32"
):
    """The backend an ONNX model's spec asks for: crop graphs here, frame graphs natively.
    ``precision`` reaches the TensorRT provider (``device="tensorrt"``) only."""
    session = make_session(model_path, device=device, threads=threads, precision=precision)
    if read_onnx_spec(session, str(model_path)).graph == "frame":
        from parface_sdk.backends.frame_onnxruntime import FrameOnnxRuntimeBackend

        return FrameOnnxRuntimeBackend(model_path, device=device, threads=threads, session=session)
    return OnnxRuntimeBackend(model_path, device=device, threads=threads, session=session)
