"""Face detection: Detections, NMS, the registry and its "auto" choice, and the offline default."""

from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest

from parface_sdk import crop
from parface_sdk.detect import DETECTOR_NAMES, Detections, FaceDetector, create_detector, detector_for_file
from parface_sdk.detect.nms import box_iou, nms, weighted_nms
from parface_sdk.errors import DetectorUnavailableError, InvalidImageError, UnsupportedShapeError
from parface_sdk.geometry import read_pts

# -- Detections ---------------------------------------------------------------------------------


def test_detections_sorted_by_score_and_read_only():
    found = Detections([[0, 0, 1, 1], [5, 5, 9, 9]], [0.2, 0.9], np.zeros((2, 5, 2)))
    assert found.scores.tolist() == pytest.approx([0.9, 0.2])
    assert found.boxes[0].tolist() == [5, 5, 9, 9]
    assert found.boxes.dtype == np.float32 and found.keypoints.shape == (2, 5, 2)
    assert len(found.top(1)) == 1
    with pytest.raises(ValueError):
        found.boxes[0, 0] = 3.0


def test_detections_validate_shapes():
    with pytest.raises(UnsupportedShapeError):
        Detections(np.zeros((2, 4)), np.zeros(3))
    with pytest.raises(UnsupportedShapeError):
        Detections(np.zeros((2, 4)), np.zeros(2), np.zeros((2, 6, 2)))
    empty = Detections.empty(with_keypoints=True)
    assert len(empty) == 0 and empty.boxes.shape == (0, 4) and empty.keypoints.shape == (0, 5, 2)


# -- NMS ----------------------------------------------------------------------------------------


def test_box_iou_known_values():
    a = np.array([[0, 0, 10, 10]])
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 0, 0]])
    assert box_iou(a, b)[0].tolist() == pytest.approx([1.0, 50 / 150, 0.0, 0.0])


def test_nms_keeps_best_of_each_cluster():
    boxes = np.array(
        [
            [0, 0, 10, 10],
            [1, 1, 11, 11],
            [50, 50, 60, 60],  # two overlapping (IoU 0.68), one apart
            [51, 50, 61, 60],
            [0, 20, 10, 30],
        ],
        dtype=np.float32,
    )
    scores = np.array([0.6, 0.9, 0.3, 0.8, 0.1])
    keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [1, 3, 4]
    assert nms(boxes, scores, 0.5, max_output=2).tolist() == [1, 3]
    assert nms(boxes, scores, 0.99).tolist() == [1, 3, 0, 2, 4]
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0


def test_weighted_nms_blends_cluster():
    boxes = np.array([[0, 0, 10, 10], [2, 0, 12, 10], [40, 40, 50, 50]], dtype=np.float32)
    scores = np.array([0.75, 0.25, 0.5])
    points = np.arange(6, dtype=np.float32).reshape(3, 1, 2)
    out_boxes, out_scores, out_points = weighted_nms(boxes, scores, 0.3, points)
    assert out_scores.tolist() == pytest.approx([0.75, 0.5])
    assert out_boxes[0].tolist() == pytest.approx([0.5, 0, 10.5, 10])
    assert out_points[0, 0].tolist() == pytest.approx([0.75 * 0 + 0.25 * 2, 0.75 * 1 + 0.25 * 3])


# -- registry -----------------------------------------------------------------------------------


def test_importing_detect_is_cheap():
    code = "import sys, parface_sdk.detect; assert 'onnxruntime' not in sys.modules, 'onnxruntime imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_detector_names_the_choices():
    with pytest.raises(DetectorUnavailableError, match="blazeface"):
        create_detector("retinanet")


def test_yunet_without_model_says_what_to_pass():
    with pytest.raises(DetectorUnavailableError, match="detector_model"):
        create_detector("yunet")


def test_scrfd_without_pack_says_what_to_pass(tmp_path, monkeypatch):
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))
    with pytest.raises(DetectorUnavailableError, match="insightface"):
        create_detector("scrfd")


def test_cascade_unavailable_on_opencv5_names_fix():
    if hasattr(cv2, "CascadeClassifier") and hasattr(cv2, "data"):
        detector = create_detector("cascade")
        assert isinstance(detector, FaceDetector)
        return
    with pytest.raises(DetectorUnavailableError, match="opencv-python-headless<5"):
        create_detector("cascade")


def test_detector_for_file():
    assert detector_for_file("models/face_detection_yunet_2023mar.onnx") == "yunet"
    assert detector_for_file("~/.insightface/models/buffalo_l/det_10g.onnx") == "scrfd"
    assert detector_for_file("blazeface_back.onnx") == "blazeface"
    assert detector_for_file("haarcascade_frontalface_default.xml") == "cascade"


def test_auto_falls_back_to_offline_default(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))
    with caplog.at_level("INFO", logger="parface_sdk.detect"):
        detector = create_detector("auto")
    assert detector.name == "blazeface_dual"
    assert "offline default" in caplog.text
    assert isinstance(detector, FaceDetector)
    assert set(DETECTOR_NAMES) >= {"auto", "scrfd", "yunet", "blazeface", "cascade"}


def test_auto_prefers_scrfd_pack_in_insightface_folder(shared_dir, tmp_path, monkeypatch, caplog):
    pack = tmp_path / "models" / "buffalo_sc"
    pack.mkdir(parents=True)
    (pack / "det_500m.onnx").symlink_to(shared_dir / "models" / "scrfd_500m_bnkps.onnx")
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))
    with caplog.at_level("INFO", logger="parface_sdk.detect"):
        detector = create_detector("auto")
    assert detector.name == "scrfd" and detector.model_path.name == "det_500m.onnx"
    assert "SCRFD" in caplog.text


def test_auto_with_given_yunet_file(shared_dir):
    detector = create_detector("auto", model_path=shared_dir / "models" / "face_detection_yunet_2026may.onnx")
    assert detector.name == "yunet"


# -- the offline default on real images ----------------------------------------------------------


@pytest.fixture(scope="module")
def default_detector():
    detector = create_detector("blazeface", threads=1)
    yield detector
    detector.close()


def _gt_box(points: np.ndarray) -> np.ndarray:
    return crop.landmark_box(points)


def test_default_finds_aflw_faces(shared_dir, default_detector):
    scipy_io = pytest.importorskip("scipy.io", reason="scipy reads the AFLW .mat files")
    folder = shared_dir / "data" / "aflw2000-3d-subset"
    for stem in ("image00050", "image00181", "image02420"):  # frontal, 79 and 71 degree yaw
        image = cv2.cvtColor(cv2.imread(str(folder / f"{stem}.jpg")), cv2.COLOR_BGR2RGB)
        points = scipy_io.loadmat(folder / f"{stem}.mat")["pt3d_68"][:2].T
        found = default_detector.detect(image)
        assert len(found) >= 1, stem
        assert box_iou(found.boxes[:1], _gt_box(points)[None])[0, 0] > 0.5, stem
        assert found.scores[0] > 0.5


def test_default_finds_300w_faces_and_calibrated_crop_matches(shared_dir, default_detector):
    folder = shared_dir / "data" / "300w-subset" / "train"
    for path in sorted(folder.glob("afw_*.jpg"))[:4]:
        points = read_pts(path.with_suffix(".pts")).astype(np.float64)
        image = cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)
        found = default_detector.detect(image)
        gt = _gt_box(points)
        assert box_iou(found.boxes[:1], gt[None])[0, 0] > 0.5, path.name
        # The calibrated square should land close to the landmark (training) square.
        box = found.boxes[0].astype(np.float64)
        size = box[2:] - box[:2]
        centre = (box[:2] + box[2:]) / 2 + np.asarray(default_detector.center_shift) * size
        side = default_detector.box_to_landmark_scale * size.max()
        target_centre, target_side = (gt[:2] + gt[2:]) / 2, (gt[2:] - gt[:2]).max()
        squares = np.array(
            [
                [*(centre - side / 2), *(centre + side / 2)],
                [*(target_centre - target_side / 2), *(target_centre + target_side / 2)],
            ]
        )
        assert box_iou(squares[:1], squares[1:])[0, 0] > 0.7, path.name


@pytest.mark.parametrize("name", ["blazeface", "blazeface_short_range"])
def test_no_face_gives_empty_detections(name):
    detector = create_detector(name, threads=1)
    rng = np.random.default_rng(0)
    for image in (np.full((240, 320, 3), 128, np.uint8), rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)):
        found = detector.detect(image)
        assert len(found) == 0 and found.boxes.shape == (0, 4)


def test_detector_rejects_non_rgb_uint8(default_detector):
    with pytest.raises(InvalidImageError):
        default_detector.detect(np.zeros((100, 100), np.uint8))
    with pytest.raises(InvalidImageError):
        default_detector.detect(np.zeros((100, 100, 3), np.float32))


def test_default_finds_exactly_one_face_on_close_ups_and_each_face_of_a_tiled_image(
    shared_dir, tmp_path, monkeypatch
):
    """The offline default (blazeface_dual) on UTKFace face chips, where the back model alone adds
    half-face boxes or misses the face (benchmarks/detector_closeups.py: 200 chips, 99 % exactly
    one); and 2-3 chips side by side, every face found."""
    import cv2

    chips = sorted((shared_dir / "data" / "unlabeled-utkface" / "images").glob("*.jpg"))[::200][:20]
    if len(chips) < 10:
        pytest.skip("the UTKFace chips are not in this shared folder")
    monkeypatch.setenv("INSIGHTFACE_HOME", str(tmp_path))  # no SCRFD pack: the offline default
    detector = create_detector("auto", threads=1)
    assert detector.name == "blazeface_dual"
    back = create_detector("blazeface_back", threads=1)
    try:
        images = [cv2.imread(str(path))[:, :, ::-1].copy() for path in chips]
        counts = [len(detector.detect(image)) for image in images]
        assert sum(count == 1 for count in counts) >= 19, counts
        assert sum(len(back.detect(image)) != 1 for image in images) >= 4  # the problem it fixes
        for k in (2, 3):
            tiled = np.full((220, 20 + 220 * k, 3), 114, np.uint8)
            for slot in range(k):
                tiled[10:210, 10 + 220 * slot : 210 + 220 * slot] = images[slot]
            assert len(detector.detect(tiled)) == k
    finally:
        detector.close()
        back.close()
