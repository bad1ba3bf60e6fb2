"""The calibrated probability: reliability diagram and expected calibration error, the logistic fit,
and a decision probability strictly between 0 and 1 on ordinary inputs."""

from __future__ import annotations

import numpy as np
import pytest

from parface_sdk.analysis import HeadPose, Task, canonical_face, decide_asymmetry, measure_sequence
from parface_sdk.analysis.decision import Calibration
from parface_sdk.analysis.probability import EPSILON, fit_logistic, logistic, reliability

TASKS = [Task("rest", 0.0, 1.0), Task("task", 1.0, 2.0)]


def test_reliability_and_ece_by_hand():
    # bin 0.1-0.2: ten clips at 0.1, one positive -> calibrated; bin 0.9-1.0: ten at 0.9, none positive
    p = np.array([0.1] * 10 + [0.9] * 10)
    y = np.array([1] + [0] * 9 + [0] * 10)
    diagram = reliability(p, y, bins=10)
    assert diagram["clips"] == 20 and len(diagram["bins"]) == 10
    low, high = diagram["bins"][1], diagram["bins"][9]
    assert low["count"] == 10 and low["mean_probability"] == pytest.approx(0.1)
    assert low["observed_rate"] == pytest.approx(0.1)
    assert high["count"] == 10 and high["observed_rate"] == 0.0
    assert diagram["ece"] == pytest.approx(0.5 * 0.0 + 0.5 * 0.9)
    assert np.isnan(diagram["bins"][5]["mean_probability"]) and diagram["bins"][5]["count"] == 0
    # 1.0 falls in the last bin, 0.0 in the first
    edges = reliability(np.array([0.0, 1.0]), np.array([0, 1]), bins=4)
    assert edges["bins"][0]["count"] == 1 and edges["bins"][3]["count"] == 1 and edges["ece"] == 0.0
    with pytest.raises(ValueError):
        reliability(np.array([0.5]), np.array([0, 1]))


def test_a_fitted_logistic_is_calibrated_on_its_own_kind_of_data():
    rng = np.random.default_rng(0)
    x = rng.normal(0, 2, 20000)
    y = rng.random(20000) < 1 / (1 + np.exp(-(1.5 * x - 0.5)))
    slope, intercept = fit_logistic(x, y, l2=0.0)
    assert slope == pytest.approx(1.5, abs=0.1) and intercept == pytest.approx(-0.5, abs=0.1)
    assert reliability(logistic(x, slope, intercept), y)["ece"] < 0.02
    # perfectly separated classes: a finite map, probabilities still inside (0, 1)
    slope, intercept = fit_logistic(np.array([-3.0, -2, -1, 1, 2, 3]), np.array([0, 0, 0, 1, 1, 1]))
    assert np.isfinite(slope) and slope > 0
    assert EPSILON <= logistic(100.0, slope, intercept) < 1.0 and 0.0 < logistic(-100.0, slope, intercept)
    with pytest.raises(ValueError):
        fit_logistic(np.array([1.0, 2.0]), np.array([1, 1]))


def _series(droop_pct: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    face = canonical_face() + rng.normal(0, 0.01, (68, 3))
    times = np.arange(30) / 15.0
    frames = []
    for time in times:
        head = face.copy()
        if time >= 1.0:
            head[48, 1] += droop_pct / 100.0
        pose = HeadPose.from_angles(2 * np.sin(time), 0, 0, translation=(320, 240, 0), scale=120)
        frames.append(pose.to_image(head + rng.normal(0, 0.002, head.shape)))
    return measure_sequence(np.stack(frames), times)


@pytest.mark.parametrize("droop", [0.0, 1.0, 3.0, 20.0])
def test_decision_probability_is_strictly_between_0_and_1(droop):
    decision = decide_asymmetry(_series(droop), TASKS)
    assert 0.0 < decision.probability < 1.0
    data = decision.to_dict()
    assert data["probability"] == decision.probability and "probability_fitted" in data
    fitted = Calibration.load(landmarks="model")
    fitted = Calibration.from_dict(
        {**fitted.to_dict(), "probability": {"slope": 1.2, "intercept": -0.3, "fitted": True}}
    )
    other = decide_asymmetry(_series(droop), TASKS, fitted)
    assert 0.0 < other.probability < 1.0 and other.probability_fitted
    margin = other.strength - other.strength_threshold
    assert other.probability == pytest.approx(logistic(margin, 1.2, -0.3))


def test_probability_grows_with_the_droop():
    probabilities = [decide_asymmetry(_series(d), TASKS).probability for d in (0.0, 10.0, 20.0)]
    assert probabilities[0] < probabilities[1] < probabilities[2]
