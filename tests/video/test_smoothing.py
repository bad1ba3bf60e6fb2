"""Smoothing: jitter goes down on a noisy still face, steps are followed within a few frames."""

from __future__ import annotations

import numpy as np
import pytest

from parface_sdk.analysis import HeadPose, canonical_face
from parface_sdk.video.smoothing import (
    LandmarkSmoother,
    OneEuroFilter,
    frame_rate,
    jitter_percent,
    savgol_smooth,
    smooth_landmark_sequence,
)

FPS, FRAMES, STEP_AT = 30.0, 120, 60
# A step (the face moves 0.1 inter-ocular distance, one mouth corner 0.067) is followed to within
# 10 % of its size at most this many frames after it happens.
STEP_FRAMES = 6


@pytest.fixture(scope="module")
def base() -> np.ndarray:
    return HeadPose.from_angles(5, -3, 2, translation=(320, 240, 0), scale=150).to_image(canonical_face())


def _times(count: int = FRAMES) -> np.ndarray:
    return np.arange(count) / FPS


@pytest.mark.parametrize("method", ["one_euro", "savgol"])
def test_smoothing_lowers_jitter_on_a_still_face(base, method):
    noisy = base + np.random.default_rng(0).normal(0.0, 0.5, (FRAMES, 68, 3))  # 0.33 % IOD per axis
    smoothed = smooth_landmark_sequence(noisy, _times(), method)
    raw, after = jitter_percent(noisy), jitter_percent(smoothed[10:])
    assert raw > 0.5 and after < raw / 3.0, (raw, after)


@pytest.mark.parametrize("method", ["one_euro", "savgol"])
def test_a_step_is_followed_within_a_few_frames(base, method):
    truth = np.repeat(base[None], FRAMES, axis=0)
    truth[STEP_AT:, :, 0] += 15.0  # the head moves 15 px to the right
    truth[STEP_AT:, 48, 1] -= 10.0  # and the right mouth corner rises 10 px
    noisy = truth + np.random.default_rng(1).normal(0.0, 0.5, truth.shape)
    smoothed = smooth_landmark_sequence(noisy, _times(), method)
    for point, axis, size in [(30, 0, 15.0), (48, 1, 10.0)]:
        error = np.abs(smoothed[:, point, axis] - truth[:, point, axis])
        settled = next(i for i in range(STEP_AT, FRAMES) if (error[i:] < 0.1 * size).all())
        assert settled - STEP_AT <= STEP_FRAMES, (method, point, settled - STEP_AT)


def test_live_smoother_matches_the_offline_one_euro(base):
    noisy = base + np.random.default_rng(2).normal(0.0, 1.0, (30, 68, 3))
    smoother = LandmarkSmoother()
    live = np.stack([smoother(points, time) for points, time in zip(noisy, _times(30))])
    np.testing.assert_allclose(live, smooth_landmark_sequence(noisy, _times(30), "one_euro"), atol=1e-3)


def test_gaps_stay_gaps_and_split_the_sequence(base):
    noisy = base + np.random.default_rng(3).normal(0.0, 0.5, (40, 68, 3))
    noisy[10:13] = np.nan
    for method in ("one_euro", "savgol"):
        smoothed = smooth_landmark_sequence(noisy, _times(40), method)
        assert np.isnan(smoothed[10:13]).all() and np.isfinite(smoothed[:10]).all()
        assert np.isfinite(smoothed[13:]).all()


def test_one_euro_basics():
    fir = OneEuroFilter()
    assert fir(np.array([1.0, 2.0]), 0.0).tolist() == [1.0, 2.0]
    np.testing.assert_allclose(fir(np.array([1.0, 2.0]), 1 / 30), [1.0, 2.0])
    first = fir(np.array([5.0, 5.0]), 2 / 30)
    assert (first < 5.0).all() and (first > 1.0).all()
    np.testing.assert_array_equal(fir(np.array([9.0, 9.0]), 2 / 30), first)  # repeated timestamp
    with pytest.raises(ValueError):
        OneEuroFilter(min_cutoff=0.0)


def test_savgol_has_no_lag_on_polynomials():
    times = _times(50)
    quadratic = 3.0 + 2.0 * times - 5.0 * times**2
    np.testing.assert_allclose(savgol_smooth(quadratic, times), quadratic, atol=1e-9)
    assert frame_rate(times) == pytest.approx(FPS)
    short = np.array([1.0, 2.0])
    np.testing.assert_array_equal(savgol_smooth(short, times[:2]), short)


@pytest.mark.parametrize("fps", [5.0, 10.0, 12.0, 25.0, 60.0])
def test_savgol_window_at_any_frame_rate(fps):
    times = np.arange(20) / fps
    values = np.random.default_rng(0).normal(size=(20, 2))
    smoothed = savgol_smooth(values, times)
    assert smoothed.shape == values.shape and np.isfinite(smoothed).all()
    line = 2.0 * times
    np.testing.assert_allclose(savgol_smooth(line, times), line, atol=1e-9)
