"""The one path from frames to measures, shared by ``parface analyze``, the example and the
calibration benchmark, so that the calibrated thresholds apply to exactly what users run."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from parface_sdk.analysis.timeseries import MeasureSeries, measure_sequence

logger = logging.getLogger(__name__)

# Recorded video is smoothed after tracking (zero-lag Savitzky-Golay); tracking itself is raw.
VIDEO_SMOOTHING = "savgol"


def model_sha256(aligner) -> str | None:
    """SHA-256 of the aligner's model file, the key the asymmetry calibration is stored under."""
    from parface_sdk.models import sha256_of

    path = getattr(aligner, "model_path", None)
    return sha256_of(path) if path is not None and path.is_file() else None


def track_landmarks(aligner, frames: Any, **track_options: Any) -> tuple[np.ndarray, np.ndarray]:
    """Track ``frames`` (anything :func:`parface_sdk.video.track` accepts) without live smoothing:
    (T, 68, 3) image landmarks (NaN where no face) and (T,) timestamps in seconds."""
    from parface_sdk.video import track

    track_options.setdefault("smoothing", "none")
    times, points = [], []
    for tracked in track(aligner, frames, **track_options):
        times.append(tracked.timestamp)
        face = tracked.face
        points.append(np.full((68, 3), np.nan) if face is None else np.asarray(face.landmarks, np.float64))
    if not points:
        return np.zeros((0, 68, 3)), np.zeros(0)
    return np.stack(points), np.asarray(times, dtype=np.float64)


def measure_clip(
    aligner,
    frames: Any,
    smoothing: str = VIDEO_SMOOTHING,
    scale_mm: float | None = None,
    **track_options: Any,
) -> MeasureSeries:
    """Track ``frames`` and measure every frame (see :func:`measure_sequence`)."""
    landmarks, times = track_landmarks(aligner, frames, **track_options)
    return measure_sequence(landmarks, times, scale_mm, smoothing)
