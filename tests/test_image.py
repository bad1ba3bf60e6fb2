import cv2
import numpy as np
import pytest

from parface_sdk.errors import InvalidImageError, InvalidOptionError
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
    np.testing.assert_array_equal(load_image(as_float, "BGR"), bgr[:, :, ::-1])
    # float images holding 0..255 (a float TIFF of 8-bit data) are read as 0..255
    np.testing.assert_array_equal(load_image(as_float * 255, "BGR"), bgr[:, :, ::-1])
    for bad in (as_float * 256 + 1, as_float - 0.5):
        with pytest.raises(InvalidImageError, match=r"0\.\.1 or 0\.\.255"):
            load_image(bad, "BGR")
    as_16 = bgr.astype(np.uint16) << 8
    np.testing.assert_array_equal(load_image(as_16, "BGR"), bgr[:, :, ::-1])


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


def test_colour_arrays_need_an_explicit_order(bgr):
    """No default order: RGB callers (MediaPipe, PIL) and BGR callers (OpenCV) both must say."""
    with pytest.raises(InvalidOptionError, match="color='RGB'"):
        load_image(bgr)
    with pytest.raises(InvalidOptionError, match="color='RGB'"):
        load_image(np.dstack([bgr, bgr[:, :, :1]]))
    assert load_image(bgr[:, :, 0]).shape == (20, 30, 3)  # grayscale needs no order


@pytest.mark.parametrize("spelling", ["rgb", "Rgb", "RGB"])
def test_colour_order_is_case_insensitive(bgr, spelling):
    np.testing.assert_array_equal(load_image(bgr, spelling), bgr)
    np.testing.assert_array_equal(load_image(bgr, spelling[::-1]), bgr[:, :, ::-1])  # "bgr", "bgR", ...


@pytest.mark.parametrize("bad", ["rgba", "HSV", "", 3])
def test_unknown_colour_order_is_a_typed_error(bgr, bad):
    with pytest.raises(InvalidOptionError, match="'RGB' or 'BGR'"):
        load_image(bgr, bad)


def _exif(value: int, order: str = "MM") -> bytes:
    """A minimal EXIF block (TIFF header, IFD0 with one Orientation entry), written by hand."""
    import struct

    e = ">" if order == "MM" else "<"
    return (
        b"Exif\x00\x00"
        + order.encode()
        + struct.pack(e + "HI", 42, 8)
        + struct.pack(e + "H", 1)
        + struct.pack(e + "HHIHH", 0x0112, 3, 1, value, 0)
        + struct.pack(e + "I", 0)
    )


def _jpeg_with_orientation(image: np.ndarray, value: int, order: str = "MM") -> bytes:
    import struct

    jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 100])[1].tobytes()
    payload = _exif(value, order)
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def _png_with_orientation(image: np.ndarray, value: int) -> bytes:
    import struct
    import zlib

    png = cv2.imencode(".png", image)[1].tobytes()
    body = _exif(value)[6:]  # eXIf holds the TIFF block without the "Exif" header
    chunk = struct.pack(">I", len(body)) + b"eXIf" + body + struct.pack(">I", zlib.crc32(b"eXIf" + body))
    return png[:33] + chunk + png[33:]  # after the 8-byte signature and the 25-byte IHDR chunk


@pytest.fixture()
def portrait():
    """A 40x60 landscape picture with a bright top-left corner (BGR)."""
    image = np.zeros((40, 60, 3), np.uint8)
    image[:10, :20] = 255
    return image


@pytest.mark.parametrize("value", range(1, 9))
def test_exif_orientation_is_applied_like_image_viewers(portrait, tmp_path, value):
    """A phone portrait is stored sideways with an Orientation tag: load it upright, as
    cv2.imread (which applies the tag to JPEG files) shows it, from a path and from bytes."""
    data = _jpeg_with_orientation(portrait, value, "II" if value % 2 else "MM")
    path = tmp_path / "phone.jpg"
    path.write_bytes(data)
    upright = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
    assert upright.shape[:2] == ((40, 60) if value <= 4 else (60, 40))
    np.testing.assert_array_equal(load_image(path), upright)
    np.testing.assert_array_equal(load_image(data), upright)


def test_exif_orientation_in_png(portrait):
    rotated = load_image(_png_with_orientation(portrait, 6))
    np.testing.assert_array_equal(rotated, np.rot90(portrait[:, :, ::-1], -1))


def _webp_with_orientation(image: np.ndarray, value: int, exif_header: bool) -> bytes:
    """Lossless WebP from cv2, rewritten by hand as an extended (VP8X) RIFF file with an EXIF chunk."""
    import struct

    webp = cv2.imencode(".webp", image, [cv2.IMWRITE_WEBP_QUALITY, 101])[1].tobytes()  # > 100: lossless
    assert webp[:4] == b"RIFF" and webp[8:12] == b"WEBP"
    height, width = image.shape[:2]
    flags = 0x08  # the EXIF flag of the VP8X header
    vp8x = bytes([flags, 0, 0, 0]) + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    payload = _exif(value, "II") if exif_header else _exif(value, "II")[6:]
    chunks = b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x + webp[12:]
    chunks += b"EXIF" + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


@pytest.mark.parametrize("exif_header", [False, True], ids=["raw-tiff", "exif-header"])
@pytest.mark.parametrize("value", [3, 6, 8])
def test_exif_orientation_in_webp(portrait, tmp_path, value, exif_header):
    """WebP stores EXIF in its own RIFF chunk (raw TIFF per the spec; some writers keep the JPEG
    "Exif" header): the picture is turned upright from bytes and from a file."""
    data = _webp_with_orientation(portrait, value, exif_header)
    stored = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    np.testing.assert_array_equal(stored, portrait)  # the hand-built file decodes, losslessly
    rgb = portrait[:, :, ::-1]
    expected = {3: rgb[::-1, ::-1], 6: np.rot90(rgb, -1), 8: np.rot90(rgb, 1)}[value]
    np.testing.assert_array_equal(load_image(data), expected)
    path = tmp_path / "phone.webp"
    path.write_bytes(data)
    np.testing.assert_array_equal(load_image(path), expected)


def test_damaged_exif_is_ignored(portrait):
    data = _jpeg_with_orientation(portrait, 6)
    damaged = data.replace(b"MM\x00*", b"MM\x00*\xff\xff\xff\xff", 1)  # IFD offset past the end
    assert load_image(damaged).shape == (40, 60, 3)
