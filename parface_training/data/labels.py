"""Labeled training faces: 300-W style folders (image + iBUG ``.pts``) and the label cache of
BFM-fitted depth written by ``python -m parface_training.data.make_labels``.

Two label conventions (see ``LABELS.md``), both (68, 3) in 0-based image pixels with z in image
pixel units, positive towards the camera:

- ``"2D"``: the annotated x, y and the fitted z;
- ``"3DA-2D"``: the annotated x, y for the 51 inner points, the fitted model's projected x, y for
  the 17 jaw points (0-16), and the fitted z.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from parface_sdk.geometry import IMAGE_SUFFIXES
from parface_sdk.landmark_files import read_pts

CONVENTIONS = ("3DA-2D", "2D")
CACHE_KEYS = ("image_paths", "landmarks_2d", "landmarks_3da2d", "landmarks_2d_with_z", "residual")


def labeled_files(folder: str | Path) -> list[tuple[Path, Path]]:
    """``(image, .pts)`` pairs of a 300-W style folder, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no labeled folder at {folder}")
    pairs = []
    for image in sorted(folder.iterdir()):
        if image.suffix.lower() in IMAGE_SUFFIXES and image.with_suffix(".pts").is_file():
            pairs.append((image, image.with_suffix(".pts")))
    if not pairs:
        raise FileNotFoundError(f"{folder} has no image + .pts pairs")
    return pairs


def _key(path: str | Path) -> str:
    return str(Path(path).resolve())


@dataclass(frozen=True)
class LabelCache:
    """The arrays of a label cache (N faces); see :data:`CACHE_KEYS`."""

    image_paths: np.ndarray  # (N,) str, absolute
    landmarks_2d: np.ndarray  # (N, 68, 2) annotated, 0-based
    landmarks_3da2d: np.ndarray  # (N, 68, 3)
    landmarks_2d_with_z: np.ndarray  # (N, 68, 3)
    residual: np.ndarray  # (N,) mean 2D fit residual / sqrt(w * h) of the landmark box

    def __len__(self) -> int:
        return len(self.image_paths)

    def landmarks(self, convention: str) -> np.ndarray:
        if convention not in CONVENTIONS:
            raise ValueError(f"label convention must be one of {CONVENTIONS}, got {convention!r}")
        return self.landmarks_3da2d if convention == "3DA-2D" else self.landmarks_2d_with_z

    def records(self, convention: str = "3DA-2D") -> list[tuple[str, np.ndarray]]:
        """All faces as ``(image_path, (68, 3) float32 landmarks)``."""
        points = self.landmarks(convention)
        return [(str(p), points[i].astype(np.float32)) for i, p in enumerate(self.image_paths)]

    def index(self) -> dict[str, int]:
        return {_key(p): i for i, p in enumerate(self.image_paths)}

    def save(self, path: str | Path, **meta) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        arrays = {k: getattr(self, k) for k in CACHE_KEYS}
        np.savez_compressed(path, **arrays, **{f"meta_{k}": np.asarray(v) for k, v in meta.items()})


def load_label_cache(path: str | Path) -> LabelCache:
    """Read a cache written by ``make_labels``; ``.records(convention)`` gives the dataset records."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no label cache at {path}; make it with `python -m parface_training.data.make_labels "
            f"--images <300-W train folders> --out {path}`"
        )
    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in CACHE_KEYS if k not in data]
        if missing:
            raise ValueError(f"{path}: not a label cache, missing arrays {missing}")
        return LabelCache(**{k: data[k] for k in CACHE_KEYS})


def train_records(
    labeled_dirs: Sequence[str | Path],
    label_cache: LabelCache | str | Path | None = None,
    convention: str = "3DA-2D",
    bfm_path: str | Path | None = None,
) -> list[tuple[str, np.ndarray]]:
    """``(image_path, (68, 3) landmarks)`` for every face in ``labeled_dirs``, in folder order.

    Labels come from ``label_cache`` (a :class:`LabelCache` or its path). Without a cache the
    faces are fitted now with the BFM bases at ``bfm_path`` (a few ms per face).
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"label convention must be one of {CONVENTIONS}, got {convention!r}")
    pairs = [pair for folder in labeled_dirs for pair in labeled_files(folder)]
    if label_cache is None:
        if bfm_path is None:
            raise ValueError(
                "labeled faces need depth labels: pass label_cache (made by "
                "`python -m parface_training.data.make_labels`) or bfm_path to fit them now"
            )
        from parface_training.data.bfm_fit import BFM68, fit_labels

        labels = fit_labels(BFM68.load(bfm_path), np.stack([read_pts(pts) for _, pts in pairs]))
        points = labels[convention]
        return [(str(image), points[i].astype(np.float32)) for i, (image, _) in enumerate(pairs)]
    cache = label_cache if isinstance(label_cache, LabelCache) else load_label_cache(label_cache)
    index = cache.index()
    missing = [str(image) for image, _ in pairs if _key(image) not in index]
    if missing:
        raise ValueError(
            f"{len(missing)} labeled faces are not in the label cache (e.g. {missing[0]}); "
            "re-run `python -m parface_training.data.make_labels` over these folders"
        )
    points = cache.landmarks(convention)
    return [(str(image), points[index[_key(image)]].astype(np.float32)) for image, _ in pairs]
