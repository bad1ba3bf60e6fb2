"""The model a benchmark runs: a given file, or a seeded (untrained) network of a variant.

Speed does not depend on the weights, so without ``--model`` the benchmark builds the variant
with random weights and labels every report "seeded, untrained". Model files for the Aligner and
for onnxruntime/TensorRT are written to a temporary folder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parface_sdk.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

ENGINES = ("torch", "torch-frame", "ort", "trt")
# The Aligner's backend name for each engine (the Aligner is timed on the same runtime).
ENGINE_BACKENDS = {"torch": "torch", "torch-frame": "torch-frame", "ort": "onnxruntime", "trt": "tensorrt"}
SEEDED_LABEL = "seeded, untrained"


@dataclass
class BenchModel:
    backend: Any  # a LandmarkBackend
    path: Path  # the model file (the Aligner loads it too)
    label: str  # SEEDED_LABEL or the file name
    net: Any = None  # the torch network when the engine is torch (for the depth split)


def _seeded(variant: str):
    try:
        from parface_sdk.nn.checkpoint import seeded_model
    except ImportError as exc:
        raise BackendUnavailableError(
            "a seeded model needs PyTorch (pip install 'parface-sdk[torch]'); or pass --model FILE"
        ) from exc
    return seeded_model(variant, seed=0)


def _seeded_onnx(variant: str, workdir: Path, graph: str = "crop") -> Path:
    import importlib.util

    try:
        from parface_export.onnx_export import export_onnx

        if importlib.util.find_spec("onnx") is None:  # imported inside export_onnx, not above
            raise ImportError("No module named 'onnx'")
    except ImportError as exc:
        raise BackendUnavailableError(
            "exporting a seeded model needs the export extra (pip install 'parface-sdk[export]'); "
            "or pass --model model.onnx"
        ) from exc
    return export_onnx(_seeded(variant), workdir / f"seeded-{variant}-{graph}.onnx", graph=graph)


def _shipped_onnx(variant: str, graph: str) -> Path | None:
    """The crop-graph ONNX model shipped in the wheel when it is of ``variant`` and PyTorch or onnx
    (needed to export a seeded one) is missing: the plain install, and ``parface-sdk[gpu]`` with
    torch but without the export extra, benchmark without more extras."""
    import importlib.util
    import json

    from parface_sdk.models import MANIFEST, default_model_path

    exporter = all(importlib.util.find_spec(name) is not None for name in ("torch", "onnx"))
    if graph != "crop" or exporter:
        return None
    if json.loads(MANIFEST.read_text()).get("variant") != variant:
        return None
    return default_model_path("onnxruntime")


def load_model(
    engine: str,
    variant: str,
    model: Path | None,
    device: str,
    threads: int | None,
    workdir: Path,
    graph: str = "crop",
    precision: str = "fp32",
) -> BenchModel:
    """Open the backend for ``engine`` (torch, torch-frame, ort, trt); raises BackendUnavailableError
    if it cannot run, UnsupportedPrecisionError if it cannot run in ``precision``.

    ``graph="frame"`` (ort, trt) benchmarks the frame graph: crop, network and map back in one call.
    ``torch-frame`` crops on the device (the path ``Aligner`` takes for torch on ``cuda``).
    """
    from parface_sdk.backends import check_precision

    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; choose one of {ENGINES}")
    if graph == "frame" and engine in ("torch", "torch-frame"):
        raise ValueError("the frame graph is an exported graph: use --engine ort or trt")
    check_precision(ENGINE_BACKENDS[engine], device, precision)
    label = SEEDED_LABEL if model is None else Path(model).name
    if engine in ("torch", "torch-frame"):
        if engine == "torch":
            from parface_sdk.backends.torch import TorchBackend as backend_class
        else:
            from parface_sdk.backends.torch_frame import TorchFrameBackend as backend_class

        if model is None:
            from parface_sdk.nn.checkpoint import save_checkpoint

            net = _seeded(variant)
            path = save_checkpoint(net, workdir / f"seeded-{variant}.safetensors")
            backend = backend_class.from_module(net, device=device, precision=precision)
        else:
            path = Path(model)
            backend = backend_class(path, device=device, threads=threads, precision=precision)
        return BenchModel(backend, path, label, net=backend.net)
    from parface_sdk.backends import create_backend  # the one factory; the model's spec picks the graph

    if engine == "ort":
        shipped = None if model else _shipped_onnx(variant, graph)
        if shipped is not None:
            logger.info("no PyTorch to build a seeded model: benchmarking the shipped %s", shipped.name)
            model, label = shipped, f"shipped {shipped.name}"
        path = Path(model) if model else _seeded_onnx(variant, workdir, graph)
        backend = create_backend(path, backend="onnxruntime", device=device, threads=threads)
        return BenchModel(backend, path, label)
    if engine == "trt":
        from parface_sdk.backends.tensorrt import import_tensorrt

        import_tensorrt()  # fail early with the install hint, before any export work
        path = Path(model) if model else _seeded_onnx(variant, workdir, graph)
        if path.suffix.lower() == ".onnx":
            from parface_export.tensorrt_build import build_engine

            path = build_engine(path, workdir / (path.stem + ".engine"), max_batch=32)
        return BenchModel(create_backend(path, backend="tensorrt", device="cuda"), path, label)
    raise ValueError(f"unknown engine {engine!r}; choose one of {ENGINES}")


def macs_by_stage(spec) -> dict[str, int] | None:
    """MACs per face (total, encoder+decoder, depth head) of the spec's architecture; None without torch."""
    try:
        import torch

        from parface_sdk.nn.flops import count_macs
        from parface_sdk.nn.parface_net import ParFaceNet, count_parameters
    except ImportError:
        return None
    net = ParFaceNet(spec).eval()
    crop = torch.zeros(1, 3, spec.input_size, spec.input_size)
    with torch.inference_mode():
        z, heatmaps = net.heatmaps(crop)
    total = count_macs(net, crop)
    depth = count_macs(net.depth_head, heatmaps, z)
    # The image head (autoencoder training only) is not part of the landmark network.
    parameters = count_parameters(net) - count_parameters(net.decoder.to_image)
    return {"total": total, "encoder+decoder": total - depth, "depth": depth, "parameters": parameters}
