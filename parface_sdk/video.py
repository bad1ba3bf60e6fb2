"""Video: read frames with timestamps, and write per-frame outputs of tracking.

Tracking itself (:class:`FaceTracker`, :func:`track`) lives in :mod:`parface_sdk.tracking` and is
re-exported here.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk.errors import VideoError
from parface_sdk.geometry import IMAGE_SUFFIXES
from parface_sdk.tracking import FaceTracker, TrackedFrame, TrackOptions, track

__all__ = [
    "FaceTracker",
    "TrackOptions",
    "TrackedFrame",
    "iter_frames",
    "read_video",
    "track",
    "video_info",
    "write_csv",
    "write_jsonl",
    "OverlayWriter",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class VideoInfo:
    fps: float
    frame_count: int
    width: int
    height: int


def open_video(path: str | os.PathLike):
    """An opened ``cv2.VideoCapture``; raises VideoError when the file cannot be opened."""
    import cv2

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such video file")
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        capture.release()
        raise VideoError(
            f"{path}: OpenCV cannot open this video (corrupt, or a codec it lacks); "
            "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`"
        )
    return capture


def video_info(path: str | os.PathLike) -> VideoInfo:
    import cv2

    capture = open_video(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoInfo(
            fps,
            count,
            int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
        )
    finally:
        capture.release()


def read_video(path: str | os.PathLike, fps: float | None = None) -> Iterator[tuple[float, np.ndarray]]:
    """``(timestamp seconds, BGR frame)`` for each frame; ``fps`` overrides the file's rate."""
    import cv2

    capture = open_video(path)
    rate = fps or capture.get(cv2.CAP_PROP_FPS) or 30.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                if index == 0:
                    raise VideoError(f"{path}: no frame could be decoded")
                return
            yield index / rate, frame
            index += 1
    finally:
        capture.release()


def iter_frames(frames: Any, fps: float = 30.0) -> Iterator[tuple[float, Any]]:
    """``(timestamp, frame)`` from a video path, a folder of images, or an iterable of frames
    (arrays or image paths; ``(timestamp, frame)`` pairs keep their timestamps)."""
    if isinstance(frames, (str, os.PathLike)):
        path = Path(frames)
        if path.is_dir():
            images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise VideoError(f"{path}: no images in this folder")
            yield from ((index / fps, image) for index, image in enumerate(images))
            return
        yield from read_video(path)
        return
    for index, item in enumerate(frames):
        if isinstance(item, tuple) and len(item) == 2:
            yield float(item[0]), item[1]
        else:
            yield index / fps, item


def write_jsonl(frames: Iterable[TrackedFrame], path: str | os.PathLike) -> int:
    """One JSON object per line and frame; returns the number of frames written."""
    count = 0
    with open(path, "w") as stream:
        for frame in frames:
            stream.write(json.dumps(frame.to_dict()) + "\n")
            count += 1
    return count


CSV_HEADER = ["frame", "time", "detected", "found", "score", "confidence"] + [
    f"{axis}{i}" for i in range(68) for axis in "xyz"
]


def csv_row(frame: TrackedFrame) -> list:
    face = frame.face
    if face is None or frame.landmarks is None:
        return [frame.index, f"{frame.timestamp:.4f}", int(frame.detected), 0, "", ""] + [""] * 204
    return [
        frame.index,
        f"{frame.timestamp:.4f}",
        int(frame.detected),
        1,
        f"{face.score:.4f}",
        f"{float(np.mean(face.confidence)):.4f}",
    ] + [f"{v:.3f}" for v in frame.landmarks.reshape(-1)]


def write_csv(frames: Iterable[TrackedFrame], path: str | os.PathLike) -> int:
    """One row per frame: index, time, whether the detector ran, and x0, y0, z0 ... z67."""
    count = 0
    with open(path, "w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_HEADER)
        for frame in frames:
            writer.writerow(csv_row(frame))
            count += 1
    return count


class OverlayWriter:
    """Writes frames with the tracked landmarks drawn to an MP4 (``with OverlayWriter(...) as w``)."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        import cv2

        self.path = Path(path)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise VideoError(f"{self.path}: cannot write a video here (mp4v codec or folder missing)")

    def write(self, frame_rgb: np.ndarray, tracked: TrackedFrame) -> None:
        import cv2

        from parface_sdk.draw import draw_result

        result = tracked.result
        if tracked.face is not None and tracked.landmarks is not None:
            shown = tracked.face.model_copy(update={"landmarks": tracked.landmarks})
            result = result.model_copy(update={"faces": [shown]})
        self._writer.write(cv2.cvtColor(draw_result(frame_rgb, result), cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self._writer.release()

    def __enter__(self) -> OverlayWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
