"""Image input stage: whatever the caller has, validated and turned into RGB uint8 (H, W, 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from parface_sdk.errors import InvalidImageError

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray
ColorOrder = Literal["BGR", "RGB"]


def _decode(data: bytes, source: str) -> np.ndarray:
    if len(data) == 0:
        raise InvalidImageError(f"{source}: empty image data")
    decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    if decoded is None:
        raise InvalidImageError(f"{source}: not a decodable image (corrupt or unsupported format)")
    return decoded  # OpenCV decodes to BGR / BGRA / gray


def _read_file(path: Path) -> np.ndarray:
    if not path.is_file():
        raise InvalidImageError(f"{path}: no such image file")
    return _decode(path.read_bytes(), str(path))


def _to_uint8(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if array.dtype in (np.float32, np.float64):
        if not np.isfinite(array).all():
            raise InvalidImageError(f"{source}: float image contains NaN or infinity")
        if array.min() < 0.0 or array.max() > 1.0:
            raise InvalidImageError(
                f"{source}: float images must hold values in [0, 1], got "
                f"[{array.min():.3g}, {array.max():.3g}]; pass uint8 for 0..255 data"
            )
        return np.round(array * 255.0).astype(np.uint8)
    raise InvalidImageError(
        f"{source}: unsupported dtype {array.dtype}; expected uint8, uint16, float32 or float64"
    )


def to_rgb(array: np.ndarray, color: ColorOrder, source: str = "image") -> np.ndarray:
    """Validate an array image and convert it to contiguous RGB uint8 (H, W, 3)."""
    if not isinstance(array, np.ndarray):
        raise InvalidImageError(f"{source}: expected a numpy array, got {type(array).__name__}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"{source}: expected shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"{source}: empty image of shape {array.shape}")
    if color not in ("BGR", "RGB"):
        raise ValueError(f"color must be 'BGR' or 'RGB', got {color!r}")
    array = _to_uint8(array, source)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    if array.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color == "BGR" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(array), code)
    if color == "BGR":
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(array)


def load_image(source: ImageSource, color: ColorOrder = "BGR") -> np.ndarray:
    """Any supported image source as RGB uint8 (H, W, 3).

    ``source`` is a file path, encoded bytes (JPEG, PNG, ...), or a numpy array. Arrays are read in
    the ``color`` order (OpenCV's BGR by default); grayscale and 4-channel arrays are accepted.
    Files and bytes are decoded with OpenCV, so ``color`` does not apply to them.
    """
    if isinstance(source, np.ndarray):
        return to_rgb(source, color)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return to_rgb(_decode(bytes(source), "image bytes"), "BGR", "image bytes")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return to_rgb(_read_file(path), "BGR", str(path))
    raise InvalidImageError(
        f"unsupported image source {type(source).__name__}; pass a path, bytes or a numpy array"
    )
