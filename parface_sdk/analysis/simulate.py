"""Synthetic clips of known truth for calibrating and validating the asymmetry decision.

Every clip is made from one still photo with its 68 annotated points:

- a *still* clip repeats the photo with sensor-like noise and tiny rigid motion (sub-pixel shifts,
  a fraction of a degree of roll): a face that does not move;
- a *head-turn* clip adds a slow rigid head motion (roll, scale, and a yaw approximated by a
  perspective warp of the photo, as if the face were a plane);
- a *droop* clip is a still clip in which, during a task span, one mouth corner or one brow is
  lowered by a known fraction of the inter-ocular distance with an image warp:

  - ``"tps"`` (the default): a thin-plate spline through the annotated points. The drooping
    corner (or every point of the drooping brow) moves by the droop; the eyes, the nose, the jaw
    line, the other side and the lip midline stay put; the lip points between the corner and the
    midline, and the cheek, which has no landmark, follow the spline. The whole hemi-mouth and
    cheek sag together, the way a weak zygomatic muscle lets them, and the warp fades to zero at
    the fixed structures;
  - ``"local"``: a narrow Gaussian bump on the point alone (sigma 0.12 inter-ocular distances for
    the mouth), the harder case of a change that touches almost nothing around it.

A *symmetric expression* clip (``expression=(name, percent)``, a healthy face in the calibration's
null) warps both sides by the same thin-plate amount during the task: ``"smile"`` raises both mouth
corners, ``"brows"`` both brows, ``"lids"`` lowers both upper eyelids, by ``percent`` % IOD, plus a
per-side natural asymmetry (``expression_asymmetry``, % IOD; :func:`natural_asymmetry` draws it
from :data:`NATURAL_ASYMMETRY_PCT`, docs/analysis.md cites the normal ranges).

These are models of a healthy face and of a one-sided change; they are not patient recordings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parface_sdk.analysis.mirror import MIRROR_PERM
from parface_sdk.face_regions import DROOP_POINTS, down_direction
from parface_sdk.geometry import read_pts

logger = logging.getLogger(__name__)

# (right point, left point, horizontal sigma, vertical sigma) of the warp, sigmas in inter-ocular units
DROOP_REGIONS: dict[str, tuple[int, int, float, float]] = {
    "mouth": (48, 54, 0.12, 0.12),
    "brow": (19, 24, 0.22, 0.08),
}


# Symmetric expressions: the region warped on both sides, its direction (+1 towards the chin), and
# the default amount in % IOD of a full healthy expression.
EXPRESSIONS: dict[str, tuple[str, float, float]] = {
    "smile": ("mouth", -1.0, 8.0),
    "brows": ("brow", -1.0, 6.0),
    "lids": ("lids", 1.0, 4.0),
}
# the upper-lid points a "lids" expression lowers (moved; nothing follows freely)
LID_POINTS: dict[str, tuple[tuple[int, ...], tuple[int, ...]]] = {
    "right": ((37, 38), ()),
    "left": ((43, 44), ()),
}
# Standard deviation (% of the outer inter-ocular distance, about 90 mm in adults) of the healthy
# side-to-side difference of each expression's movement: about 1.2 mm for the smile's mouth
# corners and the brows (healthy smiles differ between sides by up to a few mm), 0.5 mm for the
# lids. docs/analysis.md ("A null with healthy expressions") gives the sources.
NATURAL_ASYMMETRY_PCT: dict[str, float] = {"smile": 1.3, "brows": 1.3, "lids": 0.55}


def natural_asymmetry(expression: str, rng: np.random.Generator) -> tuple[float, float]:
    """Per-side extra movement (right, left; % IOD) of a healthy face making ``expression``: the
    two sides differ by a normal amount with the standard deviation of
    :data:`NATURAL_ASYMMETRY_PCT`, split evenly between them."""
    difference = rng.normal(0.0, NATURAL_ASYMMETRY_PCT[expression])
    return difference / 2, -difference / 2


@dataclass(frozen=True)
class Subject:
    """One photo (BGR) and its (68, 2) annotated points, 0-based pixels."""

    name: str
    image: np.ndarray
    points: np.ndarray

    @property
    def interocular(self) -> float:
        return float(np.linalg.norm(self.points[36] - self.points[45]))

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (*self.points.min(axis=0), *self.points.max(axis=0))

    def mirrored(self) -> Subject:
        """The photo flipped left-right, its points relabelled with the mirror permutation."""
        width = self.image.shape[1]
        points = self.points[list(MIRROR_PERM)].copy()
        points[:, 0] = width - 1 - points[:, 0]
        return Subject(f"{self.name}-mirrored", np.ascontiguousarray(self.image[:, ::-1]), points)


def is_frontal(points: np.ndarray, min_interocular: float = 60.0) -> bool:
    """Near-frontal, upright and large enough: the way a clinical recording is framed."""
    ocular = float(np.linalg.norm(points[45] - points[36]))
    centred = abs(points[30, 0] - (points[36, 0] + points[45, 0]) / 2) < 0.06 * ocular
    level = abs(points[36, 1] - points[45, 1]) < 0.06 * ocular
    return ocular >= min_interocular and centred and level


def load_subjects(
    folders: list[Path],
    count: int | None,
    seed: int = 0,
    select: Callable[[str], bool] | None = None,
) -> list[Subject]:
    """``count`` different near-frontal annotated photos, drawn with ``seed`` from ``folders``
    (``None``: every one there is); ``select``, when given, keeps only the names (file stems) it
    accepts."""
    import cv2

    candidates = sorted(p for folder in folders for p in Path(folder).glob("*.pts"))
    order = np.random.default_rng(seed).permutation(len(candidates))
    subjects: list[Subject] = []
    for index in order:
        if select is not None and not select(candidates[index].stem):
            continue
        points = read_pts(candidates[index]).astype(np.float64)
        if not is_frontal(points):
            continue
        image = cv2.imread(str(candidates[index].with_suffix(".jpg")))
        if image is None:
            logger.warning("%s: no readable image next to the points; skipped", candidates[index])
            continue
        subjects.append(Subject(candidates[index].stem, image, points))
        if len(subjects) == count:
            return subjects
    if count is None:
        return subjects
    raise ValueError(f"only {len(subjects)} near-frontal faces in {folders}, {count} asked for")


def _noisy(frame: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    return np.clip(frame + rng.normal(0.0, noise, frame.shape), 0, 255).astype(np.uint8)


def _jiggle(rng: np.random.Generator, centre: np.ndarray, shift: float, roll: float) -> np.ndarray:
    """A 3x3 tiny random similarity about ``centre``: the camera or the head never quite still."""
    import cv2

    matrix = cv2.getRotationMatrix2D(tuple(map(float, centre)), rng.uniform(-roll, roll), 1.0)
    matrix[:, 2] += rng.uniform(-shift, shift, 2)
    return np.vstack([matrix, [0.0, 0.0, 1.0]])


def _yaw_homography(centre: np.ndarray, interocular: float, yaw_deg: float) -> np.ndarray:
    """Perspective image of the face plane turned by ``yaw_deg`` about the vertical axis through
    ``centre`` (camera at about 6 face widths)."""
    distance = 6.0 * 2.5 * interocular
    angle = np.radians(yaw_deg)
    # plane point (u, v, 0) -> (u cos, v, u sin); projected with focal = distance
    to_centre = np.array([[1, 0, -centre[0]], [0, 1, -centre[1]], [0, 0, 1.0]])
    project = np.array([[distance * np.cos(angle), 0, 0], [0, distance, 0], [-np.sin(angle), 0, distance]])
    back = np.array([[1, 0, centre[0]], [0, 1, centre[1]], [0, 0, 1.0]])
    return back @ project @ to_centre


def droop_maps(
    shape: tuple[int, ...],
    subject: Subject,
    region: str,
    side: str,
    percent: float,
    warp: str = "tps",
):
    """Inverse ``cv2.remap`` maps (x, y) that lower the ``side`` mouth corner or brow of
    ``subject`` by ``percent`` of its inter-ocular distance (negative: raise it); ``warp`` is
    ``"tps"`` or ``"local"`` (module docstring)."""
    if (region, side) not in DROOP_POINTS:
        raise ValueError(f"region is 'mouth' or 'brow' and side 'right' or 'left', got {region!r}, {side!r}")
    if warp == "tps":
        return _tps_maps(shape, subject, region, side, percent)
    if warp != "local":
        raise ValueError(f"warp is 'tps' or 'local', got {warp!r}")
    return _local_maps(shape, subject, region, side, percent)


def _tps_maps(shape, subject: Subject, region: str, side: str, percent: float):
    """The thin-plate spline droop: moved points go ``percent`` % IOD towards the chin, the free
    lip points follow, every other landmark and the image border stay put."""
    from parface_sdk.geometry import thin_plate_maps

    height, width = shape[:2]
    moved, free = DROOP_POINTS[region, side]
    shift = percent / 100.0 * subject.interocular * down_direction(subject.points)
    held = [i for i in range(68) if i not in moved and i not in free]
    border = [
        (x, y)
        for x in (0.0, width / 2, width - 1.0)
        for y in (0.0, height / 2, height - 1.0)
        if (x, y) != (width / 2, height / 2)
    ]
    sources = np.vstack([subject.points[list(moved)], subject.points[held], np.asarray(border)])
    targets = sources.copy()
    targets[: len(moved)] += shift
    return thin_plate_maps(shape, sources, targets, step=2)


def expression_maps(
    shape: tuple[int, ...],
    subject: Subject,
    expression: str,
    percent: float,
    asymmetry: tuple[float, float] = (0.0, 0.0),
):
    """Inverse ``cv2.remap`` maps of a symmetric thin-plate expression (:data:`EXPRESSIONS`):
    both sides' points move ``percent`` % IOD (plus ``asymmetry`` = per-side extra, right, left)
    in the expression's direction; every other landmark and the image border stay put."""
    from parface_sdk.geometry import thin_plate_maps

    if expression not in EXPRESSIONS:
        raise ValueError(f"expression is one of {', '.join(EXPRESSIONS)}, got {expression!r}")
    region, sign, _ = EXPRESSIONS[expression]
    height, width = shape[:2]
    down = down_direction(subject.points)
    moved, free, shifts = [], [], []
    for side, extra in zip(("right", "left"), asymmetry):
        points, following = LID_POINTS[side] if region == "lids" else DROOP_POINTS[region, side]
        moved += list(points)
        free += list(following)
        shifts += [sign * (percent + extra) / 100.0 * subject.interocular * down] * len(points)
    held = [i for i in range(68) if i not in moved and i not in free]
    border = [
        (x, y)
        for x in (0.0, width / 2, width - 1.0)
        for y in (0.0, height / 2, height - 1.0)
        if (x, y) != (width / 2, height / 2)
    ]
    sources = np.vstack([subject.points[moved], subject.points[held], np.asarray(border)])
    targets = sources.copy()
    targets[: len(moved)] += np.asarray(shifts)
    return thin_plate_maps(shape, sources, targets, step=2)


def _local_maps(shape, subject: Subject, region: str, side: str, percent: float):
    """A Gaussian RBF bump on the point (``DROOP_REGIONS`` sigmas).

    The bump is centred on where the point lands (``c + s``), whose pixel samples ``c + s - s``:
    the landmark itself moves by exactly ``s``, and the map does not fold while ``s < 1.6 sigma``.
    """
    right, left, sigma_x, sigma_y = DROOP_REGIONS[region]
    centre = subject.points[right if side == "right" else left]
    ocular = subject.interocular
    shift = percent / 100.0 * ocular
    sx, sy = sigma_x * ocular, sigma_y * ocular
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    weight = np.exp(-((xs - centre[0]) ** 2) / (2 * sx**2) - (ys - centre[1] - shift) ** 2 / (2 * sy**2))
    return xs, (ys - shift * weight).astype(np.float32)


def make_clip(
    subject: Subject,
    kind: str = "still",
    frames: int = 30,
    fps: float = 15.0,
    seed: int = 0,
    droop: tuple[str, str, float] | None = None,
    task: tuple[float, float] = (1.0, 2.0),
    noise: float = 2.0,
    shift_px: float = 0.5,
    roll_deg: float = 0.2,
    turn_deg: float = 8.0,
    warp: str = "tps",
    expression: tuple[str, float] | None = None,
    expression_asymmetry: tuple[float, float] = (0.0, 0.0),
) -> list[np.ndarray]:
    """BGR frames of ``subject``: ``kind`` ``"still"`` or ``"turn"`` (a head turn of up to
    ``turn_deg`` degrees); ``droop=(region, side, percent)`` lowers that side during ``task``
    seconds (ramping in over 0.2 s) with the ``warp`` of :func:`droop_maps`;
    ``expression=(name, percent)`` instead makes a symmetric expression during ``task``
    (:func:`expression_maps`, with ``expression_asymmetry``)."""
    import cv2

    if kind not in ("still", "turn"):
        raise ValueError(f"kind is 'still' or 'turn', got {kind!r}")
    if droop is not None and expression is not None:
        raise ValueError("a clip has a droop or an expression, not both")
    rng = np.random.default_rng(seed)
    image, height, width = subject.image, subject.image.shape[0], subject.image.shape[1]
    centre = subject.points.mean(axis=0)
    maps = None if droop is None else droop_maps(image.shape, subject, *droop, warp=warp)
    if expression is not None:
        maps = expression_maps(image.shape, subject, *expression, asymmetry=expression_asymmetry)
    base_y, base_x = np.mgrid[0:height, 0:width].astype(np.float32)
    clip = []
    for index in range(frames):
        time = index / fps
        frame = image
        if maps is not None and task[0] <= time < task[1]:
            amount = min(1.0, (time - task[0]) / 0.2 + 1.0 / fps / 0.2)
            xs, ys = maps
            frame = cv2.remap(
                image,
                base_x + amount * (xs - base_x),
                base_y + amount * (ys - base_y),
                cv2.INTER_LINEAR,
                borderMode=cv2.BORDER_REFLECT,
            )
        matrix = _jiggle(rng, centre, shift_px, roll_deg)
        if kind == "turn":
            phase = 2 * np.pi * time / (frames / fps)
            turn = cv2.getRotationMatrix2D(
                tuple(map(float, centre)), 0.6 * turn_deg * np.sin(phase), 1.0 + 0.04 * np.sin(2 * phase)
            )
            matrix = (
                matrix
                @ np.vstack([turn, [0, 0, 1.0]])
                @ _yaw_homography(centre, subject.interocular, turn_deg * np.sin(phase + 1.0))
            )
        warped = cv2.warpPerspective(
            frame, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
        )
        clip.append(_noisy(warped, rng, noise))
    return clip
