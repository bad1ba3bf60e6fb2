"""Left/right facial measures in the head frame, for facial palsy assessment.

All measures are taken after pose normalisation (:func:`.pose.normalize_pose`), so head rotation,
position and size do not change them. Lengths are in units of the subject's inter-canthal distance
(midpoint of 36/39 to midpoint of 42/45) or, with ``scale_mm`` (the subject's *inner* inter-canthal
distance, the inner eye corners 39-42, in millimetres: measured, or :data:`ADULT_INNER_CANTHAL_MM`),
in millimetres; areas in those units squared; angles in degrees. "Right" and
"left" are the subject's sides (right: points 17-21, 36-41, 48; left: 22-26, 42-47, 54), and every
per-side measure reports right, left, difference (right - left) and ratio (right / left).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from parface_sdk.analysis.mirror import mirror_asymmetry
from parface_sdk.pose import RIGID_POINTS, HeadPose, normalize_pose

MIDLINE_POINTS: tuple[int, ...] = (27, 28, 29, 30, 33, 51, 57, 62, 66, 8)

# The average adult inner inter-canthal distance (endocanthion-endocanthion, points 39-42), in mm:
# about 32 mm in adult anthropometric norms (Farkas LG, Anthropometry of the Head and Face, 2nd ed.,
# Raven Press 1994: en-en about 33 mm in men and 32 mm in women; individual values vary by a few mm).
# The photo protocol uses it for mm when no measured --scale-mm is given, and says so.
ADULT_INNER_CANTHAL_MM = 32.0

# name -> (kind, description); kind is "length", "area" or "angle"
SIDE_MEASURES: dict[str, tuple[str, str]] = {
    "brow_height": ("length", "brow (19 / 24) above the eye-corner line 36-45"),
    "eye_opening": ("length", "(|37-41| + |38-40|) / 2 and (|43-47| + |44-46|) / 2"),
    "eye_area": ("area", "area of the eye contour 36-41 / 42-47 seen from the front"),
    "mouth_corner_height": ("length", "mouth corner (48 / 54) above the lower-lip midpoint 57"),
    "mouth_corner_level": ("length", "mouth corner (48 / 54) above the eye-corner line 36-45 (< 0: below)"),
    "mouth_corner_excursion": ("length", "3D distance of the mouth corner from 57"),
    "mouth_corner_midline": ("length", "distance of the mouth corner from the midline plane"),
    "smile_angle": ("angle", "angle of the line 57 -> mouth corner above the horizontal"),
    "eye_mouth_distance": ("length", "|39-48| and |42-54| (their difference is the FAI)"),
    "nostril_midline": ("length", "distance of the nostril (31 / 35) from the midline plane"),
    "nostril_height": ("length", "nostril (31 / 35) above the subnasale 33"),
}
SCALAR_MEASURES: dict[str, tuple[str, str]] = {
    "facial_asymmetry_index": ("length", "| |39-48| - |42-54| |"),
    "midline_rms": ("length", "RMS distance of the midline points from the midline plane"),
    "mirror_total": ("length", "RMS distance of all points from their mirrored partners (3D)"),
    **{
        f"mirror_{region}": ("length", f"mirror asymmetry of the {region} (3D RMS)")
        for region in ("jaw", "brows", "nose", "eyes", "mouth")
    },
}


@dataclass(frozen=True)
class SideMeasure:
    """One measure on the subject's right and left side."""

    right: float
    left: float

    @property
    def difference(self) -> float:
        return self.right - self.left

    @property
    def ratio(self) -> float:
        return self.right / self.left if abs(self.left) > 1e-12 else float("nan")

    def to_dict(self) -> dict[str, float]:
        return {"right": self.right, "left": self.left, "difference": self.difference, "ratio": self.ratio}


@dataclass(frozen=True)
class FaceMeasures:
    """Every measure of one face. ``unit`` is ``"intercanthal"`` or ``"mm"``."""

    sides: dict[str, SideMeasure]
    scalars: dict[str, float]
    midline: dict[int, float]  # signed distance from the midline plane (+ towards the subject's left)
    unit: str
    intercanthal: float  # inter-canthal distance in head units
    head_points: np.ndarray = field(repr=False)  # (68, 3) pose-normalised points, head units
    pose: HeadPose | None = None

    def flat(self) -> dict[str, float]:
        """``{"brow_height.right": ..., "brow_height.ratio": ..., "midline_rms": ...}``"""
        values = {
            f"{name}.{key}": value
            for name, side in self.sides.items()
            for key, value in side.to_dict().items()
        }
        values.update(self.scalars)
        return values

    def to_dict(self) -> dict:
        return {
            "unit": self.unit,
            "sides": {name: side.to_dict() for name, side in self.sides.items()},
            "scalars": dict(self.scalars),
            "midline": {str(k): v for k, v in self.midline.items()},
            "pose": None if self.pose is None else self.pose.to_dict(),
        }


def intercanthal_distance(points: np.ndarray) -> float:
    """The unit of the measures: midpoint of the eye corners 36/39 to midpoint of 42/45."""
    points = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm((points[36] + points[39]) / 2 - (points[42] + points[45]) / 2))


def inner_canthal_distance(points: np.ndarray) -> float:
    """The inner inter-canthal distance |39-42| (endocanthion to endocanthion), the length
    ``scale_mm`` gives in millimetres."""
    points = np.asarray(points, dtype=np.float64)
    return float(np.linalg.norm(points[39] - points[42]))


def head_length_per_unit(head: np.ndarray, scale_mm: float | None = None) -> float:
    """The head-frame length of one unit of the measures of ``head``: its inter-canthal distance
    without ``scale_mm``, else its inner inter-canthal distance / ``scale_mm`` (one mm)."""
    if scale_mm:
        return inner_canthal_distance(head) / scale_mm
    return intercanthal_distance(head)


def unit_scale(scale_mm: float | None) -> float:
    """Roughly how many output units one inter-canthal unit is (1 without ``scale_mm``; with it,
    the mm of the canonical face's inter-canthal distance), for scaling noise floors."""
    if not scale_mm:
        return 1.0
    from parface_sdk.canonical import canonical_face

    face = canonical_face()
    return float(scale_mm * intercanthal_distance(face) / inner_canthal_distance(face))


def _polygon_area(xy: np.ndarray) -> float:
    x, y = xy[:, 0], xy[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def _above_line(point: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """Distance of ``point`` above the line a-b in the frontal (x, y) plane; y points down."""
    direction = (b[:2] - a[:2]) / np.linalg.norm(b[:2] - a[:2])
    normal_up = np.array([direction[1], -direction[0]])  # the line rotated towards -y
    if normal_up[1] > 0:
        normal_up = -normal_up
    return float(np.dot(point[:2] - a[:2], normal_up))


def _per_side(p: np.ndarray) -> dict[str, SideMeasure]:
    dist = np.linalg.norm
    sides: dict[str, SideMeasure] = {}
    sides["brow_height"] = SideMeasure(_above_line(p[19], p[36], p[45]), _above_line(p[24], p[36], p[45]))
    sides["eye_opening"] = SideMeasure(
        (dist(p[37] - p[41]) + dist(p[38] - p[40])) / 2, (dist(p[43] - p[47]) + dist(p[44] - p[46])) / 2
    )
    sides["eye_area"] = SideMeasure(_polygon_area(p[36:42]), _polygon_area(p[42:48]))
    sides["mouth_corner_height"] = SideMeasure(p[57, 1] - p[48, 1], p[57, 1] - p[54, 1])
    sides["mouth_corner_level"] = SideMeasure(
        _above_line(p[48], p[36], p[45]), _above_line(p[54], p[36], p[45])
    )
    sides["mouth_corner_excursion"] = SideMeasure(dist(p[48] - p[57]), dist(p[54] - p[57]))
    sides["mouth_corner_midline"] = SideMeasure(-p[48, 0], p[54, 0])
    sides["smile_angle"] = SideMeasure(
        float(np.degrees(np.arctan2(p[57, 1] - p[48, 1], abs(p[48, 0] - p[57, 0])))),
        float(np.degrees(np.arctan2(p[57, 1] - p[54, 1], abs(p[54, 0] - p[57, 0])))),
    )
    sides["eye_mouth_distance"] = SideMeasure(dist(p[39] - p[48]), dist(p[42] - p[54]))
    sides["nostril_midline"] = SideMeasure(-p[31, 0], p[35, 0])
    sides["nostril_height"] = SideMeasure(p[33, 1] - p[31, 1], p[33, 1] - p[35, 1])
    return {name: SideMeasure(float(m.right), float(m.left)) for name, m in sides.items()}


def measure_head(
    head_points: np.ndarray, scale_mm: float | None = None, pose: HeadPose | None = None
) -> FaceMeasures:
    """Measures of pose-normalised (68, 3) head-frame points (midline plane x = 0)."""
    head = np.asarray(head_points, dtype=np.float64)
    intercanthal = intercanthal_distance(head)
    if not intercanthal > 0:
        raise ValueError("the inter-canthal distance is zero; the landmarks are degenerate")
    if scale_mm is not None and not scale_mm > 0:
        raise ValueError(
            f"scale_mm is the inner inter-canthal distance in mm and must be > 0, got {scale_mm}"
        )
    unit_length = 1.0 / head_length_per_unit(head, scale_mm)
    factor = {"length": unit_length, "area": unit_length**2, "angle": 1.0}
    sides = {
        name: SideMeasure(m.right * factor[SIDE_MEASURES[name][0]], m.left * factor[SIDE_MEASURES[name][0]])
        for name, m in _per_side(head).items()
    }
    midline = {i: float(head[i, 0] * unit_length) for i in MIDLINE_POINTS}
    mirrored = mirror_asymmetry(head, align_points=RIGID_POINTS)
    scalars = {
        "facial_asymmetry_index": abs(sides["eye_mouth_distance"].difference),
        "midline_rms": float(np.sqrt(np.mean(np.square(list(midline.values()))))),
        "mirror_total": mirrored["total_rms"] * unit_length,
        **{f"mirror_{k}": v["rms"] * unit_length for k, v in mirrored["regions"].items()},
    }
    return FaceMeasures(
        sides, scalars, midline, "mm" if scale_mm else "intercanthal", intercanthal, head, pose
    )


def measure_face(
    landmarks: np.ndarray, scale_mm: float | None = None, canonical: np.ndarray | None = None
) -> FaceMeasures:
    """Measures of one face's (68, 3) image landmarks: pose-normalise, then :func:`measure_head`."""
    head, pose = normalize_pose(landmarks, canonical)
    return measure_head(head, scale_mm, pose)
