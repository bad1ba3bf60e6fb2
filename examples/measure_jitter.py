"""Jitter of the landmarks on a still face, with and without smoothing, in % of inter-ocular distance.

Jitter is the mean frame-to-frame motion of the 68 points (image plane, and 3D with depth) over the
mean outer inter-ocular distance |36-45|. Two sources:

- ``--model MODEL``: a 2-second still clip made by repeating one shared photo with tiny sub-pixel
  shifts and pixel noise, tracked by the aligner (the real noise of the model).
- without ``--model``: the canonical face with Gaussian noise of ``--sigma`` pixels per coordinate
  (inter-ocular distance 150 px), plus a step test: frames until the face's mean position follows
  a 15 px step to within 10 %.

    python examples/measure_jitter.py [--model MODEL.onnx] [--shared ../shared]
"""

import argparse
from pathlib import Path

import cv2
import numpy as np

from parface_sdk.analysis import HeadPose, canonical_face
from parface_sdk.video.smoothing import jitter_percent, smooth_landmark_sequence

FPS, FRAMES = 30.0, 60


def still_clip(image: np.ndarray, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    frames = []
    for _ in range(FRAMES):
        shift = np.float32([[1, 0, rng.uniform(-0.25, 0.25)], [0, 1, rng.uniform(-0.25, 0.25)]])
        frame = cv2.warpAffine(image, shift, image.shape[1::-1], borderMode=cv2.BORDER_REFLECT)
        noise = rng.normal(0.0, 2.0, frame.shape)
        frames.append(np.clip(frame + noise, 0, 255).astype(np.uint8))
    return frames


def model_landmarks(model: str, shared: Path) -> np.ndarray:
    from parface_sdk import Aligner
    from parface_sdk.geometry import read_pts
    from parface_sdk.video import track

    folder = shared / "data" / "300w-subset" / "test"
    pts = sorted(folder.glob("*.pts"))[0]
    points = read_pts(pts).astype(np.float64)
    box = (*points.min(axis=0), *points.max(axis=0))
    with Aligner(model) as aligner:
        tracked = list(
            track(
                aligner,
                still_clip(cv2.imread(str(pts.with_suffix(".jpg")))),
                box=box,
                color="BGR",  # cv2.imread frames
                smoothing="none",
                fps=FPS,
                min_confidence=0.0,
                redetect_interval=0,
            )
        )
    print(f"still clip: {FRAMES} frames of {pts.name}, tracked by {model}")
    return np.stack([frame.landmarks for frame in tracked])


def synthetic_landmarks(sigma: float) -> tuple[np.ndarray, np.ndarray]:
    base = HeadPose.from_angles(5, -3, 2, translation=(320, 240, 0), scale=150).to_image(canonical_face())
    rng = np.random.default_rng(0)
    print(f"synthetic still face: inter-ocular 150 px, noise sigma {sigma} px per coordinate")
    return base + rng.normal(0.0, sigma, (FRAMES, 68, 3)), base


def step_frames(base: np.ndarray, sigma: float, method: str) -> int:
    count, step_at = 120, 60
    truth = np.repeat(base[None], count, axis=0)
    truth[step_at:, :, 0] += 15.0
    noisy = truth + np.random.default_rng(1).normal(0.0, sigma, truth.shape)
    smoothed = smooth_landmark_sequence(noisy, np.arange(count) / FPS, method)
    error = np.abs(smoothed[..., 0].mean(axis=1) - truth[..., 0].mean(axis=1))  # the face's position
    return next(i for i in range(step_at, count) if (error[i:] < 1.5).all()) - step_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="track a still clip with this model")
    parser.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared")
    parser.add_argument("--sigma", type=float, default=0.5, help="synthetic noise, pixels")
    args = parser.parse_args()
    if args.model:
        landmarks, base = model_landmarks(args.model, args.shared), None
    else:
        landmarks, base = synthetic_landmarks(args.sigma)
    times = np.arange(len(landmarks)) / FPS
    print(f"{'smoothing':<12}{'jitter 2D %':>12}{'jitter 3D %':>12}{'step frames':>12}")
    for method in ("none", "one_euro", "savgol"):
        points = landmarks if method == "none" else smooth_landmark_sequence(landmarks, times, method)
        points = points[5:]  # skip the filters' first frames
        step = "" if base is None or method == "none" else str(step_frames(base, args.sigma, method))
        print(f"{method:<12}{jitter_percent(points):>12.3f}{jitter_percent(points, 3):>12.3f}{step:>12}")


if __name__ == "__main__":
    main()
