"""Landmark backend on TensorRT, from a parface-sdk engine file (header + plan).

The engine's header is checked first (TensorRT version, GPU compute capability): a mismatch is an
:class:`EngineMismatchError` naming the rebuild command. Device buffers are allocated once for the
engine's largest batch; each call copies the inputs in, enqueues with ``execute_async_v3`` on a
private stream (or replays a CUDA graph captured for that input shape, ``cuda_graph=True``) and
copies the outputs back. Crop graphs run through :meth:`run`, frame graphs through :meth:`run_frame`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from parface_sdk.backends.base import check_crops, warmup_batch
from parface_sdk.backends.cuda_runtime import CudaGraph, DeviceBuffer, Stream, gpu_identity
from parface_sdk.backends.engine_file import EngineHeader, check_compatible, read_engine_file
from parface_sdk.backends.graph_io import CROPS_INPUT, FRAME_INPUT, TRANSFORMS_INPUT
from parface_sdk.errors import (
    BackendUnavailableError,
    ModelLoadError,
    ParfaceError,
    UnsupportedShapeError,
)

logger = logging.getLogger(__name__)


def import_tensorrt() -> Any:
    try:
        import tensorrt
    except ImportError as exc:
        raise BackendUnavailableError(
            "the TensorRT backend needs TensorRT 10: pip install 'parface-sdk[gpu]' on a machine "
            "with an NVIDIA GPU, or use the onnxruntime backend (device='cuda' or 'tensorrt')"
        ) from exc
    return tensorrt


class TensorRTBackend:
    """Runs a serialized TensorRT engine; always on the GPU whatever ``device`` says."""

    name = "tensorrt"

    def __init__(
        self,
        model_path: str | Path,
        device: str = "cuda",
        threads: int | None = None,
        cuda_graph: bool = False,
    ):
        trt = import_tensorrt()
        self._trt = trt
        header, plan = read_engine_file(model_path)
        gpu_name, capability = gpu_identity()
        check_compatible(model_path, header, trt.__version__, gpu_name, capability)
        if device == "cpu":
            logger.info("TensorRT engines run on the GPU; device 'cpu' is ignored for %s", model_path)
        self.header: EngineHeader = header
        self.spec = header.spec
        self.device = "cuda"
        self.cuda_graph = cuda_graph
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        self._engine = self._runtime.deserialize_cuda_engine(plan)
        if self._engine is None:
            raise ModelLoadError(f"{model_path}: TensorRT could not deserialize the plan; rebuild the engine")
        self._context = self._engine.create_execution_context()
        self._stream = Stream()
        names = [self._engine.get_tensor_name(i) for i in range(self._engine.num_io_tensors)]
        mode = trt.TensorIOMode.INPUT
        self._inputs = [n for n in names if self._engine.get_tensor_mode(n) == mode]
        self._outputs = [n for n in names if self._engine.get_tensor_mode(n) != mode]
        self._dtypes = {n: np.dtype(trt.nptype(self._engine.get_tensor_dtype(n))) for n in names}
        self._buffers: dict[str, DeviceBuffer] = {}
        self._graphs: dict[tuple, CudaGraph] = {}
        for name in names:
            shape = self._max_shape(name)
            self._buffers[name] = DeviceBuffer(int(np.prod(shape)) * self._dtypes[name].itemsize)
            self._context.set_tensor_address(name, self._buffers[name].pointer)

    def _max_shape(self, name: str) -> tuple[int, ...]:
        """The largest shape a tensor takes: the profile's max for inputs, derived for outputs."""
        if name in self._inputs:
            return tuple(self._engine.get_tensor_profile_shape(name, 0)[2])
        for input_name in self._inputs:
            self._context.set_input_shape(input_name, self._max_shape(input_name))
        return tuple(self._context.get_tensor_shape(name))

    # -- execution ---------------------------------------------------------------------------

    def _execute(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        stream = self._stream
        key = tuple(feeds[name].shape for name in self._inputs)
        for name in self._inputs:
            array = np.ascontiguousarray(feeds[name], dtype=self._dtypes[name])
            self._context.set_input_shape(name, array.shape)
            self._buffers[name].upload(array, stream.handle)
        if key in self._graphs:
            self._graphs[key].launch(stream)
        else:
            self._enqueue()
            if self.cuda_graph:
                # Captured after one ordinary run, which does TensorRT's shape-dependent setup.
                stream.synchronize()
                self._graphs[key] = CudaGraph(stream, self._enqueue)
        results = []
        for name in self._outputs:
            host = np.empty(tuple(self._context.get_tensor_shape(name)), self._dtypes[name])
            self._buffers[name].download(host, stream.handle)
            results.append(host)
        stream.synchronize()
        return results

    def _enqueue(self) -> None:
        if not self._context.execute_async_v3(int(self._stream.handle)):
            raise ParfaceError("TensorRT failed to enqueue the engine (see the TensorRT log above)")

    def _named(self, outputs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        by_name = dict(zip(self._outputs, outputs))
        return by_name["landmarks"].astype(np.float32), by_name["confidence"].astype(np.float32)

    def run(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crop graphs: ``(landmarks (B, N, 3) crop px, confidence (B, N))``; any batch size."""
        if self.spec.graph != "crop":
            raise UnsupportedShapeError("this engine holds a frame graph: call run_frame(image, transforms)")
        crops = check_crops(crops, self.spec)
        step = self.header.max_batch
        parts = [
            self._named(self._execute({CROPS_INPUT: crops[i : i + step]})) for i in range(0, len(crops), step)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def run_frame(self, image_rgb: np.ndarray, transforms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame graphs: landmarks in image pixels for the faces ``transforms`` (B, 2, 3) crop."""
        from parface_sdk.backends.graph_io import check_transforms, frame_input

        if self.spec.graph != "frame":
            raise UnsupportedShapeError("this engine holds a crop graph: call run(crops)")
        frame, transforms = frame_input(image_rgb), check_transforms(transforms)
        if self.header.max_frame and (
            frame.shape[2] > self.header.max_frame[0] or frame.shape[3] > self.header.max_frame[1]
        ):
            raise UnsupportedShapeError(
                f"frame {frame.shape[2]}x{frame.shape[3]} exceeds the engine's maximum "
                f"{self.header.max_frame[0]}x{self.header.max_frame[1]}; rebuild with a larger --max-frame"
            )
        step = self.header.max_batch
        parts = [
            self._named(self._execute({FRAME_INPUT: frame, TRANSFORMS_INPUT: transforms[i : i + step]}))
            for i in range(0, len(transforms), step)
        ]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    def infer(self, images, transforms, image_index=None, batch_size: int = 16, timings=None):
        """Landmarks in image pixels for faces of ``images``, whichever graph the engine holds."""
        from parface_sdk.backends.adapter import infer_crops, infer_frames

        if self.spec.graph == "crop":
            return infer_crops(self.run, self.spec, images, transforms, image_index, batch_size, timings)
        return infer_frames(
            self.run_frame, self.spec, images, transforms, image_index, self.header.max_batch, timings
        )

    def warmup(self, batch_size: int = 1) -> None:
        if self.spec.graph == "crop":
            self.run(warmup_batch(self.spec, batch_size))
        else:
            size = self.spec.input_size
            transform = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], np.float32)
            self.run_frame(np.zeros((size, size, 3), np.uint8), np.repeat(transform[None], batch_size, 0))

    def close(self) -> None:
        for graph in self._graphs.values():
            graph.destroy()
        self._graphs.clear()
        for buffer in self._buffers.values():
            buffer.free()
        self._buffers.clear()
        self._stream.destroy()
        self._context = self._engine = None
