"""SCRFD face detector (insightface model packs) on the project's own onnxruntime session.

The model files are insightface's (e.g. ``buffalo_l/det_10g.onnx``, ``buffalo_sc/det_500m.onnx``,
``scrfd_500m_bnkps.onnx``). Their licence is insightface's: non-commercial research only.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import cv2
import numpy as np

from parface_sdk.detect.base import Detections, check_image
from parface_sdk.detect.nms import nms
from parface_sdk.errors import DetectorUnavailableError, ModelLoadError

logger = logging.getLogger(__name__)

# Best first: the 10 GFLOP packs, then the 2.5 and 0.5 GFLOP ones.
PACK_FILES = (
    "buffalo_l/det_10g.onnx",
    "antelopev2/scrfd_10g_bnkps.onnx",
    "buffalo_m/det_2.5g.onnx",
    "buffalo_s/det_500m.onnx",
    "buffalo_sc/det_500m.onnx",
)
DEFAULT_INPUT_SIZE = 640
# (strides, anchors per cell) by the number of score outputs, as in insightface's SCRFD.
_LAYOUTS = {3: ((8, 16, 32), 2), 5: ((8, 16, 32, 64, 128), 1)}


def insightface_root() -> Path:
    """insightface's model folder: ``$INSIGHTFACE_HOME`` or ``~/.insightface``, then ``models``."""
    return Path(os.environ.get("INSIGHTFACE_HOME", Path.home() / ".insightface")).expanduser() / "models"


def find_scrfd_model(model_path: str | Path | None = None) -> Path | None:
    """A SCRFD ``.onnx``: ``model_path`` (a file, or a folder holding a pack), else the best
    pack in insightface's model folder, else ``None``."""
    if model_path is not None:
        path = Path(model_path).expanduser()
        if path.is_file():
            return path
        if path.is_dir():
            found = sorted(path.glob("det_*.onnx")) + sorted(path.glob("scrfd*.onnx"))
            return found[0] if found else None
        return None
    root = insightface_root()
    for relative in PACK_FILES:
        if (root / relative).is_file():
            return root / relative
    found = sorted(root.glob("*/det_*.onnx")) + sorted(root.glob("*/scrfd*.onnx")) if root.is_dir() else []
    return found[0] if found else None


class SCRFDDetector:
    """SCRFD with or without its 5 keypoints; any of the 6/9 (3 strides) or 10/15 (5 strides) layouts."""

    name = "scrfd"
    # Calibrated on 300-W train (benchmarks/detectors/results.json, scrfd_500m_bnkps).
    box_to_landmark_scale = 0.781
    center_shift = (-0.001, 0.129)

    def __init__(
        self,
        model_path: str | Path | None = None,
        device: str = "cpu",
        score_threshold: float = 0.5,
        nms_threshold: float = 0.4,
        input_size: int | tuple[int, int] = DEFAULT_INPUT_SIZE,
        threads: int | None = None,
    ):
        path = find_scrfd_model(model_path)
        if path is None:
            where = model_path if model_path is not None else insightface_root()
            raise DetectorUnavailableError(
                f"no SCRFD model at {where}; pass detector_model='.../det_10g.onnx' (an insightface "
                "model pack file) or put a pack under ~/.insightface/models/ (e.g. buffalo_l)"
            )
        from parface_sdk.backends.ort_session import make_session

        self.model_path = path
        self.score_threshold = float(score_threshold)
        self.nms_threshold = float(nms_threshold)
        self._session = make_session(path, device, threads)
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        height, width = model_input.shape[2:4]
        if isinstance(height, int) and isinstance(width, int) and height > 0 and width > 0:
            self.input_size = (width, height)  # a fixed-size model decides
        else:
            size = (input_size, input_size) if isinstance(input_size, int) else tuple(input_size)
            self.input_size = (int(size[0]), int(size[1]))
        outputs = len(self._session.get_outputs())
        levels = next((fmc for fmc in _LAYOUTS if outputs in (2 * fmc, 3 * fmc)), None)
        if levels is None:
            raise ModelLoadError(
                f"{path} has {outputs} outputs; a SCRFD model has 6 or 9 (3 strides) or 10 or 15 (5 strides)"
            )
        self._levels = levels
        self._strides, self._anchors = _LAYOUTS[levels]
        self._has_keypoints = outputs == 3 * levels
        self._centres: dict[tuple[int, int, int], np.ndarray] = {}
        logger.debug("SCRFD %s: input %s, %d outputs", path.name, self.input_size, outputs)

    def detect(self, image_rgb: np.ndarray) -> Detections:
        image = check_image(image_rgb)
        if self._session is None:
            raise RuntimeError("this detector was closed")
        blob, scale = self._letterbox(image)
        outputs = self._session.run(None, {self._input_name: blob})
        boxes, scores, keypoints = self._decode(outputs, blob.shape[2], blob.shape[3])
        if len(scores) == 0:
            return Detections.empty(with_keypoints=self._has_keypoints)
        boxes /= scale
        keep = nms(boxes, scores, self.nms_threshold)
        return Detections(boxes[keep], scores[keep], None if keypoints is None else keypoints[keep] / scale)

    def close(self) -> None:
        self._session = None

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, float]:
        """Resize keeping the aspect ratio into the top-left of the input, as insightface does."""
        width, height = self.input_size
        if image.shape[0] / image.shape[1] > height / width:
            new_height, new_width = height, int(height / (image.shape[0] / image.shape[1]))
        else:
            new_width, new_height = width, int(width * image.shape[0] / image.shape[1])
        new_width, new_height = max(new_width, 1), max(new_height, 1)
        canvas = np.zeros((height, width, 3), np.float32)
        canvas[:new_height, :new_width] = cv2.resize(image, (new_width, new_height))
        # The padding is black pixels before normalisation, as in insightface.
        blob = (canvas - 127.5) / 128.0
        return np.ascontiguousarray(blob.transpose(2, 0, 1)[None]), new_height / image.shape[0]

    def _anchor_centres(self, rows: int, cols: int, stride: int) -> np.ndarray:
        key = (rows, cols, stride)
        if key not in self._centres:
            grid = np.stack(np.mgrid[:rows, :cols][::-1], axis=-1).astype(np.float32) * stride
            self._centres[key] = np.repeat(grid.reshape(-1, 2), self._anchors, axis=0)
        return self._centres[key]

    def _decode(self, outputs: list[np.ndarray], height: int, width: int):
        levels = self._levels
        all_boxes, all_scores, all_points = [], [], []
        for level, stride in enumerate(self._strides):
            scores = outputs[level].reshape(-1)
            picked = np.flatnonzero(scores >= self.score_threshold)
            if len(picked) == 0:
                continue
            centres = self._anchor_centres(height // stride, width // stride, stride)[picked]
            distances = outputs[levels + level].reshape(-1, 4)[picked] * stride
            all_boxes.append(np.concatenate([centres - distances[:, :2], centres + distances[:, 2:]], axis=1))
            all_scores.append(scores[picked])
            if self._has_keypoints:
                offsets = outputs[2 * levels + level].reshape(-1, 5, 2)[picked] * stride
                all_points.append(centres[:, None, :] + offsets)
        if not all_scores:
            return np.zeros((0, 4), np.float32), np.zeros(0, np.float32), None
        points = np.concatenate(all_points).astype(np.float32) if self._has_keypoints else None
        return (
            np.concatenate(all_boxes).astype(np.float32),
            np.concatenate(all_scores).astype(np.float32),
            points,
        )
