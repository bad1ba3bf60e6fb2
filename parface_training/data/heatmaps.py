"""Gaussian target heatmaps and the crop<->heatmap pixel mapping used by the landmark heads."""

from __future__ import annotations

import numpy as np


def crop_to_heatmap(xy_crop: np.ndarray, input_size: int, heatmap_size: int) -> np.ndarray:
    """Crop pixels to heatmap pixels: the inverse of ``(u + 0.5) * stride - 0.5``
    (``parface_sdk.nn.softargmax.heatmap_to_crop``); pixel centres at integers in both."""
    stride = input_size / heatmap_size
    return (np.asarray(xy_crop, dtype=np.float64) + 0.5) / stride - 0.5


def render_heatmaps(xy_heatmap_px: np.ndarray, size: int, sigma: float) -> np.ndarray:
    """One Gaussian per point (peak 1 at the sub-pixel position), shape (N, size, size) float32.

    ``xy_heatmap_px`` is (N, 2) in heatmap pixels. Points outside the map give (partial or empty)
    Gaussians, so the target stays consistent with where the point really is.
    """
    xy = np.asarray(xy_heatmap_px, dtype=np.float32)[:, :2]
    grid = np.arange(size, dtype=np.float32)
    gx = np.exp(-((grid[None, :] - xy[:, 0:1]) ** 2) / (2.0 * sigma**2))  # (N, size)
    gy = np.exp(-((grid[None, :] - xy[:, 1:2]) ** 2) / (2.0 * sigma**2))
    return (gy[:, :, None] * gx[:, None, :]).astype(np.float32)
