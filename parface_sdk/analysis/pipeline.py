"""The one path from frames to measures, shared by ``parface analyze``, the example and the
calibration benchmark, so that the calibrated thresholds apply to exactly what users run."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from parface_sdk.analysis.flow import FLOW_MODES, FlowRefiner
from parface_sdk.analysis.timeseries import MeasureSeries, measure_sequence

logger = logging.getLogger(__name__)

# Recorded video is smoothed after tracking (zero-lag Savitzky-Golay); tracking itself is raw.
VIDEO_SMOOTHING = "savgol"


def model_sha256(aligner) -> str | None:
    """SHA-256 of the aligner's model file, the key the asymmetry calibration is stored under."""
    from parface_sdk.models import sha256_of

    path = getattr(aligner, "model_path", None)
    return sha256_of(path) if path is not None and path.is_file() else None


def track_landmarks(
    aligner, frames: Any, refine: str = "none", **track_options: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Track ``frames`` (anything :func:`parface_sdk.video.track` accepts) without live smoothing:
    (T, 68, 3) image landmarks (NaN where no face) and (T,) timestamps in seconds.

    ``refine="flow"`` refines them by optical flow from the first frame with a face
    (:mod:`parface_sdk.analysis.flow`); ``"none"`` gives the model's landmarks."""
    import os
    from pathlib import Path

    from parface_sdk.errors import InvalidOptionError
    from parface_sdk.video import iter_frames, track

    if refine not in FLOW_MODES:
        raise InvalidOptionError(f"refine must be one of {', '.join(FLOW_MODES)}, got {refine!r}")
    track_options.setdefault("smoothing", "none")
    refiner = FlowRefiner() if refine == "flow" else None
    current: dict[str, Any] = {}
    source = frames
    if refiner is not None:
        options = track_options.get("options")
        fps = options.fps if options is not None else track_options.get("fps", 30.0)
        if isinstance(frames, (str, os.PathLike)) and not Path(frames).is_dir():
            track_options.setdefault("color", "BGR")  # a video file decodes as BGR, as in track()

        def source_frames():
            for timestamp, frame in iter_frames(frames, fps):
                current["frame"] = frame
                yield timestamp, frame

        source = source_frames()
    times, points = [], []
    for tracked in track(aligner, source, **track_options):
        times.append(tracked.timestamp)
        face = tracked.face
        landmarks = None if face is None else np.asarray(face.landmarks, np.float64)
        if refiner is not None and landmarks is not None:
            landmarks = refiner.update(_frame_rgb(current["frame"], track_options), landmarks)
        points.append(np.full((68, 3), np.nan) if landmarks is None else landmarks)
    if refiner is not None:
        logger.info(
            "flow refinement used for %.0f %% of the landmark readings; %d frames left out (the flow "
            "lost a point the asymmetry decision reads)",
            100 * refiner.coverage,
            refiner.dropped,
        )
    if not points:
        return np.zeros((0, 68, 3)), np.zeros(0)
    return np.stack(points), np.asarray(times, dtype=np.float64)


def _frame_rgb(frame: Any, track_options: dict) -> np.ndarray:
    """The RGB array the tracker saw for ``frame`` (a path, or an array in the tracking colour)."""
    import os

    from parface_sdk.image import load_image

    if isinstance(frame, (str, os.PathLike)):
        return load_image(frame)
    options = track_options.get("options")
    color = track_options.get("color") or (options.color if options is not None else None)
    return load_image(frame, color)


def measure_clip(
    aligner,
    frames: Any,
    smoothing: str = VIDEO_SMOOTHING,
    scale_mm: float | None = None,
    refine: str = "none",
    **track_options: Any,
) -> MeasureSeries:
    """Track ``frames`` (``refine``: see :func:`track_landmarks`) and measure every frame (see
    :func:`measure_sequence`)."""
    landmarks, times = track_landmarks(aligner, frames, refine, **track_options)
    return measure_sequence(landmarks, times, scale_mm, smoothing, refine=refine)
