"""Issue 19: every bad input typed, nothing silent, nothing left behind (targeted tests; the seeded
fuzz suite is tests/fuzz/)."""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from parface_sdk import Aligner
from parface_sdk.errors import (
    InvalidImageError,
    InvalidOptionError,
    ModelLoadError,
    ParfaceError,
    UnsupportedShapeError,
)
from parface_sdk.options import AlignerOptions

REPO = Path(__file__).resolve().parents[1]
FACE = REPO / "examples" / "data" / "astronaut.jpg"


@pytest.fixture(scope="module")
def face_rgb() -> np.ndarray:
    bgr = cv2.imread(str(FACE))
    return np.ascontiguousarray(cv2.resize(bgr[0:260, 120:380], (200, 200))[:, :, ::-1])


@pytest.fixture(scope="module")
def aligner():
    with Aligner(threads=1) as shared:
        yield shared


# -- options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"batch_size": 0},
        {"score_threshold": math.nan},
        {"device": "gpu"},
        {"threads": -1},
        {"recrop": "maybe"},
    ],
)
def test_bad_option_values_are_typed_value_errors(values):
    with pytest.raises(InvalidOptionError) as raised:
        AlignerOptions(**values)
    assert isinstance(raised.value, ParfaceError) and isinstance(raised.value, ValueError)
    assert next(iter(values)) in str(raised.value)
    with pytest.raises(InvalidOptionError):
        Aligner(**values)


def test_device_and_backend_any_case():
    options = AlignerOptions(device="CPU", backend="ONNXRuntime", precision="FP32")
    assert (options.device, options.backend, options.precision) == ("cpu", "onnxruntime", "fp32")


def test_aligner_takes_option_keywords_as_the_readme_writes_them(face_rgb):
    with Aligner(device="CPU", recrop=False, threads=1) as aligner:
        assert aligner.options.recrop is False and aligner.options.device == "cpu"
        assert aligner.quality_threshold == pytest.approx(0.534)


def test_aligner_backend_torch_keyword(face_rgb):
    pytest.importorskip("torch", reason="the torch extra is not installed")
    pytest.importorskip("safetensors", reason="the torch extra is not installed")
    with Aligner(backend="torch", threads=1) as aligner:
        assert aligner.model_path.suffix == ".safetensors"
        assert aligner.quality_threshold == pytest.approx(0.534)
        assert aligner.align(face_rgb, color="RGB").faces


def test_from_pretrained_keeps_the_shipped_calibration(tmp_path):
    from parface_sdk.models import default_model_path

    path = default_model_path()
    with Aligner.from_pretrained(path, threads=1) as aligner:
        assert aligner.quality_threshold == pytest.approx(0.534)
    copy = tmp_path / "renamed.onnx"
    copy.write_bytes(path.read_bytes())
    with Aligner.from_pretrained(copy, threads=1) as aligner:
        assert aligner.quality_threshold == pytest.approx(0.534)


def test_detector_given_another_detectors_model_fails_at_creation(face_rgb):
    from parface_sdk.detect import create_detector
    from parface_sdk.detect.blazeface import VARIANTS, WEIGHTS_DIR
    from parface_sdk.models import default_model_path

    for name, path in (("scrfd", WEIGHTS_DIR / VARIANTS["back"].file), ("blazeface", default_model_path())):
        with pytest.raises(ModelLoadError):
            create_detector(name, model_path=path)


# -- images, boxes, landmarks -------------------------------------------------------------------


def test_unreadable_and_odd_paths_are_invalid_image_errors(aligner, tmp_path):
    (tmp_path / "a.jpg").symlink_to(tmp_path / "b.jpg")
    (tmp_path / "b.jpg").symlink_to(tmp_path / "a.jpg")
    os.mkfifo(tmp_path / "pipe.png")  # reading it would block forever
    for path in (tmp_path / "a.jpg", tmp_path / "pipe.png", Path("/proc/self/mem"), tmp_path):
        with pytest.raises(InvalidImageError):
            aligner.align(path)


def test_png_header_claiming_gigapixels(aligner):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 50000, 50000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")
    with pytest.raises(InvalidImageError, match="decodable"):
        aligner.align(data)


@pytest.mark.parametrize(
    "box",
    [[0, 0, 1e30, 1e30], [50, 50, 51, 51], [50, 50, 50, 50], [160, 175, 45, 50], [-1e7, -1e7, 1e7, 1e7]],
)
def test_absurd_boxes_are_typed_errors(aligner, face_rgb, box):
    with pytest.raises(UnsupportedShapeError):
        aligner.align(face_rgb, boxes=[box], color="RGB")


def test_landmarks_far_off_the_image_are_typed_errors(aligner, face_rgb):
    points = np.asarray(aligner.align(face_rgb, color="RGB").faces[0].landmarks)
    assert aligner.align_from_landmarks(face_rgb, [points], color="RGB").faces
    with pytest.raises(UnsupportedShapeError):
        aligner.align_from_landmarks(face_rgb, [points + [5000.0, 0.0, 0.0]], color="RGB")


def test_tiny_image_is_an_empty_result(aligner):
    assert aligner.align(np.zeros((1, 1, 3), np.uint8), color="RGB").faces == []


# -- tracking -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [math.nan, math.inf, "0.2", True])
def test_bad_timestamps_are_typed_and_do_not_poison_later_frames(aligner, face_rgb, bad):
    from parface_sdk.video.tracker import FaceTracker

    tracker = FaceTracker(aligner)
    tracker.update(face_rgb, 0.0, color="RGB")
    with pytest.raises(InvalidOptionError, match="timestamp"):
        tracker.update(face_rgb, bad, color="RGB")
    for stamp in (0.1, 0.2):
        tracked = tracker.update(face_rgb, stamp, color="RGB")
        assert tracked.landmarks is not None and np.isfinite(tracked.landmarks).all()


def test_tracked_score_is_the_detection_score(aligner, face_rgb):
    from parface_sdk.video.tracker import FaceTracker
    from parface_sdk.video.writers import csv_row

    detected = aligner.align(face_rgb, color="RGB").faces[0].score
    tracker = FaceTracker(aligner, redetect_interval=0)
    rows = [csv_row(tracker.update(face_rgb, t, color="RGB")) for t in (0.0, 0.1, 0.2)]
    assert detected < 1.0
    assert all(float(row[4]) == pytest.approx(detected, abs=1e-4) for row in rows)


# -- outputs --------------------------------------------------------------------------------------


def test_track_writer_abort_removes_everything_even_when_close_fails(tmp_path):
    from parface_sdk.video.writers import TrackWriter

    writer = TrackWriter(jsonl=tmp_path / "a.jsonl", csv=tmp_path / "a.csv")
    for _, _, stream in writer._files:
        stream.write("x" * 100)

        def fail(original=stream.close):
            original()
            raise OSError(28, "No space left on device")

        stream.close = fail
    writer.abort()
    assert list(tmp_path.iterdir()) == []


def test_temporary_names_are_short(tmp_path):
    from parface_sdk.cli.common import write_atomically

    target = tmp_path / ("n" * 250 + ".json")  # 255 bytes: the file system's limit
    write_atomically(target, b"{}")
    assert target.read_bytes() == b"{}" and [p.name for p in tmp_path.iterdir()] == [target.name]


def test_atomic_folder_leaves_nothing_on_error(tmp_path):
    from parface_sdk.cli.common import atomic_folder

    out = tmp_path / "report"
    with pytest.raises(KeyboardInterrupt), atomic_folder(out) as staging:
        (staging / "summary.json").write_text("{}")
        raise KeyboardInterrupt
    assert list(out.iterdir()) == []
    with atomic_folder(out) as staging:
        (staging / "plots").mkdir()
        (staging / "plots" / "a.png").write_bytes(b"png")
        (staging / "summary.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]
    assert (out / "plots" / "a.png").is_file() and (out / "summary.json").is_file()


@pytest.mark.parametrize("name", ["../../x", "/abs", "a/b", ".hidden", "..", ""])
def test_triton_name_never_leaves_the_repository(tmp_path, name):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    from parface_export.triton import export_triton_repository
    from parface_sdk.models import default_model_path

    with pytest.raises(InvalidOptionError):
        export_triton_repository(default_model_path(), tmp_path / "repo", name=name)
    assert not (tmp_path / "x").exists() and not list((tmp_path / "repo").glob("*"))


def test_export_onnx_leaves_no_temporary_on_interrupt(tiny_net, tmp_path, monkeypatch):
    pytest.importorskip("onnx", reason="the export extra is not installed")
    from parface_export import onnx_export

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "_finish", interrupted)
    with pytest.raises(KeyboardInterrupt):
        onnx_export.export_onnx(tiny_net, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(InvalidOptionError, match="opset"):
        onnx_export.export_onnx(tiny_net, tmp_path / "m.onnx", opset=5)


# -- command lines --------------------------------------------------------------------------------


def _parface(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
    code = "import sys; from parface_sdk.cli.main import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["analyze", "IMG", "--scale-mm", "nan"],
        ["analyze", "IMG", "--fps", "0"],
        ["analyze", "IMG", "--task", "smile=nan:nan"],
        ["analyze", "IMG", "--out", "FILE"],
        ["export", "triton", "MODEL", "-o", "OUT", "--instances", "-1"],
        ["export", "tensorrt", "MODEL", "--max-frame", "abc"],
        ["video", "IMG", "--max-frames", "0"],
    ],
)
def test_cli_errors_are_one_line_with_a_documented_code(tmp_path, argv):
    from parface_sdk.models import default_model_path

    image = tmp_path / "face.png"
    cv2.imwrite(str(image), cv2.imread(str(FACE)))
    (tmp_path / "file").write_text("x")
    replace = {"IMG": str(image), "FILE": str(tmp_path / "file"), "OUT": str(tmp_path / "o")}
    replace["MODEL"] = str(default_model_path())
    argv = [replace.get(a, a) for a in argv]
    if "--out" not in argv and argv[0] in ("analyze", "video"):
        argv += ["--out", str(tmp_path / "out")]
    completed = _parface(*argv)
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("parface"), completed.stderr
    assert not (tmp_path / "out" / "summary.json").exists()


def test_sigterm_is_handled_like_ctrl_c(tmp_path):
    writer = cv2.VideoWriter(str(tmp_path / "clip.mp4"), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (240, 240))
    face = cv2.resize(cv2.imread(str(FACE))[0:260, 120:380], (240, 240))
    for _ in range(200):
        writer.write(face)
    writer.release()
    out = tmp_path / "out"
    code = "import sys; from parface_sdk.cli.main import main; sys.exit(main(sys.argv[1:]))"
    process = subprocess.Popen(
        [sys.executable, "-c", code, "video", str(tmp_path / "clip.mp4"), "--out", str(out), "--overlay"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    deadline = 60.0
    while deadline > 0 and not (out.is_dir() and any(out.iterdir())):
        try:
            process.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            deadline -= 0.2
    if process.poll() is not None:
        pytest.skip("the video finished before it could be interrupted")
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert list(out.iterdir()) == []
