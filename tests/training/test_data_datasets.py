"""Datasets: shapes and dtypes, heatmap peaks on the landmarks, augmentation keeps image and
landmarks together."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
cv2 = pytest.importorskip("cv2")

from parface_sdk.nn.softargmax import heatmap_to_crop, soft_argmax  # noqa: E402
from parface_sdk.spec import ModelSpec  # noqa: E402
from parface_training.data import LandmarkDataset, UnlabeledDataset, render_heatmaps  # noqa: E402
from parface_training.data.flip import FLIP_PERM_68  # noqa: E402
from parface_training.data.heatmaps import crop_to_heatmap  # noqa: E402

torch.set_num_threads(1)
SPEC = ModelSpec.for_variant("light")
SIZE = 256


@pytest.fixture(scope="module")
def ramp_record(tmp_path_factory, shared_dir):
    """A 256 px image whose red = x and green = y, and a real face shape placed in it."""
    from parface_sdk.landmark_files import read_pts

    xy = read_pts(shared_dir / "data/300w-subset/train/afw_1051618982_1.pts").astype(np.float64)
    xy = (xy - xy.min(axis=0)) / np.ptp(xy, axis=0).max() * 120 + 68
    z = np.random.default_rng(0).uniform(-20, 20, size=(68, 1))
    grid_y, grid_x = np.mgrid[0:SIZE, 0:SIZE]
    rgb = np.stack([grid_x, grid_y, np.full_like(grid_x, 128)], axis=2).astype(np.uint8)
    path = tmp_path_factory.mktemp("ramp") / "ramp.png"
    cv2.imwrite(str(path), rgb[:, :, ::-1])
    return str(path), np.concatenate([xy, z], axis=1).astype(np.float32)


def _away_from_heatmap_border(crop_xy: np.ndarray) -> np.ndarray:
    """Points whose soft-argmax window lies inside the heatmap (near the border it is biased)."""
    heat = crop_to_heatmap(crop_xy, SPEC.input_size, SPEC.heatmap_size)
    margin = SPEC.softargmax_radius + 1
    return ((heat >= margin) & (heat <= SPEC.heatmap_size - 1 - margin)).all(axis=1)


def _decode(item):
    xy, _ = soft_argmax(item["heatmaps"][None], SPEC.softargmax_radius)
    return heatmap_to_crop(xy, SPEC.input_size, SPEC.heatmap_size)[0].numpy()


def test_render_heatmaps_peak():
    points = np.array([[10.3, 20.7], [0.0, 0.0], [21.5, 5.25]])
    maps = render_heatmaps(points, 32, 1.5)
    assert maps.shape == (3, 32, 32) and maps.dtype == np.float32
    assert maps[1, 0, 0] == pytest.approx(1.0)
    xy, _ = soft_argmax(torch.from_numpy(maps[None]), 4)
    np.testing.assert_allclose(xy[0, [0, 2]].numpy(), points[[0, 2]], atol=0.05)


def test_item_shapes_and_heatmap_peaks(ramp_record):
    item = LandmarkDataset([ramp_record], SPEC, augment=False)[0]
    size, heat = SPEC.input_size, SPEC.heatmap_size
    expected = {"image": (3, size, size), "landmarks": (68, 3), "depth": (68,), "heatmaps": (68, heat, heat)}
    for key, shape in expected.items():
        assert tuple(item[key].shape) == shape and item[key].dtype == torch.float32, key
    assert abs(float(item["landmarks"][:, 2].mean())) < 1e-3
    np.testing.assert_allclose(
        item["depth"].numpy(), item["landmarks"][:, 2].numpy() / SPEC.depth_scale, rtol=1e-5
    )
    assert float(item["depth"].abs().max()) <= 1.0
    np.testing.assert_allclose(_decode(item), item["landmarks"][:, :2].numpy(), atol=0.1)


def _sample(image_chw: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """Bilinear (red, green) of the de-normalised crop at crop pixel positions."""
    pixels = (image_chw.transpose(1, 2, 0) * np.asarray(SPEC.std) + np.asarray(SPEC.mean)) * 255.0
    map_x = xy[:, 0].astype(np.float32).reshape(1, -1)
    map_y = xy[:, 1].astype(np.float32).reshape(1, -1)
    return cv2.remap(pixels.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR)[0, :, :2]


def test_augmentation_keeps_landmarks_on_content(ramp_record):
    dataset = LandmarkDataset([ramp_record], SPEC, augment=True, seed=3)
    original = ramp_record[1][:, :2]
    flips = 0
    for _ in range(8):
        item = dataset[0]
        crop_xy = item["landmarks"][:, :2].numpy()
        inside = ((crop_xy > 2) & (crop_xy < SPEC.input_size - 3)).all(axis=1)
        seen = _sample(item["image"].numpy(), crop_xy)  # image coordinates stored in the colours
        plain = np.abs(seen - original)[inside].max()
        # A flipped item shows the mirror image, so point i lies on the content of point perm[i].
        flipped = np.abs(seen - original[list(FLIP_PERM_68)])[inside].max()
        flips += flipped < plain
        assert min(plain, flipped) < 1.5, (plain, flipped)
        interior = _away_from_heatmap_border(crop_xy)
        np.testing.assert_allclose(_decode(item)[interior], crop_xy[interior], atol=0.1)
    assert 0 < flips < 8  # both branches were exercised (seeded)


def test_unlabeled_dataset(shared_dir):
    folder = shared_dir / "data/unlabeled-utkface/images"
    paths = sorted(folder.glob("*.jpg"))[:3]
    dataset = UnlabeledDataset(paths, SPEC, augment=True, seed=0)
    assert len(dataset.boxes) > 0  # the YuNet boxes of index.csv
    item = dataset[1]
    assert set(item) == {"image"} and tuple(item["image"].shape) == (3, SPEC.input_size, SPEC.input_size)
    assert item["image"].dtype == torch.float32
