"""The exported graphs' interface, written once: tensor names, the frame graph's inputs, the spec.

Every runtime (onnxruntime, TensorRT, Triton configs) and the exporter (:mod:`parface_export`) read
the names from here. A crop graph takes ``crops`` (B, 3, S, S) normalised float32; a frame graph
takes ``frame`` (1, 3, H, W) float32 RGB in 0..255 and ``transforms`` (B, 2, 3) image->crop
affines. Both return ``landmarks`` (B, N, 3) and ``confidence`` (B, N).
"""

from __future__ import annotations

import numpy as np

from parface_sdk.errors import ModelLoadError, UnsupportedShapeError
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec

CROPS_INPUT = "crops"
FRAME_INPUT = "frame"
TRANSFORMS_INPUT = "transforms"
LANDMARKS_OUTPUT = "landmarks"
CONFIDENCE_OUTPUT = "confidence"

__all__ = [
    "CONFIDENCE_OUTPUT",
    "CROPS_INPUT",
    "FRAME_INPUT",
    "LANDMARKS_OUTPUT",
    "TRANSFORMS_INPUT",
    "check_transforms",
    "frame_input",
    "read_onnx_spec",
]


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


def read_onnx_spec(session, source: str) -> ModelSpec:
    """The :class:`ModelSpec` an exported ONNX graph carries in its metadata (an onnxruntime session)."""
    custom = session.get_modelmeta().custom_metadata_map
    if SPEC_METADATA_KEY not in custom:
        raise ModelLoadError(
            f"{source} carries no ParFace spec in its metadata; it is not a parface-sdk model "
            "(export one with `parface export onnx CHECKPOINT`)"
        )
    return ModelSpec.from_json(custom[SPEC_METADATA_KEY], source=source)
