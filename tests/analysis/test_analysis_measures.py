"""Asymmetry measures on constructed faces: symmetric, one mouth corner moved, rotated heads."""

from __future__ import annotations

import numpy as np
import pytest

from parface_sdk.analysis import (
    SCALAR_MEASURES,
    SIDE_MEASURES,
    HeadPose,
    canonical_face,
    intercanthal_distance,
    measure_face,
    measure_head,
    mirror,
    mirror_asymmetry,
    normalize_pose,
)

POSE = dict(translation=(300.0, 220.0, 0.0), scale=120.0)


def _symmetric_face(seed: int = 0) -> np.ndarray:
    """A random face, exactly mirror-symmetric, in its own head frame (not the canonical face)."""
    face = canonical_face() + np.random.default_rng(seed).normal(0.0, 0.03, (68, 3))
    return normalize_pose((face + mirror(face)) / 2.0)[0]


def test_mirrored_face_has_zero_asymmetry():
    landmarks = HeadPose.from_angles(25, -10, 8, **POSE).to_image(_symmetric_face())
    measures = measure_face(landmarks)
    for name, side in measures.sides.items():
        assert side.difference == pytest.approx(0.0, abs=1e-9), name
        assert side.ratio == pytest.approx(1.0, abs=1e-9), name
    for name, value in measures.scalars.items():
        assert value == pytest.approx(0.0, abs=1e-9), name
    assert set(measures.sides) == set(SIDE_MEASURES) and set(measures.scalars) == set(SCALAR_MEASURES)


@pytest.mark.parametrize("scale_mm", [None, 30.0])
def test_moving_one_mouth_corner_shows_on_that_side_only(scale_mm):
    face = _symmetric_face()
    # with scale_mm, the inner inter-canthal distance |39-42| is scale_mm millimetres
    unit = 1.0 / (np.linalg.norm(face[39] - face[42]) / scale_mm if scale_mm else intercanthal_distance(face))
    shift = 0.05  # head units: up (towards -y) and outwards (towards -x, the subject's right)
    moved = face.copy()
    moved[48] += (-shift, -shift, 0.0)
    pose = HeadPose.from_angles(-15, 12, -5, **POSE)
    before = measure_face(pose.to_image(face), scale_mm)
    after = measure_face(pose.to_image(moved), scale_mm)
    assert after.unit == ("mm" if scale_mm else "intercanthal")
    expected = {
        "mouth_corner_height": shift * unit,
        "mouth_corner_level": shift * unit,
        "mouth_corner_midline": shift * unit,
    }
    for name in SIDE_MEASURES:
        assert after.sides[name].left == pytest.approx(before.sides[name].left, abs=1e-9), name
        change = after.sides[name].right - before.sides[name].right
        if name in expected:
            assert change == pytest.approx(expected[name], abs=1e-9), name
            assert after.sides[name].difference == pytest.approx(expected[name], abs=1e-9)
        elif name.startswith(("brow", "eye_opening", "eye_area", "nostril")):
            assert change == pytest.approx(0.0, abs=1e-9), name
    assert after.sides["smile_angle"].right > before.sides["smile_angle"].right
    assert after.scalars["facial_asymmetry_index"] > 0.0
    assert after.scalars["mirror_mouth"] > 0.0
    assert after.scalars["mirror_eyes"] == pytest.approx(0.0, abs=1e-9)


def test_head_rotation_leaves_the_measures_unchanged():
    face = _symmetric_face(3)
    face[19, 1] -= 0.04  # right brow raised
    face[54] += (0.02, 0.03, 0.01)  # left mouth corner down and out
    face[43:45, 1] += 0.02  # left upper lid lower
    frontal = measure_face(HeadPose.from_angles(0, 0, 0, **POSE).to_image(face)).flat()
    for angles in [(35, 0, 0), (0, -25, 0), (0, 0, 30), (-40, 20, -15)]:
        posed = HeadPose.from_angles(*angles, translation=(100.0, 50.0, 3.0), scale=60.0).to_image(face)
        measures = measure_face(posed)
        assert measures.pose.yaw == pytest.approx(angles[0], abs=2.0)
        for key, value in measures.flat().items():
            assert value == pytest.approx(frontal[key], abs=1e-8, nan_ok=True), key


def test_known_values_on_the_canonical_face():
    face = np.asarray(canonical_face())
    measures = measure_head(face)
    unit = 1.0 / intercanthal_distance(face)
    brow = measures.sides["brow_height"]
    assert brow.right == pytest.approx((face[36, 1] - face[19, 1]) * unit, rel=0.05)
    assert measures.sides["eye_opening"].right > 0 and measures.sides["eye_area"].left > 0
    assert measures.to_dict()["sides"]["brow_height"]["ratio"] == pytest.approx(1.0)


def test_mirror_asymmetry_is_half_the_gap():
    face = _symmetric_face()
    moved = face.copy()
    moved[48, 2] += 0.1  # the right mouth corner comes 0.1 towards the camera
    result = mirror_asymmetry(moved, align_points=(36, 39, 42, 45, 27, 28, 29, 30, 31, 35))
    assert result["per_point"][48] == pytest.approx(0.05, abs=1e-9)
    assert result["per_point"][54] == pytest.approx(0.05, abs=1e-9)
    assert result["regions"]["mouth"]["depth_rms"] > 0 and result["regions"]["brows"]["rms"] < 1e-9


def test_scale_mm_must_be_positive():
    with pytest.raises(ValueError, match="scale_mm"):
        measure_head(canonical_face(), scale_mm=-1.0)
