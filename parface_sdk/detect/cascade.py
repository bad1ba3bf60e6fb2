"""OpenCV's Haar cascade (frontal faces), for OpenCV 4.x builds that still ship it.

OpenCV 5 removed ``cv2.CascadeClassifier`` and the bundled ``cv2.data`` cascade files; with it
this detector is unavailable (the default BlazeFace detector needs only onnxruntime).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from parface_sdk.detect.base import Detections, check_image
from parface_sdk.errors import DetectorUnavailableError

DEFAULT_CASCADE = "haarcascade_frontalface_default.xml"


def cascade_file(model_path: str | Path | None = None) -> Path | None:
    if model_path is not None:
        return Path(model_path) if Path(model_path).is_file() else None
    folder = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if folder is None or not (Path(folder) / DEFAULT_CASCADE).is_file():
        return None
    return Path(folder) / DEFAULT_CASCADE


class CascadeDetector:
    """Viola-Jones detection; the score is ``neighbours / (neighbours + min_neighbors)``, so >= 0.5."""

    name = "cascade"
    # Calibrated on 300-W train (benchmarks/detectors/results.json, haarcascade_frontalface_default).
    box_to_landmark_scale = 0.872
    center_shift = (0.014, 0.149)

    def __init__(
        self,
        model_path: str | Path | None = None,
        score_threshold: float = 0.5,
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_size_fraction: float = 0.05,
    ):
        if not hasattr(cv2, "CascadeClassifier"):
            raise DetectorUnavailableError(
                f"OpenCV {cv2.__version__} has no CascadeClassifier (removed in OpenCV 5); "
                "use the default detector='blazeface', or pip install 'opencv-python-headless<5'"
            )
        path = cascade_file(model_path)
        if path is None:
            raise DetectorUnavailableError(
                f"no Haar cascade file (given {model_path!r}, cv2.data has none); pass "
                f"detector_model='.../{DEFAULT_CASCADE}' or pip install 'opencv-python-headless<5'"
            )
        self.model_path = path
        self._cascade = cv2.CascadeClassifier(str(path))
        if self._cascade.empty():
            raise DetectorUnavailableError(f"OpenCV could not read the cascade {path}")
        self.score_threshold = float(score_threshold)
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors
        self.min_size_fraction = min_size_fraction

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image = check_image(image_rgb)
        if self._cascade is None:
            raise RuntimeError("this detector was closed")
        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        smallest = max(int(self.min_size_fraction * min(gray.shape)), 20)
        rects, neighbours = self._cascade.detectMultiScale2(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors, minSize=(smallest, smallest)
        )
        if len(rects) == 0:
            return Detections.empty()
        rects = np.asarray(rects, np.float32).reshape(-1, 4)
        neighbours = np.asarray(neighbours, np.float32).reshape(-1)
        scores = neighbours / (neighbours + self.min_neighbors)
        keep = scores >= self.score_threshold
        boxes = np.concatenate([rects[:, :2], rects[:, :2] + rects[:, 2:]], axis=1)
        return Detections(boxes[keep], scores[keep])

    def close(self) -> None:
        self._cascade = None
