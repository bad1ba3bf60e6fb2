"""int8 export: a QDQ copy of a crop graph that keeps its spec and stays close to float32."""

import numpy as np
import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime.quantization")


def test_int8_copy_keeps_the_spec_and_runs(tiny_onnx, tmp_path):
    from parface_export.quantize import quantize_int8
    from parface_sdk.backends.onnxruntime import OnnxRuntimeBackend

    fp32 = OnnxRuntimeBackend(tiny_onnx, threads=1)
    size = fp32.spec.input_size
    crops = np.random.default_rng(0).normal(0, 1, (4, 3, size, size)).astype(np.float32)
    path = quantize_int8(tiny_onnx, tmp_path / "int8.onnx", crops)
    int8 = OnnxRuntimeBackend(path, threads=1)
    assert int8.spec == fp32.spec
    landmarks, confidence = int8.run(crops[:2])
    assert landmarks.shape == fp32.run(crops[:2])[0].shape and np.isfinite(landmarks).all()


def test_cli_int8_needs_training_faces(capsys):
    from parface_sdk.cli.main import main

    assert main(["export", "onnx", "x.safetensors", "--int8"]) == 2
    assert "--calibration" in capsys.readouterr().err
