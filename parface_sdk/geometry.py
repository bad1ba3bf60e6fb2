"""The one home of small helpers that the runtime, evaluation, training and tools all share.

Boxes are ``[x0, y0, x1, y1]`` in 0-based image pixels (pixel centres at integers). A *landmark
box* is the x/y extent of the 68 points; it is the box convention of ``Aligner.align(boxes=...)``
and of ``Face.box``: a detector's own box is mapped to it (:func:`detector_to_landmark_box`, the
detector's measured calibration), so a ``face.box`` passed back as ``boxes=`` gives the same crop
and the same landmarks. Landmark files are read by :mod:`parface_sdk.landmark_files`; its
:func:`read_pts` is re-exported here so there is one import for it.

Only numpy and the standard library are imported, so any module can use this one cheaply.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from parface_sdk.errors import BoxOutsideImageError
from parface_sdk.landmark_files import read_pts

__all__ = [
    "IMAGE_SUFFIXES",
    "box_iou",
    "detector_to_landmark_box",
    "is_image_file",
    "landmark_box",
    "read_pts",
    "require_boxes_in_image",
    "sha256_of",
    "square_box",
]

# The image files every folder walk accepts (lower case; compare with ``path.suffix.lower()``).
# A tuple, so lookups of "the image beside this .pts" try suffixes in a fixed order.
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has one of :data:`IMAGE_SUFFIXES` (any case)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """The ``[x0, y0, x1, y1]`` float64 extent of (N, 2) or (N, 3) points."""
    points = np.asarray(landmarks, dtype=np.float64)[:, :2]
    return np.array([*points.min(axis=0), *points.max(axis=0)])


def square_box(center: np.ndarray, side: float) -> np.ndarray:
    """The ``[x0, y0, x1, y1]`` square of ``side`` pixels around ``center``."""
    half = side / 2.0
    return np.array([center[0] - half, center[1] - half, center[0] + half, center[1] + half])


def detector_to_landmark_box(
    box: np.ndarray, box_to_landmark_scale: float, center_shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """A detector box as the square landmark box its calibration predicts.

    Side ``box_to_landmark_scale * max(w, h)`` around the box centre shifted by ``center_shift``
    box fractions: cropping this box as a caller box gives exactly the detector path's crop.
    """
    box = np.asarray(box, dtype=np.float64)
    width, height = box[2] - box[0], box[3] - box[1]
    center = np.array(
        [(box[0] + box[2]) / 2 + center_shift[0] * width, (box[1] + box[3]) / 2 + center_shift[1] * height]
    )
    return square_box(center, box_to_landmark_scale * max(width, height))


def require_boxes_in_image(boxes: np.ndarray, width: int, height: int) -> None:
    """Raise :class:`BoxOutsideImageError` when a (K, 4) box does not overlap the image at all."""
    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        if box[2] <= -0.5 or box[3] <= -0.5 or box[0] >= width - 0.5 or box[1] >= height - 0.5:
            raise BoxOutsideImageError(
                f"box {np.round(box, 1).tolist()} lies entirely outside the {width}x{height} image; "
                "boxes are [x0, y0, x1, y1] in pixels of the image as passed (after EXIF rotation "
                "for files): check the order and the image they came from"
            )


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``[x0, y0, x1, y1]`` boxes (0.0 when they do not overlap or have no area).

    For the IoU matrix of many boxes, see :func:`parface_sdk.detect.nms.box_iou`.
    """
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
