"""Frames from video files, image folders or iterables, with timestamps (the decoding side of video)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk.errors import VideoError
from parface_sdk.geometry import IMAGE_SUFFIXES

__all__ = ["VideoInfo", "iter_frames", "open_video", "read_video", "video_info"]

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
