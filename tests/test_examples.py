"""The examples run as users would run them (with a seeded test model instead of the default)."""

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(script, *args):
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout


def test_align_photo(tiny_onnx, aflw_sample, tmp_path):
    out = tmp_path / "overlay.png"
    stdout = run("align_photo.py", aflw_sample[0], "--model", tiny_onnx, "--out", out)
    assert "face(s)" in stdout and out.stat().st_size > 0


def test_batch_folder(tiny_onnx, shared_dir, tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for source in sorted((shared_dir / "data" / "aflw2000-3d-subset").glob("*.jpg"))[:3]:
        (folder / source.name).write_bytes(source.read_bytes())
    run("batch_folder.py", folder, tmp_path / "json", "--model", tiny_onnx)
    assert len(list((tmp_path / "json").glob("*.json"))) == 3


def test_given_boxes(tiny_onnx, aflw_sample):
    truth = aflw_sample[1]
    box = [*truth[:, :2].min(0), *truth[:, :2].max(0)]
    stdout = run("given_boxes.py", aflw_sample[0], *box, "--model", tiny_onnx)
    assert "68 x 3 landmarks" in stdout
