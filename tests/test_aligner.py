import json

import numpy as np
import pytest
from pydantic import ValidationError

from parface_sdk import Aligner, AlignerOptions, AlignResult
from parface_sdk.errors import ModelNotFoundError, UnsupportedShapeError


@pytest.fixture()
def aligner(tiny_onnx):
    with Aligner.from_pretrained(tiny_onnx) as instance:
        yield instance


def test_given_boxes_skip_detection(aligner, aflw_sample):
    image, truth = aflw_sample
    box = [*truth[:, :2].min(0), *truth[:, :2].max(0)]
    result = aligner.align(image, boxes=[box])
    assert isinstance(result, AlignResult) and len(result.faces) == 1
    face = result.faces[0]
    assert face.landmarks.shape == (68, 3) and face.landmarks.dtype == np.float32
    assert face.confidence.shape == (68,) and face.transform.shape == (2, 3)
    assert aligner._detector is None  # no detector was created
    np.testing.assert_allclose(face.box, box, atol=1e-3)  # a given box comes back unchanged


def test_landmarks_land_on_the_face_in_image_pixels(aflw_sample):
    """The shipped model on a real face: the landmarks are in image pixels, on the annotated points.

    (The seeded tiny model cannot show this: its landmarks stay inside the crop whatever the map
    back does.) Measured: mean error 1.5 % of the box diagonal; a wrong map back (crop pixels,
    a flipped axis, the wrong scale) is off by tens of percent.
    """
    image, truth = aflw_sample
    box = [*truth[:, :2].min(0), *truth[:, :2].max(0)]
    with Aligner(None, AlignerOptions(threads=1)) as shipped:
        face = shipped.align(image, boxes=[box]).faces[0]
    diagonal = np.hypot(box[2] - box[0], box[3] - box[1])
    errors = np.linalg.norm(face.landmarks[:, :2] - truth[:, :2], axis=1) / diagonal
    assert errors.mean() < 0.05 and errors.max() < 0.15, (errors.mean(), errors.max())


def test_color_orders_give_the_same_result(aligner, aflw_sample):
    import cv2

    image, truth = aflw_sample
    bgr = cv2.imread(str(image))
    box = [[*truth[:, :2].min(0), *truth[:, :2].max(0)]]
    reference = aligner.align(bgr, boxes=box, color="BGR").faces[0].landmarks
    rgb = aligner.align(bgr[:, :, ::-1], boxes=box, color="RGB").faces[0].landmarks
    rgba = aligner.align(np.dstack([bgr, np.full(bgr.shape[:2], 255, np.uint8)]), boxes=box, color="bgr")
    np.testing.assert_allclose(reference, rgb, atol=1e-4)
    np.testing.assert_allclose(reference, rgba.faces[0].landmarks, atol=1e-4)
    gray = aligner.align(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), boxes=box)
    assert gray.faces[0].landmarks.shape == (68, 3)


def test_batch_equals_single(aligner, aflw_sample):
    image, truth = aflw_sample
    box = [*truth[:, :2].min(0), *truth[:, :2].max(0)]
    single = aligner.align(image, boxes=[box])
    batch = aligner.align_batch([image, image], boxes=[[box], [box, box]])
    assert [len(r.faces) for r in batch] == [1, 2]
    for face in (batch[0].faces[0], batch[1].faces[1]):
        np.testing.assert_allclose(face.landmarks, single.faces[0].landmarks, atol=1e-3)


def test_empty_boxes_give_empty_result(aligner, aflw_sample):
    result = aligner.align(aflw_sample[0], boxes=[])
    assert result.faces == [] and result.image_width == 450
    assert json.loads(result.to_json())["faces"] == []


def test_align_from_landmarks_and_json(aligner, aflw_sample):
    image, truth = aflw_sample
    result = aligner.align_from_landmarks(image, [truth])
    data = json.loads(result.to_json())
    assert np.array(data["faces"][0]["landmarks"]).shape == (68, 3)
    with pytest.raises(UnsupportedShapeError):
        aligner.align_from_landmarks(image, [np.zeros((68,))])


def test_results_are_validated():
    from parface_sdk.results import Face

    with pytest.raises(ValidationError):
        Face(
            landmarks=np.zeros((68, 2)),
            confidence=np.zeros(68),
            box=np.zeros(4),
            score=1.0,
            transform=np.zeros((2, 3)),
        )
    face = Face(
        landmarks=np.zeros((68, 3)),
        confidence=np.zeros(68),
        box=np.zeros(4),
        score=1.0,
        transform=np.zeros((2, 3)),
    )
    with pytest.raises(ValueError):
        face.landmarks[0, 0] = 1.0  # results are read-only


def test_options_are_frozen_and_strict():
    from parface_sdk.errors import InvalidOptionError, ParfaceError

    options = AlignerOptions()
    with pytest.raises(InvalidOptionError) as raised:
        AlignerOptions(not_an_option=1)
    assert isinstance(raised.value, ParfaceError) and isinstance(raised.value, ValueError)
    assert "not_an_option" in str(raised.value)
    with pytest.raises(ValidationError):
        options.batch_size = 3


def test_without_a_default_model_the_error_says_how_to_get_one(monkeypatch, tmp_path):
    import parface_sdk.models as models

    monkeypatch.setattr(models, "MANIFEST", tmp_path / "missing.json")
    with pytest.raises(ModelNotFoundError, match="from_pretrained"):
        Aligner()


def test_importing_the_package_is_cheap():
    import subprocess
    import sys

    code = (
        "import sys, parface_sdk; "
        "print(sorted(m for m in ('torch', 'onnxruntime', 'cv2', 'tensorrt') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_image_without_a_face_gives_an_empty_result(aligner):
    blank = np.full((240, 320, 3), 127, np.uint8)
    result = aligner.align(blank, color="RGB")
    assert result.faces == [] and (result.image_width, result.image_height) == (320, 240)


def test_detector_path_finds_the_face(aligner, aflw_sample):
    image, truth = aflw_sample
    result = aligner.align(image)
    assert len(result.faces) == 1
    x0, y0, x1, y1 = result.faces[0].box
    centre = truth[:, :2].mean(0)
    assert x0 < centre[0] < x1 and y0 < centre[1] < y1
    assert aligner.detector.name.startswith(("blazeface", "scrfd"))


@pytest.mark.parametrize("bad", [[[1, 2, 3]], [["a", 1, 2, 3]], np.zeros((2, 5)), [[0, 0, 10, np.nan]]])
def test_malformed_boxes_are_typed_errors(aligner, bad):
    with pytest.raises(UnsupportedShapeError):
        aligner.align(np.zeros((100, 100, 3), np.uint8), boxes=bad, color="RGB")


def test_face_box_round_trips_through_boxes(aligner, aflw_sample):
    """face.box is a landmark box, the convention of boxes=: passing it back gives the same crop."""
    detected = aligner.align(aflw_sample[0])
    assert len(detected.faces) == 1
    face = detected.faces[0]
    again = aligner.align(aflw_sample[0], boxes=[face.box]).faces[0]
    np.testing.assert_allclose(again.landmarks[:, :2], face.landmarks[:, :2], atol=1.0)
    np.testing.assert_allclose(again.transform, face.transform, atol=1e-3)


@pytest.mark.parametrize("box", [[500, 10, 600, 90], [-90, -90, -10, -10], [10, 300, 90, 400]])
def test_box_outside_the_image_is_a_typed_error(aligner, box):
    from parface_sdk.errors import BoxOutsideImageError

    image = np.zeros((240, 320, 3), np.uint8)
    with pytest.raises(BoxOutsideImageError, match="outside the 320x240 image"):
        aligner.align(image, boxes=[box], color="RGB")
    # A box that only partly leaves the image is a face at the border: it is aligned.
    assert len(aligner.align(image, boxes=[[300, 200, 400, 300]], color="RGB").faces) == 1


def test_colour_array_without_order_is_a_typed_error(aligner):
    from parface_sdk.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="color="):
        aligner.align(np.zeros((64, 64, 3), np.uint8), boxes=[[8, 8, 56, 56]])


def test_use_after_close_is_a_typed_error(tiny_onnx):
    from parface_sdk.errors import AlignerClosedError

    with Aligner.from_pretrained(tiny_onnx) as closed:
        pass
    image = np.zeros((64, 64, 3), np.uint8)
    with pytest.raises(AlignerClosedError, match="closed"):
        closed.align(image, boxes=[[8, 8, 56, 56]], color="RGB")
    with pytest.raises(AlignerClosedError):
        closed.align_from_landmarks(image, [np.array([[10.0, 10.0], [50.0, 50.0]])], color="RGB")
    closed.close()  # closing twice is fine
