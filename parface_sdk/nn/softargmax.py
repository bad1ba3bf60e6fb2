"""Windowed soft-argmax in torch, written with export-friendly ops (ArgMax, masks, sums).

Mirrors :func:`parface_sdk.decode.soft_argmax` (numpy); a test keeps the two in agreement.
Both functions compute in float32 whatever autocast says: in bfloat16 (8 bits of mantissa) the
pixel grid and the weighted sums moved points by up to 6 px on a 256 px crop.
"""

from __future__ import annotations

import torch


def soft_argmax(heatmaps: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Sub-pixel peak of each heatmap and its confidence.

    The centroid of the positive heatmap values inside a ``(2 * radius + 1)`` square window around
    the arg-max: the window keeps far-away background from biasing the estimate. Returns
    ``(xy, confidence)`` with ``xy`` in heatmap pixels (pixel centres at integers), shape
    ``(B, N, 2)``, and the peak value clipped to [0, 1], shape ``(B, N)``.
    """
    with torch.autocast(heatmaps.device.type, enabled=False):
        return _soft_argmax(heatmaps.float(), radius)


def _soft_argmax(heatmaps: torch.Tensor, radius: int) -> tuple[torch.Tensor, torch.Tensor]:
    batch, count, height, width = heatmaps.shape
    flat = heatmaps.reshape(batch, count, height * width)
    peak_value, peak_index = flat.max(dim=2)
    peak_y = torch.div(peak_index, width, rounding_mode="floor").to(heatmaps.dtype)
    peak_x = (peak_index - torch.div(peak_index, width, rounding_mode="floor") * width).to(heatmaps.dtype)
    xs = torch.arange(width, dtype=heatmaps.dtype, device=heatmaps.device).view(1, 1, 1, width)
    ys = torch.arange(height, dtype=heatmaps.dtype, device=heatmaps.device).view(1, 1, height, 1)
    in_x = (xs - peak_x.view(batch, count, 1, 1)).abs() <= radius
    in_y = (ys - peak_y.view(batch, count, 1, 1)).abs() <= radius
    weights = torch.relu(heatmaps) * (in_x & in_y).to(heatmaps.dtype)
    total = weights.sum(dim=(2, 3)).clamp_min(1e-12)
    x = (weights * xs).sum(dim=(2, 3)) / total
    y = (weights * ys).sum(dim=(2, 3)) / total
    # A map with no positive value in the window falls back to the integer arg-max.
    empty = total <= 1e-12
    x = torch.where(empty, peak_x, x)
    y = torch.where(empty, peak_y, y)
    return torch.stack([x, y], dim=2), peak_value.clamp(0.0, 1.0)


def heatmap_to_crop(xy: torch.Tensor, input_size: int, heatmap_size: int) -> torch.Tensor:
    """Heatmap pixel coordinates to crop pixel coordinates (pixel centres at integers), in float32."""
    stride = input_size / heatmap_size
    return (xy.float() + 0.5) * stride - 0.5
