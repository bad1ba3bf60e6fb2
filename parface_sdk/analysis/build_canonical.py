"""Build the canonical face (``canonical_face.npy``) from 3D training labels (or the BFM mean shape).

    python -m parface_sdk.analysis.build_canonical --labels /work/runs/labels/train_labels.npz
    python -m parface_sdk.analysis.build_canonical --bfm ../shared/models/bfm_68_landmarks.npz

Steps: generalised Procrustes alignment of all faces (similarity, fitted on the rigid points the
head pose uses, so expressions do not tilt the alignment), average,
symmetrise with the mirror permutation, level (eye and mouth corners at the same mean depth),
centre on the centroid and scale to unit outer inter-ocular distance. Writes the array and a JSON
note of its provenance beside it.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from pathlib import Path

import numpy as np

from parface_sdk.analysis.mirror import mirror
from parface_sdk.canonical import CANONICAL_PATH
from parface_sdk.geometry import sha256_of
from parface_sdk.pose import RIGID_POINTS, umeyama

logger = logging.getLogger(__name__)


def _normalise(shape: np.ndarray) -> np.ndarray:
    shape = shape - shape.mean(axis=0)
    return shape / np.linalg.norm(shape[36] - shape[45])


def procrustes_mean(
    shapes: np.ndarray, iterations: int = 10, points: tuple[int, ...] = RIGID_POINTS
) -> np.ndarray:
    """Generalised Procrustes average of (N, 68, 3) shapes, each similarity-aligned to the mean
    on ``points``."""
    shapes = np.asarray(shapes, dtype=np.float64)
    index_points = list(points)
    mean = _normalise(shapes[0])
    for _ in range(iterations):
        aligned = np.empty_like(shapes)
        for index, shape in enumerate(shapes):
            scale, rotation, translation = umeyama(shape[index_points], mean[index_points])
            aligned[index] = scale * shape @ rotation.T + translation
        new_mean = _normalise(aligned.mean(axis=0))
        _, rotation, _ = umeyama(new_mean[index_points], mean[index_points], with_scale=False)
        new_mean = new_mean @ rotation.T
        shift = float(np.abs(new_mean - mean).max())
        mean = new_mean
        if shift < 1e-7:
            break
    return mean


def symmetrise(shape: np.ndarray, iterations: int = 10) -> np.ndarray:
    """The nearest face symmetric in the plane x = 0 (the shape is first rigidly aligned to it)."""
    shape = np.asarray(shape, dtype=np.float64) - np.mean(shape, axis=0)
    for _ in range(iterations):
        target = (shape + mirror(shape)) / 2.0
        _, rotation, translation = umeyama(shape, target, with_scale=False)
        shape = shape @ rotation.T + translation
    return (shape + mirror(shape)) / 2.0


def level(shape: np.ndarray) -> np.ndarray:
    """Rotate about the x axis so the eye corners and mouth corners have the same mean depth."""
    eyes = shape[[36, 39, 42, 45]].mean(axis=0)
    mouth = shape[[48, 54]].mean(axis=0)
    dy, dz = eyes[1] - mouth[1], eyes[2] - mouth[2]
    angle = np.arctan(-dz / dy)
    c, s = np.cos(angle), np.sin(angle)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    return shape @ rotation.T


def make_canonical(shapes: np.ndarray) -> np.ndarray:
    """Canonical face from (N, 68, 3) image-frame shapes (x right, y down, z towards the camera)."""
    shapes = np.asarray(shapes, dtype=np.float64)
    mean = procrustes_mean(shapes) if len(shapes) > 1 else _normalise(shapes[0])
    face = _normalise(level(symmetrise(mean)))
    if face[45, 0] < face[36, 0] or face[8, 1] < face[27, 1] or face[30, 2] < face[0, 2]:
        raise ValueError("shapes are not in the image frame (x right, y down, z to the camera)")
    return face.astype(np.float32)


def load_label_shapes(path: Path, key: str | None = None) -> np.ndarray:
    """The (N, 68, 3) 3D landmarks in a label cache: ``key``, else ``landmarks_3da2d`` (the model's
    output convention, see parface_training/data/LABELS.md), else the only array of that shape."""
    with np.load(path, allow_pickle=False) as data:
        if key is None and "landmarks_3da2d" in data.files:
            key = "landmarks_3da2d"
        keys = [key] if key else [k for k in data.files if data[k].ndim == 3 and data[k].shape[1:] == (68, 3)]
        if len(keys) != 1:
            raise ValueError(f"{path}: choose --key among {data.files} (found (N, 68, 3) arrays: {keys})")
        shapes = data[keys[0]].astype(np.float64)
    finite = np.isfinite(shapes).all(axis=(1, 2))
    logger.info("%s[%s]: %d faces, %d finite", path, keys[0], len(shapes), int(finite.sum()))
    return shapes[finite]


def load_bfm_mean(path: Path) -> np.ndarray:
    """BFM mean shape (1, 68, 3) in the image frame (BFM's y points up, so it is flipped)."""
    with np.load(path, allow_pickle=False) as data:
        mean = data["u_base"].reshape(3, -1, order="F").T.astype(np.float64)
    return (mean * np.array([1.0, -1.0, 1.0]))[None]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--labels", type=Path, help="label cache .npz with (N, 68, 3) 3D landmarks")
    source.add_argument("--bfm", type=Path, help="bfm_68_landmarks.npz (the BFM mean face instead)")
    parser.add_argument("--key", default=None, help="array name in the label cache")
    parser.add_argument("--out", type=Path, default=CANONICAL_PATH)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    shapes = load_label_shapes(args.labels, args.key) if args.labels else load_bfm_mean(args.bfm)
    face = make_canonical(shapes)
    np.save(args.out, face)
    source = Path(args.labels or args.bfm)
    note = {
        "source": source.name,
        "source_sha256": sha256_of(source),
        "kind": "training labels (Procrustes mean)" if args.labels else "BFM-2009 mean shape",
        "faces": int(len(shapes)),
        "built": datetime.date.today().isoformat(),
        "frame": "x subject's left, y chin, z camera; centroid origin; |p36-p45| = 1; symmetric in x=0",
    }
    args.out.with_suffix(".json").write_text(json.dumps(note, indent=1) + "\n")
    logger.info("wrote %s (%s)", args.out, note["kind"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
