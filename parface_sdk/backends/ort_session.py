"""onnxruntime sessions for every ONNX model of the project (landmarks and detectors alike)."""

from __future__ import annotations

import logging
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from parface_sdk.errors import BackendUnavailableError, ModelLoadError, ModelNotFoundError

logger = logging.getLogger(__name__)

_PROVIDERS_BY_DEVICE = {
    "cpu": ["CPUExecutionProvider"],
    "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"],
}


def _installed(distribution: str) -> bool:
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def import_onnxruntime() -> Any:
    if _installed("onnxruntime") and _installed("onnxruntime-gpu"):
        # Both wheels write the same `onnxruntime` package; whichever was installed last wins
        # and the other's files are left half-overwritten.
        logger.warning(
            "both onnxruntime and onnxruntime-gpu are installed; they overwrite each other. "
            "Fix: pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'parface-sdk[gpu]' "
            "(or 'parface-sdk[cpu]'; never both extras)"
        )
    try:
        import onnxruntime
    except ImportError as exc:
        raise BackendUnavailableError(
            'onnxruntime is not installed: pip install "parface-sdk[cpu]" (CPU) or "parface-sdk[gpu]" '
            "(NVIDIA GPU; never both)"
        ) from exc
    return onnxruntime


def providers_for(device: str) -> list[str]:
    """The execution providers for ``device`` that this onnxruntime build has, best first."""
    if device not in _PROVIDERS_BY_DEVICE:
        raise ValueError(f"unknown device {device!r}; choose one of {sorted(_PROVIDERS_BY_DEVICE)}")
    onnxruntime = import_onnxruntime()
    available = set(onnxruntime.get_available_providers())
    wanted = _PROVIDERS_BY_DEVICE[device]
    if wanted[0] not in available:
        raise BackendUnavailableError(
            f"device {device!r} needs onnxruntime's {wanted[0]}, which this onnxruntime "
            f"({onnxruntime.__version__}, providers {sorted(available)}) does not have: "
            "pip uninstall -y onnxruntime onnxruntime-gpu && pip install 'parface-sdk[gpu]'"
        )
    return [provider for provider in wanted if provider in available]


# The CUDA major version each onnxruntime-gpu line is built for, newest first: (from version, CUDA).
# 1.19-1.26 are CUDA 12 builds (earlier default wheels were CUDA 11.8); 1.27+ (the [gpu] extra's
# pin) are CUDA 13 builds.
_CUDA_BY_ORT = ((1, 27, 13), (1, 19, 12), (0, 0, 11))
# The shared libraries the CUDA provider loads at session creation, per CUDA major version
# (cuFFT's soname runs one behind the toolkit: CUDA 13 ships libcufft.so.12).
_CUDA_LIBRARIES = {
    13: ("libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcufft.so.12", "libcudnn.so.9"),
    12: ("libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcufft.so.11", "libcudnn.so.9"),
    11: ("libcudart.so.11.0", "libcublas.so.11", "libcublasLt.so.11", "libcufft.so.10", "libcudnn.so.8"),
}
_TENSORRT_LIBRARIES = ("libnvinfer.so.10", "libnvinfer_plugin.so.10", "libnvonnxparser.so.10")


def onnxruntime_version() -> str | None:
    """The installed onnxruntime-gpu version (else onnxruntime's), without importing it."""
    for distribution in ("onnxruntime-gpu", "onnxruntime"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return None


def cuda_major(version: str | None) -> int:
    """The CUDA major version an onnxruntime-gpu ``version`` is built for (the [gpu] pin's, 13, when
    the version is unknown or unreadable)."""
    try:
        major, minor = (int(part) for part in (version or "").split(".")[:2])
    except ValueError:
        return 13
    return next(
        cuda
        for start_major, start_minor, cuda in _CUDA_BY_ORT
        if (major, minor) >= (start_major, start_minor)
    )


def provider_libraries(provider: str, version: str | None = None) -> tuple[str, ...]:
    """The shared libraries ``provider`` loads at session creation, for onnxruntime ``version``
    (default: the installed one). The TensorRT provider loads the CUDA ones too."""
    if provider not in ("CUDAExecutionProvider", "TensorrtExecutionProvider"):
        return ()
    cuda = _CUDA_LIBRARIES[cuda_major(version or onnxruntime_version())] + ("libcuda.so.1",)
    return cuda + _TENSORRT_LIBRARIES if provider == "TensorrtExecutionProvider" else cuda


def missing_libraries(provider: str, version: str | None = None) -> list[str]:
    """The shared libraries ``provider`` needs that the dynamic loader cannot find here."""
    import ctypes

    missing = []
    for library in provider_libraries(provider, version):
        try:
            ctypes.CDLL(library)
        except OSError:
            missing.append(library)
    return missing


def _toolkit(device: str, version: str | None) -> str:
    """``CUDA 13 / cuDNN 9 libraries onnxruntime-gpu 1.27.0 needs``, and so on."""
    cuda = cuda_major(version)
    names = f"CUDA {cuda} / cuDNN {9 if cuda >= 12 else 8}" + (
        " / TensorRT 10" if device == "tensorrt" else ""
    )
    return f"{names} libraries onnxruntime-gpu{' ' + version if version else ''} needs"


def check_attached(session: Any, device: str, path: Path) -> None:
    """Raise BackendUnavailableError when the GPU provider ``device`` asked for did not attach.

    onnxruntime creates the session anyway and silently drops a provider whose libraries fail to
    load; a user who asked for a GPU must not get a CPU run they did not ask for.
    """
    if device == "cpu":
        return
    wanted = _PROVIDERS_BY_DEVICE[device][0]
    attached = list(session.get_providers())
    if wanted in attached:
        return
    missing = missing_libraries(wanted)
    reason = (
        f"missing {', '.join(missing)}"
        if missing
        else "its libraries loaded but the provider failed (see onnxruntime's log above)"
    )
    raise BackendUnavailableError(
        f"{path}: device {device!r} asked for {wanted}, but the session attached only {attached} "
        f"({reason}). Install the {_toolkit(device, onnxruntime_version())} "
        "(pip install 'parface-sdk[gpu]'), or use device='cpu'"
    )


def load_gpu_libraries(onnxruntime: Any, device: str) -> None:
    """Load the CUDA (and, for the TensorRT provider, TensorRT) libraries pip installed, before a
    GPU session is created, so that onnxruntime finds them without ``LD_LIBRARY_PATH``.

    onnxruntime-gpu >= 1.21 has ``preload_dlls()``, which loads the nvidia-* wheels' CUDA and cuDNN
    libraries; ``import tensorrt`` loads the tensorrt wheel's ``libnvinfer``. Libraries that are
    there but fail to load (a driver too old, a wrong CUDA line) are a
    :class:`BackendUnavailableError` saying "installed but not loadable" with the loader's reason.
    """
    if device == "cpu":
        return
    preload = getattr(onnxruntime, "preload_dlls", None)
    if preload is not None:
        try:
            preload()
        except Exception as exc:  # onnxruntime raises OSError / RuntimeError from ctypes
            raise BackendUnavailableError(
                f"the CUDA libraries for onnxruntime-gpu {onnxruntime.__version__} are installed but not "
                f"loadable ({type(exc).__name__}: {exc}); check the NVIDIA driver supports "
                f"CUDA {cuda_major(onnxruntime_version())} (nvidia-smi), or use device='cpu'"
            ) from exc
    if device != "tensorrt":
        return
    try:
        import tensorrt  # noqa: F401  (loads libnvinfer from the tensorrt wheel for the provider)
    except ImportError as exc:
        if _installed("tensorrt") or any(_installed(f"tensorrt-cu{cuda}") for cuda in (12, 13)):
            raise BackendUnavailableError(
                f"TensorRT is installed but not loadable ({exc}); pip install 'parface-sdk[gpu]' "
                "reinstalls the matching tensorrt-cu13, or use backend='onnxruntime' on device='cuda'"
            ) from exc
        logger.info("tensorrt is not installed as a wheel; the TensorRT provider looks for system libnvinfer")
    except OSError as exc:  # the wheel is there but its shared libraries fail to load
        raise BackendUnavailableError(
            f"TensorRT is installed but not loadable ({exc}); use backend='onnxruntime' on device='cuda'"
        ) from exc


def provider_options(provider: str, precision: str = "fp32") -> dict[str, str]:
    """Options for the GPU providers: TensorRT in ``precision`` (fp32 or fp16) with its engines and
    timings cached on disk.

    The first session on a model builds TensorRT engines (minutes); the cache makes later ones
    start in seconds. ``PARFACE_CACHE`` moves the cache (default ``~/.cache/parface``);
    ``PARFACE_TRT_FP16=0`` keeps TensorRT in FP32 even when fp16 is asked for.
    """
    if provider == "TensorrtExecutionProvider":
        root = os.environ.get("PARFACE_CACHE", os.path.expanduser("~/.cache/parface"))
        cache = os.path.join(root, "ort-tensorrt")
        fp16 = precision == "fp16" and os.environ.get("PARFACE_TRT_FP16") != "0"
        return {
            "trt_fp16_enable": str(fp16),
            "trt_engine_cache_enable": "True",
            "trt_engine_cache_path": cache,
            "trt_timing_cache_enable": "True",
            "trt_timing_cache_path": cache,
        }
    if provider == "CUDAExecutionProvider":
        # Crop batches vary in size; the heuristic avoids re-benchmarking convolutions per shape.
        return {"cudnn_conv_algo_search": "HEURISTIC"}
    return {}


def make_session(
    path: str | Path, device: str = "cpu", threads: int | None = None, precision: str = "fp32"
) -> Any:
    """An InferenceSession on ``path``; load failures become :class:`ModelLoadError`.
    ``precision`` sets the TensorRT provider's arithmetic (the other providers run the graph's)."""
    onnxruntime = import_onnxruntime()
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"no ONNX model at {path}")
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    from parface_sdk.quiet import native_logs_silenced

    if native_logs_silenced():  # the command lines: errors only, as one line of their own
        options.log_severity_level = 3
    if threads:
        options.intra_op_num_threads = threads
    # The pipeline runs several sessions in turn (detector, landmarks): a pool that spins after
    # its run steals the cores the next session needs.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    providers = [(name, provider_options(name, precision)) for name in providers_for(device)]
    load_gpu_libraries(onnxruntime, device)
    try:
        session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=providers)
    except Exception as exc:  # onnxruntime raises its own exception types for bad files
        raise ModelLoadError(f"{path} is not a loadable ONNX model ({exc})") from exc
    check_attached(session, device, path)
    return session
