"""What every face detector returns and promises: `Detections` and the `FaceDetector` protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from parface_sdk.errors import InvalidImageError, UnsupportedShapeError


@dataclass(frozen=True)
class Detections:
    """Faces found in one image, best score first.

    ``boxes`` (K, 4) float32 ``[x0, y0, x1, y1]`` in image pixels; ``scores`` (K,) float32;
    ``keypoints`` (K, 5, 2) float32 (eye on the image left, eye on the image right, nose tip,
    mouth corner on the image left, mouth corner on the image right) or ``None`` when the
    detector has no such points.
    """

    boxes: np.ndarray
    scores: np.ndarray
    keypoints: np.ndarray | None = None

    def __post_init__(self) -> None:
        boxes = np.asarray(self.boxes, dtype=np.float32).reshape(-1, 4)
        scores = np.asarray(self.scores, dtype=np.float32).reshape(-1)
        if len(scores) != len(boxes):
            raise UnsupportedShapeError(f"{len(boxes)} boxes but {len(scores)} scores")
        keypoints = self.keypoints
        if keypoints is not None:
            keypoints = np.asarray(keypoints, dtype=np.float32)
            if keypoints.shape != (len(boxes), 5, 2):
                raise UnsupportedShapeError(
                    f"keypoints must be ({len(boxes)}, 5, 2) for {len(boxes)} boxes, got {keypoints.shape}"
                )
        order = np.argsort(-scores, kind="stable")
        for name, value in (("boxes", boxes), ("scores", scores), ("keypoints", keypoints)):
            if value is not None:
                value = np.ascontiguousarray(value[order])
                value.flags.writeable = False
            object.__setattr__(self, name, value)

    @classmethod
    def empty(cls, with_keypoints: bool = False) -> Detections:
        keypoints = np.zeros((0, 5, 2), np.float32) if with_keypoints else None
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), keypoints)

    def __len__(self) -> int:
        return len(self.scores)

    def top(self, count: int) -> Detections:
        """The ``count`` best detections."""
        keypoints = None if self.keypoints is None else self.keypoints[:count]
        return Detections(self.boxes[:count], self.scores[:count], keypoints)


@runtime_checkable
class FaceDetector(Protocol):
    """A face detector plugin.

    ``box_to_landmark_scale`` and ``center_shift`` calibrate this detector's box convention
    against the 68-point landmark box the landmark model's crops are built from: the runtime crops
    ``crop.transform_from_box(box, size, spec.crop_scale * box_to_landmark_scale, center_shift)``.
    ``box_to_landmark_scale`` is the mean ratio (landmark box longer side) / (detector box longer
    side); ``center_shift`` is the mean offset of the landmark-box centre from the detector-box
    centre, as fractions of the detector box's width and height. Both were measured on the
    300-W training images (``benchmarks/detectors/compare_detectors.py``).
    """

    name: str
    box_to_landmark_scale: float
    center_shift: tuple[float, float]

    def detect(self, image_rgb: np.ndarray) -> Detections:
        """All faces in an RGB uint8 HxWx3 image, best first."""
        ...

    def close(self) -> None:
        """Release the runtime session; the detector cannot be used afterwards."""
        ...


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous RGB uint8 HxWx3 array, or :class:`InvalidImageError`."""
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{type(image).__name__} {getattr(image, 'shape', '')} {getattr(image, 'dtype', '')}"
        raise InvalidImageError(
            f"a detector takes an RGB uint8 HxWx3 array, got {got}; use parface_sdk.image.load_image"
        )
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise InvalidImageError(f"image of shape {image.shape} is too small to hold a face")
    return np.ascontiguousarray(image)


def resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """Area interpolation when shrinking (no aliasing), bilinear when enlarging."""
    shrinking = width < image.shape[1] or height < image.shape[0]
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)
