"""The frame graph (crop inside the model) against the CPU crop path on real faces.

Tolerances, measured on the seeded tiny model and 8 faces of 300-W train:
- crops: the in-graph GridSample crop matches cv2.warpAffine's within 1 grey level of 255
  (measured 0.50: cv2 rounds its crop to uint8, GridSample stays in float);
- the in-graph map back to frame pixels, on the same crops: < 1e-3 px (float32 rounding);
- landmarks of the whole chain against the cv2 path: mean < 0.1 px in frame pixels (measured
  0.014 px). No max bound: the uint8 rounding of the cv2 crop is a real input change, and an
  untrained net's flat heatmaps let it flip arg-maxes (the report counts those near-ties).
"""

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the export extra (onnx) is not installed")
torch = pytest.importorskip("torch", reason="the export extra (torch) is not installed")

from parface_export.frame_graph import FrameGraph, frame_input  # noqa: E402
from parface_export.onnx_export import export_onnx, read_spec  # noqa: E402
from parface_export.parity import check_frame_parity, real_faces  # noqa: E402
from parface_sdk.backends.frame_onnxruntime import FrameOnnxRuntimeBackend  # noqa: E402
from parface_sdk.backends.onnxruntime import OnnxRuntimeBackend  # noqa: E402
from parface_sdk.decode import crop_to_image  # noqa: E402
from parface_sdk.errors import ModelLoadError, UnsupportedShapeError  # noqa: E402


@pytest.fixture(scope="module")
def frame_onnx(tiny_net, tmp_path_factory):
    return export_onnx(tiny_net, tmp_path_factory.mktemp("frame") / "tiny-frame.onnx", graph="frame")


@pytest.fixture(scope="module")
def faces(shared_dir, tiny_net):
    return real_faces(shared_dir / "data" / "300w-subset" / "train", tiny_net.spec, count=8)


def test_frame_graph_spec_and_inputs(frame_onnx, tiny_net):
    spec = read_spec(frame_onnx)
    assert spec.graph == "frame"
    assert spec.model_copy(update={"graph": "crop"}) == tiny_net.spec


def test_frame_graph_matches_the_cpu_crop_path(frame_onnx, tiny_net, faces):
    report = check_frame_parity(tiny_net, frame_onnx, faces)
    assert report.graph == "frame" and report.faces == 8
    assert report.max_landmark_diff_px < 1e-3  # the exported graph vs the same graph in PyTorch
    assert report.max_crop_diff <= 1.0 and report.passed
    assert report.cpu_path_mean_diff_px < 0.1


def test_in_graph_map_back_is_exact(frame_onnx, tiny_net, faces):
    graph = FrameGraph(tiny_net, return_crops=True).eval()
    backend = FrameOnnxRuntimeBackend(frame_onnx)
    for sample in faces[:4]:
        transforms = np.stack([sample.transform, sample.transform * [[1.1], [1.1]]])
        with torch.inference_mode():
            points, _, crops = graph(
                torch.from_numpy(frame_input(sample.image)), torch.from_numpy(transforms).float()
            )
            normalised = (crops - graph.mean) / graph.std
            crop_points, _ = tiny_net(normalised)
        expected = crop_to_image(crop_points.numpy(), transforms)
        assert np.abs(points.numpy() - expected).max() < 1e-3
        onnx_points, onnx_confidence = backend.run_frame(sample.image, transforms)
        assert onnx_points.shape == (2, 68, 3) and onnx_confidence.shape == (2, 68)
        assert np.abs(onnx_points - points.numpy()).max() < 1e-3


def test_backends_refuse_the_other_graph(frame_onnx, tiny_onnx):
    with pytest.raises(ModelLoadError, match="crop graph"):
        OnnxRuntimeBackend(frame_onnx)
    with pytest.raises(ModelLoadError, match="frame graph"):
        FrameOnnxRuntimeBackend(tiny_onnx)


def test_frame_backend_validates_its_inputs(frame_onnx):
    backend = FrameOnnxRuntimeBackend(frame_onnx)
    backend.warmup(2)
    with pytest.raises(UnsupportedShapeError, match="RGB"):
        backend.run_frame(np.zeros((32, 32), np.uint8), np.zeros((1, 2, 3)))
    with pytest.raises(UnsupportedShapeError, match=r"\(B, 2, 3\)"):
        backend.run_frame(np.zeros((32, 32, 3), np.uint8), np.zeros((0, 2, 3)))


def test_frame_export_leaves_the_network_in_eval_mode(tiny_net, tmp_path):
    from parface_export.onnx_export import export_onnx

    export_onnx(tiny_net, tmp_path / "frame.onnx", graph="frame")
    assert not any(module.training for module in tiny_net.modules())
