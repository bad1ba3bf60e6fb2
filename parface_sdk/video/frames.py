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
    from parface_sdk.quiet import quiet_native_stderr

    try:
        with quiet_native_stderr():
            capture = cv2.VideoCapture(str(path))
    except cv2.error as exc:
        raise VideoError(
            f"{path}: OpenCV cannot open this video ({' '.join(str(exc).split())[:160]})"
        ) from None
    if not capture.isOpened():
        capture.release()
        raise VideoError(
            f"{path}: OpenCV cannot open this video (corrupt, or a codec it lacks); "
            "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`"
        )
    return capture


def _sane_rate(value, fallback: float) -> float:
    """A frame rate from a container or a caller: finite and within 0-1000 fps, else ``fallback``
    (a corrupt header can say NaN, 0, a negative or an absurd rate)."""
    try:
        rate = float(value or 0.0)
    except (TypeError, ValueError):
        return fallback
    return rate if np.isfinite(rate) and 0.0 < rate <= 1000.0 else fallback


def video_info(path: str | os.PathLike) -> VideoInfo:
    import cv2

    capture = open_video(path)
    try:
        fps = _sane_rate(capture.get(cv2.CAP_PROP_FPS), 0.0)
        count = capture.get(cv2.CAP_PROP_FRAME_COUNT)
        count = int(count) if np.isfinite(count) and 0 <= count < 1e9 else 0
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

    from parface_sdk.quiet import quiet_native_stderr

    capture = open_video(path)
    rate = _sane_rate(fps, 0.0) or _sane_rate(capture.get(cv2.CAP_PROP_FPS), 30.0)
    index = 0
    try:
        while True:
            try:
                with quiet_native_stderr():
                    ok, frame = capture.read()
            except cv2.error as exc:
                reason = " ".join(str(exc).split())[:160]
                raise VideoError(f"{path}: frame {index} cannot be decoded ({reason})") from None
            if ok and (frame is None or frame.size == 0):
                ok = False
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
