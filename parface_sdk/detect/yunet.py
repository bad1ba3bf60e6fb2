"""YuNet face detector through OpenCV's ``cv2.FaceDetectorYN`` (model file given by the caller).

YuNet (libfacedetection, Shiqi Yu et al.) is MIT-licensed, as published in OpenCV Zoo
(``face_detection_yunet_2023mar.onnx`` and later).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from parface_sdk.detect.base import Detections, check_image
from parface_sdk.errors import DetectorUnavailableError, ModelLoadError


class YuNetDetector:
    """YuNet with its 5 keypoints; OpenCV does the decoding and NMS."""

    name = "yunet"
    # Calibrated on 300-W train (benchmarks/detectors/results.json).
    box_to_landmark_scale = 0.788
    center_shift = (0.005, 0.124)

    def __init__(
        self,
        model_path: str | Path | None,
        score_threshold: float = 0.5,
        nms_threshold: float = 0.3,
        top_k: int = 5000,
    ):
        if model_path is None or not Path(model_path).is_file():
            raise DetectorUnavailableError(
                f"YuNet needs its model file, got {model_path!r}: pass detector_model="
                "'face_detection_yunet_2023mar.onnx' (OpenCV Zoo, models/face_detection_yunet)"
            )
        if not hasattr(cv2, "FaceDetectorYN"):
            raise DetectorUnavailableError(
                f"OpenCV {cv2.__version__} has no FaceDetectorYN; pip install 'opencv-python-headless>=4.8'"
            )
        self.model_path = Path(model_path)
        self.score_threshold = float(score_threshold)
        try:
            self._detector = cv2.FaceDetectorYN.create(
                str(self.model_path), "", (320, 320), self.score_threshold, nms_threshold, top_k
            )
        except cv2.error as exc:
            raise ModelLoadError(f"OpenCV cannot load {self.model_path} as YuNet ({exc})") from exc
        self._size: tuple[int, int] | None = None

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image = check_image(image_rgb)
        if self._detector is None:
            raise RuntimeError("this detector was closed")
        size = (image.shape[1], image.shape[0])
        if size != self._size:
            self._detector.setInputSize(size)
            self._size = size
        _, rows = self._detector.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        if rows is None or len(rows) == 0:
            return Detections.empty(with_keypoints=True)
        rows = np.asarray(rows, dtype=np.float32)
        boxes = np.concatenate([rows[:, :2], rows[:, :2] + rows[:, 2:4]], axis=1)
        return Detections(boxes, rows[:, 14], rows[:, 4:14].reshape(-1, 5, 2))

    def close(self) -> None:
        self._detector = None
