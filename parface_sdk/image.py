"""Image input stage: whatever the caller has, validated and turned into RGB uint8 (H, W, 3)."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from parface_sdk.errors import InvalidImageError, InvalidOptionError
from parface_sdk.exif import apply_orientation, orientation

ImageSource = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray
ColorOrder = Literal["BGR", "RGB"]


# Images with more pixels than this are refused before decoding (OpenCV's own limit is 2**30).
MAX_IMAGE_PIXELS = 1 << 28


def _decode(data: bytes, source: str) -> np.ndarray:
    from parface_sdk.quiet import quiet_native_stderr

    if len(data) == 0:
        raise InvalidImageError(f"{source}: empty image data")
    try:
        with quiet_native_stderr():
            decoded = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error as exc:  # e.g. a header claiming more than OpenCV's pixel limit
        reason = " ".join(str(exc).split()).rsplit(") ", 1)[-1][:160]
        raise InvalidImageError(f"{source}: not a decodable image ({reason})") from None
    except MemoryError:
        raise InvalidImageError(f"{source}: the image is too large to decode") from None
    if decoded is None:
        raise InvalidImageError(f"{source}: not a decodable image (corrupt or unsupported format)")
    # IMREAD_UNCHANGED keeps alpha and 16 bits but ignores EXIF orientation: turn it upright here.
    return np.ascontiguousarray(apply_orientation(decoded, orientation(data)))  # BGR(A) / gray


def _read_file(path: Path) -> np.ndarray:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode) and not os.path.isdir(path):
            # a FIFO would block the read forever, a socket or a device is no image file
            raise InvalidImageError(f"{path}: not a regular file (a pipe, socket or device)")
        with open(path, "rb") as stream:
            data = stream.read()
    except FileNotFoundError:
        raise InvalidImageError(f"{path}: no such image file") from None
    except IsADirectoryError:
        raise InvalidImageError(f"{path}: is a folder, not an image file") from None
    except OSError as exc:  # permission denied, a symlink loop, an I/O error
        raise InvalidImageError(f"{path}: cannot read the image: {exc.strerror or exc}") from None
    return _decode(data, str(path))


def _to_uint8(array: np.ndarray, source: str) -> np.ndarray:
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.uint16:
        return (array >> 8).astype(np.uint8)
    if array.dtype in (np.float16, np.float32, np.float64):
        # Float images hold 0..1 (the usual float convention) or 0..255 (uint8 data cast to float,
        # e.g. a float TIFF): values up to 1 are read as 0..1, larger ones up to 255 as 0..255.
        if not np.isfinite(array).all():
            raise InvalidImageError(f"{source}: float image contains NaN or infinity")
        low, high = float(array.min()), float(array.max())
        if low < 0.0 or high > 255.0:
            raise InvalidImageError(
                f"{source}: float images must hold values in 0..1 or 0..255, got [{low:.3g}, {high:.3g}]"
            )
        scale = 255.0 if high <= 1.0 else 1.0
        return np.clip(np.round(array.astype(np.float64) * scale), 0, 255).astype(np.uint8)
    raise InvalidImageError(
        f"{source}: unsupported dtype {array.dtype}; expected uint8, uint16 or float (0..1 or 0..255)"
    )


def color_order(color: str | None, needed: bool = True) -> ColorOrder | None:
    """``color`` as ``"BGR"`` or ``"RGB"`` (any case), or a typed error saying what to pass.

    ``None`` is accepted only where no order is ``needed`` (grayscale arrays, files and bytes).
    """
    if color is None:
        if needed:
            raise InvalidOptionError(
                "a colour image array needs its channel order: pass color='RGB' (PIL, MediaPipe, "
                "face-alignment, imageio) or color='BGR' (OpenCV's cv2.imread / VideoCapture)"
            )
        return None
    if not isinstance(color, str) or color.upper() not in ("BGR", "RGB"):
        raise InvalidOptionError(f"color must be 'RGB' or 'BGR' (any case), got {color!r}")
    return color.upper()  # type: ignore[return-value]


def to_rgb(array: np.ndarray, color: str | None, source: str = "image") -> np.ndarray:
    """Validate an array image and convert it to contiguous RGB uint8 (H, W, 3).

    ``color`` (``"RGB"`` or ``"BGR"``, any case) is required for 3- and 4-channel arrays: the
    two orders look alike to the network and a wrong one silently costs accuracy.
    """
    if not isinstance(array, np.ndarray):
        raise InvalidImageError(f"{source}: expected a numpy array, got {type(array).__name__}")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise InvalidImageError(
            f"{source}: expected shape (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {array.shape}"
        )
    if array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidImageError(f"{source}: empty image of shape {array.shape}")
    if array.shape[0] * array.shape[1] > MAX_IMAGE_PIXELS:
        raise InvalidImageError(
            f"{source}: {array.shape[1]}x{array.shape[0]} is more than the {MAX_IMAGE_PIXELS} pixels accepted"
        )
    array = _to_uint8(array, source)
    color = color_order(color, needed=array.ndim == 3)
    if array.ndim == 2:
        return cv2.cvtColor(array, cv2.COLOR_GRAY2RGB)
    if array.shape[2] == 4:
        code = cv2.COLOR_BGRA2RGB if color == "BGR" else cv2.COLOR_RGBA2RGB
        return cv2.cvtColor(np.ascontiguousarray(array), code)
    if color == "BGR":
        return cv2.cvtColor(np.ascontiguousarray(array), cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(array)


def load_image(source: ImageSource, color: str | None = None) -> np.ndarray:
    """Any supported image source as RGB uint8 (H, W, 3).

    ``source`` is a file path, encoded bytes (JPEG, PNG, WebP, ...), or a numpy array.

    - Colour arrays (H, W, 3) and (H, W, 4) need ``color="RGB"`` or ``color="BGR"``: there is no
      default, because a wrong guess is silent (about 10 px of landmark error). Grayscale arrays
      need none.
    - Files and bytes are decoded (``color`` does not apply) and turned upright by their EXIF
      orientation, so a phone's portrait photo is aligned as it is displayed.
    """
    if color is not None:
        color = color_order(color)
    if isinstance(source, np.ndarray):
        return to_rgb(source, color)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return to_rgb(_decode(bytes(source), "image bytes"), "BGR", "image bytes")
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return to_rgb(_read_file(path), "BGR", str(path))
    raise InvalidImageError(
        f"unsupported image source {type(source).__name__}; pass a path, bytes or a numpy array"
    )
