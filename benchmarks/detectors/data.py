"""Images with 68-point ground truth for the detector study (300-W train crops, AFLW2000-3D subset)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from parface_sdk.geometry import read_pts


@dataclass(frozen=True)
class Sample:
    name: str
    image_rgb: np.ndarray
    landmarks: np.ndarray  # (68, 2), 0-based pixels

    @property
    def box(self) -> np.ndarray:
        return np.array([*self.landmarks.min(axis=0), *self.landmarks.max(axis=0)])


def _rgb(path: Path) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)


def train_samples(shared: Path, per_set: int) -> list[Sample]:
    """``per_set`` evenly spaced faces from each of 300w-subset/train and 300w-lfpw/train."""
    samples = []
    for folder in (shared / "data" / "300w-subset" / "train", shared / "data" / "300w-lfpw" / "train"):
        images = sorted(folder.glob("*.jpg"))
        for index in np.linspace(0, len(images) - 1, per_set).round().astype(int):
            path = images[index]
            points = read_pts(path.with_suffix(".pts")).astype(np.float64)
            samples.append(Sample(f"{folder.parent.name}/{path.stem}", _rgb(path), points))
    return samples


def aflw_samples(shared: Path) -> list[Sample]:
    """The 26 AFLW2000-3D subset images with ``pt3d_68`` (x, y used)."""
    import scipy.io

    folder = shared / "data" / "aflw2000-3d-subset"
    samples = []
    for path in sorted(folder.glob("*.jpg")):
        points = scipy.io.loadmat(path.with_suffix(".mat"))["pt3d_68"][:2].T.astype(np.float64)
        samples.append(Sample(f"aflw/{path.stem}", _rgb(path), points))
    return samples


def small_face_samples(samples: list[Sample], seed: int = 0, canvas=(480, 640)) -> list[Sample]:
    """The same faces shrunk to a 40-90 px landmark box and pasted at a random place on a grey
    640x480 frame: the far-away faces a webcam or group photo has, which 300-W crops lack."""
    rng = np.random.default_rng(seed)
    out = []
    for sample in samples:
        long_side = max(sample.box[2:] - sample.box[:2])
        scale = rng.uniform(40, 90) / long_side
        height, width = sample.image_rgb.shape[:2]
        new_w, new_h = max(round(width * scale), 1), max(round(height * scale), 1)
        small = cv2.resize(sample.image_rgb, (new_w, new_h), interpolation=cv2.INTER_AREA)
        frame = np.full((*canvas, 3), 114, np.uint8)
        top, left = rng.integers(0, canvas[0] - new_h + 1), rng.integers(0, canvas[1] - new_w + 1)
        frame[top : top + new_h, left : left + new_w] = small
        # cv2.resize maps pixel centres: x' = (x + 0.5) * scale - 0.5.
        points = (sample.landmarks + 0.5) * np.array([new_w / width, new_h / height]) - 0.5 + [left, top]
        out.append(Sample(sample.name + "@small", frame, points))
    return out
