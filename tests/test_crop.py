import numpy as np
import pytest

from parface_sdk import crop
from parface_sdk.errors import UnsupportedShapeError


def test_crop_inverse_round_trip_is_exact():
    rng = np.random.default_rng(1)
    points = rng.uniform(0, 500, (68, 3))
    for angle in (0.0, 0.3, -1.2):
        transform = crop.similarity(np.array([240.5, 199.0]), 173.0, 128, angle)
        back = crop.apply(crop.invert(transform), crop.apply(transform, points))
        assert np.abs(back - points).max() < 1e-4


def test_box_maps_onto_crop_edges():
    transform = crop.transform_from_box(np.array([100, 50, 300, 250]), 128, scale=1.0)
    corners = crop.apply(transform, np.array([[100.0, 50.0], [300.0, 250.0]]))
    # Box edges are pixel edges: they land half a pixel outside the first and last crop pixels.
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [127.5, 127.5]], atol=1e-9)


def test_depth_is_scaled_like_xy():
    transform = crop.transform_from_box(np.array([0, 0, 256, 256]), 128, scale=1.0)
    assert crop.transform_scale(transform) == pytest.approx(0.5)
    mapped = crop.apply(transform, np.array([[10.0, 10.0, 40.0]]))
    assert mapped[0, 2] == pytest.approx(20.0)


def test_warp_samples_where_the_transform_says():
    image = np.zeros((200, 300, 3), np.uint8)
    image[120, 80] = 255  # a bright pixel
    transform = crop.transform_from_box(np.array([40, 90, 140, 190]), 64, scale=1.2)
    patch = crop.warp(image, transform, 64)
    expected = crop.apply(transform, np.array([[80.0, 120.0]]))[0]
    peak = np.unravel_index(patch[:, :, 0].argmax(), patch.shape[:2])
    assert abs(peak[1] - expected[0]) <= 0.5 and abs(peak[0] - expected[1]) <= 0.5


def test_normalize_layout():
    crops = np.full((2, 8, 8, 3), 255, np.uint8)
    out = crop.normalize(crops, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5))
    assert out.shape == (2, 3, 8, 8) and out.dtype == np.float32 and np.allclose(out, 1.0)


def test_bad_boxes():
    with pytest.raises(UnsupportedShapeError):
        crop.transform_from_box(np.array([10, 10, 10, 40]), 64, 1.0)
    with pytest.raises(UnsupportedShapeError):
        crop.transform_from_box(np.array([1, 2, 3]), 64, 1.0)
