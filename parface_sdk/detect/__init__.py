"""Face detection: one small plugin per detector behind the `FaceDetector` protocol, and a lazy registry.

>>> from parface_sdk.detect import create_detector
>>> detector = create_detector("auto")          # SCRFD if an insightface pack is found, else BlazeFace
>>> found = detector.detect(image_rgb)           # Detections: boxes (K, 4), scores (K,), keypoints

Nothing heavy is imported here; a detector's runtime is imported when it is created.
"""

from __future__ import annotations

import logging
from importlib import import_module
from pathlib import Path
from typing import Any

from parface_sdk.detect.base import Detections, FaceDetector
from parface_sdk.errors import DetectorUnavailableError, ModelLoadError

logger = logging.getLogger(__name__)

# name -> (module, class, fixed keyword arguments)
_DETECTORS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "scrfd": ("scrfd", "SCRFDDetector", {}),
    "yunet": ("yunet", "YuNetDetector", {}),
    "blazeface": ("blazeface", "BlazeFaceDetector", {}),
    "blazeface_short_range": ("blazeface", "BlazeFaceDetector", {"variant": "short_range"}),
    "blazeface_back": ("blazeface", "BlazeFaceDetector", {"variant": "back"}),
    "blazeface_dual": ("blazeface_dual", "BlazeFaceDualDetector", {}),
    "cascade": ("cascade", "CascadeDetector", {}),
}
DETECTOR_NAMES = ("auto", *_DETECTORS)
OFFLINE_DEFAULT = "blazeface_dual"  # benchmarks/detector_closeups.py, docs/detection.md

__all__ = [
    "DETECTOR_NAMES",
    "Detections",
    "DetectorUnavailableError",
    "FaceDetector",
    "OFFLINE_DEFAULT",
    "create_detector",
    "detector_for_file",
]


def detector_for_file(model_path: str | Path) -> str:
    """The detector name for a model file, from its name: YuNet, BlazeFace, a cascade, else SCRFD."""
    name = Path(model_path).name.lower()
    if "yunet" in name:
        return "yunet"
    if "blazeface" in name or "face_detection_" in name:
        return "blazeface"
    if name.endswith(".xml"):
        return "cascade"
    return "scrfd"


def create_detector(
    name: str = "auto",
    model_path: str | Path | None = None,
    device: str = "cpu",
    score_threshold: float = 0.5,
    threads: int | None = None,
) -> FaceDetector:
    """Create a face detector by name.

    ``"auto"``: the detector a given ``model_path`` is for; else SCRFD when insightface's model folder
    (``~/.insightface/models``) holds a pack; else the offline default, BlazeFace (back-camera model), which
    ships inside parface-sdk. The choice is logged. ``device`` ("cpu" or "cuda") applies to
    the onnxruntime detectors (SCRFD, BlazeFace); ``threads`` caps their intra-op threads.
    Raises :class:`DetectorUnavailableError` naming the fix when a detector cannot run here.
    """
    key = name.lower().replace("-", "_")
    if key == "auto":
        return _create_auto(model_path, device, score_threshold, threads)
    if key not in _DETECTORS:
        raise DetectorUnavailableError(
            f"unknown detector {name!r}; choose one of {', '.join(DETECTOR_NAMES)}"
        )
    return _build(key, model_path, device, score_threshold, threads)


def _build(key: str, model_path, device: str, score_threshold: float, threads: int | None) -> FaceDetector:
    module_name, class_name, fixed = _DETECTORS[key]
    cls = getattr(import_module(f"{__name__}.{module_name}"), class_name)
    kwargs: dict[str, Any] = {"model_path": model_path, "score_threshold": score_threshold, **fixed}
    if module_name in ("scrfd", "blazeface", "blazeface_dual"):  # onnxruntime detectors
        kwargs.update(device=device, threads=threads)
    try:
        detector = cls(**kwargs)
    except (DetectorUnavailableError, ModelLoadError):
        raise
    except Exception as exc:  # a file the runtime cannot load at all
        raise ModelLoadError(
            f"{model_path}: cannot load it as a {key} detector model ({_short(exc)})"
        ) from None
    if model_path is not None:
        _probe(detector, key, model_path)
    return detector


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__


def _probe(detector: FaceDetector, key: str, model_path) -> None:
    """Run a caller-supplied detector model once on a blank image, so a file of another detector
    (the wrong inputs or outputs) is a :class:`ModelLoadError` at creation, not at the first align."""
    import numpy as np

    try:
        found = detector.detect(np.zeros((96, 128, 3), np.uint8))
        if not isinstance(found, Detections):
            raise TypeError(f"returned {type(found).__name__}")
    except Exception as exc:
        detector.close()
        raise ModelLoadError(
            f"{model_path} is not a {key} detector model ({_short(exc)}); pass the model file of "
            f"the detector you name, or detector='auto' to pick the detector from the file name"
        ) from None


def _create_auto(model_path, device: str, score_threshold: float, threads: int | None) -> FaceDetector:
    if model_path is not None:
        key = detector_for_file(model_path)
        logger.info("detector auto: %s for the given file %s", key, model_path)
        return _build(key, model_path, device, score_threshold, threads)
    from parface_sdk.detect.scrfd import find_scrfd_model

    pack = find_scrfd_model()
    if pack is not None:
        try:
            detector = _build("scrfd", pack, device, score_threshold, threads)
        except (DetectorUnavailableError, ModelLoadError) as exc:
            logger.warning(
                "detector auto: SCRFD at %s failed to load (%s); using %s", pack, exc, OFFLINE_DEFAULT
            )
        else:
            logger.info("detector auto: SCRFD from insightface's folder, %s", pack)
            return detector
    detector = _build(OFFLINE_DEFAULT, None, device, score_threshold, threads)
    logger.info("detector auto: %s (offline default; no insightface SCRFD pack found)", detector.name)
    return detector
