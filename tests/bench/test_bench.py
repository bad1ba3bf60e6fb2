"""`parface-bench`: a few frames of the tiny variant write a valid report; engines that cannot run say so."""

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from parface_sdk.bench.report import REPORT_SCHEMA, BenchReport, StageStats, render_table
from parface_sdk.cli.bench import EXIT_UNAVAILABLE, main

FAST = ["--variant", "tiny", "--frames", "4", "--warmup", "1", "--quiet"]


def test_stage_statistics():
    stats = StageStats.of([0.001 * v for v in range(1, 101)])
    assert stats.count == 100 and stats.min_ms == pytest.approx(1.0)
    assert stats.median_ms == pytest.approx(50.5) and stats.p95_ms == pytest.approx(95.05)
    assert stats.p99_ms == pytest.approx(99.01)


def test_ort_engine_writes_a_valid_report(tmp_path, capsys):
    pytest.importorskip("torch", reason="benchmarking a seeded model needs torch to build it")
    pytest.importorskip("onnx", reason="benchmarking a seeded model needs the export extra")
    out = tmp_path / "report.json"
    assert main(["--engine", "ort", "--batch", "2", "--json", str(out), *FAST]) == 0
    report = BenchReport.model_validate_json(out.read_text())
    assert report.schema_version == REPORT_SCHEMA
    assert report.scenario["engine"] == "ort" and report.scenario["batch"] == 2
    assert report.scenario["image_size"] == [640, 480]
    assert report.model["label"] == "seeded, untrained" and report.model["variant"] == "tiny"
    assert set(report.stages) >= {"detect", "crop", "network", "decode", "end_to_end"}
    assert all(stats.count == 4 and stats.median_ms > 0 for stats in report.stages.values())
    assert "inside the exported network graph" in report.stage_notes["depth"]
    assert report.throughput["faces_per_s_network"] > 0
    assert report.model["macs_per_face"]["total"] > report.model["macs_per_face"]["depth"] > 0
    assert report.peak["gflops"] > 0 and 0 < report.fraction_of_peak < 1
    assert report.aligner["count"] == 4 and report.aligner["recrop"] is True
    # The stages are the Aligner's own pipeline: they account for what Aligner.align costs.
    check = report.aligner["stages"]
    assert check["stages_sum_ms"] > 0 and check["aligner_ms"] > 0
    # (4 frames on a loaded CI machine: a loose bound; the report's add_up uses 20 % or 2 ms)
    assert 0.5 < check["stages_sum_ms"] / check["aligner_ms"] < 2.0
    assert "two passes" in report.stage_notes["network"] and "results" in report.stages
    assert report.machine["logical_cpus"] >= 1 and "load_average_at_start" in report.machine
    assert "onnxruntime" in report.versions and "numpy" in report.versions
    printed = capsys.readouterr().out
    assert "end_to_end" in printed and "faces/s" in printed
    assert json.loads(out.read_text())["scenario"]["providers"] == ["CPUExecutionProvider"]


def test_torch_engine_splits_the_depth_head(tmp_path):
    pytest.importorskip("torch", reason="the torch engine needs torch")
    out = tmp_path / "torch.json"
    args = ["--engine", "torch", "--detector", "none", "--no-aligner", "--no-peak", "--json", str(out)]
    assert main([*args, *FAST]) == 0
    report = BenchReport.model_validate_json(out.read_text())
    assert {"network.encoder_decoder", "depth"} <= set(report.stages) and "detect" not in report.stages
    assert report.aligner is None and report.fraction_of_peak is None
    assert "fixed box" in report.stage_notes["detect"]
    assert "network" in render_table(report)


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_unavailable_engine_is_a_clear_message(capsys):
    assert main(["--engine", "trt", *FAST]) == EXIT_UNAVAILABLE
    assert "trt engine is not available on this machine" in capsys.readouterr().err


def test_bad_arguments():
    assert main(["--batch", "0", *FAST]) == 2


def test_importing_the_cli_is_cheap():
    code = (
        "import sys, parface_sdk.cli.bench, parface_sdk.bench.report; "
        "print(sorted(m for m in ('torch', 'onnxruntime', 'tensorrt') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_synthetic_frame_without_shared_data(monkeypatch, tmp_path):
    from parface_sdk.bench import frames

    monkeypatch.setattr(frames, "_shared_candidates", lambda: [tmp_path / "absent.jpg"])
    image, label = frames.bench_frame()
    assert image.shape == (480, 640, 3) and image.dtype == np.uint8 and "synthetic" in label


def test_frame_graph_scenario(tmp_path):
    pytest.importorskip("torch", reason="benchmarking a seeded model needs torch to build it")
    pytest.importorskip("onnx", reason="benchmarking a seeded model needs the export extra")
    out = tmp_path / "frame.json"
    assert main(["--engine", "ort", "--graph", "frame", "--no-peak", "--json", str(out), *FAST]) == 0
    report = BenchReport.model_validate_json(out.read_text())
    # The Aligner runs frame graphs too, through the same pipeline.
    assert report.scenario["graph"] == "frame" and report.aligner["count"] == 4
    assert {"detect", "network", "results", "end_to_end"} == set(report.stages)
    assert main(["--engine", "torch", "--graph", "frame", *FAST]) == 2


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_torch_frame_engine_times_the_aligners_pipeline(tmp_path, precision):
    """--engine torch-frame: the device-crop backend the Aligner runs for torch on cuda, timed per
    stage through the Aligner's pipeline, in the precision asked for."""
    pytest.importorskip("torch", reason="the torch-frame engine needs torch")
    out = tmp_path / "torch-frame.json"
    args = ["--engine", "torch-frame", "--device", "cpu", "--precision", precision, "--no-peak"]
    assert main([*args, "--json", str(out), *FAST]) == 0
    report = BenchReport.model_validate_json(out.read_text())
    assert report.scenario["engine"] == "torch-frame" and report.scenario["precision"] == precision
    assert {"detect", "crop", "network", "decode", "results", "end_to_end", "depth"} <= set(report.stages)
    assert report.aligner["count"] == 4 and report.aligner["recrop"] is True
    check = report.aligner["stages"]
    assert 0.5 < check["stages_sum_ms"] / check["aligner_ms"] < 2.0


def test_precision_a_runtime_cannot_honour_is_refused(capsys):
    assert main(["--engine", "ort", "--precision", "fp16", *FAST]) == 2
    assert "cannot run in fp16" in capsys.readouterr().err


def test_gpu_install_without_onnx_benchmarks_the_shipped_model(monkeypatch, tmp_path):
    """`pip install "parface-sdk[gpu]" torch` has torch but no onnx: parface-bench must not crash
    exporting a seeded model; it benchmarks the shipped ONNX model of the variant instead."""
    pytest.importorskip("onnxruntime")
    from parface_sdk.bench import models

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "onnx" else real_find_spec(name, *a)
    )
    model = models.load_model("ort", "light", None, "cpu", 1, tmp_path)
    assert model.label.startswith("shipped") and model.path.suffix == ".onnx"
    with pytest.raises(models.BackendUnavailableError, match=r"parface-sdk\[export\]"):
        models._seeded_onnx("tiny", tmp_path)
