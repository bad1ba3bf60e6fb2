"""Time series, task movement, the affected-side guess and the report on a synthetic palsy clip."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from parface_sdk.analysis import (
    SIDE_MEASURES,
    HeadPose,
    Task,
    canonical_face,
    guess_affected_side,
    measure_sequence,
    mirror,
    normalize_pose,
    task_movements,
)

FPS = 30.0
TASKS = [Task("rest", 0.0, 1.0), Task("smile", 1.0, 2.0), Task("raise_brows", 2.0, 3.0)]


def _clip(right_gain: float, left_gain: float, noise: float = 0.003, seed: int = 0):
    """Rest, smile, raise brows; each side moves by its gain; the head sways; a missing frame."""
    rng = np.random.default_rng(seed)
    face = canonical_face() + rng.normal(0, 0.02, (68, 3))
    face = normalize_pose((face + mirror(face)) / 2)[0]
    times = np.arange(int(3 * FPS)) / FPS
    frames = []
    for time in times:
        head = face.copy()
        if 1.0 <= time < 2.0:  # smile: corners up and out
            head[48] += (-0.08 * right_gain, -0.1 * right_gain, 0.0)
            head[54] += (0.08 * left_gain, -0.1 * left_gain, 0.0)
        elif time >= 2.0:  # brows up
            head[17:22, 1] -= 0.1 * right_gain
            head[22:27, 1] -= 0.1 * left_gain
        pose = HeadPose.from_angles(
            10 * np.sin(time),
            5 * np.cos(2 * time),
            3 * np.sin(3 * time),
            translation=(320 + 10 * time, 240, 0),
            scale=150,
        )
        frames.append(pose.to_image(head + rng.normal(0, noise, head.shape)))
    landmarks = np.stack(frames)
    landmarks[40] = np.nan
    return landmarks, times


def test_right_palsy_is_found_with_tasks():
    landmarks, times = _clip(right_gain=0.2, left_gain=1.0)
    series = measure_sequence(landmarks, times)
    assert np.isnan(series.values["brow_height.right"][40]) and np.isfinite(series.poses["yaw"][39])
    movement = task_movements(series, TASKS)
    smile = movement["smile"]["mouth_corner_height"]
    assert smile["weaker"] == "right" and smile["symmetry"] == pytest.approx(0.2, abs=0.05)
    assert movement["raise_brows"]["brow_height"]["weaker"] == "right"
    guess = guess_affected_side(movement)
    assert guess.side == "right" and guess.confidence > 0.5
    assert any("smile: mouth_corner_height" in line for line in guess.evidence)


def test_left_palsy_without_tasks_uses_range_of_motion():
    from parface_sdk.analysis.timeseries import range_of_motion

    landmarks, times = _clip(right_gain=1.0, left_gain=0.3, seed=1)
    guess = guess_affected_side({"range": range_of_motion(measure_sequence(landmarks, times))})
    assert guess.side == "left"


def test_symmetric_movement_is_undetermined():
    landmarks, times = _clip(right_gain=1.0, left_gain=1.0, seed=2)
    guess = guess_affected_side(task_movements(measure_sequence(landmarks, times), TASKS))
    assert guess.side == "undetermined"


def test_smoothing_choice_and_units():
    landmarks, times = _clip(0.5, 1.0, noise=0.0)
    raw = measure_sequence(landmarks, times, smoothing="none")
    smooth = measure_sequence(landmarks, times, scale_mm=30.0, smoothing="one_euro")
    assert smooth.unit == "mm" and raw.unit == "intercanthal"
    np.testing.assert_allclose(raw.poses["yaw"][:40], 10 * np.sin(times[:40]), atol=1e-6)
    with pytest.raises(ValueError):
        measure_sequence(landmarks, times, smoothing="kalman")
    with pytest.raises(ValueError):
        measure_sequence(landmarks[:, :5], times)


def test_task_parsing():
    assert Task.parse("smile=1.5:3") == Task("smile", 1.5, 3.0)
    for bad in ("smile", "smile=3:1", "=1:2", "smile=a:b"):
        with pytest.raises(ValueError):
            Task.parse(bad)


def test_report_files(tmp_path):
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    from parface_sdk.analysis.decision import Calibration
    from parface_sdk.analysis.report import write_report

    spread = {"brow": 0.5, "mouth": 0.5}  # % IOD; a stand-in for benchmarks/palsy_calibration.py
    calibration = Calibration(
        "test",
        {"tasks": spread, "auto": spread},
        0.999,
        {r: {"p5": -3.0, "p50": 0.0, "p95": 3.0} for r in spread},
    )
    landmarks, times = _clip(right_gain=0.2, left_gain=1.0)
    series = measure_sequence(landmarks, times)
    image = np.full((480, 640, 3), 90, np.uint8)
    report = write_report(series, tmp_path, TASKS, image_rgb=image, overlay_frame=45, calibration=calibration)
    paths = report.paths
    summary = json.loads(paths["summary"].read_text())
    assert report.summary == summary and report.decision == summary["asymmetry"]  # no re-read needed
    assert summary["affected_side"]["side"] == "right" and summary["frames"] == len(times)
    assert summary["asymmetry"]["decision"] == "right" and "not a diagnosis" in summary["asymmetry"]["caveat"]
    assert summary["affected_side"]["confidence"] >= summary["affected_side"]["confidence_threshold"]
    assert summary["measures"]["brow_height"]["unit"] == "inter-canthal"
    assert "NaN" not in paths["summary"].read_text()
    rows = list(csv.reader(open(paths["csv"])))
    assert rows[0][:6] == ["frame", "time", "task", "yaw", "pitch", "roll"] and len(rows) == len(times) + 1
    assert rows[50][2] == "smile" and rows[41][3] == ""
    pngs = sorted(p.name for p in paths["plots"].glob("*.png"))
    assert "brow_height.png" in pngs and "head_pose.png" in pngs and len(pngs) == len(SIDE_MEASURES) + 2
    assert paths["overlay"].stat().st_size > 10_000
