"""EXIF orientation of encoded images (JPEG, PNG, WebP), read without extra dependencies.

Phones store portrait photos as landscape pixels plus an EXIF ``Orientation`` tag (1-8). Decoding
with ``cv2.IMREAD_UNCHANGED`` (needed to keep alpha and 16-bit data) ignores that tag, so
:func:`orientation` reads it from the bytes and :func:`apply_orientation` turns the pixels upright,
as image viewers show them. Landmarks are then in the coordinates of the displayed image.
"""

from __future__ import annotations

import numpy as np

ORIENTATION_TAG = 0x0112
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_EXIF_HEADER = b"Exif\x00\x00"


def orientation(data: bytes) -> int:
    """The EXIF orientation (1-8) of JPEG, PNG or WebP bytes; 1 when there is none or it is unreadable."""
    try:
        payload = _exif_payload(data)
        return 1 if payload is None else _tiff_orientation(payload)
    except (IndexError, ValueError):  # a damaged EXIF block: show the pixels as stored
        return 1


def apply_orientation(image: np.ndarray, value: int) -> np.ndarray:
    """``image`` (H, W[, C]) turned as EXIF orientation ``value`` asks (1 returns it unchanged)."""
    if value == 2:
        return image[:, ::-1]
    if value == 3:
        return image[::-1, ::-1]
    if value == 4:
        return image[::-1]
    if value == 5:
        return image.swapaxes(0, 1)
    if value == 6:
        return np.rot90(image, -1)
    if value == 7:
        return image.swapaxes(0, 1)[::-1, ::-1]
    if value == 8:
        return np.rot90(image, 1)
    return image


def _exif_payload(data: bytes) -> bytes | None:
    if data[:2] == b"\xff\xd8":
        return _jpeg_exif(data)
    if data[:8] == _PNG_SIGNATURE:
        return _png_exif(data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp_exif(data)
    return None


def _jpeg_exif(data: bytes) -> bytes | None:
    position = 2
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            return None
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            position += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan / end of image: no metadata after this
            return None
        length = int.from_bytes(data[position + 2 : position + 4], "big")
        segment = data[position + 4 : position + 2 + length]
        if marker == 0xE1 and segment.startswith(_EXIF_HEADER):
            return segment[len(_EXIF_HEADER) :]
        position += 2 + length
    return None


def _png_exif(data: bytes) -> bytes | None:
    position = len(_PNG_SIGNATURE)
    while position + 8 <= len(data):
        length = int.from_bytes(data[position : position + 4], "big")
        kind = data[position + 4 : position + 8]
        if kind == b"eXIf":
            return data[position + 8 : position + 8 + length]
        if kind == b"IEND":
            return None
        position += 12 + length
    return None


def _webp_exif(data: bytes) -> bytes | None:
    position = 12
    while position + 8 <= len(data):
        kind = data[position : position + 4]
        size = int.from_bytes(data[position + 4 : position + 8], "little")
        if kind == b"EXIF":
            payload = data[position + 8 : position + 8 + size]
            return payload[len(_EXIF_HEADER) :] if payload.startswith(_EXIF_HEADER) else payload
        position += 8 + size + (size & 1)
    return None


def _tiff_orientation(tiff: bytes) -> int:
    """The Orientation entry of IFD0 in a TIFF-structured EXIF block."""
    order = {b"II": "little", b"MM": "big"}.get(tiff[:2])
    if order is None:
        return 1
    offset = int.from_bytes(tiff[4:8], order)
    count = int.from_bytes(tiff[offset : offset + 2], order)
    for index in range(count):
        entry = tiff[offset + 2 + 12 * index : offset + 14 + 12 * index]
        if len(entry) < 12:
            break
        if int.from_bytes(entry[:2], order) == ORIENTATION_TAG:
            value = int.from_bytes(entry[8:10], order)  # type SHORT: the value sits in the entry
            return value if 1 <= value <= 8 else 1
    return 1
