"""The few CUDA runtime calls the TensorRT backend needs, through NVIDIA's ``cuda-python``.

Device buffers, one stream, host<->device copies and CUDA-graph capture/replay. ``cuda-python``
returns ``(error, *values)`` tuples; :func:`check` turns a failure into a :class:`ParfaceError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from parface_sdk.errors import BackendUnavailableError, ParfaceError

_INSTALL = "pip install 'parface-sdk[gpu]' (tensorrt, cuda-python) on a machine with an NVIDIA GPU"


def import_cudart() -> Any:
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        try:
            from cuda import cudart  # older cuda-python
        except ImportError as exc:
            raise BackendUnavailableError(f"the TensorRT backend needs cuda-python: {_INSTALL}") from exc
    return cudart


def check(result: Any) -> Any:
    """Unwrap a cuda-python ``(error, *values)`` result, raising on any error."""
    cudart = import_cudart()
    error, *values = result if isinstance(result, tuple) else (result,)
    if error != cudart.cudaError_t.cudaSuccess:
        _, message = cudart.cudaGetErrorString(error)
        message = message.decode() if isinstance(message, bytes) else message
        raise ParfaceError(f"CUDA error {error}: {message}")
    if not values:
        return None
    return values[0] if len(values) == 1 else tuple(values)


def gpu_identity(device: int = 0) -> tuple[str, str]:
    """``(name, "major.minor")`` of a CUDA device; raises BackendUnavailableError without one."""
    cudart = import_cudart()
    error, count = cudart.cudaGetDeviceCount()
    if error != cudart.cudaError_t.cudaSuccess or count <= device:
        raise BackendUnavailableError(f"no CUDA GPU number {device} on this machine ({error})")
    properties = check(cudart.cudaGetDeviceProperties(device))
    name = properties.name
    name = name.decode(errors="replace").rstrip("\0") if isinstance(name, bytes) else str(name)
    return name, f"{properties.major}.{properties.minor}"


class DeviceBuffer:
    """A device allocation of a fixed size in bytes."""

    def __init__(self, nbytes: int):
        self.nbytes = int(nbytes)
        self.pointer = int(check(import_cudart().cudaMalloc(self.nbytes)))

    def upload(self, array: np.ndarray, stream: Any) -> None:
        cudart = import_cudart()
        if array.nbytes > self.nbytes:
            raise ParfaceError(f"{array.nbytes} bytes do not fit a {self.nbytes}-byte device buffer")
        kind = cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        check(cudart.cudaMemcpyAsync(self.pointer, array.ctypes.data, array.nbytes, kind, stream))

    def download(self, array: np.ndarray, stream: Any) -> None:
        cudart = import_cudart()
        kind = cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        check(cudart.cudaMemcpyAsync(array.ctypes.data, self.pointer, array.nbytes, kind, stream))

    def free(self) -> None:
        if self.pointer:
            check(import_cudart().cudaFree(self.pointer))
            self.pointer = 0


class Stream:
    def __init__(self):
        self.handle = check(import_cudart().cudaStreamCreate())

    def synchronize(self) -> None:
        check(import_cudart().cudaStreamSynchronize(self.handle))

    def destroy(self) -> None:
        if self.handle is not None:
            check(import_cudart().cudaStreamDestroy(self.handle))
            self.handle = None


class CudaGraph:
    """The kernels one call enqueues on ``stream``, captured once and replayed with one launch.

    Valid while the captured call's shapes and device addresses stay the same: the backend keeps
    one graph per input shape and never moves its buffers.
    """

    def __init__(self, stream: Stream, enqueue) -> None:
        cudart = import_cudart()
        mode = cudart.cudaStreamCaptureMode.cudaStreamCaptureModeGlobal
        check(cudart.cudaStreamBeginCapture(stream.handle, mode))
        try:
            enqueue()
        finally:
            graph = check(cudart.cudaStreamEndCapture(stream.handle))
        self._exec = check(cudart.cudaGraphInstantiate(graph, 0))
        check(cudart.cudaGraphDestroy(graph))

    def launch(self, stream: Stream) -> None:
        check(import_cudart().cudaGraphLaunch(self._exec, stream.handle))

    def destroy(self) -> None:
        if self._exec is not None:
            check(import_cudart().cudaGraphExecDestroy(self._exec))
            self._exec = None
