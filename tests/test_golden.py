"""Golden outputs of the shipped default model: image -> landmarks, with a given box and with the
detector, on the bundled astronaut photo and one shared 300-W train face.

The expected values live in tests/golden/*.json, written by tests/golden/make_golden.py. A runtime
change must keep these passing unchanged; regenerate them only when the shipped model changes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from parface_sdk import Aligner, AlignerOptions

GOLDEN = Path(__file__).resolve().parent / "golden"
REPO = GOLDEN.parents[1]

# Tolerances per quantity. x, y and z are image pixels; a drift of a few hundredths of a pixel is
# float reordering (threads, CPU instruction sets), anything larger is a pipeline change.
XY_TOL_PX = 0.05
Z_TOL_PX = 0.1
CONFIDENCE_TOL = 2e-3
BOX_TOL_PX = 0.05
SCORE_TOL = 2e-3


def _golden(name: str) -> dict:
    return json.loads((GOLDEN / f"{name}.json").read_text())


def _image(golden: dict, shared: Path | None) -> Path:
    root = REPO if golden["root"] == "repo" else shared
    return root / golden["image"]


def _check(golden: dict, image: Path) -> None:
    from parface_sdk.models import default_model_path, sha256_of

    if sha256_of(default_model_path()) != golden["model_sha256"]:
        pytest.fail(
            "the shipped model changed since the golden files were written: rerun "
            "`python tests/golden/make_golden.py` (only for a new model) and commit them"
        )
    for case, expected in golden["cases"].items():
        options = AlignerOptions(recrop=expected["refine"], threads=1)  # the files keep the old key
        with Aligner(None, options) as aligner:
            boxes = None if expected["detector"] else [golden["given_box"]]
            faces = aligner.align(image, boxes=boxes).faces
        assert len(faces) == len(expected["faces"]), case
        for face, want in zip(faces, expected["faces"]):
            points = np.asarray(want["landmarks"])
            xy_error = np.abs(face.landmarks[:, :2] - points[:, :2]).max()
            z_error = np.abs(face.landmarks[:, 2] - points[:, 2]).max()
            assert xy_error < XY_TOL_PX, f"{case}: x, y moved by {xy_error:.4f} px"
            assert z_error < Z_TOL_PX, f"{case}: z moved by {z_error:.4f} px"
            np.testing.assert_allclose(face.confidence, want["confidence"], atol=CONFIDENCE_TOL, err_msg=case)
            np.testing.assert_allclose(face.box, want["box"], atol=BOX_TOL_PX, err_msg=case)
            assert abs(face.score - want["score"]) < SCORE_TOL, case


def test_golden_astronaut():
    golden = _golden("astronaut")
    _check(golden, _image(golden, None))


def test_golden_shared_face(shared_dir):
    golden = _golden("shared_afw")
    image = _image(golden, shared_dir)
    if not image.is_file():
        pytest.skip(f"{image} is not in this shared folder")
    _check(golden, image)


def test_golden_files_pin_real_faces():
    """The golden files hold one plausible face per case (guards against regenerating junk)."""
    for name in ("astronaut", "shared_afw"):
        for case, expected in _golden(name)["cases"].items():
            assert len(expected["faces"]) == 1, (name, case)
            points = np.asarray(expected["faces"][0]["landmarks"])
            assert points.shape == (68, 3)
            inter_ocular = np.linalg.norm(points[36:42, :2].mean(0) - points[42:48, :2].mean(0))
            assert inter_ocular > 20, (name, case)
