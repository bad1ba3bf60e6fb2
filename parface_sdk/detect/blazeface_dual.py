"""Both shipped BlazeFace models on every image, merged: the offline default.

The back-camera model (256x256 input) finds small and far faces but, on a face that fills the
image (a close-up photo, a face chip), adds half-face and corner boxes and sometimes misses the
face itself; the short-range model (128x128 input) finds exactly that face but misses small ones.
This detector runs both (about 8 + 2 ms per image on one CPU thread), maps the short-range boxes
into the back model's box convention through the two calibrations, and merges them: the back
model's boxes stay as they are; a short-range box matching one (IoU >= 0.3, or holding 60 % of
it) confirms it (it ranks with the better score), one of a close-up (at least half the image's
shorter side) holding several replaces them (the parts of one face), one matching none adds a
face the back model missed; then
:func:`~parface_sdk.detect.nms.suppress_covered` drops a box more than 40 % of which lies inside
a better-ranked one (the fragments around a close-up face). Measured by ``benchmarks/detector_closeups.py``
(docs/detection.md).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from parface_sdk.detect.base import Detections, check_image
from parface_sdk.detect.blazeface import VARIANTS, BlazeFaceDetector
from parface_sdk.detect.nms import box_iou, nms, suppress_covered
from parface_sdk.errors import DetectorUnavailableError

NMS_IOU = 0.3
MAX_COVERED = 0.4
CLOSE_UP = 0.5  # a short-range box this large (of the image's shorter side) is a close-up face
HOLDS = 0.6  # a back box is "held" by a short-range box when this much of its area lies inside it


def _covered_by(boxes: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The fraction of each of ``boxes`` (K, 4) that lies inside ``box``."""
    top_left = np.maximum(boxes[:, :2], box[:2])
    bottom_right = np.minimum(boxes[:, 2:], box[2:])
    inter = np.prod(np.clip(bottom_right - top_left, 0.0, None), axis=1)
    area = np.prod(np.clip(boxes[:, 2:] - boxes[:, :2], 0.0, None), axis=1)
    return inter / np.maximum(area, 1e-9)


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
        # The back model's boxes are kept as they are (the crops the model card measured). A
        # short-range box that matches one back box (IoU >= 0.3, or holding most of it) confirms
        # it: that box ranks with the better of the two scores. A close-up one that holds several
        # back boxes replaces them (the back model split the face into parts). One that matches none
        # adds a face the back model missed.
        rank = back.scores.astype(np.float64).copy()
        dropped = np.zeros(len(back.boxes), bool)
        added: list[int] = []
        added_rank: list[float] = []
        for index, box in enumerate(converted):
            if len(back.boxes):
                matches = np.flatnonzero(
                    (box_iou(box[None], back.boxes)[0] >= NMS_IOU) | (_covered_by(back.boxes, box) > HOLDS)
                )
            else:
                matches = np.zeros(0, np.int64)
            score = float(short.scores[index])
            close_up = max(box[2] - box[0], box[3] - box[1]) >= CLOSE_UP * min(image.shape[:2])
            if len(matches) == 1 or (len(matches) > 1 and not close_up):
                for match in matches:  # distinct (small) faces side by side stay distinct
                    rank[match] = max(rank[match], score)
            else:
                if len(matches) > 1:
                    dropped[matches] = True
                    score = max(score, float(back.scores[matches].max()))
                added.append(index)
                added_rank.append(score)
        keep_back = np.flatnonzero(~dropped)
        boxes = np.concatenate([back.boxes[keep_back], converted[added]]).reshape(-1, 4)
        scores = np.concatenate([back.scores[keep_back], short.scores[added]])
        rank = np.concatenate([rank[keep_back], np.asarray(added_rank, np.float64)])
        if len(scores) == 0:
            return Detections.empty()
        kept = nms(boxes, rank, NMS_IOU)  # short-range boxes among themselves
        boxes, scores, rank = boxes[kept], scores[kept], rank[kept]
        kept = suppress_covered(boxes, rank, MAX_COVERED)
        return Detections(boxes[kept], scores[kept])

    def close(self) -> None:
        self._back.close()
        self._short.close()
