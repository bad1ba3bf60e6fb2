"""Writers of tracking outputs: JSON lines, CSV and an overlay MP4, each written atomically.

:class:`TrackWriter` writes any of the three at once; :func:`write_jsonl` and :func:`write_csv` are
one-call shortcuts over it, and :class:`OverlayWriter` is the overlay video alone. Every file is
written under a temporary name beside its target and renamed onto it only when the writer closes
without error, so no output is ever a partial file. All are re-exported by :mod:`parface_sdk.video`.
"""

from __future__ import annotations

import csv as csv_module
import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from parface_sdk.errors import VideoError

if TYPE_CHECKING:
    from parface_sdk.video.tracker import TrackedFrame

__all__ = ["CSV_HEADER", "OverlayWriter", "TrackWriter", "csv_row", "write_csv", "write_jsonl"]

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


def write_jsonl(frames: Iterable[TrackedFrame], path: str | os.PathLike) -> int:
    """One JSON object per line and frame, written atomically; returns the number of frames."""
    with TrackWriter(jsonl=path) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.count


def write_csv(frames: Iterable[TrackedFrame], path: str | os.PathLike) -> int:
    """One row per frame (index, time, whether the detector ran, x0, y0, z0 ... z67), atomically."""
    with TrackWriter(csv=path) as writer:
        for frame in frames:
            writer.write(frame)
    return writer.count


def _temporary_beside(path: Path) -> Path:
    """An empty hidden temporary file beside ``path`` with the same suffix (writers pick the format by
    it) and a short random name, so a long target name never fails for its temporary name only."""
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".pf-", suffix=f".partial{suffix}")
    os.close(handle)
    return Path(name)


def _publish(temporary: Path, path: Path) -> None:
    """Rename a finished temporary file onto ``path`` with the permissions ``open`` would give."""
    umask = os.umask(0o022)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # mkstemp makes 0600 files
    os.replace(temporary, path)


_Writer = TypeVar("_Writer", bound="_AtomicOutput")


class _AtomicOutput:
    """``with`` support for the writers: ``close()`` when the block succeeds, ``abort()`` when it
    raises (Ctrl-C included), so nothing partial is left behind."""

    def close(self) -> None:  # pragma: no cover - provided by the writer
        raise NotImplementedError

    def abort(self) -> None:  # pragma: no cover - provided by the writer
        raise NotImplementedError

    def __enter__(self: _Writer) -> _Writer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *exc_info: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class OverlayWriter(_AtomicOutput):
    """Writes frames with the tracked landmarks drawn to an MP4 (``with OverlayWriter(...) as w``).

    The video is written under a temporary name beside ``path`` and renamed onto it by ``close()``;
    leaving the ``with`` block by an exception (Ctrl-C included) or ``abort()`` deletes it, so
    ``path`` is never a truncated video.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int]):
        import cv2

        self.path = Path(path)
        self._temporary: Path | None = _temporary_beside(self.path)
        self._writer = cv2.VideoWriter(
            str(self._temporary), cv2.VideoWriter_fourcc(*"mp4v"), fps, tuple(int(v) for v in size)
        )
        if not self._writer.isOpened():
            self.abort()
            raise VideoError(f"{self.path}: cannot write a video here (mp4v codec or folder missing)")

    def write(self, frame_rgb: np.ndarray, tracked: TrackedFrame) -> None:
        import cv2

        from parface_sdk.draw import draw_result

        if self._temporary is None:
            raise VideoError(f"{self.path}: the overlay writer is closed")
        result = tracked.result
        if tracked.face is not None and tracked.landmarks is not None:
            shown = tracked.face.model_copy(update={"landmarks": tracked.landmarks})
            result = result.model_copy(update={"faces": [shown]})
        self._writer.write(cv2.cvtColor(draw_result(frame_rgb, result), cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        """Finish the video and move it onto ``path``."""
        if self._temporary is None:
            return
        self._writer.release()
        temporary, self._temporary = self._temporary, None
        try:
            _publish(temporary, self.path)
        finally:
            temporary.unlink(missing_ok=True)

    def abort(self) -> None:
        """Drop the video: nothing is left at ``path`` or beside it."""
        try:
            self._writer.release()
        except Exception:  # noqa: BLE001  the file is deleted below whatever the release did
            pass
        if self._temporary is not None:
            self._temporary.unlink(missing_ok=True)
            self._temporary = None


class TrackWriter(_AtomicOutput):
    """The one writer of tracking outputs: JSON lines, CSV and an overlay MP4, any of them.

    >>> from parface_sdk.video import FaceTracker, read_video  # doctest: +SKIP
    >>> tracker = FaceTracker(aligner)  # doctest: +SKIP
    >>> with TrackWriter(jsonl="out/a.jsonl", csv="out/a.csv", overlay="out/a.mp4") as out:  # doctest: +SKIP
    ...     for timestamp, frame in read_video("a.mp4"):  # BGR frames
    ...         out.write(tracker.update(frame, timestamp, color="BGR"), frame, color="BGR")

    (The frame is needed only for the overlay, and not even then when the tracker keeps its frames:
    with ``track(aligner, "a.mp4", with_frames=True)``, ``out.write(tracked)`` draws on
    ``tracked.frame``, the RGB image the tracker decoded, with no second decode or conversion.)

    Every file is written under a temporary name beside its target and renamed onto it when the
    writer closes without error; an exception inside the ``with`` block (a full disk, Ctrl-C) or
    ``abort()`` removes them all, so no output is ever a partial file. The overlay video takes the
    size of the first frame and ``fps``.
    """

    def __init__(
        self,
        jsonl: str | os.PathLike | None = None,
        csv: str | os.PathLike | None = None,
        overlay: str | os.PathLike | None = None,
        fps: float = 30.0,
    ):
        from parface_sdk.errors import InvalidOptionError

        if jsonl is None and csv is None and overlay is None:
            raise InvalidOptionError("TrackWriter needs at least one output: jsonl=, csv= or overlay=")
        if not fps > 0:
            raise InvalidOptionError(f"fps must be > 0, got {fps}")
        self.count = 0
        self._files: list[tuple[Path, Path, Any]] = []  # (temporary, target, open stream)
        self._jsonl = self._table = None
        self._overlay: OverlayWriter | None = None
        self._overlay_path = None if overlay is None else Path(overlay)
        self._fps = fps
        try:
            if jsonl is not None:
                self._jsonl = self._open(Path(jsonl))
            if csv is not None:
                self._table = csv_module.writer(self._open(Path(csv), newline=""))
                self._table.writerow(CSV_HEADER)
        except BaseException:
            self.abort()
            raise

    def _open(self, path: Path, **kwargs: Any):
        temporary = _temporary_beside(path)
        try:
            stream = open(temporary, "w", **kwargs)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._files.append((temporary, path, stream))
        return stream

    def write(self, tracked: TrackedFrame, frame: Any = None, color: str | None = None) -> None:
        """Add one frame's outputs. ``frame`` (an array in ``color``, or an image path) is needed
        only for the overlay, and only when ``tracked.frame`` is None (a tracker without
        ``with_frames=True``); colour arrays need ``color`` as everywhere in parface-sdk."""
        if self._jsonl is not None:
            self._jsonl.write(json.dumps(tracked.to_dict()) + "\n")
        if self._table is not None:
            self._table.writerow(csv_row(tracked))
        if self._overlay_path is not None:
            if frame is not None:
                from parface_sdk.image import load_image

                rgb = load_image(frame, color)
            elif tracked.frame is not None:
                rgb = tracked.frame  # the tracker's own RGB image (with_frames=True)
            else:
                from parface_sdk.errors import InvalidOptionError

                raise InvalidOptionError(
                    "an overlay needs each frame: track with with_frames=True, "
                    "or write(tracked, frame, color=...)"
                )
            if self._overlay is None:
                self._overlay = OverlayWriter(self._overlay_path, self._fps, (rgb.shape[1], rgb.shape[0]))
            self._overlay.write(rgb, tracked)
        self.count += 1

    def close(self) -> None:
        """Finish every output and move each onto its path."""
        try:
            for temporary, path, stream in self._files:
                stream.close()
                _publish(temporary, path)
            if self._overlay is not None:
                self._overlay.close()
            elif self._overlay_path is not None:
                raise VideoError(f"{self._overlay_path}: no frame was written, so no overlay video")
        except BaseException:
            self.abort()
            raise
        self._files, self._overlay = [], None

    def abort(self) -> None:
        """Drop every output: nothing is left at the paths or beside them."""
        files, self._files = self._files, []
        overlay, self._overlay = self._overlay, None
        try:
            for temporary, _path, stream in files:
                try:
                    stream.close()  # flushes: on a full disk this fails again, and is ignored here
                except OSError:
                    pass
                finally:
                    temporary.unlink(missing_ok=True)
        finally:
            if overlay is not None:
                overlay.abort()
