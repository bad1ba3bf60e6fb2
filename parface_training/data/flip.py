"""Horizontal flip of 68-point iBUG landmarks: mirror x and swap left/right point indices.

The permutation is a copy of ``300w-subset/flip_perm_68.txt`` (0-based; a test keeps the two
equal), so the installed package needs no data folder.
"""

from __future__ import annotations

import numpy as np

# new[i] = mirrored[FLIP_PERM_68[i]]: jaw j<->16-j, brows, nostrils, eyes, outer and inner lips.
FLIP_PERM_68: tuple[int, ...] = (
    16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0,
    26, 25, 24, 23, 22, 21, 20, 19, 18, 17,
    27, 28, 29, 30, 35, 34, 33, 32, 31,
    45, 44, 43, 42, 47, 46, 39, 38, 37, 36, 41, 40,
    54, 53, 52, 51, 50, 49, 48, 59, 58, 57, 56, 55,
    64, 63, 62, 61, 60, 67, 66, 65,
)  # fmt: skip


def load_flip_perm(path) -> np.ndarray:
    """Read a whitespace-separated 0-based permutation file (e.g. ``flip_perm_68.txt``)."""
    with open(path) as handle:
        return np.array([int(v) for v in handle.read().split()], dtype=np.int64)


def flip_landmarks(landmarks: np.ndarray, width: int, perm=FLIP_PERM_68) -> np.ndarray:
    """Landmarks of the horizontally mirrored image of ``width`` pixels.

    0-based pixel centres: ``x' = width - 1 - x``; y and z (depth) are unchanged, then points are
    re-indexed so that, e.g., the subject's right eye corner stays index 36.
    """
    points = np.array(landmarks, dtype=np.float32, copy=True)
    if points.shape[0] != len(perm):
        raise ValueError(f"flip permutation has {len(perm)} entries, landmarks have {points.shape[0]}")
    points[:, 0] = (width - 1) - points[:, 0]
    return points[np.asarray(perm)]


def flip_image(image: np.ndarray) -> np.ndarray:
    """Mirror an (H, W, C) image left-right (a contiguous copy)."""
    return np.ascontiguousarray(image[:, ::-1])
