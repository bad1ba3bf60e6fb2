"""The prepared GPU check script runs end to end on the CPU (--device cpu --quick)."""

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch", reason="the GPU check needs torch")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import gpu_check  # noqa: E402


def test_gpu_check_quick_on_cpu(tmp_path):
    out = tmp_path / "gpu.json"
    assert gpu_check.main(["--device", "cpu", "--quick", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    result = report["results"]["tiny/torch-frame-fp32"]
    assert result["single_stream_fps"] > 0 and result["batched_faces_per_s"] > 0 and result["batch"] == 4
    assert report["errors"] == {} and report["frame"] == [640, 480]
