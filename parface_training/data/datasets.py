"""Torch datasets for the training stages: labeled faces (image, landmarks, depth, heatmaps) and
unlabeled face chips (image only).

Crops are built with :mod:`parface_sdk.crop` exactly as the runtime builds them, so a model sees
the same framing in training and in use. Augmentation (paper, Sec. IV-B): horizontal flip 50 %,
translation +-4 % of the crop, scale jitter 94-103 %, rotation +-45 deg, composed into the one
similarity transform so image and landmarks move together. ``extra_augment`` adds lighting,
occlusion and one-sided expression warps (:mod:`parface_training.data.augment`).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from parface_sdk import crop
from parface_sdk.image import load_image
from parface_sdk.spec import ModelSpec
from parface_training.data.augment import WarpOptions, augment_crop
from parface_training.data.flip import flip_image, flip_landmarks
from parface_training.data.heatmaps import crop_to_heatmap, render_heatmaps

FLIP_PROBABILITY = 0.5
MAX_SHIFT = 0.04  # of the crop side
SCALE_RANGE = (0.94, 1.03)  # face size in the crop, relative to the un-augmented crop
MAX_ROTATION = np.deg2rad(45.0)

# The runtime's YuNet box -> landmark box calibration (parface_sdk.detect.yunet.YuNetDetector);
# copied so that importing the datasets does not import the detector module.
YUNET_BOX_TO_LANDMARK_SCALE = 0.788
YUNET_CENTER_SHIFT = (0.005, 0.124)

Record = tuple[str, np.ndarray]


def _augmented_transform(
    center: np.ndarray, side: float, size: int, rng: np.random.Generator | None, rotate: bool = True
) -> np.ndarray:
    """``crop.similarity`` of a square (center, side), randomly shifted, scaled and rotated."""
    if rng is None:
        return crop.similarity(center, side, size)
    shift = rng.uniform(-MAX_SHIFT, MAX_SHIFT, size=2) * side
    face_scale = rng.uniform(*SCALE_RANGE)
    angle = rng.uniform(-MAX_ROTATION, MAX_ROTATION) if rotate else 0.0
    return crop.similarity(np.asarray(center) + shift, side / face_scale, size, angle)


def _square(transform: np.ndarray, size: int) -> tuple[np.ndarray, float]:
    """The (center, side) in image pixels of an axis-aligned crop transform."""
    inverse = crop.invert(transform)
    half = (size - 1) / 2.0
    center = inverse[:, :2] @ np.array([half, half]) + inverse[:, 2]
    return center, size / crop.transform_scale(transform)


class _Augmented(Dataset):
    """Shared seeding: item ``i`` on its ``k``-th visit in epoch ``e`` uses rng(seed, e, i, k)."""

    def __init__(self, count: int, augment: bool, seed: int) -> None:
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self._visits = np.zeros(count, dtype=np.int64)

    def set_epoch(self, epoch: int) -> None:
        """Vary the augmentation per epoch (also varies without it, through visit counts)."""
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator | None:
        if not self.augment:
            return None
        visit = int(self._visits[index])
        self._visits[index] += 1
        return np.random.default_rng([self.seed, self.epoch, index, visit])


class LandmarkDataset(_Augmented):
    """Labeled faces: ``records`` are ``(image_path, landmarks)`` with (68, 3) float32 landmarks
    in 0-based image pixels, z in image pixel units positive towards the camera (any origin).

    Items are dicts of float32 tensors:

    - ``image`` (3, S, S): the normalised RGB crop (``spec.mean``/``spec.std``);
    - ``landmarks`` (68, 3): crop pixels; z = (z - mean z) * crop scale;
    - ``depth`` (68,): that z / ``spec.depth_scale`` (about [-1, 1]);
    - ``heatmaps`` (68, H, H): Gaussians (peak 1, ``spec.heatmap_sigma``) at the landmarks;
    - ``transform`` (2, 3): image -> crop pixels (of the flipped image when the item was flipped).
    """

    def __init__(
        self,
        records: Sequence[Record],
        spec: ModelSpec,
        augment: bool = False,
        seed: int = 0,
        extra_augment: bool = False,
        warp: WarpOptions | None = None,
    ) -> None:
        super().__init__(len(records), augment, seed)
        self.extra_augment = extra_augment
        self.warp = warp
        self.records = [(str(path), np.asarray(points, dtype=np.float32)) for path, points in records]
        for path, points in self.records:
            if points.shape != (spec.num_landmarks, 3):
                raise ValueError(f"{path}: landmarks must be ({spec.num_landmarks}, 3), got {points.shape}")
        self.spec = spec

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        path, landmarks = self.records[index]
        image = load_image(path)
        rng = self._rng(index)
        if rng is not None and rng.random() < FLIP_PROBABILITY:
            image = flip_image(image)
            landmarks = flip_landmarks(landmarks, image.shape[1])
        return self.item(image, landmarks, rng)

    def item(
        self,
        image: np.ndarray,
        landmarks: np.ndarray,
        rng: np.random.Generator | None = None,
        edit=None,
    ):
        """The training item of an RGB image and its (68, 3) landmarks (no flip here); ``edit``,
        when given, maps the uint8 crop and its crop-pixel points to new ones (a controlled warp)."""
        spec = self.spec
        size = spec.input_size
        center, side = _square(crop.transform_from_landmarks(landmarks, size, spec.crop_scale), size)
        transform = _augmented_transform(center, side, size, rng)
        chip = crop.warp(image, transform, size)
        points = np.asarray(landmarks, dtype=np.float64).copy()
        points[:, 2] -= points[:, 2].mean()
        points = crop.apply(transform, points)
        if rng is not None and self.extra_augment:
            chip, points = augment_crop(chip, points, rng, self.warp)
        if edit is not None:
            chip, points = edit(chip, points)
        heat_xy = crop_to_heatmap(points[:, :2], size, spec.heatmap_size)
        heatmaps = render_heatmaps(heat_xy, spec.heatmap_size, spec.heatmap_sigma)
        return {
            "image": torch.from_numpy(crop.normalize(chip[None], spec.mean, spec.std)[0]),
            "landmarks": torch.from_numpy(points.astype(np.float32)),
            "depth": torch.from_numpy((points[:, 2] / spec.depth_scale).astype(np.float32)),
            "heatmaps": torch.from_numpy(heatmaps),
            "transform": torch.from_numpy(transform.astype(np.float32)),
        }


def _box(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([x, y, x + w, y + h])


def read_detector_boxes(folder: str | Path) -> dict[str, np.ndarray]:
    """YuNet boxes ``[x0, y0, x1, y1]`` by file name from a chip folder's ``index.csv``
    (columns ``file, face_x, face_y, face_w, face_h``, as in ``unlabeled-utkface``), if any."""
    folder = Path(folder)
    for candidate in (folder / "index.csv", folder.parent / "index.csv"):
        if candidate.is_file():
            with candidate.open(newline="") as handle:
                rows = list(csv.DictReader(handle))
            if rows and {"file", "face_x", "face_y", "face_w", "face_h"} <= set(rows[0]):
                return {
                    row["file"]: _box(*(float(row[k]) for k in ("face_x", "face_y", "face_w", "face_h")))
                    for row in rows
                }
    return {}


class UnlabeledDataset(_Augmented):
    """Face images without labels (self-supervised stages); items are ``{"image": (3, S, S)}``.

    Framing: when the folder has an ``index.csv`` with YuNet boxes (``unlabeled-utkface`` does),
    the crop is the runtime's YuNet crop, ``crop.transform_from_box(box, S, crop_scale * 0.788,
    (0.005, 0.124))``, i.e. the labeled crop convention (1.3 x landmark box) as the runtime
    reproduces it from a detector. Otherwise the whole image is used as a centred square (the
    longer side), which for the aligned 200 px UTKFace chips is nearly the same framing: the
    YuNet crop's side is 0.95-1.1 x the chip (median box 0.97 x chip x 1.3 x 0.788).
    Augmentation: flip, shift and scale as for the labeled faces, no rotation by default.
    """

    def __init__(
        self,
        image_paths: Sequence[str | Path],
        spec: ModelSpec,
        augment: bool = False,
        seed: int = 0,
        boxes: dict[str, np.ndarray] | None = None,
        rotate: bool = False,
    ) -> None:
        super().__init__(len(image_paths), augment, seed)
        self.paths = [str(p) for p in image_paths]
        self.spec = spec
        self.rotate = rotate
        if boxes is None:
            boxes = {}
            for folder in sorted({str(Path(p).parent) for p in self.paths}):
                boxes.update(read_detector_boxes(folder))
        self.boxes = boxes

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        path = self.paths[index]
        image = load_image(path)
        height, width = image.shape[:2]
        size = self.spec.input_size
        box = self.boxes.get(Path(path).name)
        if box is not None:
            scale = self.spec.crop_scale * YUNET_BOX_TO_LANDMARK_SCALE
            center, side = _square(crop.transform_from_box(box, size, scale, YUNET_CENTER_SHIFT), size)
        else:
            center, side = np.array([(width - 1) / 2.0, (height - 1) / 2.0]), float(max(width, height))
        rng = self._rng(index)
        if rng is not None and rng.random() < FLIP_PROBABILITY:
            image = flip_image(image)
            center = np.array([width - 1 - center[0], center[1]])
        transform = _augmented_transform(center, side, size, rng, rotate=self.rotate)
        chip = crop.warp(image, transform, size)
        return {"image": torch.from_numpy(crop.normalize(chip[None], self.spec.mean, self.spec.std)[0])}
