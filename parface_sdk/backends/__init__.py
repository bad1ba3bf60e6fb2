"""Backends behind one protocol, found through a lazy registry (nothing heavy is imported here).

Two words, one meaning each: ``device`` is *where* the network runs (``cpu`` or ``cuda``) and
``backend`` is *which runtime* runs it: ``onnxruntime`` (CPU or CUDA execution provider, from the
device), ``onnxruntime-tensorrt`` (onnxruntime's TensorRT execution provider, on ``cuda``),
``torch`` (on ``cuda`` it crops on the device: ``torch-frame``, which also runs on the CPU),
or ``tensorrt`` (a native engine file). ``auto`` reads the runtime from the model file's
own bytes, and the model's spec then decides crop graph or frame graph.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from parface_sdk.backends.base import LandmarkBackend
from parface_sdk.errors import ModelLoadError, UnsupportedPrecisionError

# name -> (module, class, the extra that installs its runtime)
_REGISTRY: dict[str, tuple[str, str, str]] = {
    "onnxruntime": ("parface_sdk.backends.onnxruntime", "open_onnx", "parface-sdk"),
    "onnxruntime-tensorrt": ("parface_sdk.backends.onnxruntime", "open_onnx", "parface-sdk[gpu]"),
    "torch": ("parface_sdk.backends.torch", "TorchBackend", "parface-sdk[torch]"),
    "torch-frame": ("parface_sdk.backends.torch_frame", "TorchFrameBackend", "parface-sdk[torch]"),
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


DEVICES = ("cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")
# The reduced precisions each runtime can be asked for (fp32 is always accepted: the graph as
# exported, the engine as built). onnxruntime's CPU and CUDA providers run the graph's own types.
_REDUCED_PRECISIONS = {
    "torch": ("fp16", "bf16"),  # autocast
    "torch-frame": ("fp16", "bf16"),
    "onnxruntime-tensorrt": ("fp16",),  # the provider's trt_fp16_enable
}


def _sniff(path: Path) -> str | None:
    """The runtime a model file's first bytes belong to, or None when they tell nothing."""
    from parface_sdk.backends.engine_file import MAGIC

    try:
        with open(path, "rb") as handle:
            head = handle.read(16)
    except OSError:
        return None
    if head.startswith(MAGIC):
        return "tensorrt"
    if len(head) >= 10 and head[8:10] == b'{"':  # safetensors: u64 header length, then JSON
        return "torch"
    if head[:1] == b"\x08":  # ONNX ModelProto starts with field 1 (ir_version), a varint
        return "onnxruntime"
    return None


def backend_for_path(path: str | Path) -> str:
    """The runtime for a model file: from its content when it exists, else from its suffix."""
    path = Path(path)
    sniffed = _sniff(path) if path.is_file() else None
    if sniffed is not None:
        return sniffed
    try:
        return _SUFFIXES[path.suffix.lower()]
    except KeyError:
        raise ModelLoadError(
            f"cannot tell the runtime of {path}: not an ONNX, safetensors or parface TensorRT file, "
            f"and its suffix is none of {sorted(_SUFFIXES)}"
        ) from None


def resolve(backend: str, device: str) -> tuple[str, str]:
    """``(backend, device)`` with the legacy ``device="tensorrt"`` read as onnxruntime's TensorRT
    provider on ``cuda``; unknown names are a ValueError listing the choices."""
    if device == "tensorrt":  # an older spelling: the TensorRT provider asked for as a device
        device = "cuda"
        backend = "onnxruntime-tensorrt" if backend in ("auto", "onnxruntime") else backend
    if device not in DEVICES:
        raise ValueError(f"unknown device {device!r}; choose one of {list(DEVICES)}")
    if backend != "auto" and backend not in _REGISTRY:
        raise ValueError(f"unknown backend {backend!r}; choose auto or one of {available_backends()}")
    if backend == "onnxruntime-tensorrt" and device != "cuda":
        raise ValueError("backend 'onnxruntime-tensorrt' runs on the GPU: pass device='cuda'")
    return backend, device


def check_precision(name: str, device: str, precision: str) -> None:
    """Raise :class:`UnsupportedPrecisionError` when runtime ``name`` cannot run in ``precision``."""
    if precision not in PRECISIONS:
        raise UnsupportedPrecisionError(f"unknown precision {precision!r}; choose one of {list(PRECISIONS)}")
    if precision == "fp32" or precision in _REDUCED_PRECISIONS.get(name, ()):
        return
    fixes = {
        "onnxruntime": "onnxruntime runs the ONNX graph in the types it was exported with: use "
        "precision='fp32' (or `parface export onnx --fp16` for a float16 graph), backend='torch' "
        "for fp16/bf16, or backend='onnxruntime-tensorrt' on a GPU for fp16",
        "onnxruntime-tensorrt": "onnxruntime's TensorRT provider runs fp32 or fp16; use one of those",
        "tensorrt": "a TensorRT engine runs in the precision it was built with (`parface export "
        "tensorrt`, FP16 unless --fp32); leave precision='fp32' to run it as built",
    }
    raise UnsupportedPrecisionError(
        f"backend {name!r} on {device!r} cannot run in {precision}: {fixes.get(name, 'use fp32')}"
    )


# The GPU transfer options each runtime takes (AlignerOptions.cuda_graph / pinned_upload).
_GPU_TRANSFER_OPTIONS = {"cuda_graph": ("tensorrt",), "pinned": ("torch-frame",)}


def _gpu_transfer_options(name: str, device: str, options: dict) -> None:
    """Keep ``cuda_graph`` / ``pinned`` for the runtimes that have them; elsewhere they are no-ops,
    with a logged note when a non-default value was asked for."""
    import logging

    for key, runtimes in _GPU_TRANSFER_OPTIONS.items():
        if key not in options:
            continue
        if name in runtimes and not (name == "torch-frame" and device == "cpu"):
            continue
        value = options.pop(key)
        if value is not None and value != (key == "pinned"):
            logging.getLogger(__name__).info(
                "%s=%s applies to %s on cuda only; ignored for %s on %s", key, value, runtimes, name, device
            )


def create_backend(
    model_path: str | Path,
    backend: str = "auto",
    device: str = "cpu",
    precision: str = "fp32",
    **options,
) -> LandmarkBackend:
    """Open ``model_path`` with the named runtime on ``device``.

    ``backend="auto"`` reads the runtime from the file's content (suffix as a fallback); the
    model's spec then picks the crop-graph or frame-graph path. Both serve
    :meth:`LandmarkBackend.infer`. ``precision`` (``fp32``, ``fp16``, ``bf16``) is checked against
    the runtime before anything loads: :class:`UnsupportedPrecisionError` when it cannot honour it.
    """
    backend, device = resolve(backend, device)
    name = backend_for_path(model_path) if backend == "auto" else backend
    if name == "torch" and device == "cuda":
        name = "torch-frame"  # on a GPU the crop runs on the device too
    check_precision(name, device, precision)
    _gpu_transfer_options(name, device, options)
    module_name, factory_name, _extra = _REGISTRY[name]
    factory = getattr(importlib.import_module(module_name), factory_name)
    if name in _REDUCED_PRECISIONS:
        options["precision"] = precision
    if name == "onnxruntime-tensorrt":
        return factory(model_path, device="tensorrt", **options)  # the provider set's name
    return factory(model_path, device=device, **options)


__all__ = [
    "DEVICES",
    "LandmarkBackend",
    "PRECISIONS",
    "available_backends",
    "backend_for_path",
    "check_precision",
    "create_backend",
    "resolve",
]
