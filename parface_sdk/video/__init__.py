"""Video: frames in, tracked landmarks out. The one import for video work.

- :mod:`.frames`: decode a video file, an image folder or an iterable into ``(timestamp, frame)``;
- :mod:`.tracker`: :class:`FaceTracker` (stateful, one frame at a time) and :func:`track` (a loop);
- :mod:`.smoothing`: the One Euro filter the tracker uses live, and Savitzky-Golay for recordings;
- :mod:`.writers`: JSON lines, CSV and overlay MP4 outputs, each written atomically.

The video package builds on the core (:mod:`parface_sdk.aligner` and friends) and never imports
:mod:`parface_sdk.analysis`; analysis builds on video.
"""

from __future__ import annotations

from parface_sdk.video.frames import VideoInfo, iter_frames, open_video, read_video, video_info
from parface_sdk.video.tracker import FaceTracker, TrackedFrame, TrackOptions, track
from parface_sdk.video.writers import CSV_HEADER, OverlayWriter, TrackWriter, csv_row, write_csv, write_jsonl

__all__ = [
    "CSV_HEADER",
    "FaceTracker",
    "OverlayWriter",
    "TrackOptions",
    "TrackWriter",
    "TrackedFrame",
    "VideoInfo",
    "csv_row",
    "iter_frames",
    "open_video",
    "read_video",
    "track",
    "video_info",
    "write_csv",
    "write_jsonl",
]
