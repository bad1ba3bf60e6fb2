"""Tracking one face through video (running mode ``video``): a stateful :class:`FaceTracker`, and
:func:`track`, a loop over it.

``FaceTracker.update(frame, timestamp) -> TrackedFrame`` has the shape of MediaPipe's
``detect_for_video``: frames in time order, state kept between calls. Each frame is cropped from
the tracker's *anchor*, the landmarks that last set the crop. The anchor moves only when the
tracked face has moved by more than ``crop_hold`` (a fraction of the face's size): the network's
output depends on the crop, so re-cropping from every frame's own landmarks makes the landmarks of
a still face cycle (measured 9% of the inter-ocular distance with the shipped model), while a held
crop gives still landmarks for still frames.

The detector runs on the first frame, when the face is lost, and every ``redetect_interval``
frames as a check; a periodic check that finds the tracked face keeps its crop. A face is lost
when its mean landmark confidence drops below ``relative_confidence`` times its confidence at
detection (and below the absolute ``min_confidence``, if set): the model's confidence sits near
0.30 on any face, so an absolute threshold of 0.3 re-detected on about half of all frames.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from parface_sdk.errors import InvalidOptionError, UnsupportedShapeError, VideoError
from parface_sdk.geometry import box_iou, landmark_box
from parface_sdk.image import load_image
from parface_sdk.options import OptionsModel
from parface_sdk.results import AlignResult, Face

logger = logging.getLogger(__name__)


class TrackOptions(OptionsModel):
    """How :class:`FaceTracker` and :func:`track` run. Frozen; unknown fields are rejected.

    - ``redetect_interval``: check with the detector every N frames (0: only when the face is lost).
    - ``relative_confidence``: the face is lost when its mean landmark confidence falls below this
      fraction of its confidence when it was detected (measured on the shipped model: faces 0.30,
      crops beside the face 0.20 to 0.26, a ratio of at most 0.87).
    - ``min_confidence``: an absolute floor on the same mean confidence (0: none).
    - ``crop_hold``: keep the crop while the face moved less than this fraction of its size
      (:func:`moved`). Larger holds still faces better, smaller follows moving faces closer:
      the crop position biases the landmarks, by up to about 2 px on a 100 px face at 0.05.
    - ``smoothing``: ``one_euro`` (live, causal) or ``none``; parameters as MediaPipe's defaults.
    - ``fps``: frame rate for timestamps when the frames do not carry them.
    - ``color``: channel order of colour array frames, ``"RGB"`` or ``"BGR"`` (any case). As for
      :meth:`Aligner.align <parface_sdk.Aligner.align>` there is no default: a colour array frame
      without it is an :class:`~parface_sdk.errors.InvalidOptionError` (a wrong order is a silent
      ~10 px error). Video files (decoded as BGR internally), image paths and grayscale frames
      need none.
    - ``box``: a known face box ``[x0, y0, x1, y1]`` used instead of the detector, on the first
      frame and when the face is lost (no periodic re-detection then).
    - ``with_frames``: each :class:`TrackedFrame` carries the RGB uint8 image the tracker decoded
      (``TrackedFrame.frame``), so an overlay, optical flow or a report uses it without decoding
      or converting the frame again (off by default: a frame per result holds memory).
    """

    redetect_interval: int = Field(default=30, ge=0)
    relative_confidence: float = Field(default=0.9, ge=0.0, le=1.0)
    min_confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    crop_hold: float = Field(default=0.05, ge=0.0, le=1.0)
    smoothing: Literal["one_euro", "none"] = "one_euro"
    min_cutoff: float = Field(default=0.05, gt=0)
    beta: float = Field(default=80.0, ge=0)
    d_cutoff: float = Field(default=1.0, gt=0)
    fps: float = Field(default=30.0, gt=0)
    color: Literal["BGR", "RGB"] | None = None
    box: tuple[float, float, float, float] | None = None
    max_frames: int | None = Field(default=None, ge=1)
    progress: bool = False
    with_frames: bool = False

    @field_validator("color", mode="before")
    @classmethod
    def _color_any_case(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


@dataclass(frozen=True)
class TrackedFrame:
    """One frame: ``result`` holds the tracked face (or none); ``landmarks`` are the smoothed
    (68, 3) float32 image landmarks (the raw ones without smoothing), None without a face;
    ``detected`` says whether the detector ran on this frame; ``frame`` is the (H, W, 3) RGB uint8
    image the tracker decoded, with ``TrackOptions(with_frames=True)`` only (else None)."""

    index: int
    timestamp: float
    result: AlignResult
    detected: bool
    landmarks: np.ndarray | None
    frame: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def face(self) -> Face | None:
        return self.result.faces[0] if self.result.faces else None

    def to_dict(self) -> dict[str, Any]:
        face = self.face
        return {
            "frame": self.index,
            "time": self.timestamp,
            "detected": self.detected,
            "face": None if face is None else json.loads(face.model_dump_json()),
            "landmarks": None if self.landmarks is None else self.landmarks.tolist(),
        }


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


def moved(points: np.ndarray, anchor: np.ndarray) -> float:
    """How far ``points`` moved from ``anchor``, as a fraction of the anchor box's longer side: the
    larger of the landmark-box centre shift and half its size change (the box size of a still
    face wavers about twice as much as its centre from one crop to the next)."""
    a, b = landmark_box(anchor), landmark_box(points)
    side = max(a[2] - a[0], a[3] - a[1], 1e-6)
    shift = np.abs((a[:2] + a[2:]) / 2 - (b[:2] + b[2:]) / 2).max()
    return float(max(shift, 0.5 * abs(max(b[2] - b[0], b[3] - b[1]) - side)) / side)


def _check_timestamp(timestamp: Any, index: int) -> float:
    """A frame's timestamp as a finite float of seconds, or :class:`InvalidOptionError`: one NaN
    would poison the smoother (and so every later frame's landmarks)."""
    number = isinstance(timestamp, (int, float, np.integer, np.floating))
    if isinstance(timestamp, (bool, np.bool_)) or not number:
        kind = type(timestamp).__name__
        raise InvalidOptionError(
            f"frame {index}: timestamp must be a number of seconds, got {kind} {timestamp!r}"
        )
    value = float(timestamp)
    if not np.isfinite(value):
        raise InvalidOptionError(f"frame {index}: timestamp must be a finite number of seconds, got {value}")
    return value


def _mean_confidence(face: Face) -> float:
    return float(np.mean(face.confidence))


class FaceTracker:
    """Follows the main face through frames given in time order (``update``), keeping its crop.

    ``aligner`` needs ``align(image, boxes, color)`` and ``align_from_landmarks(image, points,
    color)`` (an :class:`~parface_sdk.Aligner`). The tracker does not own it.
    """

    def __init__(self, aligner, options: TrackOptions | None = None, **overrides: Any):
        from parface_sdk.video.smoothing import LandmarkSmoother

        self.aligner = aligner
        self.options = TrackOptions(**{**(options.model_dump() if options else {}), **overrides})
        self._smoother = LandmarkSmoother(self.options.min_cutoff, self.options.beta, self.options.d_cutoff)
        self._boxes = None if self.options.box is None else [list(self.options.box)]
        self.reset()

    def reset(self) -> None:
        """Forget the face: the next frame runs the detector."""
        self._anchor: np.ndarray | None = None
        self._reference = 0.0
        self._score = 1.0
        self._since_detection = 0
        self._index = 0
        self._last_time: float | None = None
        self._smoother.reset()

    def _threshold(self) -> float:
        return max(self.options.min_confidence, self.options.relative_confidence * self._reference)

    def _follow(self, rgb: np.ndarray) -> Face | None:
        try:
            faces = self.aligner.align_from_landmarks(rgb, [self._anchor], color="RGB").faces
        except UnsupportedShapeError:  # the anchor left the image or lost a face's size: lost
            logger.debug("frame %d: the tracked landmarks left the image; re-detecting", self._index)
            return None
        if not faces:
            return None
        # a crop from landmarks has no detector score of its own: the face keeps its detection's
        return faces[0].model_copy(update={"score": self._score})

    def _start(self, rgb: np.ndarray, found: Face) -> Face:
        """Anchor on a detected face; its frame is answered from the anchor crop like the next ones."""
        self._anchor = np.asarray(found.landmarks)
        self._reference = _mean_confidence(found)
        self._score = float(found.score)
        return self._follow(rgb) or found

    def update(self, frame: Any, timestamp: float | None = None, color: str | None = None) -> TrackedFrame:
        """Track the face into ``frame``: an image path, or an array in ``color`` (default
        ``options.color``; colour arrays need one, grayscale arrays none)."""
        options = self.options
        index = self._index
        if timestamp is None:
            timestamp = index / options.fps
        timestamp = _check_timestamp(timestamp, index)
        if self._last_time is not None and timestamp <= self._last_time:
            raise VideoError(
                f"frame {index}: timestamp {timestamp} does not follow {self._last_time}; "
                "frames must come in time order (call reset() to start over)"
            )
        self._index, self._last_time = index + 1, timestamp
        if isinstance(frame, (str, os.PathLike)):
            rgb = load_image(frame)  # a file: decoded and turned upright, no order to give
        else:
            rgb = load_image(frame, color or options.color)
        due = (
            bool(options.redetect_interval)
            and options.box is None
            and (self._since_detection >= options.redetect_interval)
        )
        face, detected = None, False
        if self._anchor is not None:
            face = self._follow(rgb)
            if face is not None and _mean_confidence(face) < self._threshold():
                logger.debug("frame %d: tracking confidence low; re-detecting", index)
                face = None
            if face is not None and due:  # a periodic check: does the detector still see it?
                detected = True
                found = _pick(self.aligner.align(rgb, boxes=self._boxes, color="RGB").faces, face.landmarks)
                if found is not None and box_iou(found.box, landmark_box(face.landmarks)) < 0.3:
                    face = self._start(rgb, found)
        if face is None and not detected:
            detected = True
            previous = self._anchor
            found = _pick(self.aligner.align(rgb, boxes=self._boxes, color="RGB").faces, previous)
            face = None if found is None else self._start(rgb, found)
        self._since_detection = 1 if detected else self._since_detection + 1
        result = AlignResult(
            faces=[] if face is None else [face], image_width=rgb.shape[1], image_height=rgb.shape[0]
        )
        kept = rgb if options.with_frames else None
        if face is None:
            self._anchor = None
            self._smoother.reset()
            return TrackedFrame(index, timestamp, result, detected, None, kept)
        points = np.asarray(face.landmarks)
        if moved(points, self._anchor) > options.crop_hold:
            self._anchor = points  # the face moved: crop the next frame from where it is now
        smoothed = self._smoother(points, timestamp) if options.smoothing == "one_euro" else points.copy()
        return TrackedFrame(index, timestamp, result, detected, np.asarray(smoothed, np.float32), kept)


def track(
    aligner, frames: Any, options: TrackOptions | None = None, **overrides: Any
) -> Iterator[TrackedFrame]:
    """Follow the main face through ``frames`` (see :func:`parface_sdk.video.iter_frames`): a loop
    over :meth:`FaceTracker.update`, one :class:`TrackedFrame` per frame. Colour array frames need
    ``color=``; a video file's frames are decoded as BGR and need nothing."""
    from pathlib import Path

    from parface_sdk.video.frames import iter_frames, video_info

    tracker = FaceTracker(aligner, options, **overrides)
    options = tracker.options
    video_file = isinstance(frames, (str, os.PathLike)) and not Path(frames).is_dir()
    color = "BGR" if video_file else None  # read_video decodes BGR
    stream: Iterable = iter_frames(frames, options.fps)
    if options.progress:
        from tqdm import tqdm

        total = None
        if isinstance(frames, (str, os.PathLike)) and Path(frames).is_file():
            total = video_info(frames).frame_count or None
        stream = tqdm(stream, total=total, unit="frame", desc="track")
    for index, (timestamp, frame) in enumerate(stream):
        if options.max_frames is not None and index >= options.max_frames:
            break
        yield tracker.update(frame, timestamp, color)
