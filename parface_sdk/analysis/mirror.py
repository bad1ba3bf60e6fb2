"""Left-right mirroring of the 68 iBUG points and regional 3D asymmetry from it.

Mirroring reflects a face in the head frame's midline plane (x -> -x) and relabels the points with
:data:`MIRROR_PERM` (point ``i`` of the mirrored face is the reflection of point ``MIRROR_PERM[i]``),
so a perfectly symmetric face equals its mirror image.
"""

from __future__ import annotations

import numpy as np

from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.pose import umeyama

# The verified horizontal-flip permutation of the iBUG 68 points (300-W ``flip_perm_68.txt``).
MIRROR_PERM: tuple[int, ...] = (
    16,
    15,
    14,
    13,
    12,
    11,
    10,
    9,
    8,
    7,
    6,
    5,
    4,
    3,
    2,
    1,
    0,  # jaw
    26,
    25,
    24,
    23,
    22,
    21,
    20,
    19,
    18,
    17,  # brows
    27,
    28,
    29,
    30,
    35,
    34,
    33,
    32,
    31,  # nose bridge, nostrils
    45,
    44,
    43,
    42,
    47,
    46,
    39,
    38,
    37,
    36,
    41,
    40,  # eyes
    54,
    53,
    52,
    51,
    50,
    49,
    48,
    59,
    58,
    57,
    56,
    55,  # outer lips
    64,
    63,
    62,
    61,
    60,
    67,
    66,
    65,  # inner lips
)

# Facial regions for the regional asymmetry (each is closed under MIRROR_PERM).
REGIONS: dict[str, tuple[int, ...]] = {
    "jaw": tuple(range(0, 17)),
    "brows": tuple(range(17, 27)),
    "nose": tuple(range(27, 36)),
    "eyes": tuple(range(36, 48)),
    "mouth": tuple(range(48, 68)),
}


def _check(points: np.ndarray) -> np.ndarray:
    points = np.asarray(points, dtype=np.float64)
    if points.ndim < 2 or points.shape[-2:] != (68, 3):
        raise UnsupportedShapeError(f"expected 68 3D points (..., 68, 3), got {points.shape}")
    return points


def mirror(points: np.ndarray) -> np.ndarray:
    """The mirror image of (..., 68, 3) head-frame points in the plane x = 0, relabelled."""
    mirrored = _check(points)[..., MIRROR_PERM, :].copy()
    mirrored[..., 0] *= -1.0
    return mirrored


def mirror_asymmetry(points: np.ndarray, align_points: tuple[int, ...] | None = None) -> dict:
    """Regional 3D asymmetry of one face: how far each point lies from its mirrored partner.

    The mirror image is rigidly aligned (rotation and translation, no scale) to the face on
    ``align_points`` (default: all points), so the result does not depend on where the midline
    plane was put. Per point, the distance is half the gap between the point and its mirrored
    partner, i.e. the distance to the best symmetric face, in the units of ``points``.

    Returns ``{"per_point": (68,), "regions": {region: {"rms", "depth_rms"}}, "total_rms"}``;
    ``depth_rms`` is the part of the asymmetry along the head frame's z axis (towards the camera).
    """
    points = _check(points)
    if points.ndim != 2:
        raise UnsupportedShapeError(f"expected one face (68, 3), got {points.shape}")
    mirrored = mirror(points)
    index = list(range(68)) if align_points is None else list(align_points)
    _, rotation, translation = umeyama(mirrored[index], points[index], with_scale=False)
    mirrored = mirrored @ rotation.T + translation
    half_gap = (points - mirrored) / 2.0
    per_point = np.linalg.norm(half_gap, axis=1)
    regions = {
        name: {
            "rms": float(np.sqrt(np.mean(per_point[list(members)] ** 2))),
            "depth_rms": float(np.sqrt(np.mean(half_gap[list(members), 2] ** 2))),
        }
        for name, members in REGIONS.items()
    }
    return {
        "per_point": per_point,
        "regions": regions,
        "total_rms": float(np.sqrt(np.mean(per_point**2))),
    }
