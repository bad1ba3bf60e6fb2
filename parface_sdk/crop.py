"""Crop stage: similarity transforms from a box or from landmarks, the warp, and its inverse.

A transform is a 2x3 float64 matrix mapping image pixels to crop pixels (pixel centres at integer
coordinates in both). Training and the runtime both build crops here, so they agree exactly.
"""

from __future__ import annotations

import cv2
import numpy as np

from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.geometry import landmark_box


def similarity(center: np.ndarray, side: float, output_size: int, angle: float = 0.0) -> np.ndarray:
    """The transform that maps a square of ``side`` pixels around ``center`` onto the crop.

    ``angle`` (radians, counter-clockwise in the image) rotates the crop, e.g. to level the eyes.
    """
    if not side > 0:
        raise UnsupportedShapeError(f"crop side must be positive, got {side}")
    scale = output_size / side
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    half = (output_size - 1) / 2.0
    cx, cy = float(center[0]), float(center[1])
    return np.array(
        [[cos, sin, half - cos * cx - sin * cy], [-sin, cos, half + sin * cx - cos * cy]],
        dtype=np.float64,
    )


def transform_from_box(
    box: np.ndarray, output_size: int, scale: float, center_shift: tuple[float, float] = (0.0, 0.0)
) -> np.ndarray:
    """Square crop of ``scale * max(w, h)`` around the box centre (shifted by a box fraction)."""
    box = np.asarray(box, dtype=np.float64)
    if box.shape != (4,):
        raise UnsupportedShapeError(f"a box is [x0, y0, x1, y1], got shape {box.shape}")
    width, height = box[2] - box[0], box[3] - box[1]
    if width <= 0 or height <= 0:
        raise UnsupportedShapeError(f"box {box.tolist()} has no area")
    center = np.array(
        [(box[0] + box[2]) / 2 + center_shift[0] * width, (box[1] + box[3]) / 2 + center_shift[1] * height]
    )
    return similarity(center, scale * max(width, height), output_size)


def transform_from_landmarks(landmarks: np.ndarray, output_size: int, scale: float) -> np.ndarray:
    """The crop the model was trained on: ``scale`` times the landmark box's longer side."""
    return transform_from_box(landmark_box(landmarks), output_size, scale)


def invert(transform: np.ndarray) -> np.ndarray:
    return cv2.invertAffineTransform(np.asarray(transform, dtype=np.float64))


def apply(transform: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) or (N, 3) points; a third (depth) column is scaled by the transform's scale."""
    points = np.asarray(points, dtype=np.float64)
    mapped = points.copy()
    mapped[:, :2] = points[:, :2] @ transform[:, :2].T + transform[:, 2]
    if points.shape[1] == 3:
        mapped[:, 2] = points[:, 2] * transform_scale(transform)
    return mapped


def transform_scale(transform: np.ndarray) -> float:
    return float(np.sqrt(abs(np.linalg.det(np.asarray(transform)[:, :2]))))


def warp(image: np.ndarray, transform: np.ndarray, output_size: int) -> np.ndarray:
    """Crop ``image`` with bilinear sampling; outside the image is black."""
    return cv2.warpAffine(
        image,
        np.asarray(transform, dtype=np.float64),
        (output_size, output_size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=0,
    )


def normalize(crops: np.ndarray, mean, std) -> np.ndarray:
    """(B, H, W, 3) uint8 RGB crops to the (B, 3, H, W) float32 network input."""
    batch = crops.astype(np.float32) / 255.0
    batch = (batch - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
