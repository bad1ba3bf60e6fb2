"""The stages' view of the data: builds parface_training/data's datasets from a recipe's DataConfig."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from torch.utils.data import ConcatDataset, Dataset, Subset

from parface_sdk.geometry import IMAGE_SUFFIXES
from parface_sdk.landmark_files import read_pts
from parface_sdk.spec import ModelSpec
from parface_training.config import StageConfig

logger = logging.getLogger(__name__)


def image_files(folder: str | Path) -> list[Path]:
    """Image files directly in ``folder`` or its ``images/`` subfolder, sorted (deterministic)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no image folder at {folder}")
    if (folder / "images").is_dir():
        folder = folder / "images"
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def _limit(dataset: Dataset, config: StageConfig) -> Dataset:
    limit = config.data.max_images
    if limit is not None and len(dataset) > limit:
        return Subset(dataset, list(range(limit)))
    return dataset


def image_only_records(folders: Sequence[str | Path]) -> list[tuple[str, np.ndarray]]:
    """``(image, landmarks)`` of labeled folders for unlabeled use: the 2D labels only frame the
    crop (z = 0), exactly as the labeled stages frame it. Needs no depth labels."""
    records = []
    for folder in folders:
        for image in image_files(folder):
            pts = image.with_suffix(".pts")
            if pts.is_file():
                xy = read_pts(pts)
                records.append((str(image), np.column_stack([xy, np.zeros(len(xy))]).astype(np.float32)))
    return records


def set_epoch(dataset: Dataset, epoch: int) -> None:
    """Forward the epoch to datasets (also nested ones) that vary their augmentation by epoch."""
    if hasattr(dataset, "set_epoch"):
        dataset.set_epoch(epoch)
    for child in getattr(dataset, "datasets", []):
        set_epoch(child, epoch)
    if isinstance(getattr(dataset, "dataset", None), Dataset):
        set_epoch(dataset.dataset, epoch)


def _records(config: StageConfig):
    from parface_training.data import load_label_cache, train_records

    data = config.data
    if not data.labeled_dirs:
        raise ValueError(f"stage {config.stage!r} needs labeled faces: set data.labeled_dirs in the recipe")
    cache = load_label_cache(data.label_cache) if data.label_cache else None
    return train_records(
        [Path(d) for d in data.labeled_dirs],
        label_cache=cache,
        convention=data.label_convention,
        bfm_path=data.bfm_path,
    )


class _ImageOnly(Dataset):
    """A labeled dataset seen as unlabeled faces (the self-supervised stages use only the image)."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        return {"image": self.dataset[index]["image"]}


def unlabeled_dataset(config: StageConfig, spec: ModelSpec) -> Dataset:
    """Faces without labels for stages 1-2: the unlabeled folders, plus the labeled folders'
    images cropped from their landmarks when ``use_labeled_images_unlabeled``."""
    from parface_training.data import LandmarkDataset, UnlabeledDataset

    data = config.data
    parts: list[Dataset] = []
    paths = [p for folder in data.unlabeled_dirs for p in image_files(folder)]
    if paths:
        parts.append(UnlabeledDataset(paths, spec, augment=data.augment, seed=config.seed))
    if data.labeled_dirs and data.use_labeled_images_unlabeled:
        records = image_only_records(data.labeled_dirs)
        labeled = LandmarkDataset(records, spec, augment=data.augment, seed=config.seed)
        parts.append(_ImageOnly(labeled))
    if not parts:
        raise ValueError(f"stage {config.stage!r} has no faces: set data.unlabeled_dirs or data.labeled_dirs")
    return _limit(parts[0] if len(parts) == 1 else ConcatDataset(parts), config)


def labeled_dataset(config: StageConfig, spec: ModelSpec) -> Dataset:
    """Labeled faces for stages 3-5 (image, landmarks, depth, heatmaps)."""
    from parface_training.data import LandmarkDataset

    dataset = LandmarkDataset(_records(config), spec, augment=config.data.augment, seed=config.seed)
    return _limit(dataset, config)
