"""Bad input and output faults of the command line: one line per problem, never a traceback,
never a partial file, never an overwritten input, unique output names, umask permissions."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from parface_sdk.cli import common
from parface_sdk.cli.main import main

REPO = Path(__file__).resolve().parents[2]
ASTRONAUT = REPO / "examples" / "data" / "astronaut.jpg"


def _error_lines(err: str, prog: str = "parface align:") -> list[str]:
    return [line for line in err.replace("\r", "\n").splitlines() if prog in line]


def _align(tiny_onnx, *args: str) -> int:
    return main(["align", *args, "--model", str(tiny_onnx), "--no-recrop"])


@pytest.fixture()
def photos(tmp_path) -> Path:
    """Names that collided before: same stem in two folders, a.jpg + a.png, a dotted name."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    for name in ("a.jpg", "a.png", "a.b.jpg", "sub/a.jpg"):
        if name.endswith(".png"):
            import cv2

            cv2.imwrite(str(folder / name), cv2.imread(str(ASTRONAUT)))
        else:
            shutil.copy(ASTRONAUT, folder / name)
    return folder


def _tree(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_output_names_are_unique_and_mirror_the_input_tree(tiny_onnx, photos, tmp_path):
    out = tmp_path / "out"
    assert _align(tiny_onnx, str(photos), "--out", str(out)) == 0
    assert _tree(out) == ["a.b.jpg.json", "a.jpg.json", "a.png.json", "sub/a.jpg.json"]


def test_the_same_name_from_two_places_is_an_error_before_work(tiny_onnx, photos, tmp_path, capsys):
    out = tmp_path / "out"
    code = _align(tiny_onnx, str(photos / "a.jpg"), str(photos / "sub" / "a.jpg"), "--out", str(out))
    assert code == 2
    lines = _error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "would both write" in lines[0]
    assert not out.exists() or _tree(out) == []


@pytest.mark.parametrize("where", ["same", "inside"])
def test_draw_into_the_input_folder_never_overwrites_nor_rereads(tiny_onnx, photos, where):
    before = {name: (photos / name).read_bytes() for name in _tree(photos)}
    out = photos if where == "same" else photos / "out"
    for _ in range(2):  # the second run must not pick up the first run's overlays
        assert _align(tiny_onnx, str(photos), "--out", str(out), "--draw") == 0
    assert {name: (photos / name).read_bytes() for name in before} == before
    overlays = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.overlay.png"))
    assert overlays == [
        "a.b.jpg.overlay.png",
        "a.jpg.overlay.png",
        "a.png.overlay.png",
        "sub/a.jpg.overlay.png",
    ]
    assert not list(out.rglob("*.overlay.png.*"))


def test_out_is_a_file(tiny_onnx, photos, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("mine")
    assert _align(tiny_onnx, str(photos), "--out", str(target)) == 2
    err = capsys.readouterr().err
    assert len(_error_lines(err)) == 1 and "is a file" in err and "Traceback" not in err
    assert target.read_text() == "mine"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores folder permissions")
def test_read_only_output_folder(tiny_onnx, photos, tmp_path, capsys):
    out = tmp_path / "readonly"
    (out / "sub").mkdir(parents=True)
    out.chmod(0o555)
    (out / "sub").chmod(0o555)
    try:
        code = _align(tiny_onnx, str(photos), "--out", str(out))
    finally:
        (out / "sub").chmod(0o755)
        out.chmod(0o755)
    assert code == 2
    lines = _error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "not writable" in lines[0]


def test_read_only_file_system_is_one_line_per_file(tiny_onnx, photos, tmp_path, capsys, monkeypatch):
    """As root the permission test above cannot run; a read-only mount fails at file creation."""

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), kwargs.get("dir"))

    monkeypatch.setattr(common.tempfile, "mkstemp", read_only)
    out = tmp_path / "out"
    assert _align(tiny_onnx, str(photos), "--out", str(out)) == 1
    err = capsys.readouterr().err
    lines = _error_lines(err)
    assert len(lines) == 4 and all("Read-only file system" in line for line in lines)
    assert "Traceback" not in err


def test_disk_full_is_one_line_per_file_and_leaves_no_partial_file(
    tiny_onnx, photos, tmp_path, capsys, monkeypatch
):
    real_open = open

    class FullDisk:
        def __init__(self, path, mode="r", **kwargs):
            self._stream = real_open(path, mode, **kwargs)

        def write(self, data):
            self._stream.write(data[: len(data) // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self._stream.close()

    monkeypatch.setattr(common, "open", FullDisk, raising=False)
    out = tmp_path / "out"
    assert _align(tiny_onnx, str(photos), "--out", str(out)) == 1
    lines = _error_lines(capsys.readouterr().err)
    assert len(lines) == 4 and all("No space left on device" in line for line in lines)
    assert _tree(out) == []  # neither truncated outputs nor temporary files


def test_outputs_get_umask_permissions(tiny_onnx, tmp_path):
    old = os.umask(0o022)
    try:
        assert _align(tiny_onnx, str(ASTRONAUT), "--out", str(tmp_path), "--draw") == 0
    finally:
        os.umask(old)
    for name in ("astronaut.jpg.json", "astronaut.jpg.overlay.png"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--detector", "nonsense"], "unknown detector 'nonsense'"),
        (["--detector-model", "/nonexistent/face.onnx"], "no detector model file"),
        (["--device", "gpu"], "device: "),
        (["--backend", "tf"], "backend: "),
    ],
)
def test_misconfiguration_fails_once_at_creation(tiny_onnx, photos, tmp_path, capsys, option, message):
    code = _align(tiny_onnx, str(photos), "--out", str(tmp_path / "out"), *option)
    assert code == 2
    err = capsys.readouterr().err
    lines = _error_lines(err)
    assert len(lines) == 1 and message in lines[0], err
    assert "pydantic" not in err and "For further information" not in err and "\n  " not in err


def test_interrupt_and_closed_pipe_are_not_tracebacks(capsys):
    def interrupted():
        raise KeyboardInterrupt

    assert common.guarded("parface align", interrupted) == 130
    assert capsys.readouterr().err == "parface align: interrupted\n"


def test_closed_pipe_ends_quietly():
    code = (
        "import sys\nfrom parface_sdk.cli.common import guarded\n"
        "def chatty():\n    for i in range(200000):\n        print('line', i)\n"
        "sys.exit(guarded('parface align', chatty))\n"
    )
    shell = f'{sys.executable} -c "{code}" | head -n 1'
    done = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=60)
    assert done.stdout == "line 0\n"
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr


def test_atomic_path_removes_the_temporary_file_on_error(tmp_path):
    target = tmp_path / "video.mp4"
    with pytest.raises(RuntimeError), common.atomic_path(target) as temporary:
        temporary.write_bytes(b"half a video")
        raise RuntimeError("stopped")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fault", ["video_error", "interrupt"])
def test_video_run_that_fails_midway_leaves_no_file(
    video_cli, write_clip, tmp_path, capsys, monkeypatch, fault
):
    import cv2

    from parface_sdk.errors import VideoError
    from parface_sdk.video import frames  # the one decoder: the tracker reads the file through it

    clip = tmp_path / "clip.mp4"
    write_clip(clip, cv2.imread(str(ASTRONAUT)), 6)
    real_read = frames.read_video

    def failing_read(path, *args, **kwargs):
        for index, item in enumerate(real_read(path, *args, **kwargs)):
            if index == 3:
                if fault == "video_error":
                    raise VideoError(f"{path}: frame 3 is corrupt")
                raise KeyboardInterrupt
            yield item

    monkeypatch.setattr(frames, "read_video", failing_read)
    out = tmp_path / "out"
    code = video_cli(clip, out, (176, 83, 270, 180))
    assert code == (1 if fault == "video_error" else 130)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(_error_lines(err, "parface video")) == 1
    assert list(out.iterdir()) == []  # no truncated .jsonl / .csv / .mp4, no temporary files
