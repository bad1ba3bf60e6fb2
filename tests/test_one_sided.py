"""The shipped model follows one side of the face without the other (model v4's purpose).

Held-out faces of the 300-W train folder (the refiner's and the joint stage's validation split,
never trained on) are changed on one side with the training warps' thin-plate functions: one
mouth corner lowered by 12 % of the inter-ocular distance (IOD), one upper lid lowered by half
the eye's opening. The shipped model aligns the original and the changed photo from the same
box; the moved points must follow, the mirrored points on the other side must stay.
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy", reason="the thin-plate warps need scipy")

# v4 on the 86 validation faces (benchmarks/asymmetry_response.py --warp tps, MODEL_CARD.md):
# mouth 0.62 at 12 % IOD, eyelid 0.45-0.64; v3 followed 0.28 and 0.0-0.03. The bounds sit between
# the two models; medians over eight faces (one face can misread a 2-3 px lid move); the leak
# bound is the target.
MIN_RESPONSE = {"mouth": 0.45, "eyelid": 0.35}
MAX_LEAK = 0.1


@pytest.fixture(scope="module")
def faces(shared_dir):
    from parface_sdk.image import load_image
    from parface_sdk.landmark_files import read_pts
    from parface_training.data.largepose import is_validation

    folder = shared_dir / "data" / "300w-subset" / "train"
    images = sorted(p for p in folder.rglob("*.jpg") if is_validation(p, 0.05))[:8]
    assert len(images) == 8, "the validation split of 300-W train should hold at least 8 faces"
    out = []
    for path in images:
        xy = read_pts(path.with_suffix(".pts"))
        out.append((load_image(path), np.column_stack([xy, np.zeros(len(xy))]).astype(np.float32)))
    return out


@pytest.fixture(scope="module")
def aligner():
    from parface_sdk import Aligner

    with Aligner() as aligner:
        yield aligner


def _response(aligner, image, truth, warped, moved_truth, moved, mirrored):
    from parface_sdk.face_regions import down_direction
    from parface_sdk.geometry import landmark_box

    box = [landmark_box(truth)]
    before = aligner.align(image, boxes=box, color="RGB").faces[0].landmarks[:, :2]
    after = aligner.align(warped, boxes=box, color="RGB").faces[0].landmarks[:, :2]
    down = down_direction(truth[:, :2])
    applied = float(((moved_truth[moved, :2] - truth[moved, :2]) @ down).mean())
    if applied <= 2.0:
        return None  # the warp would have folded the image (a nearly shut eye) and was not applied
    delta = (after - before) @ down
    return float(delta[moved].mean() / applied), float(delta[mirrored].mean() / applied)


@pytest.mark.parametrize("side", ["right", "left"])
def test_one_mouth_corner_moves_alone(faces, aligner, side):
    from parface_sdk.face_regions import down_direction
    from parface_training.data.augment import expression_warp

    moved, mirrored = ([48], [54]) if side == "right" else ([54], [48])
    responses, leaks = [], []
    for image, truth in faces:
        shift = 0.12 * down_direction(truth[:, :2])
        warped, moved_truth = expression_warp(
            image, truth, None, region="mouth", sides=(side,), shifts=[shift]
        )
        measured = _response(aligner, image, truth, warped, moved_truth, moved, mirrored)
        if measured is not None:
            responses.append(measured[0])
            leaks.append(measured[1])
    assert len(responses) >= 6, "most faces should take the warp"
    assert np.median(responses) >= MIN_RESPONSE["mouth"], responses
    assert abs(np.median(leaks)) <= MAX_LEAK, leaks


@pytest.mark.parametrize("side", ["right", "left"])
def test_one_eye_closes_alone(faces, aligner, side):
    from parface_training.data.augment import EYELIDS, eyelid_warp

    moved = list(EYELIDS[side][0])
    mirrored = list(EYELIDS["left" if side == "right" else "right"][0])
    responses, leaks = [], []
    for image, truth in faces:
        warped, moved_truth = eyelid_warp(image, truth, None, side=side, closure=0.5)
        measured = _response(aligner, image, truth, warped, moved_truth, moved, mirrored)
        if measured is not None:
            responses.append(measured[0])
            leaks.append(measured[1])
    assert len(responses) >= 6, "most faces should take the warp"
    assert np.median(responses) >= MIN_RESPONSE["eyelid"], responses
    assert abs(np.median(leaks)) <= MAX_LEAK, leaks
