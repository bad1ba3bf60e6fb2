"""Head pose: Umeyama fit, Euler angles with documented signs, the canonical face, mirroring."""

from __future__ import annotations

import numpy as np
import pytest

from parface_sdk.analysis import (
    MIRROR_PERM,
    HeadPose,
    canonical_face,
    estimate_pose,
    euler_from_rotation,
    mirror,
    rotation_from_euler,
    umeyama,
)
from parface_sdk.errors import UnsupportedShapeError


def test_umeyama_recovers_a_similarity():
    rng = np.random.default_rng(0)
    source = rng.normal(size=(30, 3))
    rotation = rotation_from_euler(20, -10, 35)
    target = 3.5 * source @ rotation.T + np.array([4.0, -2.0, 1.0])
    scale, fitted, translation = umeyama(source, target)
    assert scale == pytest.approx(3.5)
    np.testing.assert_allclose(fitted, rotation, atol=1e-9)
    np.testing.assert_allclose(translation, [4.0, -2.0, 1.0], atol=1e-9)
    assert np.linalg.det(fitted) == pytest.approx(1.0)


@pytest.mark.parametrize(
    "angles", [(0, 0, 0), (30, 0, 0), (0, -20, 0), (0, 0, 15), (-45, 25, -30), (70, 10, 5)]
)
def test_rotated_canonical_face_gives_back_its_angles(angles):
    face = canonical_face()
    truth = HeadPose.from_angles(*angles, translation=(320.0, 240.0, 5.0), scale=150.0)
    pose = estimate_pose(truth.to_image(face))
    np.testing.assert_allclose((pose.yaw, pose.pitch, pose.roll), angles, atol=1e-6)
    np.testing.assert_allclose(pose.translation, truth.translation, atol=1e-6)
    assert pose.scale == pytest.approx(150.0) and pose.residual < 1e-9


def test_euler_round_trip_and_signs():
    for angles in [(10, 20, 30), (-60, 5, -170), (89, -40, 60)]:
        np.testing.assert_allclose(euler_from_rotation(rotation_from_euler(*angles)), angles, atol=1e-9)
    face = canonical_face()
    nose, frontal = 30, HeadPose.from_angles(0, 0, 0).to_image(face)
    turned = HeadPose.from_angles(30, 0, 0).to_image(face)
    assert turned[nose, 0] > frontal[nose, 0]  # yaw > 0: nose to the image right
    up = HeadPose.from_angles(0, 20, 0).to_image(face)
    assert up[nose, 1] < frontal[nose, 1]  # pitch > 0: nose moves up (y points down)
    tilted = HeadPose.from_angles(0, 0, 20).to_image(face)
    assert tilted[45, 1] < tilted[36, 1]  # roll > 0: the subject's left eye goes up


def test_canonical_face_is_symmetric_centred_and_unit_sized():
    face = canonical_face()
    assert face.shape == (68, 3) and not face.flags.writeable
    np.testing.assert_allclose(mirror(face), face, atol=1e-5)
    np.testing.assert_allclose(face.mean(axis=0), 0.0, atol=1e-5)
    assert np.linalg.norm(face[36] - face[45]) == pytest.approx(1.0, abs=1e-5)
    assert face[45, 0] > face[36, 0] and face[8, 1] > face[27, 1] and face[30, 2] > face[0, 2]


def test_mirror_permutation_matches_the_shared_file(shared_dir):
    text = (shared_dir / "data" / "300w-subset" / "flip_perm_68.txt").read_text()
    assert MIRROR_PERM == tuple(int(value) for value in text.split())


def test_mirror_permutation_is_an_involution():
    perm = np.array(MIRROR_PERM)
    np.testing.assert_array_equal(perm[perm], np.arange(68))


def test_bad_landmarks_raise():
    with pytest.raises(UnsupportedShapeError):
        estimate_pose(np.zeros((5, 3)))
    with pytest.raises(UnsupportedShapeError):
        estimate_pose(np.zeros((68, 3)))


def test_build_canonical_from_posed_faces_recovers_the_shape():
    from parface_sdk.analysis.build_canonical import make_canonical

    face = canonical_face()
    rng = np.random.default_rng(1)
    shapes = []
    for _ in range(20):
        pose = HeadPose.from_angles(
            *rng.uniform(-30, 30, 3), translation=rng.uniform(0, 300, 3), scale=rng.uniform(80, 200)
        )
        shapes.append(pose.to_image(face + rng.normal(0, 0.01, face.shape)))
    built = make_canonical(np.stack(shapes))
    np.testing.assert_allclose(built, face, atol=0.02)


def test_build_canonical_script(tmp_path, shared_dir):
    from parface_sdk.analysis.build_canonical import main

    face = canonical_face()
    rng = np.random.default_rng(2)
    shapes = np.stack(
        [
            HeadPose.from_angles(*rng.uniform(-20, 20, 3), translation=(200, 200, 0), scale=100).to_image(
                face
            )
            for _ in range(5)
        ]
    )
    labels = tmp_path / "labels.npz"
    np.savez(labels, landmarks_3d=shapes.astype(np.float32), weights=np.ones(5))
    assert main(["--labels", str(labels), "--out", str(tmp_path / "from_labels.npy")]) == 0
    np.testing.assert_allclose(np.load(tmp_path / "from_labels.npy"), face, atol=1e-4)
    assert (
        main(
            ["--bfm", str(shared_dir / "models" / "bfm_68_landmarks.npz"), "--out", str(tmp_path / "bfm.npy")]
        )
        == 0
    )
    built = canonical_face(tmp_path / "bfm.npy")
    np.testing.assert_allclose(mirror(built), built, atol=1e-5)
    assert "BFM" in (tmp_path / "bfm.json").read_text()
