"""Synthetic clips of known truth for calibrating and validating the asymmetry decision.

Every clip is made from one still photo with its 68 annotated points:

- a *still* clip repeats the photo with sensor-like noise and tiny rigid motion (sub-pixel shifts,
  a fraction of a degree of roll): a face that does not move;
- a *head-turn* clip adds a slow rigid head motion (roll, scale, and a yaw approximated by a
  perspective warp of the photo, as if the face were a plane);
- a *droop* clip is a still clip in which, during a task span, one mouth corner or one brow is
  lowered by a known fraction of the inter-ocular distance with a smooth Gaussian RBF warp.

These are models of a healthy face and of a one-sided change; they are not patient recordings.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parface_sdk.analysis.mirror import MIRROR_PERM
from parface_sdk.geometry import read_pts

logger = logging.getLogger(__name__)

# (right point, left point, horizontal sigma, vertical sigma) of the warp, sigmas in inter-ocular units
DROOP_REGIONS: dict[str, tuple[int, int, float, float]] = {
    "mouth": (48, 54, 0.12, 0.12),
    "brow": (19, 24, 0.22, 0.08),
}


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


def load_subjects(folders: list[Path], count: int, seed: int = 0) -> list[Subject]:
    """``count`` different near-frontal annotated photos, drawn with ``seed`` from ``folders``."""
    import cv2

    candidates = sorted(p for folder in folders for p in Path(folder).glob("*.pts"))
    order = np.random.default_rng(seed).permutation(len(candidates))
    subjects: list[Subject] = []
    for index in order:
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


def droop_maps(shape: tuple[int, ...], subject: Subject, region: str, side: str, percent: float):
    """Inverse ``cv2.remap`` maps that lower the ``side`` mouth corner or brow of ``subject`` by
    ``percent`` of its inter-ocular distance, fading smoothly (Gaussian RBF) away from it.

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
) -> list[np.ndarray]:
    """BGR frames of ``subject``: ``kind`` ``"still"`` or ``"turn"``; ``droop=(region, side,
    percent)`` lowers that side during ``task`` seconds (ramping in over 0.2 s)."""
    import cv2

    if kind not in ("still", "turn"):
        raise ValueError(f"kind is 'still' or 'turn', got {kind!r}")
    rng = np.random.default_rng(seed)
    image, height, width = subject.image, subject.image.shape[0], subject.image.shape[1]
    centre = subject.points.mean(axis=0)
    maps = None if droop is None else droop_maps(image.shape, subject, *droop)
    clip = []
    for index in range(frames):
        time = index / fps
        frame = image
        if maps is not None and task[0] <= time < task[1]:
            amount = min(1.0, (time - task[0]) / 0.2 + 1.0 / fps / 0.2)
            xs, ys = maps
            base_y = np.mgrid[0:height, 0:width][0].astype(np.float32)
            frame = cv2.remap(
                image, xs, base_y + amount * (ys - base_y), cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
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
