"""Landmark file readers: .pts (1-based on disk), AFLW2000-3D .mat, CSV/JSON manifests."""

from __future__ import annotations

import json

import numpy as np
import pytest

from parface_sdk.landmark_files import read_aflw_mat, read_manifest, read_pts


def test_read_pts_is_zero_based(shared_dir):
    points = read_pts(shared_dir / "data/300w-subset/train/afw_1051618982_1.pts")
    assert points.shape == (68, 2) and points.dtype == np.float32
    # The file's first two points are "123.882936 153.503257" and "125.118073 180.885205" (1-based).
    np.testing.assert_allclose(points[:2], [[122.882936, 152.503257], [124.118073, 179.885205]], atol=1e-4)


def test_read_pts_headerless_and_bad_count(tmp_path):
    (tmp_path / "a.pts").write_text("1 2\n3 4\n")
    np.testing.assert_allclose(read_pts(tmp_path / "a.pts"), [[0, 1], [2, 3]])
    (tmp_path / "b.pts").write_text("version: 1\nn_points: 3\n{\n1 2\n}\n")
    with pytest.raises(ValueError, match="3 points"):
        read_pts(tmp_path / "b.pts")


def test_read_aflw_mat(shared_dir):
    pytest.importorskip("scipy")
    data = read_aflw_mat(shared_dir / "data/aflw2000-3d-subset/image00050.mat")
    points = data["pt3d_68"]
    assert points.shape == (68, 3) and points.dtype == np.float32
    np.testing.assert_allclose(points[30], [224.73743, 269.69458, 80.59818], atol=1e-4)
    assert data["pose_para"].shape == (7,) and data["pt2d"].shape == (21, 2)
    # +z towards the camera: the nose tip is in front of both jaw ends.
    assert points[30, 2] > points[0, 2] + 100 and points[30, 2] > points[16, 2] + 100
    reconstructed = read_aflw_mat(shared_dir / "data/aflw2000-3d-subset/image00181.mat")
    assert "pose_para" not in reconstructed and reconstructed["pt3d_68"].shape == (68, 3)


def test_read_manifest_csv_json(tmp_path):
    (tmp_path / "f.pts").write_text("version: 1\nn_points: 2\n{\n11 21\n31 41\n}\n")
    (tmp_path / "m.csv").write_text("image,landmarks\nf.jpg,f.pts\n")
    (entry,) = read_manifest(tmp_path / "m.csv")
    assert entry.image == tmp_path / "f.jpg"
    np.testing.assert_allclose(entry.landmarks, [[10, 20], [30, 40]])
    (tmp_path / "i.csv").write_text("image,x0,y0,x1,y1\ng.jpg,1,2,3,4\n")
    np.testing.assert_allclose(
        read_manifest(tmp_path / "i.csv", one_based=True)[0].landmarks, [[0, 1], [2, 3]]
    )
    (tmp_path / "m.json").write_text(json.dumps([{"image": "h.jpg", "landmarks": [[1, 2, 3]]}]))
    np.testing.assert_allclose(read_manifest(tmp_path / "m.json")[0].landmarks, [[1, 2, 3]])
