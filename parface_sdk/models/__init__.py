"""The default model shipped inside the package, verified against its recorded SHA-256."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from parface_sdk.errors import ModelLoadError, ModelNotFoundError
from parface_sdk.geometry import sha256_of  # noqa: F401  (re-exported: models.sha256_of)

MODELS_DIR = Path(__file__).resolve().parent
MANIFEST = MODELS_DIR / "default.json"

_HOW_TO_GET_ONE = (
    "Pass a model explicitly: Aligner.from_pretrained('model.onnx'), after training one with "
    "`parface-train all --config parface_training/recipes/default-cpu.json` and exporting it with "
    "`parface export onnx CHECKPOINT`; or reinstall parface-sdk, whose wheel ships the default model."
)


@cache
def _verified(path: Path, expected: str) -> Path:
    actual = sha256_of(path)
    if actual != expected:
        raise ModelLoadError(
            f"{path} is damaged: SHA-256 {actual[:12]}... does not match the recorded "
            f"{expected[:12]}...; reinstall parface-sdk"
        )
    return path


def default_model_path(backend: str = "onnxruntime") -> Path:
    """Path of the shipped default model for ``backend``, after checking its hash."""
    if not MANIFEST.is_file():
        raise ModelNotFoundError(f"no default model is installed. {_HOW_TO_GET_ONE}")
    manifest = json.loads(MANIFEST.read_text())
    entry = manifest.get("files", {}).get(backend)
    if entry is None:
        raise ModelNotFoundError(
            f"the default model has no {backend!r} file (it ships {sorted(manifest.get('files', {}))})"
        )
    path = MODELS_DIR / entry["file"]
    if not path.is_file():
        raise ModelNotFoundError(f"the default model file {path} is missing. {_HOW_TO_GET_ONE}")
    return _verified(path, entry["sha256"])


def default_quality_threshold() -> float | None:
    """The shipped model's calibrated ``Face.quality`` threshold (``quality_threshold`` in the
    manifest, written by ``benchmarks/quality_calibration.py``), or ``None``."""
    if not MANIFEST.is_file():
        return None
    value = json.loads(MANIFEST.read_text()).get("quality_threshold")
    return None if value is None else float(value)


def shipped_quality_threshold(path: str | Path) -> float | None:
    """The calibrated ``quality_threshold`` when ``path`` is one of the shipped model's files (the
    package's own, or a copy with the same SHA-256), else ``None``: a foreign model has none."""
    if not MANIFEST.is_file():
        return None
    try:
        manifest = json.loads(MANIFEST.read_text())
        path = Path(path)
        if not path.is_file():
            return None
        hashes = {entry.get("sha256") for entry in manifest.get("files", {}).values()}
        shipped = any(
            path.resolve() == (MODELS_DIR / entry["file"]).resolve()
            for entry in manifest.get("files", {}).values()
        )
        if not shipped and (path.stat().st_size > 256 << 20 or _sha(path) not in hashes):
            return None
    except (OSError, ValueError, KeyError):
        return None
    value = manifest.get("quality_threshold")
    return None if value is None else float(value)


@cache
def _sha_cached(path: Path, size: int, mtime: float) -> str:
    return sha256_of(path)


def _sha(path: Path) -> str:
    stat = path.stat()
    return _sha_cached(path.resolve(), stat.st_size, stat.st_mtime)
