"""TensorRT: the engine-file header and its compatibility checks run everywhere; building and running
an engine needs TensorRT 10, cuda-python and an NVIDIA GPU and is skipped otherwise."""

import importlib.util
import logging

import numpy as np
import pytest

from parface_sdk.backends.engine_file import (
    EngineHeader,
    check_compatible,
    read_engine_file,
    read_engine_header,
    write_engine_file,
)
from parface_sdk.errors import BackendUnavailableError, EngineMismatchError, ModelLoadError
from parface_sdk.spec import ModelSpec

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None


def _gpu_reason() -> str | None:
    if not HAS_TENSORRT:
        return "TensorRT is not installed (pip install 'parface-sdk[gpu]' on a GPU machine)"
    try:
        from parface_sdk.backends.cuda_runtime import gpu_identity

        gpu_identity()
    except Exception as exc:  # no cuda-python, no driver or no device
        return f"no usable CUDA GPU: {exc}"
    return None


GPU_REASON = _gpu_reason()
needs_gpu = pytest.mark.skipif(GPU_REASON is not None, reason=GPU_REASON or "")


def header(**overrides) -> EngineHeader:
    values = dict(
        spec=ModelSpec.for_variant("tiny"),
        tensorrt_version="10.3.0",
        gpu_name="NVIDIA A10",
        compute_capability="8.6",
        precision="fp16",
        max_batch=16,
    )
    return EngineHeader(**{**values, **overrides})


def test_engine_file_round_trip(tmp_path):
    path = write_engine_file(tmp_path / "m.engine", header(), b"PLAN-BYTES")
    read_header, plan = read_engine_file(path)
    assert read_header == header() and plan == b"PLAN-BYTES"
    assert read_engine_header(path)[0].spec.variant == "tiny"


def test_foreign_truncated_and_empty_engines_are_refused(tmp_path):
    foreign = tmp_path / "foreign.engine"
    foreign.write_bytes(b"\x00" * 64)  # e.g. a raw trtexec plan
    with pytest.raises(ModelLoadError, match="not a parface-sdk engine"):
        read_engine_file(foreign)
    whole = write_engine_file(tmp_path / "m.engine", header(), b"PLAN").read_bytes()
    truncated = tmp_path / "truncated.engine"
    truncated.write_bytes(whole[:40])
    with pytest.raises(ModelLoadError, match="truncated"):
        read_engine_file(truncated)
    empty = write_engine_file(tmp_path / "empty.engine", header(), b"")
    with pytest.raises(ModelLoadError, match="no TensorRT plan"):
        read_engine_file(empty)


def test_version_and_gpu_mismatches_name_the_rebuild(caplog):
    built = header()
    with pytest.raises(EngineMismatchError, match=r"TensorRT 10\.3\.0.*10\.5\.0.*parface export tensorrt"):
        check_compatible("m.engine", built, "10.5.0", "NVIDIA A10", "8.6")
    with pytest.raises(EngineMismatchError, match=r"compute capability 8\.6.*8\.9.*--max-batch 16"):
        check_compatible("m.engine", built, "10.3.0", "NVIDIA L4", "8.9")
    with caplog.at_level(logging.WARNING):
        check_compatible("m.engine", built, "10.3.0", "NVIDIA A40", "8.6")  # same family: loads
    assert "built on NVIDIA A10 and runs on NVIDIA A40" in caplog.text
    check_compatible("m.engine", built, "10.3.0", "NVIDIA A10", "8.6")


def test_fp16_keeps_geometry_and_soft_argmax_in_fp32(tiny_onnx, tmp_path):
    onnx = pytest.importorskip("onnx")
    from parface_export.onnx_export import export_onnx
    from parface_export.tensorrt_build import runs_in_reduced_precision

    def reduced(path):
        nodes = onnx.load(str(path)).graph.node
        return {n.op_type: runs_in_reduced_precision(n.name) for n in nodes if n.op_type != "Constant"}

    crop_graph = reduced(tiny_onnx)
    assert crop_graph["Conv"] and crop_graph["ConvTranspose"] and crop_graph["Gemm"]
    assert not crop_graph["ArgMax"] and not crop_graph["ReduceSum"]
    from parface_sdk.nn.checkpoint import seeded_model

    frame_graph = reduced(export_onnx(seeded_model("tiny"), tmp_path / "f.onnx", graph="frame"))
    assert frame_graph["Conv"] and not frame_graph["GridSample"] and not frame_graph["ArgMax"]


@pytest.mark.skipif(HAS_TENSORRT, reason="TensorRT is installed: the missing-runtime path cannot be shown")
def test_missing_tensorrt_is_a_clear_error(tmp_path):
    from parface_sdk.backends import create_backend

    path = write_engine_file(tmp_path / "m.engine", header(), b"PLAN")
    with pytest.raises(BackendUnavailableError, match=r"parface-sdk\[gpu\]"):
        create_backend(path)


@pytest.mark.gpu
@needs_gpu
@pytest.mark.parametrize("precision, tolerance", [("fp32", 1e-2), ("fp16", 0.25)])
def test_engine_matches_onnxruntime(tiny_onnx, tmp_path, precision, tolerance):
    from parface_export.tensorrt_build import build_engine
    from parface_sdk.backends import create_backend

    engine = build_engine(
        tiny_onnx,
        tmp_path / f"tiny-{precision}.engine",
        precision=precision,
        max_batch=8,
        timing_cache=tmp_path / "timing.cache",
    )
    assert (tmp_path / "timing.cache").is_file()
    crops = np.random.default_rng(0).standard_normal((11, 3, 64, 64)).astype(np.float32)
    expected, _ = create_backend(tiny_onnx).run(crops)
    backend = create_backend(engine)
    assert backend.name == "tensorrt" and backend.spec.variant == "tiny"
    landmarks, confidence = backend.run(crops)  # 11 faces: two calls of at most 8
    assert landmarks.shape == (11, 68, 3) and confidence.shape == (11, 68)
    assert np.median(np.abs(landmarks - expected)) < tolerance
    backend.close()


@pytest.mark.gpu
@needs_gpu
def test_cuda_graph_replay_gives_the_same_result(tiny_onnx, tmp_path):
    from parface_export.tensorrt_build import build_engine
    from parface_sdk.backends.tensorrt import TensorRTBackend

    engine = build_engine(tiny_onnx, tmp_path / "tiny.engine", precision="fp32", max_batch=4)
    crops = np.random.default_rng(1).standard_normal((4, 3, 64, 64)).astype(np.float32)
    plain = TensorRTBackend(engine).run(crops)[0]
    backend = TensorRTBackend(engine, cuda_graph=True)
    first, replayed = backend.run(crops)[0], backend.run(crops)[0]
    assert len(backend._graphs) == 1
    np.testing.assert_allclose(replayed, plain, atol=1e-4)
    np.testing.assert_allclose(first, plain, atol=1e-4)
    backend.close()
