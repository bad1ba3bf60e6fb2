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


def test_video_smoothing_does_not_import_analysis():
    """The tracker's smoothing lives in parface_sdk.video; analysis imports it, never the other way."""
    for path in (REPO / "parface_sdk" / "video").rglob("*.py"):
        assert not any(m.startswith("parface_sdk.analysis") for m in _imports(path)), path.name


# thin_plate_maps / forward_points: one control point moves, the others and the image border stay.
TPS_SHAPE = (96, 128)
TPS_SOURCES = np.array([[60.0, 50.0], [30.0, 30.0], [90.0, 30.0], [30.0, 70.0], [90.0, 70.0]])
TPS_SHIFT = np.array([2.0, 6.0])  # the target stays on a pixel


def _tps_controls(duplicate: bool = False):
    height, width = TPS_SHAPE
    border = [(x, y) for x in (0, width / 2, width - 1) for y in (0, height / 2, height - 1)]
    sources = np.vstack([TPS_SOURCES, np.array([p for p in border if p != (width / 2, height / 2)])])
    if duplicate:  # annotations often repeat a point
        sources = np.vstack([sources, TPS_SOURCES[1:2]])
    targets = sources.copy()
    targets[0] += TPS_SHIFT
    return sources, targets


def _dot_centroid(image: np.ndarray, centre, radius: int = 6) -> np.ndarray:
    """Intensity-weighted centroid of ``image`` in a window around ``centre`` (x, y)."""
    x, y = np.round(centre).astype(int)
    window = image[y - radius : y + radius + 1, x - radius : x + radius + 1]
    ys, xs = np.mgrid[y - radius : y + radius + 1, x - radius : x + radius + 1]
    return np.array([(xs * window).sum(), (ys * window).sum()]) / window.sum()


def test_thin_plate_maps_carry_the_moved_point_and_keep_the_fixed_ones():
    pytest.importorskip("scipy")
    cv2 = pytest.importorskip("cv2")
    sources, targets = _tps_controls()
    xs, ys = geometry.thin_plate_maps(TPS_SHAPE, sources, targets)
    assert xs.shape == ys.shape == TPS_SHAPE and xs.dtype == ys.dtype == np.float32
    # A bright dot on every control point: after the warp the moved one is centred on its target,
    # the fixed ones have not moved.
    image = np.zeros(TPS_SHAPE, np.float32)
    for x, y in TPS_SOURCES.astype(int):
        cv2.circle(image, (int(x), int(y)), 2, 255.0, -1)
    warped = cv2.remap(image, xs, ys, cv2.INTER_LINEAR)
    assert np.linalg.norm(_dot_centroid(warped, targets[0]) - targets[0]) < 0.5
    assert np.linalg.norm(_dot_centroid(warped, targets[0]) - sources[0]) > 5.0
    for point in TPS_SOURCES[1:]:
        assert np.linalg.norm(_dot_centroid(warped, point) - point) < 0.3
    # The backward maps: the identity at the fixed control points (all on integer pixels) and
    # the image border, the way back to the source at the target.
    for x, y in sources[1:].astype(int):
        assert abs(xs[y, x] - x) < 0.3 and abs(ys[y, x] - y) < 0.3
    tx, ty = targets[0].astype(int)
    assert abs(xs[ty, tx] - sources[0, 0]) < 0.3 and abs(ys[ty, tx] - sources[0, 1]) < 0.3


def test_thin_plate_maps_accept_duplicate_control_points():
    pytest.importorskip("scipy")
    sources, targets = _tps_controls(duplicate=True)
    xs, ys = geometry.thin_plate_maps(TPS_SHAPE, sources, targets)
    reference = geometry.thin_plate_maps(TPS_SHAPE, *_tps_controls())
    assert np.isfinite(xs).all() and np.isfinite(ys).all()
    np.testing.assert_allclose(xs, reference[0], atol=1e-3)
    np.testing.assert_allclose(ys, reference[1], atol=1e-3)


def test_forward_points_send_control_points_to_their_targets():
    pytest.importorskip("scipy")
    pytest.importorskip("cv2")
    sources, targets = _tps_controls()
    maps = geometry.thin_plate_maps(TPS_SHAPE, sources, targets)
    landed = geometry.forward_points(sources, maps)
    assert landed.shape == sources.shape
    np.testing.assert_allclose(landed, targets, atol=0.3)
    assert np.linalg.norm(landed[0] - sources[0]) > 6.0  # the moved point did move
    # A point between the moved one and a fixed one follows part of the way.
    between = geometry.forward_points(np.array([[45.0, 40.0]]), maps)[0] - [45.0, 40.0]
    assert 0.05 < (between @ TPS_SHIFT) / (TPS_SHIFT @ TPS_SHIFT) < 1.0


def test_folds_detects_a_folding_map():
    from parface_sdk.geometry import folds

    ys, xs = np.mgrid[0:40, 0:40].astype(np.float32)
    assert not folds((xs, ys))
    assert not folds((xs * 0.5, ys))  # halving: Jacobian 0.5, above the default 0.2
    mirrored = xs.copy()
    mirrored[:, 20:] = 40 - xs[:, 20:]  # the right half turns back on itself
    assert folds((mirrored, ys))
