import cv2
import numpy as np
import pytest

from parface_sdk.errors import InvalidImageError
from parface_sdk.image import load_image


@pytest.fixture()
def bgr():
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)


def test_bgr_and_rgb_arrays_agree(bgr):
    rgb = bgr[:, :, ::-1]
    np.testing.assert_array_equal(load_image(bgr, "BGR"), rgb)
    np.testing.assert_array_equal(load_image(rgb, "RGB"), rgb)
    assert load_image(rgb, "RGB").flags.c_contiguous


def test_grayscale_and_rgba(bgr):
    gray = bgr[:, :, 0]
    out = load_image(gray)
    assert out.shape == (20, 30, 3) and (out[:, :, 0] == gray).all() and (out[:, :, 2] == gray).all()
    out1 = load_image(gray[:, :, None])
    np.testing.assert_array_equal(out, out1)
    rgba = np.dstack([bgr[:, :, ::-1], np.full((20, 30), 255, np.uint8)])
    np.testing.assert_array_equal(load_image(rgba, "RGB"), bgr[:, :, ::-1])
    bgra = np.dstack([bgr, np.full((20, 30), 255, np.uint8)])
    np.testing.assert_array_equal(load_image(bgra, "BGR"), bgr[:, :, ::-1])


def test_float_and_uint16(bgr):
    as_float = bgr.astype(np.float32) / 255.0
    np.testing.assert_array_equal(load_image(as_float), bgr[:, :, ::-1])
    with pytest.raises(InvalidImageError, match=r"\[0, 1\]"):
        load_image(as_float * 255)
    as_16 = bgr.astype(np.uint16) << 8
    np.testing.assert_array_equal(load_image(as_16), bgr[:, :, ::-1])


def test_path_and_bytes(bgr, tmp_path):
    path = tmp_path / "a.png"
    cv2.imwrite(str(path), bgr)
    np.testing.assert_array_equal(load_image(path), bgr[:, :, ::-1])
    np.testing.assert_array_equal(load_image(path.read_bytes()), bgr[:, :, ::-1])


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((0, 10, 3), np.uint8),
        np.zeros((10, 10, 2), np.uint8),
        np.zeros((10,), np.uint8),
        np.zeros((4, 4, 3), np.int64),
        np.full((4, 4, 3), np.nan, np.float32),
        b"",
        b"definitely not an image",
        12345,
    ],
)
def test_bad_inputs_raise_typed_error(bad):
    with pytest.raises(InvalidImageError):
        load_image(bad)


def test_corrupt_and_missing_files(tmp_path):
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    with pytest.raises(InvalidImageError, match="corrupt"):
        load_image(corrupt)
    with pytest.raises(InvalidImageError, match="no such"):
        load_image(tmp_path / "missing.jpg")
