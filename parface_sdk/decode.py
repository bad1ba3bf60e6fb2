"""Decode stage: heatmaps to sub-pixel points, and crop-pixel landmarks back to image pixels.

Exported models already contain the soft-argmax; the numpy :func:`soft_argmax` here is the
reference that ``parface_sdk.nn.softargmax`` (the one in the graphs) is tested against.
"""

from __future__ import annotations

import numpy as np

from parface_sdk import crop
from parface_sdk.errors import UnsupportedShapeError


def soft_argmax(heatmaps: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Centroid of the positive values in a window around each heatmap's arg-max.

    ``heatmaps`` is (B, N, H, W). Returns ``xy`` (B, N, 2) in heatmap pixels (pixel centres at
    integers) and the peak value clipped to [0, 1] as a per-landmark confidence (B, N).
    """
    heatmaps = np.asarray(heatmaps, dtype=np.float32)
    if heatmaps.ndim != 4:
        raise UnsupportedShapeError(f"heatmaps must be (B, N, H, W), got {heatmaps.shape}")
    batch, count, height, width = heatmaps.shape
    flat = heatmaps.reshape(batch, count, -1)
    peak_index = flat.argmax(axis=2)
    peak_value = np.take_along_axis(flat, peak_index[..., None], axis=2)[..., 0]
    peak_y, peak_x = np.divmod(peak_index, width)
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    in_x = np.abs(xs[None, None, None, :] - peak_x[..., None, None]) <= radius
    in_y = np.abs(ys[None, None, :, None] - peak_y[..., None, None]) <= radius
    weights = np.maximum(heatmaps, 0.0) * (in_x & in_y)
    total = weights.sum(axis=(2, 3))
    safe = np.maximum(total, 1e-12)
    x = (weights * xs[None, None, None, :]).sum(axis=(2, 3)) / safe
    y = (weights * ys[None, None, :, None]).sum(axis=(2, 3)) / safe
    empty = total <= 1e-12
    x = np.where(empty, peak_x, x)
    y = np.where(empty, peak_y, y)
    return np.stack([x, y], axis=2).astype(np.float32), np.clip(peak_value, 0.0, 1.0)


def heatmap_to_crop(xy: np.ndarray, input_size: int, heatmap_size: int) -> np.ndarray:
    stride = input_size / heatmap_size
    return (np.asarray(xy) + 0.5) * stride - 0.5


def crop_to_image(landmarks: np.ndarray, transforms: np.ndarray) -> np.ndarray:
    """(B, N, 3) crop-pixel landmarks to image pixels through each face's inverse transform.

    Depth is divided by the crop's scale too, so x, y and z share the image's pixel units.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    transforms = np.asarray(transforms, dtype=np.float64)
    if landmarks.ndim != 3 or landmarks.shape[2] != 3 or transforms.shape != (len(landmarks), 2, 3):
        raise UnsupportedShapeError(
            f"expected landmarks (B, N, 3) and transforms (B, 2, 3), got {landmarks.shape} and "
            f"{transforms.shape}"
        )
    out = np.empty_like(landmarks)
    for index, (points, transform) in enumerate(zip(landmarks, transforms)):
        out[index] = crop.apply(crop.invert(transform), points)
    return out.astype(np.float32)
