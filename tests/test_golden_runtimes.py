"""Golden outputs of the torch backend, the frame graphs and the tracker on the shipped model.

The expected values live in tests/golden/runtimes.json, written by
tests/golden/make_golden_runtimes.py from the code before the package layout moved. A runtime
change must keep these passing unchanged; regenerate them only when the shipped model changes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
import make_golden_runtimes as maker  # noqa: E402

XY_TOL_PX = 0.05
Z_TOL_PX = 0.1
CONFIDENCE_TOL = 2e-3
BOX_TOL_PX = 0.05


@pytest.fixture(scope="module")
def golden() -> dict:
    payload = json.loads((GOLDEN / "runtimes.json").read_text())
    from parface_sdk.models import default_model_path, sha256_of

    if sha256_of(default_model_path()) != payload["model_sha256"]:
        pytest.fail("the shipped model changed: rerun tests/golden/make_golden_runtimes.py (only then)")
    return payload


def _close(got: dict, want: dict, case: str) -> None:
    points, expected = np.asarray(got["landmarks"]), np.asarray(want["landmarks"])
    xy_error = np.abs(points[:, :2] - expected[:, :2]).max()
    z_error = np.abs(points[:, 2] - expected[:, 2]).max()
    assert xy_error < XY_TOL_PX, f"{case}: x, y moved by {xy_error:.4f} px"
    assert z_error < Z_TOL_PX, f"{case}: z moved by {z_error:.4f} px"
    np.testing.assert_allclose(got["confidence"], want["confidence"], atol=CONFIDENCE_TOL, err_msg=case)
    np.testing.assert_allclose(got["box"], want["box"], atol=BOX_TOL_PX, err_msg=case)


def _check_faces(got: list[dict], want: list[dict], case: str) -> None:
    assert len(got) == len(want) == 1, case
    _close(got[0], want[0], case)


@pytest.mark.parametrize(
    ("case", "backend", "recrop"), [("torch", "torch", False), ("torch_recrop", "torch", True)]
)
def test_golden_torch_backend(golden, case, backend, recrop):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    _check_faces(maker.run_backend(None, backend, recrop), golden["cases"][case], case)


def test_golden_torch_frame_backend(golden):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    _check_faces(maker.run_backend(None, "torch-frame", True), golden["cases"]["torch_frame"], "torch_frame")


def test_golden_onnx_frame_graph(golden, tmp_path):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    pytest.importorskip("torch", reason="the export extra is not installed")
    frame_onnx = maker.export_frame_graph(tmp_path)
    _check_faces(
        maker.run_backend(frame_onnx, "onnxruntime", True), golden["cases"]["onnx_frame"], "onnx_frame"
    )


def test_golden_tracker(golden):
    got, want = maker.run_tracker(), golden["tracker"]
    assert len(got) == len(want) == len(maker.CLIP_SHIFTS)
    for index, (frame, expected) in enumerate(zip(got, want)):
        case = f"tracker frame {index}"
        assert frame["detected"] == expected["detected"], case
        assert (frame["face"] is None) == (expected["face"] is None), case
        if expected["face"] is not None:
            _close(frame["face"], expected["face"], case)
            smoothed = np.abs(np.asarray(frame["landmarks"]) - np.asarray(expected["landmarks"])).max()
            assert smoothed < Z_TOL_PX, f"{case}: smoothed landmarks moved by {smoothed:.4f} px"


def test_golden_runtimes_pin_real_faces(golden):
    for case, faces in golden["cases"].items():
        points = np.asarray(faces[0]["landmarks"])
        inter_ocular = np.linalg.norm(points[36:42, :2].mean(0) - points[42:48, :2].mean(0))
        assert points.shape == (68, 3) and inter_ocular > 20, case
    assert sum(frame["face"] is not None for frame in golden["tracker"]) == len(golden["tracker"])
