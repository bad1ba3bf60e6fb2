"""SCRFD and YuNet on the shared model files; SCRFD boxes must match insightface's own decoder."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from parface_sdk.detect import create_detector
from parface_sdk.detect.nms import box_iou
from parface_sdk.detect.scrfd import SCRFDDetector
from parface_sdk.errors import ModelLoadError

AFLW_STEMS = ("image00050", "image00181", "image02420")


@pytest.fixture(scope="module")
def scrfd_path(shared_dir):
    path = shared_dir / "models" / "scrfd_500m_bnkps.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


@pytest.fixture(scope="module")
def yunet_path(shared_dir):
    path = shared_dir / "models" / "face_detection_yunet_2026may.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    return path


def _aflw(shared_dir, stem):
    scipy_io = pytest.importorskip("scipy.io", reason="scipy reads the AFLW .mat files")
    folder = shared_dir / "data" / "aflw2000-3d-subset"
    bgr = cv2.imread(str(folder / f"{stem}.jpg"))
    points = scipy_io.loadmat(folder / f"{stem}.mat")["pt3d_68"][:2].T
    return bgr, np.array([*points.min(axis=0), *points.max(axis=0)])


def test_scrfd_finds_aflw_face(shared_dir, scrfd_path):
    detector = create_detector("scrfd", model_path=scrfd_path, threads=1)
    bgr, gt = _aflw(shared_dir, "image00050")
    found = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert len(found) == 1 and found.keypoints.shape == (1, 5, 2)
    assert box_iou(found.boxes, gt[None])[0, 0] > 0.5
    left_eye, right_eye = found.keypoints[0, 0], found.keypoints[0, 1]
    assert left_eye[0] < right_eye[0]  # eye on the image left first
    assert detector.input_size == (640, 640)  # fixed-size model read from the session


def test_scrfd_matches_insightface(shared_dir, scrfd_path):
    insightface = pytest.importorskip("insightface", reason="insightface is not installed")
    reference = insightface.model_zoo.get_model(str(scrfd_path), providers=["CPUExecutionProvider"])
    reference.prepare(ctx_id=-1, input_size=(640, 640))
    ours = SCRFDDetector(scrfd_path, threads=1)
    for stem in AFLW_STEMS:
        bgr, _ = _aflw(shared_dir, stem)
        expected, expected_kps = reference.detect(bgr)
        found = ours.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        assert len(found) == len(expected) >= 1, stem
        order = np.argsort(-expected[:, 4], kind="stable")
        assert np.abs(found.boxes - expected[order, :4]).max() < 1.0, stem
        assert np.abs(found.scores - expected[order, 4]).max() < 1e-4, stem
        assert np.abs(found.keypoints - expected_kps[order]).max() < 1.0, stem


def test_scrfd_rejects_other_onnx(tmp_path):
    from parface_sdk.detect.blazeface import WEIGHTS_DIR

    with pytest.raises(ModelLoadError, match="outputs"):
        SCRFDDetector(WEIGHTS_DIR / "blazeface_back.onnx")


def test_yunet_finds_aflw_faces(shared_dir, yunet_path):
    detector = create_detector("yunet", model_path=yunet_path)
    for stem in AFLW_STEMS:
        bgr, gt = _aflw(shared_dir, stem)
        found = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        assert len(found) >= 1 and found.keypoints.shape[1:] == (5, 2), stem
        assert box_iou(found.boxes, gt[None]).max() > 0.5, stem
    blank = detector.detect(np.full((200, 300, 3), 90, np.uint8))
    assert len(blank) == 0


def test_scrfd_dynamic_input_uses_requested_size(shared_dir, scrfd_path, tmp_path):
    onnx = pytest.importorskip("onnx", reason="onnx is not installed")
    model = onnx.load(str(scrfd_path))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    for output in model.graph.output:
        for dim in output.type.tensor_type.shape.dim:
            dim.dim_param = "n"
    del model.graph.value_info[:]
    dynamic = tmp_path / "det_dynamic.onnx"
    onnx.save(model, str(dynamic))

    detector = SCRFDDetector(dynamic, input_size=640, threads=1)
    assert detector.input_size == (640, 640)
    bgr, _ = _aflw(shared_dir, "image00050")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    expected = SCRFDDetector(scrfd_path, threads=1).detect(rgb)
    assert np.abs(detector.detect(rgb).boxes - expected.boxes).max() < 1e-3
