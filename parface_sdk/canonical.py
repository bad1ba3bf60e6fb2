"""The canonical 3D 68-point face: the reference for head pose and the head frame.

It is a small array shipped with the package (``canonical_face.npy``, 68 x 3 float32), built by
``python -m parface_sdk.analysis.build_canonical`` as the generalised-Procrustes average of the
project's 3D training labels, made left-right symmetric. Frame (see :mod:`.pose`): x towards the
subject's left, y towards the chin, z towards the camera; centroid at the origin; unit = the
outer inter-ocular distance |p36 - p45| = 1; the midline plane is x = 0; "upright" means the eye
corners and the mouth corners lie at the same mean depth.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np

from parface_sdk.errors import ModelLoadError

CANONICAL_PATH = Path(__file__).resolve().parent / "canonical_face.npy"
PROVENANCE_PATH = CANONICAL_PATH.with_suffix(".json")


@cache
def _load(path: Path) -> np.ndarray:
    try:
        face = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(
            f"cannot read the canonical face {path}: {exc}; reinstall parface-sdk or rebuild it with "
            "`python -m parface_sdk.analysis.build_canonical`"
        ) from exc
    if face.shape != (68, 3) or not np.isfinite(face).all():
        raise ModelLoadError(f"{path}: expected a finite (68, 3) array, got {face.shape}")
    face = face.astype(np.float64)
    face.setflags(write=False)
    return face


def canonical_face(path: str | Path | None = None) -> np.ndarray:
    """The canonical face (68, 3) float64, read-only; ``path`` loads another one of the same form."""
    return _load(Path(path) if path is not None else CANONICAL_PATH)


def canonical_provenance() -> dict:
    """How the shipped canonical face was built (source, number of faces, date), if recorded."""
    if not PROVENANCE_PATH.is_file():
        return {}
    return json.loads(PROVENANCE_PATH.read_text())
