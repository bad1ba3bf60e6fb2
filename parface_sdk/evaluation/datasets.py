"""Evaluation sets: images with ground-truth landmarks in 0-based pixels, z towards the camera.

Layouts (``load_dataset(kind, roots)``):

- ``aflw2000-3d``: a folder of ``imageXXXXX.jpg`` + ``imageXXXXX.mat`` (the official download, or
  ``shared/data/aflw2000-3d-subset``). GT is ``pt3d_68`` (3D); yaw from ``Pose_Para`` or, when a
  file has none, from the folder's ``index.csv`` (``image``, ``yaw_deg``).
- ``aflw2000-3d-full``: the complete 2000-face benchmark from ``gt_all_2000.npz`` + ``index.csv``
  (``shared/data/aflw2000-3d-test``); the root may be that folder or the ``data`` folder above it.
- ``300w``: folders of iBUG ``.pts`` (1-based, 2D) with a same-named image, searched recursively.
- ``300w-common``: the 300-W common subset from the shared ``data`` folder: ``300w-subset/test``
  (HELEN 330) + ``300w-lfpw/test`` (LFPW 224).
- ``manifest``: a CSV or JSON list of images and landmarks (see :func:`load_manifest`).

File formats are read by :mod:`parface_sdk.landmark_files` (``.pts`` made 0-based, ``pt3d_68``
transposed to 68 x 3).
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from parface_sdk.errors import ParfaceError
from parface_sdk.geometry import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)

BENCHMARK_NPZ = "gt_all_2000.npz"
BENCHMARK_SIZE = 2000


class DatasetError(ParfaceError, ValueError):
    """An evaluation set is missing, incomplete, or not in the expected layout."""


@dataclass(frozen=True)
class Sample:
    """One annotated face: ``landmarks`` (68, 2) or (68, 3) float32, 0-based image pixels."""

    name: str
    image: Path
    landmarks: np.ndarray
    yaw: float | None = None  # degrees, AFLW2000-3D sign convention


@dataclass(frozen=True)
class EvalDataset:
    name: str
    samples: tuple[Sample, ...]
    roots: tuple[Path, ...] = field(default=())

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def has_3d(self) -> bool:
        return bool(self.samples) and all(s.landmarks.shape[1] == 3 for s in self.samples)

    @property
    def has_yaw(self) -> bool:
        return bool(self.samples) and all(s.yaw is not None for s in self.samples)

    def subset(self, limit: int | None) -> EvalDataset:
        """``limit`` samples spread evenly over the set (all of them when ``limit`` is None)."""
        if limit is None or limit >= len(self.samples):
            return self
        if limit < 1:
            raise DatasetError(f"limit must be at least 1, got {limit}")
        picks = np.unique(np.linspace(0, len(self.samples) - 1, limit).round().astype(int))
        return EvalDataset(self.name, tuple(self.samples[i] for i in picks), self.roots)


def _readers():
    from parface_sdk import landmark_files

    return landmark_files


def _image_beside(path: Path) -> Path | None:
    for suffix in IMAGE_SUFFIXES:
        for candidate in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
            if candidate.is_file():
                return candidate
    return None


def _require_dir(root: Path, what: str) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"{what}: {root} is not a folder; pass --root with the dataset's folder")
    return root


def _yaw_table(folder: Path) -> dict[str, float]:
    """``image stem -> yaw_deg`` from a folder's ``index.csv``, if it has one."""
    index = folder / "index.csv"
    if not index.is_file():
        return {}
    with index.open(newline="") as handle:
        return {
            Path(row["image"]).stem: float(row["yaw_deg"])
            for row in csv.DictReader(handle)
            if row.get("yaw_deg") not in (None, "")
        }


def load_aflw2000_3d(root: Path) -> EvalDataset:
    """``imageXXXXX.jpg`` + ``.mat`` pairs of a folder (official AFLW2000-3D layout)."""
    root = _require_dir(root, "aflw2000-3d")
    files = _readers()
    try:
        import scipy.io  # noqa: F401  (read_aflw_mat needs it)
    except ImportError as exc:
        raise DatasetError("reading .mat files needs scipy: pip install 'parface-sdk[analysis]'") from exc
    yaws = _yaw_table(root)
    samples = []
    for mat in sorted(root.glob("*.mat")):
        image = _image_beside(mat)
        if image is None:
            logger.warning("%s has no image beside it; skipped", mat.name)
            continue
        record = files.read_aflw_mat(mat)
        pose = record.get("pose_para")
        yaw = float(np.degrees(pose[1])) if pose is not None else yaws.get(mat.stem)
        samples.append(
            Sample(
                mat.stem,
                image,
                np.asarray(record["pt3d_68"], np.float32),
                None if yaw is None else float(yaw),
            )
        )
    if not samples:
        raise DatasetError(
            f"aflw2000-3d: no imageXXXXX.jpg + .mat pairs in {root}; for the shared "
            "benchmark (gt_all_2000.npz + index.csv) use --dataset aflw2000-3d-full"
        )
    return EvalDataset("aflw2000-3d", tuple(samples), (root,))


def _find_benchmark(root: Path) -> Path:
    for candidate in (root, root / "aflw2000-3d-test", root / "data" / "aflw2000-3d-test"):
        if (candidate / BENCHMARK_NPZ).is_file() and (candidate / "index.csv").is_file():
            return candidate
    raise DatasetError(
        f"aflw2000-3d-full: no {BENCHMARK_NPZ} + index.csv in {root} or {root}/aflw2000-3d-test; "
        "pass the shared data folder or the aflw2000-3d-test folder"
    )


def load_aflw2000_3d_full(root: Path) -> EvalDataset:
    """All 2000 AFLW2000-3D faces: GT rows of ``gt_all_2000.npz``, images found via ``index.csv``."""
    folder = _find_benchmark(_require_dir(root, "aflw2000-3d-full"))
    with np.load(folder / BENCHMARK_NPZ) as arrays:
        names = [str(n) for n in arrays["names"]]
        points = np.transpose(arrays["pt3d_68"], (0, 2, 1)).astype(np.float32)  # (N, 3, 68) -> (N, 68, 3)
        yaws = np.degrees(arrays["pose_para"][:, 1].astype(np.float64))
    samples, missing = [], []
    with (folder / "index.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            stem, gt_row = Path(row["image"]).stem, int(row["gt_row"])
            if names[gt_row] != stem:
                raise DatasetError(f"index.csv row {gt_row} names {stem}, the npz names {names[gt_row]}")
            image = (folder / row["location"] / row["image"]).resolve()
            if not image.is_file():
                missing.append(str(image))
                continue
            samples.append(Sample(stem, image, points[gt_row], float(yaws[gt_row])))
    if missing:
        raise DatasetError(
            f"aflw2000-3d-full: {len(missing)} benchmark images are missing, e.g. {missing[0]}; "
            "the full benchmark needs aflw2000-3d-test/ and aflw2000-3d-subset/ side by side"
        )
    if len(samples) != BENCHMARK_SIZE:
        logger.warning("aflw2000-3d-full: %d faces, the benchmark has %d", len(samples), BENCHMARK_SIZE)
    samples.sort(key=lambda s: s.name)
    return EvalDataset("aflw2000-3d-full", tuple(samples), (folder,))


def load_300w(root: Path) -> EvalDataset:
    """Every ``.pts`` under ``root`` with a same-named image (1-based points made 0-based)."""
    root = _require_dir(root, "300w")
    files = _readers()
    samples, skipped = [], 0
    for pts in sorted(root.rglob("*.pts")):
        image = _image_beside(pts)
        if image is None:
            skipped += 1
            continue
        name = pts.relative_to(root).with_suffix("").as_posix()
        samples.append(Sample(name, image, np.asarray(files.read_pts(pts), np.float32)))
    if skipped:
        logger.warning("300w: %d .pts files under %s have no image; skipped", skipped, root)
    if not samples:
        raise DatasetError(f"300w: no .pts files with images under {root}")
    return EvalDataset("300w", tuple(samples), (root,))


def load_300w_common(root: Path) -> EvalDataset:
    """The 300-W common subset (554 faces) from the shared ``data`` folder."""
    root = _require_dir(root, "300w-common")
    parts = [root / "300w-subset" / "test", root / "300w-lfpw" / "test"]
    if not all(p.is_dir() for p in parts):
        raise DatasetError(
            f"300w-common: expected {parts[0]} and {parts[1]}; pass the shared data folder as --root"
        )
    combined = combine([load_300w(p) for p in parts], "300w-common")
    return EvalDataset(combined.name, combined.samples, (root,))


def _manifest_rows(path: Path) -> list[dict]:
    if path.suffix.lower() != ".json":
        with path.open(newline="") as handle:
            return list(csv.DictReader(handle))
    rows = json.loads(path.read_text())
    return rows.get("faces", rows.get("items", [])) if isinstance(rows, dict) else rows


def load_manifest(path: Path) -> EvalDataset:
    """A custom set from a CSV or JSON manifest (:func:`parface_sdk.landmark_files.read_manifest`).

    Each row has ``image`` and ``landmarks`` (a ``.pts`` file, 1-based on disk; a ``.mat`` with
    ``pt3d_68``; in JSON also an inline 68 x 2|3 list) or inline ``x0, y0, [z0,] ...`` columns, in
    0-based pixels with z towards the camera. Optional ``name`` and ``yaw`` (degrees) columns are
    used too. Relative paths are relative to the manifest.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DatasetError(f"manifest: {path} is not a file; pass --root with the manifest file")
    try:
        entries = _readers().read_manifest(path)
    except (ValueError, KeyError, OSError) as exc:
        raise DatasetError(f"manifest {path}: {exc}") from exc
    rows = _manifest_rows(path)
    samples = []
    for number, (entry, row) in enumerate(zip(entries, rows)):
        points = np.asarray(entry.landmarks, np.float32)
        if points.ndim != 2 or points.shape[1] not in (2, 3) or len(points) != 68:
            raise DatasetError(
                f"manifest {path.name}: entry {number} has landmarks {points.shape}, "
                "expected (68, 2) or (68, 3)"
            )
        yaw = row.get("yaw")
        name = row.get("name") or Path(str(row["image"])).stem
        samples.append(Sample(str(name), entry.image, points, None if yaw in (None, "") else float(yaw)))
    if not samples:
        raise DatasetError(f"manifest {path}: no entries")
    return EvalDataset(path.stem, tuple(samples), (path,))


def combine(datasets: Sequence[EvalDataset], name: str | None = None) -> EvalDataset:
    """One set from several; names that clash are prefixed with their root's folder name."""
    if len(datasets) == 1 and name is None:
        return datasets[0]
    samples, seen = [], set()
    for dataset in datasets:
        for sample in dataset.samples:
            if sample.name in seen:
                prefix = dataset.roots[0].name if dataset.roots else dataset.name
                sample = Sample(f"{prefix}/{sample.name}", sample.image, sample.landmarks, sample.yaw)
            seen.add(sample.name)
            samples.append(sample)
    roots = tuple(root for d in datasets for root in d.roots)
    return EvalDataset(name or datasets[0].name, tuple(samples), roots)


LOADERS: dict[str, Callable[[Path], EvalDataset]] = {
    "aflw2000-3d": load_aflw2000_3d,
    "aflw2000-3d-full": load_aflw2000_3d_full,
    "300w": load_300w,
    "300w-common": load_300w_common,
    "manifest": load_manifest,
}


def load_dataset(kind: str, roots: Path | Sequence[Path]) -> EvalDataset:
    """Load one set of ``kind`` (a key of :data:`LOADERS`) from one or several roots."""
    if kind not in LOADERS:
        raise DatasetError(f"unknown dataset {kind!r}; choose one of {', '.join(LOADERS)}")
    roots = [Path(roots)] if isinstance(roots, str | Path) else [Path(r) for r in roots]
    if not roots:
        raise DatasetError(f"{kind}: no --root given")
    return combine([LOADERS[kind](root) for root in roots])
