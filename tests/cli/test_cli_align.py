import json

import numpy as np

from parface_sdk.cli.main import main


def test_align_directory_writes_json_and_overlays(tiny_onnx, shared_dir, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    for source in sorted((shared_dir / "data" / "aflw2000-3d-subset").glob("*.jpg"))[:2]:
        (folder / source.name).write_bytes(source.read_bytes())
    (folder / "broken.jpg").write_bytes(b"not a jpeg at all")
    out = tmp_path / "out"
    code = main(["align", str(folder), "--out", str(out), "--draw", "--model", str(tiny_onnx)])
    assert code == 1  # one unreadable file: non-zero exit, the rest still processed
    err = capsys.readouterr().err
    errors = [line for line in err.replace("\r", "\n").splitlines() if "parface align:" in line]
    assert len(errors) == 1 and "broken.jpg" in errors[0]
    written = sorted(p.name for p in out.iterdir())
    assert written == [
        "image00050.jpg.json",
        "image00050.jpg.overlay.png",
        "image00081.jpg.json",
        "image00081.jpg.overlay.png",
    ]
    data = json.loads((out / "image00050.jpg.json").read_text())
    assert data["image_width"] == 450
    assert all(np.array(face["landmarks"]).shape == (68, 3) for face in data["faces"])
    assert not list(out.glob("*.partial*")) and not (out / "broken.jpg.json").exists()


def test_align_missing_model_is_a_clear_error(tmp_path, capsys):
    code = main(["align", str(tmp_path), "--model", str(tmp_path / "none.onnx")])
    assert code == 2
    assert "no ONNX model" in capsys.readouterr().err


def test_top_level_help_lists_every_subcommand(capsys):
    import pytest

    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("align", "video", "analyze", "eval", "export"))
