"""Temporal smoothing of landmarks (public import path).

The implementation lives in :mod:`parface_sdk.analysis.smoothing`, beside the head-pose maths it
uses, so the analysis package and smoothing do not import each other in a cycle.
"""

from __future__ import annotations

from parface_sdk.analysis.smoothing import (
    LandmarkSmoother,
    OneEuroFilter,
    face_size,
    frame_rate,
    jitter_percent,
    pose_from_vector,
    pose_vector,
    savgol_smooth,
    savgol_weights,
    smooth_head_sequence,
    smooth_landmark_sequence,
)

__all__ = [
    "LandmarkSmoother",
    "OneEuroFilter",
    "face_size",
    "frame_rate",
    "jitter_percent",
    "pose_from_vector",
    "pose_vector",
    "savgol_smooth",
    "savgol_weights",
    "smooth_head_sequence",
    "smooth_landmark_sequence",
]
