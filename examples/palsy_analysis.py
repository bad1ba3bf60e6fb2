"""Facial-asymmetry analysis of a short clip: a simulated right-sided facial palsy.

Builds a 3-second clip from one frontal face of the shared 300-W images: rest, then a smile in which
the subject's left mouth corner rises and moves out while the right one barely moves (a local image
warp), with a gently swaying head. Then tracks the face, normalises head pose, measures each side
per frame and writes the report (measures.csv, summary.json, plots/*.png, overlay.png).

    python examples/palsy_analysis.py [--model MODEL.onnx] [--out palsy_report] [--shared ../shared]
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from parface_sdk import Aligner
from parface_sdk.analysis import Task, measure_sequence
from parface_sdk.analysis.report import write_report
from parface_sdk.geometry import read_pts
from parface_sdk.video import track

FPS = 15.0
TASKS = [Task("rest", 0.0, 1.0), Task("smile", 1.0, 2.0), Task("rest_again", 2.0, 3.0)]


def frontal_face(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The first large, frontal, neutral face of the folder (nose centred, eyes level, lips closed,
    mouth corners not raised)."""
    for pts in sorted(folder.glob("helen_*.pts")):
        points = read_pts(pts)
        ocular = points[45, 0] - points[36, 0]
        centred = abs(points[30, 0] - (points[36, 0] + points[45, 0]) / 2) < 0.03 * ocular
        level = abs(points[36, 1] - points[45, 1]) < 0.03 * ocular
        closed = points[66, 1] - points[62, 1] < 0.03 * ocular
        neutral = points[57, 1] - (points[48, 1] + points[54, 1]) / 2 < 0.12 * ocular
        if ocular > 120 and centred and level and closed and neutral:
            return cv2.imread(str(pts.with_suffix(".jpg"))), points
    raise SystemExit(f"no frontal face found in {folder}")


def bump(shape, centre, sigma, shift) -> tuple[np.ndarray, np.ndarray]:
    """A smooth displacement field: ``shift`` at ``centre``, fading with a Gaussian of ``sigma``."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    weight = np.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma**2))
    return shift[0] * weight, shift[1] * weight


def make_clip(image: np.ndarray, points: np.ndarray, path: Path) -> np.ndarray:
    """Write the clip; returns the face box of its first frame."""
    height, width = image.shape[:2]
    mouth = points[54, 0] - points[48, 0]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), FPS, (width, height))
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    for index in range(int(3 * FPS)):
        time = index / FPS
        amount = np.clip(np.sin(np.pi * (time - 1.0)), 0.0, 1.0) if 1.0 <= time < 2.0 else 0.0
        amount = min(1.0, 2.0 * amount)  # hold the smile in the middle of the task
        map_x, map_y = xs.copy(), ys.copy()
        # Subject's left corner (image right, point 54): up and out; right corner (48): hardly.
        for corner, gain, outwards in ((54, 1.0, 1.0), (48, 0.15, -1.0)):
            dx, dy = bump(image.shape, points[corner], 0.35 * mouth,
                          (outwards * 0.12 * mouth * gain * amount, -0.18 * mouth * gain * amount))
            map_x -= dx  # remap pulls pixels from where they came from
            map_y -= dy
        frame = cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        sway = cv2.getRotationMatrix2D((width / 2, height / 2), 2.0 * np.sin(2 * time), 1.0)
        sway[:, 2] += (3.0 * np.sin(3 * time), 2.0 * np.cos(2 * time))
        writer.write(cv2.warpAffine(frame, sway, (width, height), borderMode=cv2.BORDER_REFLECT))
    writer.release()
    return np.array([*points.min(axis=0), *points.max(axis=0)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model file (default: the shipped model)")
    parser.add_argument("--out", type=Path, default=Path("palsy_report"))
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    image, points = frontal_face(args.shared / "data" / "300w-subset" / "train")
    clip = args.out / "clip.mp4"
    box = make_clip(image, points, clip)

    with Aligner(args.model) as aligner:
        # The known box stands in for a detector on the first frame; later frames are tracked.
        frames = list(track(aligner, clip, box=tuple(box), smoothing="none"))
    landmarks = np.stack([f.landmarks if f.landmarks is not None else np.full((68, 3), np.nan)
                          for f in frames])
    times = np.array([f.timestamp for f in frames])
    series = measure_sequence(landmarks, times, smoothing="savgol")  # zero-lag for recorded video

    overlay_frame = int(1.5 * FPS)  # the middle of the smile
    capture = cv2.VideoCapture(str(clip))
    capture.set(cv2.CAP_PROP_POS_FRAMES, overlay_frame)
    ok, frame = capture.read()
    capture.release()
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) if ok else None
    paths = write_report(series, args.out, TASKS, image_rgb=rgb, overlay_frame=overlay_frame)

    import json

    summary = json.loads(paths["summary"].read_text())
    smile = summary.get("task_movement", {}).get("smile", {}).get("mouth_corner_height", {})
    print(f"clip: {clip} ({len(frames)} frames at {FPS:g} fps)")
    if smile:
        print(f"smile, mouth-corner height vs rest: right {smile['right']:+.3f}, left {smile['left']:+.3f} "
              "inter-canthal units")
    side = summary["affected_side"]
    print(f"affected side: {side['side']} (confidence {side['confidence']:.2f})")
    for line in side["evidence"][:4]:
        print(f"  {line}")
    print(f"report: {paths['csv']}, {paths['summary']}, {args.out / 'plots'}/*.png, {paths.get('overlay')}")


if __name__ == "__main__":
    main()
