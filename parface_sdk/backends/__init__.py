"""Backends behind one protocol, found through a lazy registry (nothing heavy is imported here)."""

from __future__ import annotations

import importlib
from pathlib import Path

from parface_sdk.backends.base import LandmarkBackend
from parface_sdk.errors import ModelLoadError

# name -> (module, class, the extra that installs its runtime)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "onnxruntime": ("parface_sdk.backends.onnxruntime", "OnnxRuntimeBackend", "parface-sdk"),
    "torch": ("parface_sdk.backends.torch", "TorchBackend", "parface-sdk[torch]"),
    "tensorrt": ("parface_sdk.backends.tensorrt", "TensorRTBackend", "parface-sdk[gpu]"),
}
_SUFFIXES = {
    ".onnx": "onnxruntime",
    ".safetensors": "torch",
    ".engine": "tensorrt",
    ".trt": "tensorrt",
    ".plan": "tensorrt",
}


def available_backends() -> list[str]:
    return sorted(_REGISTRY)


def backend_for_path(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    try:
        return _SUFFIXES[suffix]
    except KeyError:
        raise ModelLoadError(
            f"cannot tell the runtime of {path}: expected one of {sorted(_SUFFIXES)}"
        ) from None


def create_backend(
    model_path: str | Path, backend: str = "auto", device: str = "cpu", **options
) -> LandmarkBackend:
    """Open ``model_path`` with the named backend, or the one its suffix implies (``auto``)."""
    name = backend_for_path(model_path) if backend == "auto" else backend
    if name not in _REGISTRY:
        raise ValueError(f"unknown backend {name!r}; choose one of {available_backends()}")
    module_name, class_name, _extra = _REGISTRY[name]
    backend_class = getattr(importlib.import_module(module_name), class_name)
    return backend_class(model_path, device=device, **options)


__all__ = ["LandmarkBackend", "available_backends", "backend_for_path", "create_backend"]
