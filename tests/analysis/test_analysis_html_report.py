"""report.html: self-contained (no network, images as data URIs, no script), the decision first, the
frames used per task, an overlay at each task's peak frame; rendered in a real headless browser
(Debian's chromium through Playwright) when both are installed."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

from parface_sdk.analysis import HeadPose, Task, canonical_face, measure_sequence
from parface_sdk.analysis.html_report import plain_decision, render_html
from parface_sdk.analysis.timeseries import overlay_frame, peak_frames, task_frames

FPS = 10.0
TASKS = [Task("rest", 0.0, 1.0), Task("smile", 1.0, 2.0), Task("brows", 2.0, 3.0)]
SMILE_PEAK, BROWS_PEAK = 14, 27


def _series(missing=(), lost=()):
    """A face that smiles (both mouth corners up, most at SMILE_PEAK) and raises its brows (most at
    BROWS_PEAK); a one-off asymmetric jaw glitch at rest makes the largest *mirror* asymmetry fall
    at rest, which the peak frames must ignore. ``missing`` frames have no face; ``lost`` frames had
    a face whose landmarks were left out."""
    rng = np.random.default_rng(0)
    face = canonical_face()
    times = np.arange(int(3 * FPS)) / FPS
    frames = []
    for index, time in enumerate(times):
        head = face.copy() + rng.normal(0, 0.001, face.shape)
        if 1.0 <= time < 2.0:
            head[[48, 54], 1] -= 0.08 * (1 - abs(index - SMILE_PEAK) / 10)
        if 2.0 <= time < 3.0:
            head[17:27, 1] -= 0.08 * (1 - abs(index - BROWS_PEAK) / 10)
        if index == 5:
            head[0:5, 0] += 0.2
        frames.append(HeadPose.from_angles(0, 0, 0, translation=(320, 240, 0), scale=120).to_image(head))
    frames = np.stack(frames)
    found = np.ones(len(times), bool)
    for index in missing:
        frames[index], found[index] = np.nan, False
    for index in lost:
        frames[index] = np.nan
    return measure_sequence(frames, times, smoothing="none", face_found=found)


def test_peak_frames_follow_each_task_not_the_largest_mirror_asymmetry():
    series = _series()
    assert int(np.nanargmax(series.values["mirror_total"])) == 5  # the old overlay choice: a glitch
    peaks = peak_frames(series, TASKS)
    assert peaks["smile"] == SMILE_PEAK and peaks["brows"] == BROWS_PEAK
    assert 0 <= peaks["rest"] < 10 and peaks["rest"] != 5
    assert overlay_frame(series, TASKS) in (SMILE_PEAK, BROWS_PEAK)
    assert list(peak_frames(series)) == ["after rest"]


def test_frames_per_task_count_faces_and_frames_used():
    series = _series(missing=[2, 3], lost=[15])
    frames = task_frames(series, TASKS)
    assert frames["rest"] == {"start": 0.0, "end": 1.0, "frames": 10, "frames_with_face": 8, "frames_used": 8}
    assert frames["smile"]["frames_with_face"] == 10 and frames["smile"]["frames_used"] == 9
    assert list(task_frames(series)) == ["rest", "after rest"]


def test_report_html_is_self_contained_and_says_the_decision_first(tmp_path):
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    from parface_sdk.analysis.report import write_report

    series = _series(missing=[2])
    report = write_report(series, tmp_path, TASKS)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_per_task"]["rest"]["frames_with_face"] == 9
    assert summary["peak_frames"]["smile"] == SMILE_PEAK
    text = report.paths["html"].read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # nothing fetched
    assert "<script" not in text.lower() and "<link" not in text.lower()
    images = re.findall(r'<img [^>]*src="([^"]+)"', text)
    assert images and all(src.startswith("data:image/png;base64,") for src in images)
    assert len(images) == len(list((tmp_path / "plots").glob("*.png"))) + 3  # + rest, smile, brows
    decision_at = text.index(plain_decision(report.decision))
    assert decision_at < text.index(report.decision["caveat"][:40]) < text.index("Movement per task")
    assert "Frames used per task" in text and (tmp_path / "overlays" / "smile.png").is_file()
    assert not list(tmp_path.glob(".*.tmp"))  # written atomically, nothing left behind


def test_report_html_without_measures():
    summary = {
        "frames": 0,
        "asymmetry": {
            "decision": "none",
            "strength": 0.0,
            "strength_threshold": 4.0,
            "confidence": 0.0,
            "confidence_threshold": 0.9999,
            "caveat": "a caveat",
        },
    }
    assert plain_decision(summary["asymmetry"]) in render_html(summary)


def _browser():
    """A headless chromium through Playwright, or skip with the reason."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip("no chromium on PATH (Debian: apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return sync_api, executable


def test_report_renders_in_a_headless_browser(tiny_onnx, shared_dir, tmp_path):
    """`parface analyze` on a small synthetic clip (a 300-W train face, its left mouth corner
    lowered during the task), then the report opened in chromium: no console error, no failed
    request, the decision visible, every image decoded."""
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    sync_api, executable = _browser()
    import cv2

    from parface_sdk.analysis.simulate import load_subjects, make_clip
    from parface_sdk.cli.main import main

    subject = load_subjects([shared_dir / "data" / "300w-subset" / "train"], 1, seed=0)[0]
    clip = make_clip(subject, frames=12, fps=6.0, droop=("mouth", "left", 8.0), task=(1.0, 2.0))
    folder = tmp_path / "clip"
    folder.mkdir()
    for index, frame in enumerate(clip):
        cv2.imwrite(str(folder / f"{index:03d}.png"), frame)
    out = tmp_path / "report"
    box = [str(v) for v in subject.box]
    args = ["analyze", str(folder), "--out", str(out), "--fps", "6", "--task", "rest=0:1"]
    args += ["--task", "smile=1:2", "--model", str(tiny_onnx), "--box", *box, "--no-progress"]
    assert main(args) == 0
    html_path = out / "report.html"
    decision = json.loads((out / "summary.json").read_text())["asymmetry"]

    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("console", lambda message: message.type == "error" and errors.append(message.text))
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
            page.goto(html_path.as_uri())
            page.wait_for_load_state("load")
            shown = page.locator("#decision")
            assert shown.is_visible()
            assert shown.inner_text().strip() == plain_decision(decision)
            broken = page.evaluate(
                "Array.from(document.images).filter(i => !i.complete || i.naturalWidth === 0).length"
            )
            assert page.evaluate("document.images.length") > 0 and broken == 0
        finally:
            browser.close()
    assert not errors, errors
