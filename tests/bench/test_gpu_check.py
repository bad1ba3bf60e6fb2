"""The prepared GPU check runs end to end on the CPU (--device cpu --quick) and writes its JSON, and
an engine that fails is recorded without losing the others' numbers."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the GPU check's torch engine needs torch")
pytest.importorskip("onnxruntime", reason="the GPU check's onnxruntime engine needs onnxruntime")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import gpu_check  # noqa: E402


def test_gpu_check_quick_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    assert gpu_check.main(["--device", "cpu", "--quick", "--threads", "1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["errors"] == {}
    for label in ("onnxruntime", "torch"):
        result = report["results"][label]
        assert result["faces"] >= 1 and result["align_ms"] > 0 and result["align_batch_faces_per_s"] > 0
        assert result["max_xy_diff_px_vs_first"] < 2.0  # onnxruntime and torch agree on a real face


def test_gpu_check_records_a_failing_engine_and_keeps_the_json(tmp_path, monkeypatch):
    engines_original = gpu_check._engines
    monkeypatch.setattr(gpu_check, "_engines", lambda d, w: _chain(d, w, engines_original))
    out = tmp_path / "gpu.json"
    assert gpu_check.main(["--device", "cpu", "--quick", "--threads", "1", "--out", str(out)]) == 1
    report = json.loads(out.read_text())
    assert report["errors"] == {"broken": "RuntimeError: no engine here"}
    assert report["results"]["onnxruntime"]["faces"] >= 1


def _chain(device, workdir, original):
    def broken():
        raise RuntimeError("no engine here")

    yield "broken", broken, {"backend": "tensorrt"}
    for label, model, fields in original(device, workdir):
        if label == "onnxruntime":
            yield label, model, fields
