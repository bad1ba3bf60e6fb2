"""A clip, from frames to measures: the one path shared by ``parface analyze``, the example and the
calibration benchmark, so that the calibrated thresholds apply to exactly what users run. (Not
:mod:`parface_sdk.pipeline`, the core's image stages.)"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from parface_sdk.analysis.flow import LANDMARK_SOURCES, FlowTracker
from parface_sdk.analysis.timeseries import MeasureSeries, measure_sequence

logger = logging.getLogger(__name__)

# Recorded video is smoothed after tracking (zero-lag Savitzky-Golay); tracking itself is raw.
VIDEO_SMOOTHING = "savgol"


def model_sha256(aligner) -> str | None:
    """SHA-256 of the aligner's model file, the key the asymmetry calibration is stored under."""
    from parface_sdk.models import sha256_of

    path = getattr(aligner, "model_path", None)
    return sha256_of(path) if path is not None and path.is_file() else None


class KeptFrames:
    """The tracked frames, kept losslessly in memory (PNG) so that a report's overlay image needs no
    second decode of the video: ``kept[index]`` is the RGB frame ``index`` (None: not kept)."""

    def __init__(self) -> None:
        self._frames: list[np.ndarray | None] = []

    def append(self, rgb: np.ndarray | None) -> None:
        import cv2

        if rgb is None:
            self._frames.append(None)
            return
        ok, encoded = cv2.imencode(
            ".png", np.ascontiguousarray(rgb[:, :, ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 1]
        )
        self._frames.append(encoded if ok else None)

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index: int) -> np.ndarray | None:
        import cv2

        encoded = self._frames[index]
        if encoded is None:
            return None
        return np.ascontiguousarray(cv2.imdecode(encoded, cv2.IMREAD_COLOR)[:, :, ::-1])


def track_landmarks(
    aligner,
    frames: Any,
    landmarks: str = "model",
    kept: KeptFrames | None = None,
    found: list[bool] | None = None,
    **track_options: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Track ``frames`` (anything :func:`parface_sdk.video.track` accepts) without live smoothing:
    (T, 68, 3) image landmarks (NaN where no face) and (T,) timestamps in seconds.

    ``landmarks="flow"`` follows the model's landmarks by optical flow from the first frame with a
    face (:mod:`parface_sdk.analysis.flow`); ``"model"`` gives the model's landmarks. ``kept`` (a
    :class:`KeptFrames`) receives every frame, ``found`` (a list) whether the tracker found a face in
    it. Each frame is decoded and converted once, by the
    tracker (``with_frames=True``); the flow and ``kept`` use the tracker's RGB image."""
    from parface_sdk.errors import InvalidOptionError
    from parface_sdk.video import track

    if landmarks not in LANDMARK_SOURCES:
        raise InvalidOptionError(f"landmarks must be one of {', '.join(LANDMARK_SOURCES)}, got {landmarks!r}")
    track_options.setdefault("smoothing", "none")
    flow = FlowTracker() if landmarks == "flow" else None
    if flow is not None or kept is not None:
        track_options["with_frames"] = True
    times, points = [], []
    for tracked in track(aligner, frames, **track_options):
        times.append(tracked.timestamp)
        if kept is not None:
            kept.append(tracked.frame)
        face = tracked.face
        if found is not None:
            found.append(face is not None)
        reading = None if face is None else np.asarray(face.landmarks, np.float64)
        if flow is not None and reading is not None:
            reading = flow.update(tracked.frame, reading)
        points.append(np.full((68, 3), np.nan) if reading is None else reading)
    if flow is not None:
        logger.info(
            "flow used for %.0f %% of the landmark readings; %d of %d frames after the reference "
            "took the model's landmarks (the flow lost a point the asymmetry decision reads)",
            100 * flow.coverage,
            flow.fallbacks,
            flow.frames,
        )
    if not points:
        return np.zeros((0, 68, 3)), np.zeros(0)
    return np.stack(points), np.asarray(times, dtype=np.float64)


def measure_clip(
    aligner,
    frames: Any,
    smoothing: str = VIDEO_SMOOTHING,
    scale_mm: float | None = None,
    landmarks: str = "model",
    **track_options: Any,
) -> MeasureSeries:
    """Track ``frames`` (``landmarks``: see :func:`track_landmarks`) and measure every frame (see
    :func:`measure_sequence`)."""
    points, times = track_landmarks(aligner, frames, landmarks, **track_options)
    return measure_sequence(points, times, scale_mm, smoothing, landmark_source=landmarks)
