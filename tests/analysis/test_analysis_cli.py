"""`parface analyze` end to end with a seeded tiny model (the numbers are meaningless, the files not)."""

from __future__ import annotations

import json

import numpy as np
import pytest


def test_analyze_video_and_images(tiny_onnx, aflw_sample, tmp_path):
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    import cv2

    from parface_sdk.cli.main import main

    image_path, truth = aflw_sample
    image = cv2.imread(str(image_path))
    clip = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, image.shape[1::-1])
    for index in range(6):
        writer.write(np.roll(image, index, axis=1))
    writer.release()
    box = [str(v) for v in (*truth[:, :2].min(0), *truth[:, :2].max(0))]
    common = ["--model", str(tiny_onnx), "--box", *box, "--no-progress"]
    out = tmp_path / "video"
    assert (
        main(
            [
                "analyze",
                str(clip),
                "--out",
                str(out),
                "--task",
                "rest=0:0.3",
                "--task",
                "smile=0.3:0.6",
                *common,
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    # frames where the flow lost a decision point take the model's landmarks (the seeded tiny
    # model's landmarks disagree with the image motion), so every frame with a face is used
    assert summary["frames"] == 6 and 1 <= summary["frames_with_face"] <= 6
    used = sum(item["frames_used"] for item in summary["frames_per_task"].values())
    assert used == summary["frames_with_face"]
    assert (out / "report.html").is_file() and (out / "overlays" / "smile.png").is_file()
    assert summary["affected_side"]["side"] in ("right", "left", "none", "undetermined")
    # the seeded tiny model is not the model the shipped thresholds were calibrated for: said so
    assert not summary["asymmetry"]["calibration"]["matches_model"]
    assert "different landmark model" in summary["asymmetry"]["caveat"]
    # video defaults to flow landmarks, judged with the flow calibration
    calibration = summary["asymmetry"]["calibration"]
    assert calibration["landmarks"] == "flow" and calibration["matches_landmarks"]
    assert calibration["validation"]["in_plain_words"]
    assert (out / "overlay.png").is_file() and (out / "plots" / "smile_angle.png").is_file()
    assert len((out / "measures.csv").read_text().splitlines()) == 7

    folder = tmp_path / "photos"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index}.png"), image)
    out = tmp_path / "photos_out"
    assert main(["analyze", str(folder), "--out", str(out), "--scale-mm", "32", *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["unit"] == "mm" and summary["asymmetry"]["calibration"]["landmarks"] == "model"
    out = tmp_path / "video_model_only"
    assert main(["analyze", str(clip), "--out", str(out), "--landmarks", "model", *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["asymmetry"]["calibration"]["landmarks"] == "model" and summary["frames_with_face"] == 6
    assert main(["analyze", str(clip), "--out", str(out), "--task", "bad"]) == 2


def test_palsy_example(tiny_onnx, shared_dir, tmp_path):
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "palsy_analysis.py"
    out = tmp_path / "report"
    completed = subprocess.run(
        [
            sys.executable,
            str(script),
            "--model",
            str(tiny_onnx),
            "--out",
            str(out),
            "--shared",
            str(shared_dir),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    assert "palsy clip" in completed.stdout and "control clip" in completed.stdout
    assert "not a diagnosis" in completed.stdout
    assert (out / "clip.mp4").is_file() and (out / "overlay.png").is_file()
    assert (out / "control" / "summary.json").is_file()
    from parface_sdk.analysis import SIDE_MEASURES

    # one plot per side measure, plus asymmetry.png and head_pose.png
    assert len(list((out / "plots").glob("*.png"))) == len(SIDE_MEASURES) + 2


def test_jitter_example_synthetic():
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "examples" / "measure_jitter.py"
    stdout = subprocess.run(
        [sys.executable, str(script), "--sigma", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    rows = {line.split()[0]: line.split()[1:] for line in stdout.splitlines()[2:]}
    assert float(rows["one_euro"][0]) < float(rows["none"][0]) / 3
    assert float(rows["savgol"][0]) < float(rows["none"][0]) / 3
