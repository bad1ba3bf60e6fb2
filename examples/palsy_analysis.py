"""Facial-asymmetry analysis of a short clip: a simulated right-sided weakness, and a still control.

Takes one near-frontal face of the shared 300-W *train* photos and makes two 3-second clips:

- **palsy**: rest (0-1 s), then a smile (1-2 s) in which the subject's left mouth corner rises by
  ``--percent`` of the inter-ocular distance while the right one stays put (a smooth image warp),
  then rest again (2-3 s);
- **control**: the same photo held still (sensor noise and sub-pixel motion only).

Both are tracked, pose-normalised and measured with the same pipeline as ``parface analyze``, and
the calibrated decision is printed for each: the palsy clip should name the subject's right side
when the change is larger than the model's null spread, and the control should say that no
asymmetric change was detected. The full report (measures.csv, summary.json, plots/*.png,
overlay.png) is written for the palsy clip.

    python examples/palsy_analysis.py [--model MODEL.onnx] [--out palsy_report] [--percent 8]
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from parface_sdk import Aligner
from parface_sdk.analysis import Task
from parface_sdk.analysis.clip import measure_clip, model_sha256
from parface_sdk.analysis.report import write_report
from parface_sdk.analysis.simulate import load_subjects, make_clip

FPS = 15.0
TASKS = [Task("rest", 0.0, 1.0), Task("smile", 1.0, 2.0), Task("rest_again", 2.0, 3.0)]


def write_video(frames: list[np.ndarray], path: Path) -> Path:
    height, width = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def say(name: str, summary: dict) -> None:
    decision = summary["asymmetry"]
    print(
        f"{name}: decision {decision['decision']!r} (strength {decision['strength']:.1f} null spreads, "
        f"threshold {decision['strength_threshold']:.1f}; confidence {decision['confidence']:.6f})"
    )
    for line in decision["evidence"]:
        print(f"  {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=Path("palsy_report"))
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--percent", type=float, default=8.0, help="the healthy side's smile, % IOD")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    data = args.shared / "data"
    subject = load_subjects([data / "300w-subset" / "train"], 1, seed=3)[0]
    # the left corner rises during the smile (a negative droop is a raise); the right one does not
    palsy = make_clip(subject, "still", int(3 * FPS), FPS, seed=1, droop=("mouth", "left", -args.percent))
    clip = write_video(palsy, args.out / "clip.mp4")
    control = make_clip(subject, "still", int(3 * FPS), FPS, seed=2)

    with Aligner(args.model) as aligner:
        sha = model_sha256(aligner)
        # the video file, decoded and refined by optical flow as `parface analyze` does for video
        series = measure_clip(aligner, clip, landmarks="flow")
        control_series = measure_clip(aligner, control, landmarks="flow", fps=FPS, color="BGR")

    overlay_frame = int(1.5 * FPS)  # the middle of the smile, if it was measured
    if not np.isfinite(series.image_landmarks[overlay_frame]).all():
        # left out (the flow lost a point the decision reads): the most asymmetric measured frame
        overlay_frame = int(np.nanargmax(series.values["mirror_total"]))
    rgb = cv2.cvtColor(palsy[overlay_frame], cv2.COLOR_BGR2RGB)
    report = write_report(
        series, args.out, TASKS, image_rgb=rgb, overlay_frame=overlay_frame, model_sha256=sha
    )
    control = write_report(control_series, args.out / "control", TASKS, model_sha256=sha)
    paths = report.paths

    print(f"clip: {clip} ({len(series)} frames at {FPS:g} fps), face {subject.name}")
    say("palsy clip (subject's right side does not smile)", report.summary)
    say("control clip (the same face, still)", control.summary)
    print(f"report: {paths['csv']}, {paths['summary']}, {args.out / 'plots'}/*.png, {paths.get('overlay')}")
    print(f"note: {report.decision['caveat']}")


if __name__ == "__main__":
    main()
