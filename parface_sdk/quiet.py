"""Quiet native libraries: OpenCV, libpng, libjpeg and FFmpeg write warnings straight to the
process's stderr (file descriptor 2), around the one readable line the command lines print.

:func:`silence_native_logs` (called by the command lines, never on import) lowers OpenCV's and
FFmpeg's log levels and turns on :func:`quiet_native_stderr`, which points descriptor 2 at
``/dev/null`` around a decode. In a library process it stays off: redirecting a shared descriptor
would hide other threads' output.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from collections.abc import Iterator

_enabled = False
_lock = threading.RLock()


def silence_native_logs() -> None:
    """Lower OpenCV / FFmpeg / onnxruntime logging and quiet native stderr around decodes."""
    global _enabled
    os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET
    os.environ.setdefault("OPENCV_VIDEOIO_DEBUG", "0")
    if "cv2" in sys.modules:
        with contextlib.suppress(Exception):
            sys.modules["cv2"].setLogLevel(0)
    _enabled = True


def native_logs_silenced() -> bool:
    """Whether :func:`silence_native_logs` ran (onnxruntime sessions then log errors only)."""
    return _enabled


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """While enabled, descriptor 2 goes to ``/dev/null`` inside the block (Python's ``sys.stderr``
    is flushed first); otherwise a no-op."""
    if not _enabled:
        yield
        return
    with _lock:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(devnull)
