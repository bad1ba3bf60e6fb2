"""Regions of the 68-point face shared by the palsy simulation (:mod:`parface_sdk.analysis.simulate`)
and the training augmentation (:mod:`parface_training.data.augment`): which points a droop moves,
and which way is down. Core: numpy only, imports nothing of the package.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DROOP_POINTS", "down_direction"]

# The thin-plate droop of each region and side: the points it moves, and the points that follow
# the spline freely (neither moved nor held): the lip between the drooping corner and the midline;
# for a brow, that side's upper eyelid and the top of the jaw line beside the brow's tail (a low
# brow pushes the lid down, and holding points a few pixels under a moving brow folds the image).
DROOP_POINTS: dict[tuple[str, str], tuple[tuple[int, ...], tuple[int, ...]]] = {
    ("mouth", "right"): ((48,), (49, 50, 58, 59, 60, 61, 67)),
    ("mouth", "left"): ((54,), (52, 53, 55, 56, 63, 64, 65)),
    ("brow", "right"): ((17, 18, 19, 20, 21), (0, 37, 38)),
    ("brow", "left"): ((22, 23, 24, 25, 26), (16, 43, 44)),
}


def down_direction(points: np.ndarray) -> np.ndarray:
    """Unit vector perpendicular to the eye-corner line, towards the chin."""
    across = points[45] - points[36]
    down = np.array([-across[1], across[0]]) / np.linalg.norm(across)
    return down if down @ (points[57] - points[27]) > 0 else -down
