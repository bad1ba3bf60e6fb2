"""AlignerOptions.precision: reaches the torch backends, and is a typed error at creation where the
runtime cannot honour it."""

from pathlib import Path

import numpy as np
import pytest

from parface_sdk import Aligner, AlignerOptions, UnsupportedPrecisionError
from parface_sdk.backends import check_precision, create_backend
from parface_sdk.backends.ort_session import provider_options

ASTRONAUT = Path(__file__).resolve().parents[2] / "examples" / "data" / "astronaut.jpg"
BOX = [[176.0, 83.0, 270.0, 180.0]]


def test_precision_is_an_option_with_fp32_default():
    assert AlignerOptions().precision == "fp32"
    assert AlignerOptions(precision="bf16").precision == "bf16"
    with pytest.raises(ValueError, match="precision"):
        AlignerOptions(precision="int8")


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_onnxruntime_on_the_cpu_refuses_reduced_precision_at_creation(tiny_onnx, precision, monkeypatch):
    from parface_sdk.backends import ort_session

    def no_session(*args, **kwargs):
        raise AssertionError("the precision must be checked before the model is loaded")

    monkeypatch.setattr(ort_session, "make_session", no_session)
    with pytest.raises(UnsupportedPrecisionError, match=f"'onnxruntime' on 'cpu' cannot run in {precision}"):
        Aligner.from_pretrained(tiny_onnx, precision=precision)


def test_gpu_runtimes_accept_only_what_they_can_honour():
    check_precision("onnxruntime-tensorrt", "cuda", "fp16")
    check_precision("tensorrt", "cuda", "fp32")  # the engine as built
    for name, precision in [("onnxruntime-tensorrt", "bf16"), ("tensorrt", "fp16"), ("onnxruntime", "fp16")]:
        with pytest.raises(UnsupportedPrecisionError, match=name):
            check_precision(name, "cuda", precision)
    with pytest.raises(UnsupportedPrecisionError, match="unknown precision"):
        check_precision("torch", "cpu", "fp8")


def test_tensorrt_provider_runs_the_precision_asked_for(monkeypatch):
    monkeypatch.delenv("PARFACE_TRT_FP16", raising=False)
    assert provider_options("TensorrtExecutionProvider", "fp16")["trt_fp16_enable"] == "True"
    assert provider_options("TensorrtExecutionProvider", "fp32")["trt_fp16_enable"] == "False"
    monkeypatch.setenv("PARFACE_TRT_FP16", "0")
    assert provider_options("TensorrtExecutionProvider", "fp16")["trt_fp16_enable"] == "False"


@pytest.mark.parametrize("backend", ["torch", "torch-frame"])
def test_torch_backends_run_in_the_precision_asked_for(tiny_checkpoint, backend):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    with Aligner.from_pretrained(tiny_checkpoint, backend=backend, recrop=False) as full:
        expected = full.align(ASTRONAUT, boxes=BOX).faces[0].landmarks
    with Aligner.from_pretrained(tiny_checkpoint, backend=backend, precision="bf16", recrop=False) as half:
        assert half.backend.precision == "bf16"
        landmarks = half.align(ASTRONAUT, boxes=BOX).faces[0].landmarks
    assert landmarks.dtype == np.float32 and np.isfinite(landmarks).all()
    # a seeded net's flat heatmaps: most points within a few pixels of fp32
    assert np.median(np.abs(landmarks[:, :2] - expected[:, :2])) < 5.0
    assert create_backend(tiny_checkpoint, backend=backend, precision="fp16").precision == "fp16"
