"""The benchmark frame: a real face photo letterboxed into a 640x480 frame, like a webcam image."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from parface_sdk.image import load_image

FRAME_SIZE = (640, 480)  # width, height
# A frontal face of the shared AFLW2000-3D subset (research data, not shipped with the package).
_SHARED_FACE = Path("data") / "aflw2000-3d-subset" / "image00050.jpg"


def _shared_candidates() -> list[Path]:
    roots = [
        os.environ.get("PARFACE_SHARED"),
        Path.cwd().parent / "shared",
        Path.cwd() / "shared",
        Path(__file__).resolve().parents[3] / "shared",
    ]
    return [Path(root) / _SHARED_FACE for root in roots if root]


def letterbox(image_rgb: np.ndarray, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """Scale to fit ``size`` (width, height), centred on black."""
    width, height = size
    scale = min(width / image_rgb.shape[1], height / image_rgb.shape[0])
    resized = cv2.resize(
        image_rgb,
        (round(image_rgb.shape[1] * scale), round(image_rgb.shape[0] * scale)),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    frame = np.zeros((height, width, 3), np.uint8)
    top, left = (height - resized.shape[0]) // 2, (width - resized.shape[1]) // 2
    frame[top : top + resized.shape[0], left : left + resized.shape[1]] = resized
    return frame


def bench_frame(path: str | Path | None = None, size: tuple[int, int] = FRAME_SIZE) -> tuple[np.ndarray, str]:
    """``(RGB frame, label)``: ``path`` or the shared face photo, letterboxed; else a synthetic frame."""
    if path is None:
        path = next((candidate for candidate in _shared_candidates() if candidate.is_file()), None)
    if path is not None:
        return letterbox(load_image(path, color="RGB"), size), f"{Path(path).name} letterboxed"
    # No photo: a smooth synthetic frame (the detector finds no face, so a fixed box is cropped).
    rng = np.random.default_rng(0)
    small = rng.integers(0, 255, (size[1] // 16, size[0] // 16, 3), dtype=np.uint8)
    return cv2.resize(small, size, interpolation=cv2.INTER_CUBIC), "synthetic (no face)"
