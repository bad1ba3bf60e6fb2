"""Crop augmentation (parface_training/data/augment.py): the one-sided warp moves one mouth corner (or brow)
with its label and leaves the other side alone; lighting and occlusion keep the crop's format."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from parface_training.data.augment import (  # noqa: E402
    BROWS,
    MOUTH_CORNERS,
    WarpOptions,
    augment_crop,
    expression_warp,
    occlude,
    one_sided_warp,
    photometric,
)

SIZE = 128


@pytest.fixture(scope="module")
def face(shared_dir):
    """A real 300-W face shape scaled into a 128 px crop (z = 0) and a textured crop."""
    from parface_sdk.landmark_files import read_pts

    xy = read_pts(shared_dir / "data/300w-subset/train/afw_1051618982_1.pts").astype(np.float64)
    xy = (xy - xy.min(axis=0)) / np.ptp(xy, axis=0).max() * 80 + 24
    points = np.column_stack([xy, np.zeros(68)]).astype(np.float32)
    chip = np.random.default_rng(0).integers(0, 256, size=(SIZE, SIZE, 3), dtype=np.uint8)
    return cv2.GaussianBlur(chip, (0, 0), 2.0), points


def _iod_and_down(points):
    left, right = points[36:42, :2].mean(axis=0), points[42:48, :2].mean(axis=0)
    down = points[48:68, :2].mean(axis=0) - (left + right) / 2
    return float(np.linalg.norm(right - left)), down / np.linalg.norm(down)


@pytest.mark.parametrize("side", [0, 1])
@pytest.mark.parametrize("fraction", [0.1, -0.08])
def test_one_sided_warp_moves_one_mouth_corner(face, side, fraction):
    chip, points = face
    iod, down = _iod_and_down(points)
    rng = np.random.default_rng(0)
    warped, moved = one_sided_warp(chip, points, rng, region="mouth", side=side, shift_fraction=fraction)
    assert warped.shape == chip.shape and warped.dtype == np.uint8
    assert moved.shape == points.shape and moved.dtype == points.dtype
    shift = moved[:, :2] - points[:, :2]
    chosen, other = MOUTH_CORNERS[side], MOUTH_CORNERS[1 - side]
    # The chosen corner moves by the requested fraction of the inter-ocular distance, towards the
    # chin for a positive fraction (the Gaussian field is ~exp(-0.04) of the full shift at the centre).
    assert np.dot(shift[chosen], down) / iod == pytest.approx(fraction, rel=0.1)
    across = down[0] * shift[chosen, 1] - down[1] * shift[chosen, 0]
    assert abs(across) < 0.05 * abs(fraction) * iod  # along the face axis
    assert np.linalg.norm(shift[other]) < 0.1 * np.linalg.norm(shift[chosen])
    # The brows and eyes stay put (the field, sigma 0.35 IOD, reaches the nostrils); z is unchanged.
    assert np.linalg.norm(shift[17:27], axis=1).max() < 0.1 * np.linalg.norm(shift[chosen])
    assert np.linalg.norm(shift[36:48], axis=1).max() < 0.1 * np.linalg.norm(shift[chosen])
    np.testing.assert_array_equal(moved[:, 2], points[:, 2])


@pytest.mark.parametrize("side", [0, 1])
def test_one_sided_warp_moves_one_brow(face, side):
    chip, points = face
    iod, _ = _iod_and_down(points)
    _, moved = one_sided_warp(
        chip, points, np.random.default_rng(0), region="brow", side=side, shift_fraction=-0.1
    )
    motion = np.linalg.norm(moved[:, :2] - points[:, :2], axis=1)
    chosen, other = list(BROWS[side]), list(BROWS[1 - side])
    assert motion[chosen].max() > 0.05 * iod
    # The field (sigma 0.45 IOD) reaches the other brow's inner end (about a quarter of the motion)
    # but not its outer half, nor the mouth.
    assert motion[other].mean() < 0.25 * motion[chosen].mean()
    outer = other[-2:] if side == 0 else other[:2]
    assert motion[outer].max() < 0.1 * motion[chosen].max()
    assert motion[48:68].max() < 0.1 * motion[chosen].max()


def test_one_sided_warp_moves_the_image_with_the_label(face):
    """A bright dot on the mouth corner ends up under the corner's new label."""
    _, points = face
    corner = points[MOUTH_CORNERS[0], :2]
    chip = np.zeros((SIZE, SIZE, 3), np.uint8)
    cv2.circle(chip, (int(round(corner[0])), int(round(corner[1]))), 2, (255, 255, 255), -1)
    start = np.array(np.nonzero(chip[..., 0] > 0)[::-1], dtype=np.float64).mean(axis=1)
    warped, moved = one_sided_warp(
        chip, points, np.random.default_rng(0), region="mouth", side=0, shift_fraction=0.15
    )
    weight = warped[..., 0].astype(np.float64)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    end = np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()
    expected = start + (moved[MOUTH_CORNERS[0], :2] - corner)
    assert np.linalg.norm(end - start) > 3.0
    assert np.linalg.norm(end - expected) < 1.0


def test_one_sided_warp_is_reproducible_and_skips_tiny_faces(face):
    chip, points = face
    a = one_sided_warp(chip, points, np.random.default_rng(5))
    b = one_sided_warp(chip, points, np.random.default_rng(5))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    tiny = points.copy()
    tiny[:, :2] = tiny[:, :2] * 0.02 + 60  # inter-ocular distance under 4 px: returned unchanged
    same_chip, same_points = one_sided_warp(chip, tiny, np.random.default_rng(0))
    assert same_chip is chip and same_points is tiny


@pytest.mark.parametrize("seed", range(4))
def test_photometric_and_occlusion_keep_shape_and_dtype(face, seed):
    chip, points = face
    lit = photometric(chip, np.random.default_rng(seed))
    assert lit.shape == chip.shape and lit.dtype == np.uint8
    np.testing.assert_array_equal(lit, photometric(chip, np.random.default_rng(seed)))
    covered = occlude(chip, points, np.random.default_rng(seed))
    assert covered.shape == chip.shape and covered.dtype == np.uint8
    assert (covered != chip).any()
    # The rectangle is centred inside the face box and at most half its side: far pixels stay.
    lo, hi = points[:, :2].min(axis=0), points[:, :2].max(axis=0)
    margin = 0.25 * (hi - lo) + 2
    x0, y0 = np.floor(lo - margin).astype(int).clip(0)
    x1, y1 = np.ceil(hi + margin).astype(int)
    outside = np.ones(chip.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(covered[outside], chip[outside])
    mixed, moved = augment_crop(chip, points, np.random.default_rng(seed))
    assert mixed.shape == chip.shape and mixed.dtype == np.uint8 and moved.shape == points.shape


# The thin-plate expression warp: shifts in units of |36-45|, the points of DROOP_POINTS.
def _droop_points(region, sides):
    from parface_sdk.analysis.simulate import DROOP_POINTS

    moved = [i for side in sides for i in DROOP_POINTS[region, side][0]]
    free = [i for side in sides for i in DROOP_POINTS[region, side][1]]
    return moved, free, [i for i in range(68) if i not in moved and i not in free]


def _eye_iod(points):
    return float(np.linalg.norm(points[45, :2] - points[36, :2]))


@pytest.mark.parametrize(
    ("region", "side", "shift"),
    [("mouth", "right", (0.0, 0.1)), ("mouth", "left", (0.03, 0.08)), ("brow", "right", (0.0, -0.08)),
     ("brow", "left", (-0.02, 0.06))],
)  # fmt: skip
def test_expression_warp_moves_exactly_the_named_points(face, region, side, shift):
    pytest.importorskip("scipy")
    chip, points = face
    iod = _eye_iod(points)
    warped, out = expression_warp(
        chip, points, np.random.default_rng(0), region=region, sides=(side,), shifts=[np.array(shift)]
    )
    assert warped.shape == chip.shape and warped.dtype == np.uint8
    assert out.shape == points.shape and out.dtype == points.dtype
    moved, free, held = _droop_points(region, (side,))
    np.testing.assert_allclose(
        out[moved, :2] - points[moved, :2], np.tile(shift, (len(moved), 1)) * iod, atol=1e-4
    )
    np.testing.assert_array_equal(out[held], points[held])
    np.testing.assert_array_equal(out[:, 2], points[:, 2])
    if free:  # the lip between the corner and the midline follows part of the way
        along = (out[free, :2] - points[free, :2]) @ np.array(shift) / (np.array(shift) @ shift * iod)
        assert (along > -0.05).all() and (along < 1.0).all() and along.max() > 0.3
    else:
        assert (warped != chip).any()


@pytest.mark.parametrize("index", [48, 60, 49])
def test_expression_warp_moves_the_image_with_the_label(face, index):
    """A bright dot on a moved (48) or free (60, 49) point ends up under the point's new label."""
    pytest.importorskip("scipy")
    _, points = face
    start = points[index, :2]
    chip = np.zeros((SIZE, SIZE, 3), np.uint8)
    cv2.circle(chip, (int(round(start[0])), int(round(start[1]))), 1, (255, 255, 255), -1)
    centre = np.array(np.nonzero(chip[..., 0] > 0)[::-1], dtype=np.float64).mean(axis=1)
    warped, out = expression_warp(
        chip,
        points,
        np.random.default_rng(0),
        region="mouth",
        sides=("right",),
        shifts=[np.array([0.0, 0.12])],
    )
    weight = warped[..., 0].astype(np.float64)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE]
    end = np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()
    expected = centre + (out[index, :2] - start)
    assert np.linalg.norm(end - centre) > 1.0
    # Within 0.75 px: the spline is evaluated every 4 px and interpolated, which leaves the dot
    # on the 6 px shifted corner about 0.55 px short of its exact label (0.2 px at step 1).
    assert np.linalg.norm(end - expected) < 0.75


def test_expression_warp_moves_each_side_by_its_own_shift(face):
    pytest.importorskip("scipy")
    chip, points = face
    iod = _eye_iod(points)
    shifts = [np.array([0.0, 0.1]), np.array([0.02, -0.05])]
    _, out = expression_warp(
        chip, points, np.random.default_rng(0), region="mouth", sides=("right", "left"), shifts=shifts
    )
    np.testing.assert_allclose(out[48, :2] - points[48, :2], shifts[0] * iod, atol=1e-4)
    np.testing.assert_allclose(out[54, :2] - points[54, :2], shifts[1] * iod, atol=1e-4)
    _, _, held = _droop_points("mouth", ("right", "left"))
    np.testing.assert_array_equal(out[held], points[held])
    # The free lip points follow their own corner: down on the right, up on the left.
    assert (out[[59, 60], 1] > points[[59, 60], 1]).all()
    assert (out[[55, 64], 1] < points[[55, 64], 1]).all()
    _, brows = expression_warp(
        chip, points, np.random.default_rng(0), region="brow", sides=("right", "left"), shifts=shifts[::-1]
    )
    np.testing.assert_allclose(
        brows[17:22, :2] - points[17:22, :2], np.tile(shifts[1] * iod, (5, 1)), atol=1e-4
    )
    np.testing.assert_allclose(
        brows[22:27, :2] - points[22:27, :2], np.tile(shifts[0] * iod, (5, 1)), atol=1e-4
    )


def test_expression_warp_is_reproducible_and_skips_tiny_faces(face):
    pytest.importorskip("scipy")
    chip, points = face
    for seed in range(3):
        a = expression_warp(chip, points, np.random.default_rng(seed))
        b = expression_warp(chip, points, np.random.default_rng(seed))
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(
        expression_warp(chip, points, np.random.default_rng(0))[1],
        expression_warp(chip, points, np.random.default_rng(1))[1],
    )
    tiny = points.copy()
    tiny[:, :2] = tiny[:, :2] * 0.02 + 60
    same_chip, same_points = expression_warp(chip, tiny, np.random.default_rng(0))
    assert same_chip is chip and same_points is tiny


def test_drawn_expression_warps_change_one_region(face):
    """Drawn shifts stay within max_shift IOD (and above 1 %), within 35 degrees of the face's
    vertical axis, and change the labels of one mouth corner or brow (or both sides) only."""
    pytest.importorskip("scipy")
    from parface_sdk.analysis.simulate import down_direction

    chip, points = face
    iod = _eye_iod(points)
    down = down_direction(points[:, :2].astype(np.float64))
    regions = set()
    for seed in range(12):
        _, out = expression_warp(chip, points, np.random.default_rng(seed), max_shift=0.1)
        changed = set(np.nonzero((out != points).any(axis=1))[0].tolist())
        region = "mouth" if changed & set(MOUTH_CORNERS) else "brow"
        regions.add(region)
        sides = tuple(
            s for s, i in (("right", 0), ("left", 1)) if changed & ({MOUTH_CORNERS[i]} | set(BROWS[i]))
        )
        moved, free, _ = _droop_points(region, sides)
        assert set(moved) <= changed <= set(moved) | set(free)
        for index in moved:
            shift = (out[index, :2] - points[index, :2]) / iod
            assert 0.01 - 1e-4 <= np.linalg.norm(shift) <= 0.1 + 1e-4
            assert abs(shift @ down) >= np.cos(np.radians(35)) * np.linalg.norm(shift) - 1e-4
    assert regions == {"mouth", "brow"}


def test_augment_crop_with_thin_plate_warps_changes_one_region(face):
    pytest.importorskip("scipy")
    chip, points = face
    options = WarpOptions(probability=1.0, tps=1.0)
    from parface_sdk.analysis.simulate import DROOP_POINTS

    allowed = [
        {i for side in ("right", "left") for part in DROOP_POINTS[region, side] for i in part}
        for region in ("mouth", "brow")
    ]
    for seed in range(10):
        mixed, out = augment_crop(chip, points, np.random.default_rng(seed), options)
        assert mixed.shape == chip.shape and mixed.dtype == np.uint8
        changed = set(np.nonzero((out != points).any(axis=1))[0].tolist())
        assert changed & (set(MOUTH_CORNERS) | set(sum(BROWS, ())))  # a corner or a brow always moves
        assert any(changed <= region for region in allowed), changed
        np.testing.assert_array_equal(out[:, 2], points[:, 2])
        again = augment_crop(chip, points, np.random.default_rng(seed), options)
        np.testing.assert_array_equal(again[0], mixed)
        np.testing.assert_array_equal(again[1], out)


def test_augment_crop_default_options_never_draw_a_thin_plate_warp(face, monkeypatch):
    """tps = 0 (the default): only the Gaussian one-sided warp, and the same draws as before the
    options existed (no extra random number is taken)."""
    import parface_training.data.augment as augment

    def refuse(*args, **kwargs):
        raise AssertionError("expression_warp drawn with tps = 0")

    monkeypatch.setattr(augment, "expression_warp", refuse)
    chip, points = face
    for seed in range(6):
        rng = np.random.default_rng(seed)
        _, out = augment_crop(chip, points, rng, WarpOptions(probability=1.0))
        assert (out != points).any()
        # By hand: the region, the side, then one_sided_warp's own draws.
        reference = np.random.default_rng(seed)
        reference.random()
        region = "mouth" if reference.random() < 0.6 else "brow"
        side = int(reference.integers(0, 2))
        _, expected = one_sided_warp(chip, points, reference, 0.15, region, side)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("side", ["right", "left"])
def test_eyelid_warp_lowers_one_upper_lid_only(face, side):
    from parface_training.data.augment import EYELIDS, eyelid_warp

    chip, points = face
    warped, moved = eyelid_warp(chip, points, None, side=side, closure=0.5)
    upper, lower = EYELIDS[side]
    expected = points[list(upper), :2] + 0.5 * (points[list(lower), :2] - points[list(upper), :2])
    np.testing.assert_allclose(moved[list(upper), :2], expected, atol=1e-4)
    others = [i for i in range(68) if i not in upper]
    np.testing.assert_array_equal(moved[others], points[others])
    assert warped.shape == chip.shape and not np.array_equal(warped, chip)


def test_one_sided_mix_is_reproducible_and_keeps_shapes(face):
    from parface_training.data.augment import one_sided_mix

    chip, points = face
    first = one_sided_mix(chip, points, np.random.default_rng(3), probability=1.0)
    again = one_sided_mix(chip, points, np.random.default_rng(3), probability=1.0)
    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert first[0].shape == chip.shape and first[1].shape == points.shape
