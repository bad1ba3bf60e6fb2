"""AFLW large-pose records and the train / validation split (parface_training/data/largepose.py)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from parface_training.data.largepose import is_validation, largepose_records, split_records


def _records(count: int) -> list[tuple[str, np.ndarray]]:
    return [(f"/data/images/image{i:05d}.jpg", np.full((68, 3), i, np.float32)) for i in range(count)]


def test_split_is_deterministic_disjoint_and_complete():
    records = _records(2000)
    train, validation = split_records(records, 0.05)
    names = lambda part: [r[0] for r in part]  # noqa: E731
    assert not set(names(train)) & set(names(validation))
    assert sorted(names(train) + names(validation)) == sorted(names(records))
    assert 0.03 < len(validation) / len(records) < 0.07
    # Same split again, from another folder, and whatever the order of the records.
    again = split_records(records, 0.05)
    assert names(again[0]) == names(train) and names(again[1]) == names(validation)
    moved = [(r[0].replace("/data/", "/elsewhere/"), r[1]) for r in records]
    random.Random(0).shuffle(moved)
    assert {r[0].rsplit("/", 1)[1] for r in split_records(moved, 0.05)[1]} == {
        r[0].rsplit("/", 1)[1] for r in validation
    }
    # The labels travel with their image.
    assert all(int(r[0][-9:-4]) == int(r[1][0, 0]) for r in train + validation)


def test_a_larger_fraction_only_adds_validation_faces():
    records = _records(500)
    small = {r[0] for r in split_records(records, 0.05)[1]}
    large = {r[0] for r in split_records(records, 0.2)[1]}
    assert small < large
    assert split_records(records, 0.0) == (records, [])
    assert not is_validation("image00001.jpg", 0.0) and not is_validation("image00001.jpg", -1.0)


def _labels(folder, nme):
    count = len(nme)
    names = np.array([f"image{i:05d}" for i in range(count)])
    points = np.random.default_rng(0).uniform(0, 120, size=(count, 3, 68)).astype(np.float32)
    (folder / "images").mkdir(parents=True)
    np.savez(folder / "labels.npz", names=names, mb05_pts68=points, mb05_nme21=np.array(nme, np.float32))
    return names, points


def test_teacher_nme_filter_drops_faces(tmp_path):
    names, points = _labels(tmp_path, [0.05, 0.2, np.nan, 0.12, 0.121, 0.0])
    records = largepose_records(tmp_path, max_teacher_nme=0.12)
    assert [r[0] for r in records] == [str(tmp_path / "images" / f"{names[i]}.jpg") for i in (0, 3, 5)]
    # (N, 3, 68) in the file -> (68, 3) float32 per face.
    np.testing.assert_array_equal(records[1][1], points[3].T)
    assert records[1][1].shape == (68, 3) and records[1][1].dtype == np.float32
    assert len(largepose_records(tmp_path, max_teacher_nme=0.06)) == 2
    assert len(largepose_records(tmp_path, max_teacher_nme=1.0)) == 5  # NaN never passes


def test_missing_labels_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="labels.npz"):
        largepose_records(tmp_path)


def test_shared_largepose_faces(shared_dir):
    folder = shared_dir / "data" / "aflw-largepose-train"
    if not (folder / "labels.npz").is_file():
        pytest.skip(f"no {folder}")
    with np.load(folder / "labels.npz") as data:
        nme = data["mb05_nme21"]
    records = largepose_records(folder, 0.12)
    assert len(records) == int((nme <= 0.12).sum()) < len(nme)  # the filter drops some faces
    assert all(r[1].shape == (68, 3) for r in records[:10])
    train, validation = split_records(records, 0.05)
    assert len(train) + len(validation) == len(records) and 0.03 < len(validation) / len(records) < 0.07
    assert all(Path(r[0]).is_file() for r in validation[:20])
