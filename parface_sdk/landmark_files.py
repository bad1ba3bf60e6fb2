"""Readers for the landmark file formats the evaluation and training data use.

Conventions (the whole project): coordinates are **0-based image pixels** with pixel centres at
integers, so the centre of the top-left pixel is (0, 0). Depth z is in the same pixel scale as x and
y and is **positive towards the camera** (the nose tip has a larger z than the ears); its origin is
arbitrary.

- iBUG ``.pts`` files (300-W) are 1-based (MATLAB convention); :func:`read_pts` subtracts 1.
- AFLW2000-3D ``.mat`` files store ``pt3d_68`` as 3x68 already in the 0-based convention that the
  3DDFA benchmark compares against, with +z towards the camera (checked: on image00050 the nose tip
  30 has z = 80.6 and the jaw ends 0 / 16 have z = -83.3 / -82.3), so :func:`read_aflw_mat` returns
  it transposed and otherwise unchanged.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

NUM_LANDMARKS = 68


def read_pts(path: str | Path) -> np.ndarray:
    """Read an iBUG ``.pts`` file into (N, 2) float32 **0-based** pixel coordinates.

    Accepts the standard header (``version``, ``n_points``, braces) and headerless files of
    ``x y`` lines. The file's 1-based coordinates are converted by subtracting 1.
    """
    lines = Path(path).read_text().splitlines()
    declared = None
    values: list[tuple[float, float]] = []
    for line in lines:
        text = line.strip()
        if not text or text in "{}" or text.startswith("version"):
            continue
        if text.startswith("n_points"):
            declared = int(text.split(":")[1])
            continue
        parts = text.split()
        if len(parts) < 2:
            raise ValueError(f"{path}: cannot read a point from line {line!r}")
        values.append((float(parts[0]), float(parts[1])))
    if declared is not None and declared != len(values):
        raise ValueError(f"{path}: header says {declared} points, file has {len(values)}")
    if not values:
        raise ValueError(f"{path}: no points found")
    return np.asarray(values, dtype=np.float32) - 1.0


def read_aflw_mat(path: str | Path) -> dict[str, np.ndarray]:
    """Read an AFLW2000-3D style ``.mat`` file (needs scipy).

    Returns ``pt3d_68``: (68, 3) float32, x and y in 0-based image pixels, z in the same pixel scale,
    positive towards the camera, arbitrary origin. When present also ``pt2d`` (the file's original
    AFLW points as (N, 2) float32, -1 where not visible; AFLW's 21 points, not iBUG-68) and
    ``pose_para`` (7,) float32 (pitch, yaw, roll in radians, tx, ty, tz, scale). The 10
    reconstructed subset files have no ``Pose_Para``, so callers must handle its absence.
    """
    from scipy.io import loadmat  # lazy: scipy is only needed for this format

    data = loadmat(str(path))
    if "pt3d_68" not in data:
        raise ValueError(f"{path}: no 'pt3d_68' array (not an AFLW2000-3D style file)")
    pt3d = np.asarray(data["pt3d_68"], dtype=np.float32)
    if pt3d.shape != (3, NUM_LANDMARKS):
        raise ValueError(f"{path}: pt3d_68 has shape {pt3d.shape}, expected (3, 68)")
    result = {"pt3d_68": np.ascontiguousarray(pt3d.T)}
    if "pt2d" in data:
        result["pt2d"] = np.ascontiguousarray(np.asarray(data["pt2d"], dtype=np.float32).T)
    if "Pose_Para" in data:
        result["pose_para"] = np.asarray(data["Pose_Para"], dtype=np.float32).reshape(-1)
    return result


@dataclass(frozen=True)
class ManifestEntry:
    """One face of a manifest: the image and its (68, 2) or (68, 3) 0-based landmarks."""

    image: Path
    landmarks: np.ndarray


def _inline_points(row: dict[str, str]) -> np.ndarray | None:
    if "x0" not in row:
        return None
    count = sum(1 for key in row if key.startswith("x") and key[1:].isdigit())
    has_z = "z0" in row
    cols = ("x", "y", "z") if has_z else ("x", "y")
    return np.array([[float(row[f"{c}{i}"]) for c in cols] for i in range(count)], dtype=np.float32)


def read_manifest(path: str | Path, one_based: bool = False) -> list[ManifestEntry]:
    """Read a CSV or JSON manifest of faces.

    Each row (CSV) or object (JSON list) has ``image`` and either ``landmarks`` (a ``.pts`` file,
    read with :func:`read_pts`, so 1-based on disk and 0-based here; or a ``.mat`` file, read with
    :func:`read_aflw_mat`) or inline ``x0, y0, [z0,] x1, y1, ...`` columns (JSON may also give
    ``landmarks`` as a nested list). Inline values are taken as 0-based unless ``one_based``.
    Relative paths are resolved against the manifest's folder.
    """
    path = Path(path)
    if path.suffix.lower() == ".json":
        rows = json.loads(path.read_text())
        if isinstance(rows, dict):
            rows = rows.get("faces", rows.get("items"))
        if not isinstance(rows, list):
            raise ValueError(f"{path}: a JSON manifest is a list of objects (or {{'faces': [...]}})")
    else:
        with path.open(newline="") as handle:
            rows = list(csv.DictReader(handle))
    entries = []
    for number, row in enumerate(rows):
        if "image" not in row:
            raise ValueError(f"{path}: row {number} has no 'image' column")
        image = path.parent / str(row["image"])
        points = _inline_points(row)
        if points is None:
            landmarks = row.get("landmarks")
            if isinstance(landmarks, list):
                points = np.asarray(landmarks, dtype=np.float32)
            elif landmarks:
                file = path.parent / str(landmarks)
                if file.suffix.lower() == ".mat":
                    entries.append(ManifestEntry(image, read_aflw_mat(file)["pt3d_68"]))
                    continue
                entries.append(ManifestEntry(image, read_pts(file)))
                continue
            else:
                raise ValueError(f"{path}: row {number} has neither 'landmarks' nor x0, y0, ... columns")
        if one_based:
            points = points.copy()
            points[:, :2] -= 1.0
        entries.append(ManifestEntry(image, points))
    return entries
