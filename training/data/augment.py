"""Crop-level augmentation beyond the similarity jitter: lighting, occlusion, and one-sided
expression warps that move a mouth corner or a brow together with its labels.

All functions take and return a uint8 RGB crop and (68, 3) crop-pixel landmarks; they draw every
random number from the ``rng`` they are given, so items stay reproducible.

The one-sided warp is why this exists: faces with facial palsy move one side without the other,
and 300-W / AFLW are nearly all symmetric expressions. A smooth radial displacement field centred
on one mouth corner (or one brow) lowers or raises it by up to ``max_shift`` of the inter-ocular
distance; the landmarks inside the field move with the image, so the network is taught that the
two sides are independent.
"""

from __future__ import annotations

import cv2
import numpy as np

# One-sided regions, iBUG-68 indices: the image-left / image-right mouth corner and brow.
MOUTH_CORNERS = (48, 54)
BROWS = ((17, 18, 19, 20, 21), (22, 23, 24, 25, 26))


def photometric(chip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Brightness, contrast, gamma, colour cast; sometimes blur, noise or grey."""
    image = chip.astype(np.float32) / 255.0
    image = image * rng.uniform(0.6, 1.4) + rng.uniform(-0.15, 0.15)
    image = image * rng.uniform(0.85, 1.15, size=3)  # white balance
    image = np.clip(image, 0.0, 1.0) ** rng.uniform(0.7, 1.5)
    if rng.random() < 0.1:
        image = np.repeat(image.mean(axis=2, keepdims=True), 3, axis=2)
    if rng.random() < 0.2:
        sigma = rng.uniform(0.5, 1.5)
        image = cv2.GaussianBlur(image, (0, 0), sigma)
    if rng.random() < 0.2:
        image = image + rng.normal(0.0, rng.uniform(0.01, 0.05), size=image.shape).astype(np.float32)
    return (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def occlude(chip: np.ndarray, points: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A rectangle of flat colour or noise over part of the face (labels unchanged)."""
    size = chip.shape[0]
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    side = np.maximum(hi - lo, 8.0)
    w, h = (side * rng.uniform(0.2, 0.5, size=2)).astype(int) + 1
    cx, cy = rng.uniform(lo, hi)
    x0, y0 = int(np.clip(cx - w / 2, 0, size - 1)), int(np.clip(cy - h / 2, 0, size - 1))
    x1, y1 = min(size, x0 + w), min(size, y0 + h)
    out = chip.copy()
    if rng.random() < 0.5:
        out[y0:y1, x0:x1] = rng.integers(0, 256, size=3, dtype=np.uint8)
    else:
        out[y0:y1, x0:x1] = rng.integers(0, 256, size=(y1 - y0, x1 - x0, 3), dtype=np.uint8)
    return out


def _field(xy: np.ndarray, centre: np.ndarray, shift: np.ndarray, sigma: float) -> np.ndarray:
    """Displacement at ``xy`` (..., 2) of a Gaussian bump moving ``centre`` by ``shift``."""
    d2 = ((xy - centre) ** 2).sum(axis=-1, keepdims=True)
    return np.exp(-d2 / (2.0 * sigma**2)) * shift


def one_sided_warp(
    chip: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    max_shift: float = 0.15,
    region: str | None = None,
    side: int | None = None,
    shift_fraction: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Move one mouth corner (down or up) or one brow (down or up) with its landmarks.

    ``shift_fraction`` (of the inter-ocular distance, signed: positive is towards the chin) and
    ``region`` / ``side`` may be fixed for controlled tests; otherwise they are drawn.
    """
    height, width = chip.shape[:2]
    xy = points[:, :2].astype(np.float64)
    eyes = xy[36:42].mean(axis=0), xy[42:48].mean(axis=0)
    iod = float(np.linalg.norm(eyes[1] - eyes[0]))
    if iod < 4.0:
        return chip, points
    down = xy[48:68].mean(axis=0) - (eyes[0] + eyes[1]) / 2
    down /= np.linalg.norm(down) + 1e-9
    region = region or ("mouth" if rng.random() < 0.6 else "brow")
    side = int(rng.integers(0, 2)) if side is None else side
    if shift_fraction is None:
        shift_fraction = rng.uniform(0.03, max_shift) * (1 if rng.random() < 0.7 else -1)
    if region == "mouth":
        centre = xy[MOUTH_CORNERS[side]]
        sigma = 0.35 * iod
    else:
        centre = xy[list(BROWS[side])].mean(axis=0)
        sigma = 0.45 * iod
    shift = down * shift_fraction * iod
    grid = np.stack(np.meshgrid(np.arange(width), np.arange(height)), axis=-1).astype(np.float64)
    # Backward map: output pixel p shows input pixel p - d(p).
    source = grid - _field(grid, centre, shift, sigma)
    warped = cv2.remap(
        chip, source[..., 0].astype(np.float32), source[..., 1].astype(np.float32),
        interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT,
    )  # fmt: skip
    # Forward map of the labels: solve q' - d(q') = q by fixed-point iteration.
    moved = xy.copy()
    for _ in range(5):
        moved = xy + _field(moved, centre, shift, sigma)
    out = points.copy()
    out[:, :2] = moved
    return warped, out


def augment_crop(
    chip: np.ndarray, points: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """The training mix: one-sided warp 30 %, occlusion 25 %, lighting 80 %."""
    if rng.random() < 0.3:
        chip, points = one_sided_warp(chip, points, rng)
    if rng.random() < 0.25:
        chip = occlude(chip, points, rng)
    if rng.random() < 0.8:
        chip = photometric(chip, rng)
    return chip, points
