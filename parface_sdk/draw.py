"""Overlay drawing for results (landmarks coloured by depth, boxes)."""

from __future__ import annotations

import cv2
import numpy as np

from parface_sdk.results import AlignResult

# iBUG-68 contour groups, drawn as polylines: (start, end, closed)
CONTOURS = [
    (0, 17, False),
    (17, 22, False),
    (22, 27, False),
    (27, 31, False),
    (31, 36, False),
    (36, 42, True),
    (42, 48, True),
    (48, 60, True),
    (60, 68, True),
]


def draw_result(image_rgb: np.ndarray, result: AlignResult) -> np.ndarray:
    """A copy of the RGB image with each face's box, contours and landmarks drawn."""
    canvas = image_rgb.copy()
    thickness = max(1, round(max(canvas.shape[:2]) / 400))
    for face in result.faces:
        x0, y0, x1, y1 = face.box.round().astype(int)
        cv2.rectangle(canvas, (x0, y0), (x1, y1), (0, 200, 255), thickness)
        points = face.landmarks[:, :2]
        for start, end, closed in CONTOURS:
            polyline = np.round(points[start:end]).astype(np.int32)
            cv2.polylines(canvas, [polyline], closed, (0, 255, 0), thickness, cv2.LINE_AA)
        depth = face.landmarks[:, 2]
        span = max(float(np.ptp(depth)), 1e-6)
        for (x, y), z in zip(points, depth):
            near = (z - depth.min()) / span  # near the camera: red; far: blue
            colour = (int(255 * near), 64, int(255 * (1 - near)))
            cv2.circle(canvas, (int(round(x)), int(round(y))), thickness + 1, colour, -1, cv2.LINE_AA)
    return canvas
