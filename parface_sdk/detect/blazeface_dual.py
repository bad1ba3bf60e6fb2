"""Both shipped BlazeFace models on every image, merged: the offline default.

The back-camera model (256x256 input) finds small and far faces but, on a face that fills the
image (a close-up photo, a face chip), adds half-face and corner boxes and sometimes misses the
face itself; the short-range model (128x128 input) finds exactly that face but misses small ones.
This detector runs both (about 8 + 2 ms per image on one CPU thread), maps the short-range boxes
into the back model's box convention through the two calibrations, and merges them: greedy NMS
(IoU 0.3), then :func:`~parface_sdk.detect.nms.suppress_covered` drops a box more than 40 % of
which lies inside a higher-scoring one. Measured by ``benchmarks/detector_closeups.py``
(docs/detection.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from parface_sdk.detect.base import Detections, check_image
from parface_sdk.detect.blazeface import VARIANTS, BlazeFaceDetector
from parface_sdk.detect.nms import nms, suppress_covered
from parface_sdk.errors import DetectorUnavailableError

NMS_IOU = 0.3
MAX_COVERED = 0.4


def convert_box_convention(
    boxes: np.ndarray,
    source: tuple[float, tuple[float, float]],
    target: tuple[float, tuple[float, float]],
) -> np.ndarray:
    """Boxes of one detector as the square boxes another detector would give for the same
    landmark box: ``source`` and ``target`` are ``(box_to_landmark_scale, center_shift)``."""
    boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
    width, height = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = source[0] * np.maximum(width, height)  # the landmark box side
    cx = (boxes[:, 0] + boxes[:, 2]) / 2 + source[1][0] * width
    cy = (boxes[:, 1] + boxes[:, 3]) / 2 + source[1][1] * height
    target_side = side / target[0]
    cx, cy = cx - target[1][0] * target_side, cy - target[1][1] * target_side
    half = target_side / 2
    return np.stack([cx - half, cy - half, cx + half, cy + half], axis=1).astype(np.float32)


class BlazeFaceDualDetector:
    """BlazeFace back + short-range, merged (see the module). Boxes use the back model's convention."""

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "cpu",
        score_threshold: float = 0.5,
        threads: int | None = None,
    ):
        if model_path is not None:
            raise DetectorUnavailableError(
                "blazeface_dual runs the two shipped BlazeFace models and takes no detector_model; "
                "pass detector='blazeface' with detector_model=... for one model file"
            )
        self.name = "blazeface_dual"
        self._back = BlazeFaceDetector(
            "back", device=device, score_threshold=score_threshold, threads=threads
        )
        self._short = BlazeFaceDetector(
            "short_range", device=device, score_threshold=score_threshold, threads=threads
        )
        self.box_to_landmark_scale = self._back.box_to_landmark_scale
        self.center_shift = self._back.center_shift
        self.score_threshold = float(score_threshold)

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image = check_image(image_rgb)
        back, short = self._back.detect(image), self._short.detect(image)
        short_variant, back_variant = VARIANTS["short_range"], VARIANTS["back"]
        converted = convert_box_convention(
            short.boxes,
            (short_variant.box_to_landmark_scale, short_variant.center_shift),
            (back_variant.box_to_landmark_scale, back_variant.center_shift),
        )
        boxes = np.concatenate([back.boxes, converted]).reshape(-1, 4)
        scores = np.concatenate([back.scores, short.scores])
        if len(scores) == 0:
            return Detections.empty()
        kept = nms(boxes, scores, NMS_IOU)
        boxes, scores = boxes[kept], scores[kept]
        kept = suppress_covered(boxes, scores, MAX_COVERED)
        return Detections(boxes[kept], scores[kept])

    def close(self) -> None:
        self._back.close()
        self._short.close()
