"""AFLW large-pose training faces (``../shared/data/aflw-largepose-train``) as dataset records,
and the deterministic train / validation split every labeled source goes through.

The 68-point labels are the 3D teacher's (3DDFA_V2 mb05, 3DA-2D convention, z in pixels, positive
towards the camera). AFLW's human 21-point labels are used as the teacher's quality check: faces
whose teacher NME against the visible human points exceeds ``max_teacher_nme`` are dropped.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

Record = tuple[str, np.ndarray]


def is_validation(path: str | Path, fraction: float) -> bool:
    """Whether a face belongs to the validation split: a hash of its file name, so the split is
    the same on every machine and independent of folder order."""
    if fraction <= 0:
        return False
    digest = hashlib.sha256(Path(path).name.encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < fraction


def split_records(records: Sequence[Record], fraction: float) -> tuple[list[Record], list[Record]]:
    """``(train, validation)`` by :func:`is_validation`."""
    train, validation = [], []
    for record in records:
        (validation if is_validation(record[0], fraction) else train).append(record)
    return train, validation


def largepose_records(folder: str | Path, max_teacher_nme: float = 0.12) -> list[Record]:
    """``(image_path, (68, 3) float32)`` of the AFLW large-pose faces with usable teacher labels."""
    folder = Path(folder)
    labels = folder / "labels.npz"
    if not labels.is_file():
        raise FileNotFoundError(f"no labels.npz in {folder} (expected the aflw-largepose-train folder)")
    with np.load(labels) as data:
        names = data["names"]
        points = data["mb05_pts68"].transpose(0, 2, 1).astype(np.float32)  # (N, 68, 3)
        nme = data["mb05_nme21"]
    keep = np.isfinite(nme) & (nme <= max_teacher_nme)
    return [(str(folder / "images" / f"{name}.jpg"), points[i]) for i, name in enumerate(names) if keep[i]]
