"""The photo protocol (rest, brows, eyes_gentle, eyes_tight, smile, eee, pucker): photos named by
file or by --task NAME=FILE give per-task, per-side measures in mm (the average adult inner
inter-canthal distance, or --scale-mm)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parface_sdk.analysis.asymmetry import ADULT_INNER_CANTHAL_MM
from parface_sdk.analysis.photos import PROTOCOL, protocol_task, protocol_tasks


def test_photo_names():
    assert list(PROTOCOL) == ["rest", "brows", "eyes_gentle", "eyes_tight", "smile", "eee", "pucker"]
    for name in PROTOCOL:
        assert protocol_task(f"{name}.jpg") == name
    assert protocol_task("02-Brows.PNG") == "brows" and protocol_task("Big Smile.jpeg") == "smile"
    assert protocol_task("/a/b/01_eyes_closed_tightly.jpg") == "eyes_tight"
    assert protocol_task("kiss.png") == "pucker" and protocol_task("holiday.jpg") is None


def test_protocol_order_and_spans():
    source, tasks = protocol_tasks(
        [("smile", Path("s.jpg")), ("extra", Path("x.jpg")), ("rest", Path("r.jpg"))]
    )
    assert [t.name for t in tasks] == ["rest", "smile", "extra"]
    assert [(t.start, t.end) for t in tasks] == [(0.0, 1.0), (1.0, 2.0), (2.0, 3.0)]
    assert [p.name for _, p in source] == ["r.jpg", "s.jpg", "x.jpg"]
    with pytest.raises(ValueError, match="twice"):
        protocol_tasks([("rest", Path("a.jpg")), ("rest", Path("b.jpg"))])


def test_photo_protocol_cli(tiny_onnx, shared_dir, tmp_path):
    """Synthetic protocol photos (a 300-W train face, expressions by symmetric thin-plate warps)
    through `parface analyze`: tasks from the file names and --task NAME=FILE, mm by default."""
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    import cv2

    from parface_sdk.analysis.simulate import load_subjects, make_clip
    from parface_sdk.cli.main import main

    subject = load_subjects([shared_dir / "data" / "300w-subset" / "train"], 1, seed=0)[0]
    folder = tmp_path / "photos"
    folder.mkdir()
    photos = {
        "rest.jpg": make_clip(subject, frames=1, seed=1)[0],
        "brows.jpg": make_clip(subject, frames=20, fps=10, expression=("brows", 6.0), seed=2)[15],
        "smile.jpg": make_clip(subject, frames=20, fps=10, expression=("smile", 8.0), seed=3)[15],
    }
    for name, image in photos.items():
        cv2.imwrite(str(folder / name), image)
    pucker = tmp_path / "IMG_0042.jpg"
    cv2.imwrite(str(pucker), photos["rest.jpg"])
    box = [str(v) for v in subject.box]
    common = ["--model", str(tiny_onnx), "--box", *box, "--no-progress"]
    out = tmp_path / "out"
    assert main(["analyze", str(folder), "--task", f"pucker={pucker}", "--out", str(out), *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [t["name"] for t in summary["tasks"]] == ["rest", "brows", "smile", "pucker"]
    assert summary["unit"] == "mm" and summary["scale_mm"] == ADULT_INNER_CANTHAL_MM
    assert "average adult" in summary["scale_source"]
    values = summary["task_values"]["smile"]["mouth_corner_level"]
    assert set(values) == {"right", "left", "difference"}
    assert values["difference"] == pytest.approx(values["right"] - values["left"])
    assert set(summary["task_movement"]) == {"brows", "smile", "pucker"}
    assert all(
        item["frames_used"] <= item["frames_with_face"] <= 1 for item in summary["frames_per_task"].values()
    )
    assert summary["asymmetry"]["mode"] == "tasks"
    assert (out / "report.html").is_file()

    out = tmp_path / "scaled"
    args = ["analyze", "--task", f"rest={folder / 'rest.jpg'}", "--task", f"smile={folder / 'smile.jpg'}"]
    assert main([*args, "--scale-mm", "30", "--out", str(out), *common]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scale_mm"] == 30.0 and summary["scale_source"] == "--scale-mm"
    assert [t["name"] for t in summary["tasks"]] == ["rest", "smile"]
    # a NAME=FILE that is no file, and a span mixed with photo names, are usage errors
    assert main(["analyze", "--task", "smile=nope.jpg", "--out", str(out), *common]) == 2
    assert main(["analyze", str(folder), "--task", "rest=0:1", "--out", str(out), *common]) == 2


def test_inner_canthal_scale_gives_millimetres():
    from parface_sdk.analysis import canonical_face, measure_head

    face = canonical_face()
    inner = np.linalg.norm(face[39] - face[42])
    measures = measure_head(face, scale_mm=32.0)
    # the eye-mouth distance |39-48| in mm is its head length over the inner distance times 32
    expected = np.linalg.norm(face[39] - face[48]) / inner * 32.0
    assert measures.sides["eye_mouth_distance"].right == pytest.approx(expected)
