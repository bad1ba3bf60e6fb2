"""Inputs, shard plans, resume bookkeeping and rows of `parface batch`, without Ray."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from parface_sdk.errors import BackendUnavailableError, InvalidOptionError
from parface_sdk.scale.shards import (
    PlanMismatchError,
    in_shard,
    list_inputs,
    parse_shard,
    plan_shards,
    prepare_plan,
    write_table_atomically,
)

pa = pytest.importorskip("pyarrow", reason="the ray extra (pyarrow) is not installed")


def test_folder_glob_and_file_inputs(image_folder):
    items = list_inputs([image_folder])
    assert len(items) == 12 and [i.index for i in items] == list(range(12))
    assert "sub/gray.png" in [i.id for i in items]
    assert all(i.kind == "image" for i in items)
    globbed = list_inputs([str(image_folder / "*.jpg")])
    assert [i.path for i in globbed] == sorted(i.path for i in globbed)
    assert {i.path for i in globbed} < {i.path for i in items}
    # a file already listed by the folder is not listed twice
    assert len(list_inputs([image_folder, image_folder / "astronaut.jpg"])) == 12
    with pytest.raises(InvalidOptionError, match="no such file"):
        list_inputs([image_folder / "nothing_here"])


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_manifest_inputs(image_folder, tmp_path, kind):
    import pyarrow.csv as pa_csv
    import pyarrow.parquet as pq

    table = pa.table({"path": ["astronaut.jpg", str(image_folder / "blank.png")], "id": ["a", "b"]})
    manifest = image_folder / f"manifest.{kind}"
    (pa_csv.write_csv if kind == "csv" else pq.write_table)(table, manifest)
    try:
        items = list_inputs([manifest])
    finally:
        manifest.unlink()
    assert [(i.id, i.path) for i in items] == [
        ("a", str(image_folder / "astronaut.jpg")),  # relative: to the manifest's folder
        ("b", str(image_folder / "blank.png")),
    ]
    bad = tmp_path / "bad.csv"
    bad.write_text("file\nx.jpg\n")
    with pytest.raises(InvalidOptionError, match="no 'path' column"):
        list_inputs([bad])


def test_manifest_on_an_fsspec_filesystem(image_folder):
    fsspec = pytest.importorskip("fsspec")
    from parface_sdk.scale.rows import read_input

    with fsspec.open("memory://parface/manifest.csv", "w") as stream:
        stream.write("path\nmemory://parface/a.jpg\n")
    with fsspec.open("memory://parface/a.jpg", "wb") as stream:
        stream.write((image_folder / "astronaut.jpg").read_bytes())
    items = list_inputs(["memory://parface/manifest.csv"])
    assert [i.path for i in items] == ["memory://parface/a.jpg"]
    assert read_input(items[0].path).shape == (512, 512, 3)


def test_shards_are_deterministic_and_videos_stand_alone(image_folder):
    from parface_sdk.scale.shards import InputItem

    items = [InputItem(i, f"{i}.jpg", str(i), "image") for i in range(7)]
    items.insert(3, InputItem(99, "v.mp4", "v", "video"))
    shards = plan_shards(items, 2)
    assert [[i.path for i in s.items] for s in shards] == [
        ["0.jpg", "1.jpg"],
        ["2.jpg"],
        ["v.mp4"],
        ["3.jpg", "4.jpg"],
        ["5.jpg", "6.jpg"],
    ]
    assert plan_shards(items, 2) == shards
    assert [s.file_name for s in shards][:2] == ["part-000000.parquet", "part-000001.parquet"]
    with pytest.raises(InvalidOptionError):
        plan_shards(items, 0)


def test_plan_resume_and_mismatch(image_folder, tmp_path):
    shards = plan_shards(list_inputs([image_folder]), 5)
    settings = {"model_sha256": "x", "options": {}}
    out = tmp_path / "out"
    assert prepare_plan(out, shards, settings) == shards
    write_table_atomically(pa.table({"x": [1]}), out / shards[1].file_name)
    (out / ".part-000002.parquet.abc.partial.parquet").write_bytes(b"half")  # a killed writer's temp
    assert prepare_plan(out, shards, settings) == [shards[0], shards[2]]
    assert not list(out.glob(".part-*"))
    with pytest.raises(PlanMismatchError, match="other inputs or settings"):
        prepare_plan(out, shards, {**settings, "model_sha256": "y"})
    with pytest.raises(PlanMismatchError):
        prepare_plan(out, plan_shards(list_inputs([image_folder]), 4), settings)


def test_rows_have_every_input_exactly_once(image_folder, aligner):
    from parface_sdk.geometry import sha256_of
    from parface_sdk.scale.rows import check_exactly_once, schema, shard_table

    shards = plan_shards(list_inputs([image_folder]), 12)
    table, _ = shard_table(aligner, shards[0], sha256_of(aligner.model_path), batch_size=4)
    assert table.schema == schema()
    assert check_exactly_once(table, 12) == []
    rows = table.to_pylist()
    by_id = {}
    for row in rows:
        by_id.setdefault(row["image_id"], []).append(row)
    assert [r["status"] for r in by_id["blank.png"]] == ["no_face"]
    assert by_id["blank.png"][0]["face_index"] is None
    (broken,) = by_id["broken.jpg"]
    assert broken["status"] == "error" and broken["error_type"] == "InvalidImageError"
    assert "broken.jpg" in broken["error"]
    (face,) = by_id["astronaut.jpg"]
    landmarks = np.array(face["landmarks"])
    assert landmarks.shape == (68, 3) and len(face["confidence"]) == 68 and len(face["box"]) == 4
    assert face["model_sha256"] == sha256_of(aligner.model_path) and 0 < face["quality"] <= 1
    expected = aligner.align(str(image_folder / "astronaut.jpg")).faces[0]
    assert np.abs(landmarks - expected.landmarks).max() < 1e-2
    assert check_exactly_once(pa.concat_tables([table, table]), 12) != []


def test_align_shards_partition_the_names():
    names = [f"dir/{i}.jpg" for i in range(200)]
    owners = [[k for k in range(3) if in_shard(name, k, 3)] for name in names]
    assert all(len(o) == 1 for o in owners)
    assert {o[0] for o in owners} == {0, 1, 2}
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "-1/3", "a/b", "1", "0/0"):
        with pytest.raises(InvalidOptionError, match="I/N"):
            parse_shard(bad)


def test_missing_ray_is_a_typed_error_naming_the_extra(monkeypatch, tmp_path, capsys):
    from parface_sdk.cli.main import main
    from parface_sdk.scale import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(BackendUnavailableError, match=r'pip install "parface-sdk\[ray\]"'):
        require_ray("data")
    assert main(["batch", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert 'pip install "parface-sdk[ray]"' in capsys.readouterr().err


def test_runtime_core_never_imports_ray():
    import subprocess

    code = (
        "import sys, parface_sdk, parface_sdk.aligner, parface_sdk.scale, parface_sdk.scale.shards, "
        "parface_sdk.scale.rows, parface_sdk.scale.batch, parface_sdk.cli.batch, parface_sdk.cli.align; "
        "assert 'ray' not in sys.modules, 'ray imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_video_is_one_task_with_a_row_per_frame(image_folder, aligner, write_clip, tmp_path):
    import cv2

    from parface_sdk.geometry import sha256_of
    from parface_sdk.scale.rows import check_exactly_once, shard_table

    clip = tmp_path / "media" / "clip.mp4"
    clip.parent.mkdir()
    write_clip(clip, cv2.imread(str(image_folder / "astronaut.jpg")), 5)
    (tmp_path / "media" / "bad.mp4").write_bytes(b"not a video")
    (tmp_path / "media" / "a.jpg").write_bytes((image_folder / "astronaut.jpg").read_bytes())
    items = list_inputs([tmp_path / "media"])
    assert [(i.id, i.kind) for i in items] == [
        ("a.jpg", "image"),
        ("bad.mp4", "video"),
        ("clip.mp4", "video"),
    ]
    shards = plan_shards(items, 10)
    assert [len(s.items) for s in shards] == [1, 1, 1]
    sha = sha256_of(aligner.model_path)
    tables = [shard_table(aligner, shard, sha, 4)[0] for shard in shards]
    assert check_exactly_once(pa.concat_tables(tables), 3) == []
    (bad,) = tables[1].to_pylist()
    assert bad["status"] == "error" and bad["error_type"] == "VideoError"
    frames = tables[2].to_pylist()
    assert [row["frame_index"] for row in frames] == [0, 1, 2, 3, 4]
    assert all(row["status"] == "ok" and row["face_index"] == 0 for row in frames)
    assert frames[1]["timestamp"] > frames[0]["timestamp"]
    assert np.array(frames[0]["landmarks"]).shape == (68, 3)
