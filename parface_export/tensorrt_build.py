"""Build a TensorRT engine from a parface-sdk ONNX model (TensorRT 10 Python API).

FP16 by default (``precision="fp32"`` to keep float32), one optimisation profile for batch
``1..max_batch`` (and frame sizes up to ``max_frame`` for frame graphs), an optional timing cache
file that makes rebuilds fast. The result is written with the header of
:mod:`parface_sdk.backends.engine_file` so the runtime can refuse a plan built elsewhere.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Literal

from parface_sdk.backends.engine_file import EngineHeader, write_engine_file
from parface_sdk.backends.graph_io import CROPS_INPUT, TRANSFORMS_INPUT
from parface_sdk.errors import ModelLoadError, ParfaceError

logger = logging.getLogger(__name__)


def runs_in_reduced_precision(layer_name: str) -> bool:
    """Whether a layer belongs to one of the network's modules (FP16 is fine there).

    TensorRT names layers after the ONNX nodes, which carry the PyTorch module scope
    (``/encoder/trunk/.../Conv``, ``/net/depth_head/...`` in frame graphs). Nodes without a module
    scope -- the soft-argmax (coordinates up to the heatmap size, where FP16 steps by 0.06 px), the
    crop geometry and GridSample of frame graphs, the map back to frame pixels -- stay in FP32.
    """
    parts = layer_name.strip("/").split("/")
    if parts[0] == "net":
        parts = parts[1:]
    return len(parts) >= 2


def _pin_fp32(network, trt) -> int:
    pinned = 0
    floats = (trt.float32, trt.float16)
    for index in range(network.num_layers):
        layer = network.get_layer(index)
        if runs_in_reduced_precision(layer.name):
            continue
        outputs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if not outputs or any(tensor.dtype not in floats for tensor in outputs):
            continue
        layer.precision = trt.float32
        for j in range(layer.num_outputs):
            layer.set_output_type(j, trt.float32)
        pinned += 1
    return pinned


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path | None = None,
    *,
    precision: Literal["fp16", "fp32"] = "fp16",
    max_batch: int = 32,
    opt_batch: int | None = None,
    max_frame: tuple[int, int] = (1080, 1920),
    timing_cache: str | Path | None = None,
    workspace_gib: float = 2.0,
) -> Path:
    """Build and save ``engine_path`` (default: the ONNX path with ``.engine``); returns its path."""
    from parface_export.onnx_export import file_sha256, read_spec
    from parface_sdk.backends.cuda_runtime import gpu_identity
    from parface_sdk.backends.tensorrt import import_tensorrt

    trt = import_tensorrt()
    onnx_path = Path(onnx_path)
    spec = read_spec(onnx_path)
    engine_path = Path(engine_path) if engine_path else onnx_path.with_suffix(".engine")
    if not 1 <= (opt_batch or 1) <= max_batch:
        raise ValueError(f"need 1 <= opt_batch <= max_batch, got {opt_batch} and {max_batch}")
    opt = opt_batch or min(8, max_batch)
    trt_logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(trt_logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, trt_logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gib * (1 << 30)))
    if precision == "fp16":
        config.set_flag(trt.BuilderFlag.FP16)
        config.set_flag(trt.BuilderFlag.PREFER_PRECISION_CONSTRAINTS)
        logger.info("pinned %d geometry/soft-argmax layers to FP32", _pin_fp32(network, trt))
    size = spec.input_size
    profile = builder.create_optimization_profile()
    if spec.graph == "crop":
        profile.set_shape(CROPS_INPUT, (1, 3, size, size), (opt, 3, size, size), (max_batch, 3, size, size))
    else:
        height, width = max_frame
        profile.set_shape(
            "frame", (1, 3, 16, 16), (1, 3, min(480, height), min(640, width)), (1, 3, height, width)
        )
        profile.set_shape(TRANSFORMS_INPUT, (1, 2, 3), (opt, 2, 3), (max_batch, 2, 3))
    config.add_optimization_profile(profile)
    cache_path = Path(timing_cache) if timing_cache else None
    cache_bytes = cache_path.read_bytes() if cache_path and cache_path.is_file() else b""
    config.set_timing_cache(config.create_timing_cache(cache_bytes), False)
    logger.info(
        "building a %s TensorRT engine for %s (batch 1..%d); this takes a while",
        precision,
        onnx_path,
        max_batch,
    )
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise ParfaceError(f"TensorRT failed to build an engine from {onnx_path} (see the TensorRT log)")
    if cache_path:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_bytes(bytes(config.get_timing_cache().serialize()))
    gpu_name, capability = gpu_identity()
    header = EngineHeader(
        spec=spec,
        tensorrt_version=trt.__version__,
        gpu_name=gpu_name,
        compute_capability=capability,
        precision=precision,
        min_batch=1,
        max_batch=max_batch,
        max_frame=tuple(max_frame) if spec.graph == "frame" else None,
        source_onnx_sha256=file_sha256(onnx_path),
    )
    write_engine_file(engine_path, header, plan)
    logger.info(
        "wrote %s (TensorRT %s, %s, compute capability %s)",
        engine_path,
        trt.__version__,
        gpu_name,
        capability,
    )
    return engine_path
