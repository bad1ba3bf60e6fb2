"""BFM fit: recovers a synthetic face's depth; label conventions; the label cache round trip."""

from __future__ import annotations

import numpy as np
import pytest

from parface_training.data.bfm_fit import BFM68, JAW, fit, fit_labels


@pytest.fixture(scope="module")
def bfm(shared_dir):
    return BFM68.load(shared_dir / "models/bfm_68_landmarks.npz")


def _rotation(pitch, yaw, roll):
    cx, sx, cy, sy, cz, sz = (
        np.cos(pitch),
        np.sin(pitch),
        np.cos(yaw),
        np.sin(yaw),
        np.cos(roll),
        np.sin(roll),
    )
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx


def _synthetic(bfm, count, seed=0):
    rng = np.random.default_rng(seed)
    coefficients = rng.normal(size=(count, len(bfm.prior_std))) * bfm.prior_std
    shapes = bfm.shapes(coefficients)
    points = np.empty_like(shapes)
    for i in range(count):
        angles = np.deg2rad(rng.uniform([-15, -40, -20], [15, 40, 20]))
        camera = shapes[i] @ _rotation(*angles).T * (80.0 / bfm.iod)  # IOD ~ 80 px
        points[i, :, 0] = camera[:, 0] + 200
        points[i, :, 1] = -camera[:, 1] + 220
        points[i, :, 2] = camera[:, 2] - camera[:, 2].mean()
    return points


def test_fit_recovers_synthetic_depth(bfm):
    truth = _synthetic(bfm, 20)
    fitted = fit(bfm, truth[..., :2]).points
    iod = np.linalg.norm(truth[:, 36] - truth[:, 45], axis=-1)
    z_error = np.abs(fitted[..., 2] - truth[..., 2]).mean(axis=1) / iod
    xy_error = np.linalg.norm(fitted[..., :2] - truth[..., :2], axis=-1).mean(axis=1) / iod
    baseline = fit(bfm, truth[..., :2], iterations=0).points  # the posed mean face
    baseline_error = np.abs(baseline[..., 2] - truth[..., 2]).mean(axis=1) / iod
    assert z_error.mean() < 0.045, z_error
    assert z_error.mean() < 0.6 * baseline_error.mean()
    assert xy_error.mean() < 0.02, xy_error
    # Positive towards the camera: the nose tip is in front of the jaw ends.
    assert (fitted[:, 30, 2] > fitted[:, [0, 16], 2].max(axis=1)).all()


def test_label_conventions(bfm):
    truth = _synthetic(bfm, 3, seed=1)
    xy = truth[..., :2] + np.random.default_rng(2).normal(scale=1.0, size=truth[..., :2].shape)
    labels = fit_labels(bfm, xy)
    assert labels["2D"].shape == labels["3DA-2D"].shape == (3, 68, 3)
    np.testing.assert_allclose(labels["2D"][..., :2], xy, atol=1e-4)
    np.testing.assert_allclose(labels["3DA-2D"][:, 17:, :2], xy[:, 17:], atol=1e-4)
    np.testing.assert_allclose(labels["3DA-2D"][:, JAW, :2], labels["fitted"][:, JAW, :2], atol=1e-4)
    np.testing.assert_allclose(labels["3DA-2D"][..., 2], labels["2D"][..., 2])
    assert (labels["residual"] < 0.05).all()


def test_label_cache_round_trip(tmp_path, bfm, shared_dir):
    from parface_training.data.labels import load_label_cache, train_records
    from parface_training.data.make_labels import make_cache

    folder = tmp_path / "faces"
    folder.mkdir()
    source = shared_dir / "data/300w-subset/train"
    for stem in ("afw_1051618982_1", "afw_111076519_1"):
        for suffix in (".jpg", ".pts"):
            (folder / f"{stem}{suffix}").symlink_to(source / f"{stem}{suffix}")
    cache, _ = make_cache([folder], bfm)
    cache.save(tmp_path / "labels.npz")
    loaded = load_label_cache(tmp_path / "labels.npz")
    assert len(loaded) == 2
    records = train_records([folder], label_cache=loaded, convention="2D")
    assert records[0][1].shape == (68, 3) and records[0][1].dtype == np.float32
    np.testing.assert_allclose(records[0][1][:, :2], loaded.landmarks_2d[0], atol=1e-4)
    direct = train_records([folder], bfm_path=shared_dir / "models/bfm_68_landmarks.npz")
    np.testing.assert_allclose(direct[1][1], loaded.landmarks_3da2d[1], atol=1e-4)
    with pytest.raises(ValueError, match="label_cache"):
        train_records([folder])
