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

from dataclasses import dataclass

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


@dataclass(frozen=True)
class WarpOptions:
    """How often and how broadly the one-sided warp is drawn (the defaults are the v2 recipe's).

    ``sigma`` (mouth, brow): the field's width in inter-ocular units, multiplied by a factor drawn
    uniformly from ``sigma_scale`` when that is given (broad and narrow warps); ``both_sides``:
    the chance that the other side of the same region gets its own, independent shift too (the
    two sides then disagree by construction);
    ``min_shift`` / ``max_shift``: the drawn shift magnitude, in inter-ocular units.
    """

    probability: float = 0.3
    tps: float = 0.0  # the share of warps that are thin-plate expression warps (expression_warp)
    sigma: tuple[float, float] = (0.35, 0.45)
    sigma_scale: tuple[float, float] | None = None
    both_sides: float = 0.0
    min_shift: float = 0.03
    max_shift: float = 0.15


def one_sided_warp(
    chip: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    max_shift: float = 0.15,
    region: str | None = None,
    side: int | None = None,
    shift_fraction: float | None = None,
    sigma: float | None = None,
    min_shift: float = 0.03,
) -> tuple[np.ndarray, np.ndarray]:
    """Move one mouth corner (down or up) or one brow (down or up) with its landmarks.

    ``shift_fraction`` (of the inter-ocular distance, signed: positive is towards the chin),
    ``region`` / ``side`` and ``sigma`` (the field's width, inter-ocular units; default 0.35 for the
    mouth, 0.45 for a brow) may be fixed; otherwise they are drawn.
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
        shift_fraction = rng.uniform(min_shift, max_shift) * (1 if rng.random() < 0.7 else -1)
    if region == "mouth":
        centre = xy[MOUTH_CORNERS[side]]
        sigma = (0.35 if sigma is None else sigma) * iod
    else:
        centre = xy[list(BROWS[side])].mean(axis=0)
        sigma = (0.45 if sigma is None else sigma) * iod
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


def _border_points(shape: tuple[int, ...]) -> np.ndarray:
    """The crop's corners and edge midpoints (8, 2): thin-plate controls that pin the border."""
    right, bottom = shape[1] - 1.0, shape[0] - 1.0
    return np.array(
        [
            (x, y)
            for x in (0, right / 2, right)
            for y in (0, bottom / 2, bottom)
            if (x, y) != (right / 2, bottom / 2)
        ]
    )


def expression_warp(
    chip: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator | None,
    max_shift: float = 0.12,
    region: str | None = None,
    sides: tuple[str, ...] | None = None,
    shifts: list[np.ndarray] | None = None,
    min_shift: float = 0.01,
    both_sides: float = 0.3,
) -> tuple[np.ndarray, np.ndarray]:
    """A thin-plate spline warp that moves one mouth corner or one brow (or each side's, by its
    own amount) while every other landmark and the crop border stay put, the lip between the
    corner and the midline following (``parface_sdk.face_regions.DROOP_POINTS``): a change
    of *shape*, which a Gaussian field moving the whole neighbourhood does not teach.

    ``shifts`` (one (2,) vector per side, in inter-ocular units |36-45|) and ``region`` /
    ``sides`` may be fixed (``rng`` may then be None); otherwise: mouth 55 %, brow 45 %; both
    sides ``both_sides`` of the time; each shift ``min_shift``-``max_shift`` IOD, towards the
    chin 65 % of the time, within 35 degrees of straight down. A warp that would fold the image
    (a moved point pushed past a held one) is not applied: the crop and points come back unchanged.
    """
    from parface_sdk.face_regions import DROOP_POINTS, down_direction
    from parface_sdk.geometry import folds, forward_points, thin_plate_maps

    xy = points[:, :2].astype(np.float64)
    iod = float(np.linalg.norm(xy[45] - xy[36]))
    if iod < 4.0:
        return chip, points
    region = region or ("mouth" if rng.random() < 0.55 else "brow")
    if sides is None:
        first = ("right", "left")[int(rng.integers(0, 2))]
        sides = ("right", "left") if rng.random() < both_sides else (first,)
    if shifts is None:
        down = down_direction(xy)
        shifts = []
        for _ in sides:
            angle = np.radians(rng.uniform(-35.0, 35.0))
            rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
            sign = 1.0 if rng.random() < 0.65 else -1.0
            shifts.append(sign * rng.uniform(min_shift, max_shift) * rotation @ down)
    moved, free, target = [], [], xy.copy()
    for side, shift in zip(sides, shifts):
        side_moved, side_free = DROOP_POINTS[region, side]
        moved += side_moved
        free += side_free
        target[list(side_moved)] += np.asarray(shift) * iod
    held = [i for i in range(len(xy)) if i not in moved and i not in free]
    border = _border_points(chip.shape)
    control = moved + held
    maps = thin_plate_maps(
        chip.shape, np.vstack([xy[control], border]), np.vstack([target[control], border]), step=2
    )
    if folds(maps):
        return chip, points
    warped = cv2.remap(chip, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = points.copy()
    out[moved, :2] = target[moved]
    if free:
        out[free, :2] = forward_points(xy[free], maps)
    return warped, out


def _drawn_warp(chip, points, rng, options: WarpOptions, region: str, side: int):
    sigma = options.sigma[0 if region == "mouth" else 1]
    if options.sigma_scale is not None:
        sigma *= rng.uniform(*options.sigma_scale)
    return one_sided_warp(
        chip, points, rng, options.max_shift, region, side, sigma=sigma, min_shift=options.min_shift
    )


def augment_crop(
    chip: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator,
    warp: WarpOptions | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The training mix: one-sided warp (30 % by default), occlusion 25 %, lighting 80 %."""
    warp = warp or WarpOptions()
    if rng.random() < warp.probability:
        if warp.tps > 0 and rng.random() < warp.tps:
            chip, points = expression_warp(
                chip, points, rng, warp.max_shift, min_shift=warp.min_shift, both_sides=warp.both_sides
            )
        else:
            region = "mouth" if rng.random() < 0.6 else "brow"
            side = int(rng.integers(0, 2))
            chip, points = _drawn_warp(chip, points, rng, warp, region, side)
            if warp.both_sides > 0 and rng.random() < warp.both_sides:
                chip, points = _drawn_warp(chip, points, rng, warp, region, 1 - side)
    if rng.random() < 0.25:
        chip = occlude(chip, points, rng)
    if rng.random() < 0.8:
        chip = photometric(chip, rng)
    return chip, points


# Upper-lid points and the lower-lid points they close onto, per eye (iBUG-68): the subject's
# right eye (image-left in a frontal photo) is 36-41, the left 42-47.
EYELIDS = {"right": ((37, 38), (41, 40)), "left": ((43, 44), (47, 46))}


def eyelid_warp(
    chip: np.ndarray,
    points: np.ndarray,
    rng: np.random.Generator | None,
    side: str | None = None,
    closure: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One eye closing (or opening wider): a thin-plate warp that moves the two upper-lid points
    of one eye ``closure`` of the way to the lower-lid points below them, every other landmark
    and the crop border held. ``closure`` is drawn in [0.2, 0.8] (closing) 80 % of the time and
    in [-0.3, -0.1] (widening) otherwise; a warp that would fold the image is not applied."""
    from parface_sdk.geometry import folds, thin_plate_maps

    xy = points[:, :2].astype(np.float64)
    if np.linalg.norm(xy[45] - xy[36]) < 4.0:
        return chip, points
    side = side or ("right", "left")[int(rng.integers(0, 2))]
    if closure is None:
        closure = rng.uniform(0.2, 0.8) if rng.random() < 0.8 else -rng.uniform(0.1, 0.3)
    upper, lower = EYELIDS[side]
    target = xy.copy()
    target[list(upper)] += closure * (xy[list(lower)] - xy[list(upper)])
    held = [i for i in range(len(xy)) if i not in upper]
    border = _border_points(chip.shape)
    control = list(upper) + held
    maps = thin_plate_maps(
        chip.shape, np.vstack([xy[control], border]), np.vstack([target[control], border]), step=2
    )
    if folds(maps):
        return chip, points
    warped = cv2.remap(chip, maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    out = points.copy()
    out[list(upper), :2] = target[list(upper)]
    return warped, out


def one_sided_mix(
    chip: np.ndarray, points: np.ndarray, rng: np.random.Generator, probability: float = 0.75
) -> tuple[np.ndarray, np.ndarray]:
    """The refiner's training mix of one-sided shape changes: a mouth corner moved in any
    direction (down, up, outward, inward: the lip pulled sideways), a brow up or down, one eye
    closing; sometimes two regions of the same or opposite sides; then occlusion and lighting."""
    from parface_sdk.face_regions import down_direction

    if rng.random() < probability:
        regions = 1 if rng.random() < 0.7 else 2
        for _ in range(regions):
            kind = rng.random()
            if kind < 0.4:
                xy = points[:, :2].astype(np.float64)
                angle = np.radians(rng.uniform(-90.0, 90.0))
                rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
                sign = 1.0 if rng.random() < 0.6 else -1.0
                shift = sign * rng.uniform(0.02, 0.15) * rotation @ down_direction(xy)
                side = ("right", "left")[int(rng.integers(0, 2))]
                chip, points = expression_warp(
                    chip, points, rng, region="mouth", sides=(side,), shifts=[shift]
                )
            elif kind < 0.7:
                chip, points = expression_warp(
                    chip, points, rng, 0.12, region="brow", min_shift=0.02, both_sides=0.2
                )
            else:
                chip, points = eyelid_warp(chip, points, rng)
    if rng.random() < 0.2:
        chip = occlude(chip, points, rng)
    if rng.random() < 0.8:
        chip = photometric(chip, rng)
    return chip, points
