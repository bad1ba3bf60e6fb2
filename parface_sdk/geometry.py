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


# A caller box (or landmark box) whose longer side is outside these bounds cannot hold a face the
# model can align: below MIN_BOX_SIDE pixels there is nothing to see, and a box more than
# MAX_BOX_TO_IMAGE times the image's longer side is a unit or coordinate mistake.
MIN_BOX_SIDE = 4.0
MAX_BOX_TO_IMAGE = 8.0


def require_boxes_in_image(boxes: np.ndarray, width: int, height: int, what: str = "box") -> None:
    """Raise :class:`BoxOutsideImageError` when a (K, 4) box does not overlap the image at all, and
    :class:`~parface_sdk.errors.UnsupportedShapeError` when it is not a real box: not finite,
    ``x1 <= x0`` or ``y1 <= y0``, a longer side under :data:`MIN_BOX_SIDE` pixels or over
    :data:`MAX_BOX_TO_IMAGE` times the image's longer side."""
    from parface_sdk.errors import UnsupportedShapeError

    for box in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        shown = np.round(box, 1).tolist() if np.isfinite(box).all() else box.tolist()
        if not np.isfinite(box).all():
            raise UnsupportedShapeError(f"{what} {shown} contains NaN or infinity")
        if what == "box" and (box[2] <= box[0] or box[3] <= box[1]):
            raise UnsupportedShapeError(f"{what} {shown} is not [x0, y0, x1, y1] with x1 > x0 and y1 > y0")
        side = max(box[2] - box[0], box[3] - box[1])
        if side < MIN_BOX_SIDE:
            raise UnsupportedShapeError(
                f"{what} {shown} is {side:.3g} px across; a face needs at least {MIN_BOX_SIDE:g} px"
            )
        if side > MAX_BOX_TO_IMAGE * max(width, height):
            raise UnsupportedShapeError(
                f"{what} {shown} is {side:.3g} px across, far larger than the {width}x{height} image "
                f"(at most {MAX_BOX_TO_IMAGE:g} times its longer side); check the units and the image"
            )
        if box[2] <= -0.5 or box[3] <= -0.5 or box[0] >= width - 0.5 or box[1] >= height - 0.5:
            raise BoxOutsideImageError(
                f"{what} {shown} lies entirely outside the {width}x{height} image; "
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


def thin_plate_maps(
    shape: tuple[int, ...], sources: np.ndarray, targets: np.ndarray, step: int = 4
) -> tuple[np.ndarray, np.ndarray]:
    """Backward ``cv2.remap`` maps (x, y) of the thin-plate spline that carries each ``sources``
    point (N, 2) to its ``targets`` point: the output pixel at a target samples its source, so
    an image warped with the maps shows every control point exactly where it was sent, and the
    rest follows smoothly. Control points closer than half a pixel to an earlier one are dropped
    (annotations often repeat a point; the spline's system would be singular). The spline is
    evaluated every ``step`` pixels and interpolated bilinearly. Needs scipy."""
    import cv2
    from scipy.interpolate import RBFInterpolator

    height, width = shape[:2]
    sources, targets = np.asarray(sources, np.float64), np.asarray(targets, np.float64)
    keep: list[int] = []
    for index, point in enumerate(targets):
        if all(np.linalg.norm(point - targets[k]) >= 0.5 for k in keep):
            keep.append(index)
    spline = RBFInterpolator(targets[keep], sources[keep] - targets[keep], kernel="thin_plate_spline")
    ys, xs = np.mgrid[0 : height + 2 * step : step, 0 : width + 2 * step : step].astype(np.float64)
    coarse = spline(np.stack([xs.ravel(), ys.ravel()], axis=1)).reshape(*xs.shape, 2).astype(np.float32)
    # coarse node (i, j) sits at pixel (j * step, i * step): an affine resize onto the pixel grid
    scale = np.float32([[1.0 / step, 0, 0], [0, 1.0 / step, 0]])
    full = cv2.warpAffine(
        coarse, scale, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    grid_y, grid_x = np.mgrid[0:height, 0:width].astype(np.float32)
    return grid_x + full[..., 0], grid_y + full[..., 1]


def folds(maps: tuple[np.ndarray, np.ndarray], min_jacobian: float = 0.2) -> bool:
    """Whether backward ``maps`` fold or nearly fold the image somewhere: the Jacobian determinant
    of the map drops below ``min_jacobian`` (1 is no change of area; 0 or less, a fold)."""
    xs, ys = (np.asarray(m, np.float64) for m in maps)
    dxdu, dxdv = np.gradient(xs, axis=1), np.gradient(xs, axis=0)
    dydu, dydv = np.gradient(ys, axis=1), np.gradient(ys, axis=0)
    return bool((dxdu * dydv - dxdv * dydu).min() < min_jacobian)


def forward_points(
    points: np.ndarray, maps: tuple[np.ndarray, np.ndarray], iterations: int = 30
) -> np.ndarray:
    """Where ``points`` (N, 2) land in an image warped with the backward ``maps``: the q with
    q + B(q) = p (B, the map's offset, sampled bilinearly), by Newton's method on the map's
    Jacobian (a plain fixed-point iteration diverges where a warp compresses the image)."""
    import cv2

    xs, ys = (np.asarray(m, np.float32) for m in maps)
    fields = [
        xs,
        ys,
        np.gradient(xs, axis=1),
        np.gradient(xs, axis=0),
        np.gradient(ys, axis=1),
        np.gradient(ys, axis=0),
    ]
    target = np.asarray(points, np.float64)
    moved = target.copy()

    def sample(field: np.ndarray, at: np.ndarray) -> np.ndarray:
        at = at.astype(np.float32).reshape(-1, 1, 2)
        return cv2.remap(
            field, at[..., 0], at[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        ).ravel()

    for _ in range(iterations):
        sx, sy, dxdu, dxdv, dydu, dydv = (sample(np.asarray(f, np.float32), moved) for f in fields)
        residual = np.stack([sx, sy], axis=1) - target  # where q samples from, minus where it should
        jacobian = np.stack([np.stack([dxdu, dxdv], 1), np.stack([dydu, dydv], 1)], 1)  # (N, 2, 2)
        step = np.linalg.solve(jacobian + 1e-6 * np.eye(2), residual[..., None])[..., 0]
        moved = moved - step
    return moved.astype(np.float32)
