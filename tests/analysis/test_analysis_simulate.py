"""Synthetic droops (parface_sdk/analysis/simulate.py) on real 300-W photos: the thin-plate droop
moves exactly the points it names by the asked fraction of the inter-ocular distance, holds the
rest and leaves the other side alone; the local droop moves its point; subjects load and filter."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy")
pytest.importorskip("cv2")

from parface_sdk.analysis.mirror import MIRROR_PERM  # noqa: E402
from parface_sdk.analysis.simulate import (  # noqa: E402
    DROOP_POINTS,
    DROOP_REGIONS,
    down_direction,
    droop_maps,
    is_frontal,
    load_subjects,
    make_clip,
)
from parface_sdk.geometry import forward_points, read_pts  # noqa: E402

PERCENT = 6.0
CASES = [("mouth", "right"), ("mouth", "left"), ("brow", "right"), ("brow", "left")]


@pytest.fixture(scope="module")
def folder(shared_dir):
    return shared_dir / "data" / "300w-subset" / "train"


@pytest.fixture(scope="module")
def subjects(folder):
    return load_subjects([folder], 2, seed=0)


def _motion(subject, region, side, warp="tps", percent=PERCENT):
    """Each of the 68 points' displacement (pixels) in the droop-warped photo."""
    maps = droop_maps(subject.image.shape, subject, region, side, percent, warp=warp)
    assert maps[0].shape == maps[1].shape == subject.image.shape[:2]
    return forward_points(subject.points, maps) - subject.points


@pytest.mark.parametrize(("region", "side"), CASES)
def test_tps_droop_moves_the_named_points_only(subjects, region, side):
    moved, free = DROOP_POINTS[region, side]
    held = [i for i in range(68) if i not in moved and i not in free]
    other = [MIRROR_PERM[i] for i in moved]
    for subject in subjects:
        iod = subject.interocular
        motion = _motion(subject, region, side)
        expected = PERCENT / 100 * iod * down_direction(subject.points)
        # The moved points go percent % IOD towards the chin (perpendicular to the eye line).
        assert np.linalg.norm(motion[list(moved)] - expected, axis=1).max() < 0.003 * iod
        distance = np.linalg.norm(motion, axis=1)
        assert distance[held].max() < 0.003 * iod
        # The other side's corresponding points are held, hence still.
        assert set(other) <= set(held) and distance[other].max() < 0.003 * iod
        # The lip between the corner and the midline follows, less than the corner itself.
        if free:
            assert distance[list(free)].max() < distance[list(moved)].min()
            assert distance[list(free)].max() > 0.01 * iod


@pytest.mark.parametrize(("region", "side"), CASES)
def test_tps_droop_raises_with_a_negative_percent(subjects, region, side):
    moved, _ = DROOP_POINTS[region, side]
    subject = subjects[0]
    motion = _motion(subject, region, side, percent=-4.0)
    along = motion[list(moved)] @ down_direction(subject.points) / subject.interocular
    np.testing.assert_allclose(along, -0.04, atol=0.003)


@pytest.mark.parametrize(("region", "side"), CASES)
def test_local_droop_moves_its_point(subjects, region, side):
    right, left, _, _ = DROOP_REGIONS[region]
    point, mirror = (right, left) if side == "right" else (left, right)
    for subject in subjects:
        motion = _motion(subject, region, side, warp="local")
        size = PERCENT / 100 * subject.interocular
        # The local bump lowers its point straight down the image.
        assert motion[point, 1] == pytest.approx(size, rel=0.2)
        assert abs(motion[point, 0]) < 0.2 * size
        assert np.linalg.norm(motion[mirror]) < 0.2 * size


def test_bad_droop_arguments_raise(subjects):
    subject = subjects[0]
    shape = subject.image.shape
    with pytest.raises(ValueError, match="region"):
        droop_maps(shape, subject, "nose", "right", PERCENT)
    with pytest.raises(ValueError, match="side"):
        droop_maps(shape, subject, "mouth", "up", PERCENT)
    with pytest.raises(ValueError, match="warp"):
        droop_maps(shape, subject, "mouth", "right", PERCENT, warp="affine")
    with pytest.raises(ValueError, match="warp"):
        make_clip(subject, frames=2, droop=("mouth", "right", PERCENT), warp="affine")


def test_make_clip_droops_only_during_the_task(subjects):
    subject = subjects[0]
    kwargs = {"frames": 30, "fps": 15.0, "noise": 0.0, "shift_px": 0.0, "roll_deg": 0.0}
    still = make_clip(subject, **kwargs)
    drooped = make_clip(subject, droop=("mouth", "right", PERCENT), **kwargs)
    assert len(drooped) == 30 and drooped[0].shape == subject.image.shape
    # Same seed, no droop before 1 s: identical frames; during the task: the mouth corner changes.
    np.testing.assert_array_equal(drooped[5], still[5])
    x, y = np.round(subject.points[48]).astype(int)
    radius = int(0.1 * subject.interocular)
    patch = np.s_[y - radius : y + radius, x - radius : x + radius]
    assert np.abs(drooped[22][patch].astype(int) - still[22][patch].astype(int)).mean() > 2.0


def test_load_subjects_select_and_count(folder):
    names = {subject.name for subject in load_subjects([folder], None, seed=0)}
    frontal = {
        path.stem
        for path in folder.glob("*.pts")
        if is_frontal(read_pts(path).astype(np.float64)) and path.with_suffix(".jpg").exists()
    }
    assert names == frontal and len(names) > 2
    # The seed orders the draw; select keeps only the names it accepts.
    assert [s.name for s in load_subjects([folder], 3, seed=1)] == [
        s.name for s in load_subjects([folder], 3, seed=1)
    ]
    chosen = load_subjects([folder], None, seed=0, select=lambda name: name.startswith("afw_"))
    assert chosen and {s.name for s in chosen} == {n for n in frontal if n.startswith("afw_")}
    one = sorted(frontal)[0]
    only = load_subjects([folder], 1, seed=3, select=lambda name: name == one)
    assert [s.name for s in only] == [one]
    assert only[0].points.shape == (68, 2) and only[0].image.ndim == 3
    with pytest.raises(ValueError, match="near-frontal"):
        load_subjects([folder], 2, seed=0, select=lambda name: name == one)


def test_load_subjects_skips_photos_without_an_image(folder, tmp_path, caplog):
    frontal = sorted(p for p in folder.glob("*.pts") if is_frontal(read_pts(p).astype(np.float64)))
    for path in frontal[:2]:
        (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / frontal[0].with_suffix(".jpg").name).write_bytes(frontal[0].with_suffix(".jpg").read_bytes())
    loaded = load_subjects([tmp_path], None)
    assert [s.name for s in loaded] == [frontal[0].stem]
    assert frontal[1].stem in caplog.text


def test_tps_brow_droop_near_a_held_point(folder):
    """A brow 8.5 px above the top of the jaw line and close to the eye: the lid and the jaw top
    follow the spline (DROOP_POINTS), and the brow still lands where it was sent."""
    (subject,) = load_subjects([folder], 1, select=lambda name: name == "helen_16547388_1")
    moved, _ = DROOP_POINTS["brow", "right"]
    motion = _motion(subject, "brow", "right")
    expected = PERCENT / 100 * subject.interocular * down_direction(subject.points)
    assert np.linalg.norm(motion[list(moved)] - expected, axis=1).max() < 0.003 * subject.interocular


@pytest.mark.parametrize("expression", ["smile", "brows", "lids"])
def test_symmetric_expression_moves_both_sides_alike(subjects, expression):
    from parface_sdk.analysis.simulate import EXPRESSIONS, expression_maps

    subject = subjects[0]
    iod = subject.interocular
    _, sign, percent = EXPRESSIONS[expression]
    maps = expression_maps(subject.image.shape, subject, expression, percent)
    motion = forward_points(subject.points, maps) - subject.points
    pairs = {"smile": (48, 54), "brows": (19, 24), "lids": (37, 44)}[expression]
    expected = sign * percent / 100 * iod * down_direction(subject.points)
    for point in pairs:
        assert np.linalg.norm(motion[point] - expected) < 0.003 * iod
    # the nose and jaw line stay put
    assert np.linalg.norm(motion[[30, 33, 8]], axis=1).max() < 0.003 * iod


def test_symmetric_smile_gives_none(subjects):
    """A healthy full smile (both mouth corners up 8 % IOD) is not a one-sided change: the
    calibrated decision says none. The landmarks are the warp's own points (no model), so this
    checks the measures and the decision, not a model. (With the natural side-to-side difference of
    the new null, "none" holds once the lead re-runs the calibration with those clips.)"""
    from parface_sdk.analysis import Task, decide_asymmetry, measure_sequence
    from parface_sdk.analysis.simulate import expression_maps

    subject = subjects[0]
    tasks = [Task("rest", 0.0, 1.0), Task("smile", 1.0, 2.0)]
    smiling = forward_points(subject.points, expression_maps(subject.image.shape, subject, "smile", 8.0))
    rng = np.random.default_rng(0)
    times = np.arange(30) / 15.0
    frames = []
    for time in times:
        points = smiling if time >= 1.0 else subject.points
        # a planar face seen from the front, with sub-pixel landmark noise
        flat = np.column_stack([points + rng.normal(0, 0.2, points.shape), np.zeros(68)])
        frames.append(flat)
    series = measure_sequence(np.stack(frames), times, landmark_source="model")
    decision = decide_asymmetry(series, tasks)
    change = decision.tests[1]["change_pct_iod"]
    assert abs(change) < 0.5, change
    assert decision.decision == "none", decision.evidence
    assert 0.0 < decision.probability < 1.0


def test_natural_asymmetry_is_a_few_millimetres():
    """The healthy side-to-side difference the null draws: spread of NATURAL_ASYMMETRY_PCT % IOD
    (about 90 mm in adults: ~1.2 mm for the smile), the two sides split evenly."""
    from parface_sdk.analysis.simulate import NATURAL_ASYMMETRY_PCT, natural_asymmetry

    rng = np.random.default_rng(0)
    draws = np.array([natural_asymmetry("smile", rng) for _ in range(4000)])
    np.testing.assert_allclose(draws[:, 0], -draws[:, 1])
    spread_mm = np.std(draws[:, 0] - draws[:, 1]) / 100 * 90
    assert abs(np.std(draws[:, 0] - draws[:, 1]) - NATURAL_ASYMMETRY_PCT["smile"]) < 0.05
    assert 0.5 < spread_mm < 3.0
