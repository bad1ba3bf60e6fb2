"""FaceTracker: still frames give still landmarks, a moving face is followed, time order is kept."""

from pathlib import Path

import numpy as np
import pytest

from parface_sdk import Aligner
from parface_sdk.errors import VideoError
from parface_sdk.image import load_image
from parface_sdk.video.tracker import FaceTracker, moved, track

ASTRONAUT = Path(__file__).resolve().parents[2] / "examples" / "data" / "astronaut.jpg"


def _inter_ocular(points: np.ndarray) -> float:
    return float(np.linalg.norm(points[36:42, :2].mean(0) - points[42:48, :2].mean(0)))


@pytest.fixture(scope="module")
def aligner():
    with Aligner() as a:
        yield a


def test_identical_frames_give_still_landmarks(aligner):
    """20 identical frames: raw (unsmoothed) landmarks move < 0.5% of the inter-ocular distance
    from frame to frame, and the detector runs once (the confidence threshold is not on the
    model's typical confidence)."""
    rgb = load_image(ASTRONAUT)
    frames = list(track(aligner, [rgb] * 20, smoothing="none", color="RGB"))
    assert all(f.face is not None for f in frames)
    points = np.stack([f.landmarks for f in frames])
    iod = _inter_ocular(points[0])
    motion = np.abs(np.diff(points[:, :, :2], axis=0)).max(axis=(1, 2)) / iod
    assert motion.max() < 0.005, motion
    assert [f.index for f in frames if f.detected] == [0]


def test_a_moving_face_is_followed(aligner):
    """The crop follows a face sliding 3 px per frame: the landmarks move with it."""
    rgb = load_image(ASTRONAUT)
    shifts = [3 * i for i in range(15)]
    frames = [np.roll(rgb, shift, axis=1) for shift in shifts]
    tracked = list(track(aligner, frames, smoothing="none", color="RGB"))
    centres = np.array([t.landmarks[:, 0].mean() for t in tracked])
    np.testing.assert_allclose(centres - centres[0], shifts, atol=0.1 * _inter_ocular(tracked[0].landmarks))
    assert sum(t.detected for t in tracked) == 1


def test_update_keeps_time_order(aligner):
    tracker = FaceTracker(aligner, color="RGB", smoothing="none")
    rgb = load_image(ASTRONAUT)
    first = tracker.update(rgb, 0.0)
    assert first.index == 0 and first.detected and first.face is not None
    second = tracker.update(rgb, 0.04)
    assert second.index == 1 and not second.detected
    with pytest.raises(VideoError, match="time order"):
        tracker.update(rgb, 0.04)
    tracker.reset()
    assert tracker.update(rgb, 0.0).detected


def test_moved_measures_box_shift_and_size():
    square = np.array([[0.0, 0.0], [100.0, 100.0]])
    assert moved(square, square) == 0.0
    assert moved(square + [5.0, 0.0], square) == pytest.approx(0.05)
    assert moved(square * 1.2, square) == pytest.approx(0.1)  # centre 0.1, half the size change 0.1
