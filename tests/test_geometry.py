"""The shared helpers live in one module, and nothing else redefines them."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from parface_sdk import geometry

REPO = Path(__file__).resolve().parents[1]
SOURCE_DIRS = ("parface_sdk", "training", "export", "benchmarks", "examples")
SHARED_NAMES = {"IMAGE_SUFFIXES", "read_pts", "sha256_of", "_iou", "box_iou", "landmark_box", "_landmark_box"}
# Where a name may be defined: geometry itself, the .pts reader, and the vectorised IoU matrix for NMS.
ALLOWED = {
    ("parface_sdk/geometry.py", "IMAGE_SUFFIXES"),
    ("parface_sdk/geometry.py", "box_iou"),
    ("parface_sdk/geometry.py", "landmark_box"),
    ("parface_sdk/geometry.py", "sha256_of"),
    ("parface_sdk/landmark_files.py", "read_pts"),
    ("parface_sdk/detect/nms.py", "box_iou"),
}


def _definitions(path: Path):
    tree = ast.parse(path.read_text())
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            yield node.name
        elif isinstance(node, ast.Assign):
            yield from (t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id


def test_shared_helpers_are_defined_once():
    found = set()
    for folder in SOURCE_DIRS:
        for path in (REPO / folder).rglob("*.py"):
            relative = path.relative_to(REPO).as_posix()
            found |= {(relative, name) for name in _definitions(path) if name in SHARED_NAMES}
    assert found - ALLOWED == set()


def test_image_suffixes_are_ordered_and_complete():
    assert geometry.IMAGE_SUFFIXES[0] == ".jpg"
    assert {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"} == set(geometry.IMAGE_SUFFIXES)
    assert geometry.is_image_file("A.JPG") and not geometry.is_image_file("a.pts")


def test_box_helpers():
    points = np.array([[1.0, 2.0, 9.0], [5.0, -1.0, 0.0], [3.0, 4.0, 1.0]])
    np.testing.assert_array_equal(geometry.landmark_box(points), [1, -1, 5, 4])
    assert geometry.box_iou(np.array([0, 0, 10, 10]), np.array([5, 0, 15, 10])) == pytest.approx(1 / 3)
    assert geometry.box_iou(np.array([0, 0, 1, 1]), np.array([2, 2, 3, 3])) == 0.0
    np.testing.assert_array_equal(geometry.square_box(np.array([5.0, 5.0]), 4.0), [3, 3, 7, 7])


def test_sha256_of_matches_hashlib(tmp_path):
    import hashlib

    path = tmp_path / "blob"
    path.write_bytes(b"x" * 3_000_000)
    assert geometry.sha256_of(path) == hashlib.sha256(b"x" * 3_000_000).hexdigest()


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_no_smoothing_analysis_import_cycle():
    """parface_sdk.smoothing imports the analysis package, so nothing in analysis imports it back."""
    for path in (REPO / "parface_sdk" / "analysis").rglob("*.py"):
        assert "parface_sdk.smoothing" not in _imports(path), path.name
    from parface_sdk import smoothing
    from parface_sdk.analysis import smoothing as implementation

    assert smoothing.LandmarkSmoother is implementation.LandmarkSmoother
