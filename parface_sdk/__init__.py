"""parface-sdk: 68 facial landmarks in 3D (x, y, depth) with ParFace-Net.

Importing the package is cheap: no torch, no onnxruntime, no OpenCV and no downloads happen until
an :class:`Aligner` is created.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from parface_sdk.errors import (
    AlignerClosedError,
    BackendUnavailableError,
    BoxOutsideImageError,
    DetectorUnavailableError,
    EngineMismatchError,
    InvalidImageError,
    InvalidOptionError,
    ModelLoadError,
    ModelNotFoundError,
    ParfaceError,
    UnsupportedPrecisionError,
    UnsupportedShapeError,
    VideoError,
)

__version__ = "0.1.0"

_LAZY = {
    "Aligner": "parface_sdk.aligner",
    "AlignerOptions": "parface_sdk.options",
    "AlignResult": "parface_sdk.results",
    "Face": "parface_sdk.results",
    "ModelSpec": "parface_sdk.spec",
}

if TYPE_CHECKING:
    from parface_sdk.aligner import Aligner
    from parface_sdk.options import AlignerOptions
    from parface_sdk.results import AlignResult, Face
    from parface_sdk.spec import ModelSpec


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'parface_sdk' has no attribute {name!r}")


__all__ = [
    "Aligner",
    "AlignerClosedError",
    "AlignerOptions",
    "AlignResult",
    "BackendUnavailableError",
    "BoxOutsideImageError",
    "DetectorUnavailableError",
    "EngineMismatchError",
    "Face",
    "InvalidImageError",
    "InvalidOptionError",
    "ModelLoadError",
    "ModelNotFoundError",
    "ModelSpec",
    "ParfaceError",
    "UnsupportedPrecisionError",
    "UnsupportedShapeError",
    "VideoError",
    "__version__",
]
