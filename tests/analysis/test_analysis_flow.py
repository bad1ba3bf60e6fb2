"""Optical-flow refinement of tracked landmarks (parface_sdk.analysis.flow): it reads the image's
motion since the reference frame, ignores the model's noise where the flow is trusted, and falls
back to the model's landmarks where it is not."""

from __future__ import annotations

import numpy as np
import pytest

cv2 = pytest.importorskip("cv2")

from parface_sdk.analysis import canonical_face  # noqa: E402
from parface_sdk.analysis.flow import FlowTracker, flow_landmarks  # noqa: E402

SIZE = 240


def _texture(seed: int = 0) -> np.ndarray:
    noise = np.random.default_rng(seed).integers(0, 256, (SIZE, SIZE), dtype=np.uint8)
    return cv2.GaussianBlur(noise, (0, 0), 2.0)


def _face_points() -> np.ndarray:
    """The canonical face, 100 px between the outer eye corners, centred in the image."""
    face = canonical_face() * 100.0
    face[:, :2] += SIZE / 2 - face[:, :2].mean(axis=0)
    return face


def _shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def test_refined_points_follow_the_image_not_the_model_noise():
    image, points = _texture(), _face_points()
    rng = np.random.default_rng(1)
    refiner = FlowTracker()
    first = refiner.update(image, points)
    np.testing.assert_array_equal(first, points)  # the reference frame is returned as given
    for dx, dy in ((0.4, -0.3), (1.5, 0.8), (-2.2, 1.1)):
        noisy = points + np.column_stack([rng.normal(0, 1.0, (68, 2)), np.zeros(68)])
        refined = refiner.update(_shifted(image, dx, dy), noisy)
        error = refined[:, :2] - (points[:, :2] + (dx, dy))
        assert np.abs(error).max() < 0.1, np.abs(error).max()
        np.testing.assert_array_equal(refined[:, 2], noisy[:, 2])  # depth stays the model's
    assert refiner.coverage == 1.0


def test_a_frame_whose_decision_points_are_lost_falls_back_to_the_model():
    """An unrelated image: nothing can be tracked, so the frame takes the model's reading (kept,
    not left out); the next good frame is refined again."""
    image, points = _texture(0), _face_points()
    refiner = FlowTracker()
    refiner.update(image, points)
    refined = refiner.update(_texture(99), points + 0.5)
    np.testing.assert_array_equal(refined, points + 0.5)
    assert refiner.fallbacks == 1 and refiner.dropped == 0 and refiner.frames == 1
    assert refiner.coverage < 0.1
    again = refiner.update(_shifted(image, 1.0, 0.0), points)
    assert np.abs(again[:, 0] - (points[:, 0] + 1.0)).max() < 0.1


def test_a_frame_whose_decision_points_are_lost_is_left_out_on_request():
    """lost="drop": the frame is NaN (left out), not the model's reading."""
    image, points = _texture(0), _face_points()
    refiner = FlowTracker(lost="drop")
    refiner.update(image, points)
    refined = refiner.update(_texture(99), points + 0.5)
    assert np.isnan(refined).all() and refiner.dropped == 1 and refiner.fallbacks == 0
    assert refiner.coverage < 0.1
    again = refiner.update(_shifted(image, 1.0, 0.0), points)
    assert np.abs(again[:, 0] - (points[:, 0] + 1.0)).max() < 0.1


def test_frames_without_a_face_stay_empty_and_batch_matches_streaming():
    image, points = _texture(), _face_points()
    frames = [image, _shifted(image, 1.0, 0.0), image, _shifted(image, 0.0, -1.0)]
    landmarks = np.stack([points] * 4)
    landmarks[2] = np.nan
    refined, coverage = flow_landmarks(
        [cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) for f in frames], landmarks, "BGR"
    )
    assert np.isnan(refined[2]).all() and coverage == 1.0
    assert np.abs(refined[1, :, 0] - (points[:, 0] + 1.0)).max() < 0.1
    assert np.abs(refined[3, :, 1] - (points[:, 1] - 1.0)).max() < 0.1


def test_bad_options_and_frames_are_refused():
    from parface_sdk.errors import InvalidImageError

    with pytest.raises(ValueError):
        FlowTracker(window=0)
    points = _face_points()
    for frame in (
        np.random.rand(SIZE, SIZE, 3),
        np.zeros((0, 0), np.uint8),
        np.zeros((SIZE, SIZE, 2), np.uint8),
    ):
        with pytest.raises(InvalidImageError):
            FlowTracker().update(frame, points)
    # colour + alpha is read like colour
    rgba = np.dstack([cv2.cvtColor(_texture(), cv2.COLOR_GRAY2RGB), np.full((SIZE, SIZE), 255, np.uint8)])
    refiner = FlowTracker()
    refiner.update(rgba, points)
    moved = np.dstack([cv2.cvtColor(_shifted(_texture(), 1.0, 0.0), cv2.COLOR_GRAY2RGB), rgba[..., 3]])
    assert np.abs(refiner.update(moved, points)[:, 0] - (points[:, 0] + 1.0)).max() < 0.1
    from parface_sdk.analysis.clip import track_landmarks
    from parface_sdk.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="landmarks"):
        track_landmarks(None, [], landmarks="sparkle")


def test_a_calibration_for_the_other_mode_is_flagged(caplog):
    from parface_sdk.analysis import Task, decide_asymmetry, measure_sequence
    from parface_sdk.analysis.decision import Calibration, CalibrationError

    with pytest.raises(CalibrationError, match="landmarks"):
        Calibration.load(landmarks="sparkle")
    landmarks = np.stack([_face_points()] * 30)
    times = np.arange(30) / 15.0
    calibration = Calibration(
        "x" * 64,
        {m: {"brow": 0.3, "mouth": 0.3} for m in ("tasks", "auto")},
        0.999,
        {r: {"p5": -1.0, "p50": 0.0, "p95": 1.0} for r in ("brow", "mouth")},
        {"landmarks": "model"},
    )
    tasks = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]
    same = decide_asymmetry(measure_sequence(landmarks, times, landmark_source="model"), tasks, calibration)
    assert same.calibration["matches_landmarks"] and "not reliable" not in same.caveat
    other = decide_asymmetry(measure_sequence(landmarks, times, landmark_source="flow"), tasks, calibration)
    assert not other.calibration["matches_landmarks"] and "landmarks='model'" in other.caveat
    assert "calibration is for landmarks" in caplog.text
