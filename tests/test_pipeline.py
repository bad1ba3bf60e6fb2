"""The one pipeline (FaceBatch and its stages) and the one backend protocol (``infer``)."""

import shutil
from pathlib import Path

import numpy as np
import pytest

from parface_sdk import Aligner, pipeline
from parface_sdk.backends import create_backend, resolve
from parface_sdk.errors import UnsupportedShapeError
from parface_sdk.image import load_image

ASTRONAUT = Path(__file__).resolve().parents[1] / "examples" / "data" / "astronaut.jpg"
BOX = [176.0, 83.0, 270.0, 180.0]


def test_face_batch_is_validated_and_read_only(tiny_net):
    batch = pipeline.faces_from_boxes([[BOX], [], [BOX, [0, 0, 50, 60]]], tiny_net.spec)
    assert len(batch) == 3 and batch.image_index.tolist() == [0, 2, 2]
    assert batch.transforms.shape == (3, 2, 3) and batch.scores.tolist() == [1.0, 1.0, 1.0]
    with pytest.raises(ValueError):
        batch.boxes[0, 0] = 1.0
    assert batch.take([1, 1, 1]).image_index.tolist() == [2, 2, 2]
    assert len(pipeline.FaceBatch.concat([batch, pipeline.FaceBatch.empty()])) == 3
    with pytest.raises(UnsupportedShapeError, match="transforms"):
        pipeline.FaceBatch(np.zeros((1, 4)), np.ones(1), np.zeros((2, 2, 3)), np.zeros(1))
    with pytest.raises(UnsupportedShapeError, match="NaN"):
        pipeline.faces_from_landmarks([[np.full((68, 2), np.nan)]], tiny_net.spec)


def test_infer_batches_faces_of_many_images(tiny_onnx):
    """Faces of several images in odd chunks give what each face gives alone."""
    backend = create_backend(tiny_onnx)
    image = load_image(ASTRONAUT)
    images = [image, image[:, ::-1].copy()]
    batch = pipeline.faces_from_boxes(
        [[BOX, [150, 60, 300, 210]], [BOX, BOX, [100, 100, 200, 220]]], backend.spec
    )
    timings: dict[str, float] = {}
    landmarks, confidence = pipeline.infer(backend, images, batch, batch_size=2, timings=timings)
    assert landmarks.shape == (5, 68, 3) and confidence.shape == (5, 68)
    assert set(timings) == {"crop", "network", "decode"} and all(v > 0 for v in timings.values())
    for index in range(5):
        single, _ = pipeline.infer(backend, images, batch.take([index]))
        np.testing.assert_allclose(single[0], landmarks[index], atol=1e-3)
    empty, _ = pipeline.infer(backend, images, pipeline.FaceBatch.empty())
    assert empty.shape == (0, 68, 3)


def test_aligner_runs_the_pipeline_stages(tiny_onnx):
    """align() equals the stages run by hand: boxes -> infer -> recrop -> infer -> results."""
    with Aligner.from_pretrained(tiny_onnx, recrop=True) as aligner:
        result = aligner.align(ASTRONAUT, boxes=[BOX])
        image = load_image(ASTRONAUT)
        batch = pipeline.faces_from_boxes([[BOX]], aligner.spec)
        first, _ = pipeline.infer(aligner.backend, [image], batch)
        second, confidence = pipeline.infer(
            aligner.backend, [image], pipeline.recropped(batch, first, aligner.spec)
        )
    np.testing.assert_allclose(result.faces[0].landmarks, second[0], atol=1e-4)
    np.testing.assert_allclose(result.faces[0].confidence, confidence[0], atol=1e-6)


@pytest.fixture(scope="module")
def frame_onnx(tiny_net, tmp_path_factory):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    from parface_export.onnx_export import export_onnx

    return export_onnx(tiny_net, tmp_path_factory.mktemp("frame") / "tiny-frame.onnx", graph="frame")


def test_frame_graph_runs_through_the_aligner(frame_onnx, tiny_onnx):
    """A frame-graph ONNX is picked by its spec and agrees with the crop graph (cv2 crop path)."""
    with Aligner.from_pretrained(frame_onnx, recrop=False) as frame_aligner:
        assert frame_aligner.backend.name == "onnxruntime" and frame_aligner.spec.graph == "frame"
        frame = frame_aligner.align(ASTRONAUT, boxes=[BOX, [150, 60, 300, 210]])
    with Aligner.from_pretrained(tiny_onnx, recrop=False) as crop_aligner:
        crop = crop_aligner.align(ASTRONAUT, boxes=[BOX, [150, 60, 300, 210]])
    assert len(frame.faces) == 2
    for a, b in zip(frame.faces, crop.faces):
        # The cv2 crop rounds to uint8, GridSample does not, and a seeded net's flat heatmaps
        # let a few arg-maxes flip (tests/export/test_export_frame.py): compare the typical landmark.
        assert np.median(np.abs(a.landmarks - b.landmarks)) < 0.05
        np.testing.assert_allclose(a.transform, b.transform)


def test_runtime_is_read_from_the_file_not_the_suffix(tiny_onnx, frame_onnx, tmp_path):
    renamed = tmp_path / "model.bin"
    shutil.copy(tiny_onnx, renamed)
    assert create_backend(renamed).name == "onnxruntime"
    assert create_backend(frame_onnx).name == "onnxruntime"  # the registry name; the spec says frame
    assert create_backend(frame_onnx).spec.graph == "frame"


def test_device_and_backend_have_one_meaning_each():
    assert resolve("auto", "cpu") == ("auto", "cpu")
    assert resolve("auto", "tensorrt") == ("onnxruntime-tensorrt", "cuda")  # the old spelling
    with pytest.raises(ValueError, match="device"):
        resolve("auto", "gpu")
    with pytest.raises(ValueError, match="backend"):
        resolve("onnx", "cpu")
    with pytest.raises(ValueError, match="device='cuda'"):
        resolve("onnxruntime-tensorrt", "cpu")
