"""Crop augmentation (training/data/augment.py): the one-sided warp moves one mouth corner (or brow)
with its label and leaves the other side alone; lighting and occlusion keep the crop's format."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from parface_training.data.augment import (  # noqa: E402
    BROWS,
    MOUTH_CORNERS,
    augment_crop,
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
