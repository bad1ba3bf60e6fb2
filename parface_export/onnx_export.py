"""Export the landmark network to one self-describing ONNX graph.

Two graphs: ``crop`` (normalised crops in, 68x3 crop-pixel landmarks and confidence out) and
``frame`` (a frame and per-face image->crop affines in, landmarks in frame pixels out; the crop
happens inside the graph, see :mod:`parface_export.frame_graph`). Both carry the :class:`ModelSpec` in the
ONNX metadata, pass ``onnx.checker`` and shape inference, and can be simplified with onnxslim.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Literal

from parface_sdk.backends.graph_io import (
    CONFIDENCE_OUTPUT,
    CROPS_INPUT,
    FRAME_INPUT,
    LANDMARKS_OUTPUT,
    TRANSFORMS_INPUT,
)
from parface_sdk.spec import SPEC_METADATA_KEY, ModelSpec

logger = logging.getLogger(__name__)

DEFAULT_OPSET = 17
Graph = Literal["crop", "frame"]
Precision = Literal["fp32", "fp16"]


def _trace(module, example: tuple, path: Path, inputs: list[str], dynamic: dict, opset: int) -> None:
    import torch

    outputs = [LANDMARKS_OUTPUT, CONFIDENCE_OUTPUT]
    axes = {**dynamic, LANDMARKS_OUTPUT: {0: "batch"}, CONFIDENCE_OUTPUT: {0: "batch"}}
    # The TorchScript exporter is deliberate: it needs no onnxscript and names every node after its
    # module scope, which the TensorRT builder uses to keep the geometry in FP32.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            module,
            example,
            str(path),
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=opset,
            dynamo=False,
        )


def _finish(model, spec: ModelSpec, simplify: bool, precision: Precision):
    """Simplify, convert, infer shapes, check, then stamp the spec (last, so nothing drops it)."""
    import onnx

    if simplify:
        model = simplify_model(model)
    if precision == "fp16":
        from parface_export.fp16 import convert_initializers_to_fp16

        model = convert_initializers_to_fp16(model)
    model = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    del model.metadata_props[:]
    entry = model.metadata_props.add()
    entry.key, entry.value = SPEC_METADATA_KEY, spec.to_json()
    model.producer_name = "parface-sdk"
    onnx.checker.check_model(model, full_check=True)
    return model


def simplify_model(model):
    """Constant folding and graph clean-up with onnxslim; the model is returned as is without it."""
    try:
        import onnxslim
    except ImportError:
        logger.warning("onnxslim is not installed; skipping simplification (pip install onnxslim)")
        return model
    return onnxslim.slim(model)


def max_opset() -> int:
    """The newest opset the TorchScript exporter of the installed torch writes."""
    try:
        from torch.onnx import _constants

        return int(getattr(_constants, "ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET", 20))
    except ImportError:
        return 20


def _temporary_beside(path: Path) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=".pf-", suffix=".partial.onnx")
    os.close(handle)
    return Path(name)


def export_onnx(
    net,
    path: str | Path,
    opset: int = DEFAULT_OPSET,
    spec: ModelSpec | None = None,
    *,
    graph: Graph = "crop",
    precision: Precision = "fp32",
    simplify: bool = False,
) -> Path:
    """Trace ``net`` (a ParFaceNet) to ``path`` with a dynamic batch axis.

    ``graph="crop"``: input ``crops`` (B, 3, S, S) normalised float32; outputs ``landmarks``
    (B, N, 3) crop pixels and ``confidence`` (B, N). ``graph="frame"``: inputs ``frame``
    (1, 3, H, W) float32 RGB 0..255 and ``transforms`` (B, 2, 3) image->crop affines; ``landmarks``
    come out in frame pixels. ``precision="fp16"`` stores the weights as float16 (half the file)
    with float32 inputs, outputs and arithmetic. The spec (``spec`` or ``net.spec``, with ``graph``
    set) goes into the metadata under ``parface_spec``.
    """
    import onnx
    import torch

    from parface_sdk.errors import InvalidOptionError

    newest = max_opset()
    if not DEFAULT_OPSET <= opset <= newest:
        raise InvalidOptionError(
            f"opset {opset} is not supported: the export needs an opset from {DEFAULT_OPSET} to {newest}"
        )
    spec = (spec or net.spec).model_copy(update={"graph": graph})
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = net.eval().cpu()
    size = spec.input_size
    # Short hidden temporary names beside the target (a long target name never fails for them);
    # the traced graph and the final file are both temporaries until the final rename, and any
    # error (a full disk, Ctrl-C at any point) removes them.
    traced = _temporary_beside(path)
    finished = _temporary_beside(path)
    try:
        if graph == "crop":
            example = (torch.zeros(2, 3, size, size),)
            _trace(net, example, traced, [CROPS_INPUT], {CROPS_INPUT: {0: "batch"}}, opset)
        elif graph == "frame":
            from parface_export.frame_graph import FrameGraph, example_inputs

            dynamic = {FRAME_INPUT: {2: "height", 3: "width"}, TRANSFORMS_INPUT: {0: "batch"}}
            # A fresh wrapper is in training mode; tracing restores that mode on every child, net included.
            _trace(
                FrameGraph(net, spec).eval(),
                example_inputs(spec),
                traced,
                [FRAME_INPUT, TRANSFORMS_INPUT],
                dynamic,
                opset,
            )
        else:
            raise ValueError(f"unknown graph {graph!r}; choose 'crop' or 'frame'")
        model = _finish(onnx.load(str(traced)), spec, simplify, precision)
        onnx.save(model, str(finished))
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(finished, 0o666 & ~umask)
        os.replace(finished, path)
    finally:
        traced.unlink(missing_ok=True)
        finished.unlink(missing_ok=True)
    logger.info("wrote %s (%s graph, %s, opset %d)", path, graph, precision, opset)
    return path


def export_checkpoint(checkpoint: str | Path, path: str | Path | None = None, **options) -> Path:
    """Export a safetensors checkpoint; the spec records the checkpoint's SHA-256."""
    from parface_sdk.nn.checkpoint import load_checkpoint

    checkpoint = Path(checkpoint)
    net = load_checkpoint(checkpoint)
    spec = net.spec.model_copy(update={"source_sha256": file_sha256(checkpoint)})
    if path is None:
        suffix = "" if options.get("graph", "crop") == "crop" else "-frame"
        suffix += "-fp16" if options.get("precision") == "fp16" else ""
        path = checkpoint.with_name(checkpoint.stem + suffix + ".onnx")
    return export_onnx(net, path, spec=spec, **options)


def read_spec(path: str | Path) -> ModelSpec:
    """The spec stored in an ONNX file's metadata (raises ModelLoadError when absent or foreign)."""
    import onnx

    from parface_sdk.errors import ModelLoadError

    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # onnx raises DecodeError and friends for corrupt files
        raise ModelLoadError(f"{path} is not a readable ONNX model ({exc})") from exc
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    if SPEC_METADATA_KEY not in metadata:
        raise ModelLoadError(f"{path} carries no ParFace spec in its metadata; it is not a parface-sdk model")
    return ModelSpec.from_json(metadata[SPEC_METADATA_KEY], source=str(path))


def file_sha256(path: str | Path) -> str:
    from parface_sdk.geometry import sha256_of

    return sha256_of(path)
