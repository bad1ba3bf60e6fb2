"""The 68-point mirror permutation and landmark flipping."""

from __future__ import annotations

import numpy as np

from parface_training.data.flip import FLIP_PERM_68, flip_image, flip_landmarks, load_flip_perm


def test_constant_equals_shared_file(shared_dir):
    np.testing.assert_array_equal(
        load_flip_perm(shared_dir / "data/300w-subset/flip_perm_68.txt"), FLIP_PERM_68
    )


def test_permutation_is_an_involution():
    perm = np.asarray(FLIP_PERM_68)
    assert sorted(perm) == list(range(68))
    np.testing.assert_array_equal(perm[perm], np.arange(68))


def test_flip_twice_is_identity_and_depth_kept():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 99, size=(68, 3)).astype(np.float32)
    np.testing.assert_allclose(flip_landmarks(flip_landmarks(points, 100), 100), points, atol=1e-5)
    flipped = flip_landmarks(points, 100)
    np.testing.assert_allclose(flipped[36], [99 - points[45, 0], points[45, 1], points[45, 2]])


def test_flipped_face_matches_its_mirror(shared_dir):
    from parface_training.data.bfm_fit import BFM68

    # The BFM mean face seen frontally is (nearly) symmetric: its flip lands on itself.
    mean = BFM68.load(shared_dir / "models/bfm_68_landmarks.npz").mean
    xy = mean[:, :2] * np.array([1.0, -1.0])
    xy = (xy - xy.mean(axis=0)) / np.ptp(xy[:, 0]) * 100 + 100  # ~100 px wide, centred in 201 px
    flipped = flip_landmarks(xy, 201)
    wrong = flipped.copy()
    wrong[:, 0] = 200 - xy[:, 0]  # mirrored but not re-indexed
    assert np.abs(flipped - xy).max() < 2.0
    assert np.abs(wrong - xy).max() > 30.0


def test_flip_image_matches_flip_landmarks():
    image = np.zeros((5, 7, 3), np.uint8)
    image[2, 1] = 255
    flipped = flip_image(image)
    assert flipped[2, 7 - 1 - 1].max() == 255
