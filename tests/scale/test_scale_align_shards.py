"""`parface align DIR --shard I/N --skip-existing`: N processes split a folder, reruns resume."""

from __future__ import annotations

from parface_sdk.cli.main import main


def _written(out):
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*.json")}


def test_shards_split_the_folder_once(image_folder, tmp_path, capsys):
    whole = tmp_path / "whole"
    assert main(["align", str(image_folder), "--out", str(whole)]) == 1  # broken.jpg fails
    expected = set(_written(whole))
    assert len(expected) == 11

    split = tmp_path / "split"
    seen: list[str] = []
    for index in range(3):
        before = set(_written(split)) if split.exists() else set()
        main(["align", str(image_folder), "--out", str(split), "--shard", f"{index}/3"])
        seen.extend(set(_written(split)) - before)
    assert len(seen) == len(set(seen)) and set(seen) == expected


def test_skip_existing_does_only_what_is_left(image_folder, tmp_path, capsys):
    out = tmp_path / "out"
    args = ["align", str(image_folder), "--out", str(out), "--skip-existing"]
    assert main(args) == 1
    first = _written(out)
    (out / "flipped.png.json").unlink()
    assert main(args) == 1  # broken.jpg is retried (it has no output) and fails again
    again = _written(out)
    assert set(again) == set(first)
    changed = {name for name in again if again[name] != first.get(name)}
    assert changed == {"flipped.png.json"}


def test_bad_shard_is_a_usage_error(image_folder, tmp_path, capsys):
    assert main(["align", str(image_folder), "--out", str(tmp_path), "--shard", "3/3"]) == 2
    assert "--shard takes I/N" in capsys.readouterr().err
