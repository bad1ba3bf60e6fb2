"""Face-alignment metrics of the paper's protocol (3DDFA / AFLW2000-3D conventions).

Every per-face function takes arrays of shape (N, 68, C) in 0-based image pixels and returns
*fractions* (0.035 means 3.5 %); :func:`summarize` turns them into the percentages of a report.

- NME (2D): mean over the 68 points of ``||pred_xy - gt_xy||`` divided by ``sqrt(w * h)`` of the
  ground-truth landmark box (x, y only). ``normalizer="inter-ocular"`` divides by the distance
  between the outer eye corners 36 and 45 instead (the usual 300-W normaliser).
- GTE (3D): both shapes are shifted so that their mean depth is 0, then the mean over the 68 points
  of the 3D point-to-point distance is divided by the 3D distance of ground-truth points 36 and 45.
- CED / AUC / FR at a limit of 0.10: ``CED(t)`` is the fraction of faces with error ``<= t``. The
  AUC is the trapezoid integral of the CED sampled at ``t = k * limit / 1000`` (k = 0..1000), divided
  by the limit, so 1.0 is perfect. FR is the fraction of faces with error ``> limit``. A face the
  detector missed has an infinite error: it counts as a failure and never enters the CED.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from parface_sdk.errors import UnsupportedShapeError

Normalizer = Literal["box", "inter-ocular"]
NORMALIZERS = ("box", "inter-ocular")
LIMIT = 0.10
CED_STEPS = 1000
YAW_BINS = ("0-30", "30-60", "60-90")
OUTER_EYE_CORNERS = (36, 45)


def _pair(pred: np.ndarray, gt: np.ndarray, dims: int) -> tuple[np.ndarray, np.ndarray]:
    pred = np.asarray(pred, dtype=np.float64)
    gt = np.asarray(gt, dtype=np.float64)
    if pred.ndim == 2:
        pred, gt = pred[None], gt[None]
    if pred.ndim != 3 or pred.shape[:2] != gt.shape[:2] or min(pred.shape[2], gt.shape[2]) < dims:
        raise UnsupportedShapeError(
            f"expected prediction and ground truth of shape (N, 68, >={dims}), "
            f"got {pred.shape} and {gt.shape}"
        )
    return pred[..., :dims], gt[..., :dims]


def box_size(gt: np.ndarray) -> np.ndarray:
    """``sqrt(w * h)`` of the x, y bounding box of each ground-truth shape, shape (N,)."""
    gt = np.asarray(gt, dtype=np.float64)
    gt = gt[None] if gt.ndim == 2 else gt
    extent = gt[..., :2].max(axis=1) - gt[..., :2].min(axis=1)
    return np.sqrt(extent[:, 0] * extent[:, 1])


def inter_ocular(gt: np.ndarray, dims: int = 2) -> np.ndarray:
    """Distance between the outer eye corners (points 36 and 45) in ``dims`` dimensions, (N,)."""
    gt = np.asarray(gt, dtype=np.float64)
    gt = gt[None] if gt.ndim == 2 else gt
    left, right = OUTER_EYE_CORNERS
    return np.linalg.norm(gt[:, left, :dims] - gt[:, right, :dims], axis=-1)


def normalizer_2d(gt: np.ndarray, normalizer: Normalizer = "box") -> np.ndarray:
    if normalizer == "box":
        return box_size(gt)
    if normalizer == "inter-ocular":
        return inter_ocular(gt, dims=2)
    raise ValueError(f"normalizer must be 'box' or 'inter-ocular', got {normalizer!r}")


def point_errors_2d(pred: np.ndarray, gt: np.ndarray, normalizer: Normalizer = "box") -> np.ndarray:
    """Normalised 2D error of every point, shape (N, 68)."""
    pred, gt2 = _pair(pred, gt, 2)
    distances = np.linalg.norm(pred - gt2, axis=-1)
    return distances / normalizer_2d(gt2, normalizer)[:, None]


def nme(pred: np.ndarray, gt: np.ndarray, normalizer: Normalizer = "box") -> np.ndarray:
    """Per-face 2D NME (fraction), shape (N,)."""
    return point_errors_2d(pred, gt, normalizer).mean(axis=1)


def center_depth(points: np.ndarray) -> np.ndarray:
    """Copy of (N, 68, 3) shapes with each shape's mean z moved to 0."""
    points = np.array(points, dtype=np.float64)
    points[..., 2] -= points[..., 2].mean(axis=-1, keepdims=True)
    return points


def point_errors_3d(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Normalised 3D error of every point after matching the mean depth, shape (N, 68)."""
    pred, gt3 = _pair(pred, gt, 3)
    distances = np.linalg.norm(center_depth(pred) - center_depth(gt3), axis=-1)
    return distances / inter_ocular(gt3, dims=3)[:, None]


def gte(pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """Per-face 3D GTE (fraction), shape (N,). z must be positive towards the camera in both."""
    return point_errors_3d(pred, gt).mean(axis=1)


def ced(errors: np.ndarray, limit: float = LIMIT, steps: int = CED_STEPS) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative error distribution: thresholds (steps + 1,) and fraction of faces <= each one."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    thresholds = np.linspace(0.0, limit, steps + 1)
    if errors.size == 0:
        return thresholds, np.zeros_like(thresholds)
    fractions = (errors[None, :] <= thresholds[:, None]).mean(axis=1)
    return thresholds, fractions


def auc(errors: np.ndarray, limit: float = LIMIT, steps: int = CED_STEPS) -> float:
    """Area under the CED on [0, limit], divided by ``limit`` (trapezoid rule), in [0, 1]."""
    thresholds, fractions = ced(errors, limit, steps)
    widths = np.diff(thresholds)
    return float(np.sum(widths * (fractions[1:] + fractions[:-1]) / 2.0) / limit)


def failure_rate(errors: np.ndarray, limit: float = LIMIT) -> float:
    """Fraction of faces whose error is above ``limit`` (misses, ``inf``, included)."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    return float(np.mean(errors > limit)) if errors.size else 0.0


def yaw_bin(yaw_degrees: float | None) -> str | None:
    """3DDFA's bin of ``|yaw|``: [0, 30], (30, 60], and above 60 (the 7 faces over 90 included)."""
    if yaw_degrees is None or not np.isfinite(yaw_degrees):
        return None
    magnitude = abs(float(yaw_degrees))
    if magnitude <= 30.0:
        return YAW_BINS[0]
    return YAW_BINS[1] if magnitude <= 60.0 else YAW_BINS[2]


def summarize(errors: np.ndarray, limit: float = LIMIT) -> dict[str, float | int]:
    """Report figures in percent. ``inf`` marks a miss: in FR and AUC, not in mean/std/median."""
    errors = np.asarray(errors, dtype=np.float64).ravel()
    found = errors[np.isfinite(errors)]
    stats = {"count": int(errors.size), "missed": int(errors.size - found.size)}
    if found.size:
        stats.update(
            mean=float(found.mean() * 100),
            std=float(found.std() * 100),
            median=float(np.median(found) * 100),
        )
    else:
        stats.update(mean=float("nan"), std=float("nan"), median=float("nan"))
    stats.update(auc=auc(errors, limit) * 100, failure_rate=failure_rate(errors, limit) * 100)
    return stats
