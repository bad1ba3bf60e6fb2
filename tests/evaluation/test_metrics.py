"""The evaluation metrics against hand-computed cases."""

import numpy as np
import pytest

from parface_sdk.evaluation import metrics


def _shape(width=100.0, height=64.0, depth=True):
    """68 points spanning a width x height box, outer eye corners 36/45 at a known distance."""
    rng = np.random.default_rng(0)
    points = np.column_stack(
        [rng.uniform(10, 10 + width, 68), rng.uniform(20, 20 + height, 68), rng.uniform(-30, 30, 68)]
    )
    points[0, :2], points[1, :2] = (10, 20), (10 + width, 20 + height)  # pin the box
    points[36], points[45] = (30, 50, 5), (90, 50, 5)  # 60 px apart, same depth
    return points if depth else points[:, :2]


def test_known_offset_gives_known_nme():
    gt = _shape()
    pred = gt.copy()
    pred[:, :2] += (3.0, 4.0)  # every point 5 px off
    assert metrics.box_size(gt)[0] == pytest.approx(80.0)  # sqrt(100 * 64)
    assert metrics.nme(pred, gt)[0] == pytest.approx(5.0 / 80.0)
    assert metrics.nme(pred, gt, normalizer="inter-ocular")[0] == pytest.approx(5.0 / 60.0)
    # only x, y count for NME: depth changes nothing
    pred[:, 2] += 50.0
    assert metrics.nme(pred, gt)[0] == pytest.approx(5.0 / 80.0)


def test_nme_is_per_face_and_mean_over_points():
    gt = np.stack([_shape(), _shape(200.0, 50.0)])
    pred = gt.copy()
    pred[0, :34, 0] += 8.0  # half the points 8 px off: mean 4 px
    errors = metrics.nme(pred, gt)
    assert errors.shape == (2,)
    assert errors[0] == pytest.approx(4.0 / 80.0) and errors[1] == 0.0
    points = metrics.point_errors_2d(pred, gt)
    assert points.shape == (2, 68) and points[0, 0] == pytest.approx(8.0 / 80.0)


def test_gte_ignores_a_constant_depth_shift():
    gt = _shape()
    assert metrics.gte(gt + (0.0, 0.0, 37.5), gt)[0] == pytest.approx(0.0, abs=1e-12)
    shifted = gt + (3.0, 4.0, -120.0)  # 5 px in x, y plus any depth offset
    assert metrics.gte(shifted, gt)[0] == pytest.approx(5.0 / 60.0)


def test_gte_is_sign_sensitive_in_depth():
    gt = _shape()
    flipped = gt.copy()
    flipped[:, 2] *= -1.0  # z pointing away from the camera
    centred = gt[:, 2] - gt[:, 2].mean()
    expected = np.mean(2 * np.abs(centred)) / 60.0
    assert metrics.gte(flipped, gt)[0] == pytest.approx(expected)
    assert metrics.gte(flipped, gt)[0] > 0.1


def test_gte_normaliser_is_the_3d_eye_corner_distance():
    gt = _shape()
    gt[45, 2] = gt[36, 2] + 80.0  # corners now 100 px apart in 3D (60, 0, 80)
    pred = gt + (0.0, 0.0, 0.0)
    pred[:, 0] += 10.0
    assert metrics.gte(pred, gt)[0] == pytest.approx(10.0 / 100.0)


def test_auc_and_failure_rate_on_a_constructed_list():
    errors = np.array([0.02, 0.05, 0.08, 0.20, np.inf])  # the inf is a detector miss
    # exact area of the empirical CED on [0, 0.1] / 0.1 = mean(max(0, 1 - e / 0.1))
    assert metrics.auc(errors) == pytest.approx((0.8 + 0.5 + 0.2 + 0 + 0) / 5, abs=1e-3)
    assert metrics.failure_rate(errors) == pytest.approx(2 / 5)
    assert metrics.failure_rate([0.1]) == 0.0  # FR counts errors strictly above 10 %
    assert metrics.auc([0.0, 0.0]) == pytest.approx(1.0, abs=1e-3)
    assert metrics.auc([0.5]) == 0.0


def test_trapezoid_auc_matches_the_exact_integral():
    errors = np.random.default_rng(1).gamma(2.0, 0.02, 500)
    exact = np.mean(np.clip(1 - errors / 0.1, 0, 1))
    assert metrics.auc(errors) == pytest.approx(exact, abs=1e-3)


def test_ced_curve():
    thresholds, fractions = metrics.ced([0.01, 0.03, 0.5])
    assert thresholds[0] == 0.0 and thresholds[-1] == pytest.approx(0.1) and len(thresholds) == 1001
    assert np.all(np.diff(fractions) >= 0)
    assert fractions[-1] == pytest.approx(2 / 3) and fractions[0] == 0.0


def test_summarize_in_percent_and_misses():
    stats = metrics.summarize(np.array([0.02, 0.04, np.inf]))
    assert stats["count"] == 3 and stats["missed"] == 1
    assert stats["mean"] == pytest.approx(3.0) and stats["std"] == pytest.approx(1.0)
    assert stats["failure_rate"] == pytest.approx(100 / 3)
    assert stats["auc"] == pytest.approx((0.8 + 0.6) / 3 * 100, abs=0.1)


@pytest.mark.parametrize(
    "yaw, expected",
    [
        (0.0, "0-30"),
        (30.0, "0-30"),
        (-30.5, "30-60"),
        (60.0, "30-60"),
        (-60.01, "60-90"),
        (89.9, "60-90"),
        (118.9, "60-90"),
        (-351.2, "60-90"),
        (None, None),
        (float("nan"), None),
    ],
)
def test_yaw_bins_follow_3ddfa(yaw, expected):
    assert metrics.yaw_bin(yaw) == expected


def test_shape_mismatch_is_a_typed_error():
    from parface_sdk.errors import UnsupportedShapeError

    with pytest.raises(UnsupportedShapeError):
        metrics.nme(np.zeros((2, 68, 2)), np.zeros((3, 68, 2)))
    with pytest.raises(UnsupportedShapeError):
        metrics.gte(np.zeros((1, 68, 2)), np.zeros((1, 68, 3)))


def test_metrics_match_the_3ddfa_reference_code(shared_dir):
    """The formulas of shared/data/aflw2000-3d-subset/README.md (3DDFA's benchmark), on real GT."""
    with np.load(shared_dir / "data" / "aflw2000-3d-test" / "gt_all_2000.npz") as arrays:
        gt = arrays["pt3d_68"][:20].astype(np.float64)  # (20, 3, 68)
    rng = np.random.default_rng(2)
    pred = gt + rng.normal(0, 3, gt.shape) + np.array([0, 0, 40.0])[None, :, None]

    def nme2d(pred_xy, g):
        w, h = g[0].max() - g[0].min(), g[1].max() - g[1].min()
        return np.linalg.norm(pred_xy - g[:2], axis=0).mean() / np.sqrt(w * h)

    def gte3d(p, g):
        p, g = p.copy(), g.copy()
        p[2] -= p[2].mean()
        g[2] -= g[2].mean()
        return np.linalg.norm(p - g, axis=0).mean() / np.linalg.norm(g[:, 36] - g[:, 45])

    ours_nme = metrics.nme(pred.transpose(0, 2, 1), gt.transpose(0, 2, 1))
    ours_gte = metrics.gte(pred.transpose(0, 2, 1), gt.transpose(0, 2, 1))
    np.testing.assert_allclose(ours_nme, [nme2d(p[:2], g) for p, g in zip(pred, gt)], rtol=1e-12)
    np.testing.assert_allclose(ours_gte, [gte3d(p, g) for p, g in zip(pred, gt)], rtol=1e-12)
