"""Video: read frames with timestamps, track one face through them, write per-frame outputs.

Tracking runs the face detector only when needed: each frame is cropped from the previous frame's
landmarks (the crop the model was trained on) and the detector runs again on the first frame, when
the tracked face's mean landmark confidence drops below ``min_confidence``, and every
``redetect_interval`` frames. Landmarks can be smoothed live with a One Euro filter.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from parface_sdk.errors import VideoError
from parface_sdk.geometry import IMAGE_SUFFIXES, box_iou, landmark_box
from parface_sdk.image import load_image
from parface_sdk.results import AlignResult, Face

logger = logging.getLogger(__name__)


class TrackOptions(BaseModel):
    """How :func:`track` runs. Frozen; unknown fields are rejected.

    - ``redetect_interval``: run the detector every N frames (0: only when the face is lost).
    - ``min_confidence``: re-detect when the tracked face's mean landmark confidence is lower.
    - ``smoothing``: ``one_euro`` (live, causal) or ``none``; parameters as MediaPipe's defaults.
    - ``fps``: frame rate for timestamps when the frames do not carry them.
    - ``color``: channel order of array frames (video files are always decoded as BGR).
    - ``box``: a known face box ``[x0, y0, x1, y1]`` used instead of the detector, on the first
      frame and when the face is lost (no periodic re-detection then).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    redetect_interval: int = Field(default=30, ge=0)
    min_confidence: float = Field(default=0.3, ge=0.0, le=1.0)
    smoothing: Literal["one_euro", "none"] = "one_euro"
    min_cutoff: float = Field(default=0.05, gt=0)
    beta: float = Field(default=80.0, ge=0)
    d_cutoff: float = Field(default=1.0, gt=0)
    fps: float = Field(default=30.0, gt=0)
    color: Literal["BGR", "RGB"] = "BGR"
    box: tuple[float, float, float, float] | None = None
    max_frames: int | None = Field(default=None, ge=1)
    progress: bool = False


@dataclass(frozen=True)
class TrackedFrame:
    """One frame: ``result`` holds the tracked face (or none); ``landmarks`` are the smoothed
    (68, 3) float32 image landmarks (the raw ones without smoothing), None without a face."""

    index: int
    timestamp: float
    result: AlignResult
    detected: bool
    landmarks: np.ndarray | None

    @property
    def face(self) -> Face | None:
        return self.result.faces[0] if self.result.faces else None

    def to_dict(self) -> dict[str, Any]:
        face = self.face
        return {
            "frame": self.index, "time": self.timestamp, "detected": self.detected,
            "face": None if face is None else json.loads(face.model_dump_json()),
            "landmarks": None if self.landmarks is None else self.landmarks.tolist(),
        }


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
        raise VideoError(f"{path}: OpenCV cannot open this video (corrupt, or a codec it lacks); "
                         "re-encode it, e.g. `ffmpeg -i IN -c:v libx264 OUT.mp4`")
    return capture


def video_info(path: str | os.PathLike) -> VideoInfo:
    import cv2

    capture = open_video(path)
    try:
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        return VideoInfo(fps, count, int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                         int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
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


def _pick(faces: list[Face], previous: np.ndarray | None) -> Face | None:
    """The face to follow: the one overlapping the previous landmarks most, else the largest."""
    if not faces:
        return None
    if previous is not None:
        box = landmark_box(previous)
        best = max(faces, key=lambda f: box_iou(f.box, box))
        if box_iou(best.box, box) > 0.1:
            return best
    return max(faces, key=lambda f: float((f.box[2] - f.box[0]) * (f.box[3] - f.box[1])))


def track(
    aligner, frames: Any, options: TrackOptions | None = None, **overrides: Any
) -> Iterator[TrackedFrame]:
    """Follow the main face through ``frames`` (see :func:`iter_frames`), yielding a
    :class:`TrackedFrame` per frame. ``aligner`` needs ``align`` and ``align_from_landmarks``."""
    from parface_sdk.smoothing import LandmarkSmoother

    options = TrackOptions(**{**(options.model_dump() if options else {}), **overrides})
    smoother = LandmarkSmoother(options.min_cutoff, options.beta, options.d_cutoff)
    stream: Iterable = iter_frames(frames, options.fps)
    if options.progress:
        from tqdm import tqdm

        total = None
        if isinstance(frames, (str, os.PathLike)) and Path(frames).is_file():
            total = video_info(frames).frame_count or None
        stream = tqdm(stream, total=total, unit="frame", desc="track")
    previous: np.ndarray | None = None
    since_detection = 0
    boxes = None if options.box is None else [list(options.box)]
    for index, (timestamp, frame) in enumerate(stream):
        if options.max_frames is not None and index >= options.max_frames:
            break
        color = "BGR" if isinstance(frame, (str, os.PathLike)) else options.color
        rgb = load_image(frame, color)
        face, detected = None, False
        due = bool(options.redetect_interval) and options.box is None and (
            since_detection >= options.redetect_interval)
        if previous is not None and not due:
            tracked = aligner.align_from_landmarks(rgb, [previous], color="RGB").faces
            if tracked and float(np.mean(tracked[0].confidence)) >= options.min_confidence:
                face = tracked[0]
            else:
                logger.debug("frame %d: tracking confidence low; re-detecting", index)
        if face is None:
            detected, since_detection = True, 0
            face = _pick(aligner.align(rgb, boxes=boxes, color="RGB").faces, previous)
        since_detection += 1
        result = AlignResult(faces=[] if face is None else [face], image_width=rgb.shape[1],
                             image_height=rgb.shape[0])
        if face is None:
            previous = None
            smoother.reset()
            yield TrackedFrame(index, timestamp, result, detected, None)
            continue
        previous = np.asarray(face.landmarks)
        points = smoother(previous, timestamp) if options.smoothing == "one_euro" else previous.copy()
        yield TrackedFrame(index, timestamp, result, detected, np.asarray(points, np.float32))


def write_jsonl(frames: Iterable[TrackedFrame], path: str | os.PathLike) -> int:
    """One JSON object per line and frame; returns the number of frames written."""
    count = 0
    with open(path, "w") as stream:
        for frame in frames:
            stream.write(json.dumps(frame.to_dict()) + "\n")
            count += 1
    return count


CSV_HEADER = ["frame", "time", "detected", "found", "score", "confidence"] + [
    f"{axis}{i}" for i in range(68) for axis in "xyz"]


def csv_row(frame: TrackedFrame) -> list:
    face = frame.face
    if face is None or frame.landmarks is None:
        return [frame.index, f"{frame.timestamp:.4f}", int(frame.detected), 0, "", ""] + [""] * 204
    return [frame.index, f"{frame.timestamp:.4f}", int(frame.detected), 1, f"{face.score:.4f}",
            f"{float(np.mean(face.confidence)):.4f}"] + [f"{v:.3f}" for v in frame.landmarks.reshape(-1)]


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
