"""Video reading and tracking: errors, when the detector runs, outputs; a tiny real model end to end."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from parface_sdk.analysis import HeadPose, canonical_face
from parface_sdk.errors import InvalidOptionError, VideoError
from parface_sdk.results import AlignResult, Face
from parface_sdk.video import (
    CSV_HEADER,
    OverlayWriter,
    TrackOptions,
    TrackWriter,
    iter_frames,
    read_video,
    track,
    video_info,
    write_csv,
    write_jsonl,
)

BASE = HeadPose.from_angles(0, 0, 0, translation=(32.0, 24.0, 0.0), scale=20.0).to_image(canonical_face())


class FakeAligner:
    """Returns the base face shifted by the frame's index (stored in its first pixel)."""

    def __init__(self, low_confidence=(), no_face=()):
        self.low_confidence, self.no_face = set(low_confidence), set(no_face)
        self.calls: list[tuple[str, int]] = []

    def _face(self, index: int, confidence: float) -> Face:
        points = (BASE + [index * 0.5, 0.0, 0.0]).astype(np.float32)
        box = np.array([*points[:, :2].min(0), *points[:, :2].max(0)], np.float32)
        return Face(
            landmarks=points,
            confidence=np.full(68, confidence, np.float32),
            box=box,
            score=0.9,
            transform=np.eye(2, 3),
        )

    def align(self, image, boxes=None, color="BGR"):
        index = int(image[0, 0, 0])
        self.calls.append(("detect", index))
        faces = [] if index in self.no_face else [self._face(index, 0.9)]
        return AlignResult(faces=faces, image_width=image.shape[1], image_height=image.shape[0])

    def align_from_landmarks(self, image, landmarks, color="BGR"):
        index = int(image[0, 0, 0])
        self.calls.append(("track", index))
        confidence = 0.1 if index in self.low_confidence | self.no_face else 0.9
        return AlignResult(
            faces=[self._face(index, confidence)], image_width=image.shape[1], image_height=image.shape[0]
        )


def _frames(count: int) -> list[np.ndarray]:
    return [np.full((48, 64, 3), index, np.uint8) for index in range(count)]


def test_detector_runs_only_when_needed():
    aligner = FakeAligner(low_confidence={4}, no_face={7})
    frames = list(track(aligner, _frames(12), redetect_interval=5, smoothing="none", color="RGB"))
    detected = [frame.index for frame in frames if frame.detected]
    # first frame; low confidence at 4; interval after 4 -> 9; lost at 7 -> 8 detects again
    assert detected == [0, 4, 7, 8]
    assert ("track", 4) in aligner.calls and ("detect", 4) in aligner.calls
    assert frames[7].face is None and frames[7].landmarks is None
    assert frames[3].landmarks[0, 0] == pytest.approx(BASE[0, 0] + 1.5, abs=1e-4)
    np.testing.assert_allclose([f.timestamp for f in frames[:3]], [0.0, 1 / 30, 2 / 30])


def test_redetect_interval():
    aligner = FakeAligner()
    frames = list(track(aligner, _frames(10), redetect_interval=4, smoothing="none", color="RGB"))
    assert [f.index for f in frames if f.detected] == [0, 4, 8]
    assert [
        f.index for f in track(FakeAligner(), _frames(10), redetect_interval=0, color="RGB") if f.detected
    ] == [0]
    # a known box replaces the detector: it is used again only when the face is lost
    boxed = track(FakeAligner(no_face={5}), _frames(10), redetect_interval=3, box=(0, 0, 10, 10), color="RGB")
    assert [f.index for f in boxed if f.detected] == [0, 5, 6]


def test_timestamps_and_smoothing_options():
    stamped = [(0.5 * index, frame) for index, frame in enumerate(_frames(4))]
    frames = list(track(FakeAligner(), stamped, TrackOptions(fps=10.0, color="RGB")))
    assert [f.timestamp for f in frames] == [0.0, 0.5, 1.0, 1.5]
    assert frames[0].landmarks.dtype == np.float32 and frames[0].landmarks.shape == (68, 3)
    assert [t for t, _ in iter_frames(_frames(3), fps=10.0)] == [0.0, 0.1, 0.2]
    with pytest.raises(ValueError):
        TrackOptions(smoothing="kalman")


def test_outputs(tmp_path):
    frames = list(track(FakeAligner(no_face={2}), _frames(4), color="RGB"))
    assert write_jsonl(frames, tmp_path / "f.jsonl") == 4
    lines = [json.loads(line) for line in (tmp_path / "f.jsonl").read_text().splitlines()]
    assert lines[2]["face"] is None and len(lines[1]["landmarks"]) == 68
    assert write_csv(frames, tmp_path / "f.csv") == 4
    rows = list(csv.reader(open(tmp_path / "f.csv")))
    assert rows[0] == CSV_HEADER and len(rows) == 5 and rows[3][3] == "0"
    assert float(rows[1][CSV_HEADER.index("x0")]) == pytest.approx(BASE[0, 0], abs=1e-2)


def test_colour_frames_need_an_order_as_for_the_aligner(tmp_path, write_clip):
    """No BGR default: a colour array frame without ``color`` is a typed error (as Aligner.align);
    grayscale frames need none; any case is accepted; a video file needs nothing (decoded BGR)."""
    assert TrackOptions().color is None
    with pytest.raises(InvalidOptionError, match="channel order"):
        next(track(FakeAligner(), _frames(2)))
    gray = [frame[:, :, 0] for frame in _frames(3)]
    assert len(list(track(FakeAligner(), gray))) == 3
    assert TrackOptions(color="rgb").color == "RGB"

    class Recorder(FakeAligner):
        def align(self, image, boxes=None, color="BGR"):
            self.seen = image
            return super().align(image, boxes, color)

    import cv2

    bgr = np.zeros((48, 64, 3), np.uint8)
    bgr[:, :, 0] = 200  # blue in OpenCV's order
    clip = tmp_path / "blue.mp4"
    write_clip(clip, bgr, 2)
    recorder = Recorder()
    assert len(list(track(recorder, clip))) == 2
    decoded = cv2.cvtColor(next(read_video(clip))[1], cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(recorder.seen, decoded)
    assert recorder.seen[..., 2].mean() > 150 > recorder.seen[..., 0].mean()  # RGB: blue is last


def test_track_writer_writes_every_output(tmp_path):
    frames = _frames(4)
    tracked = list(track(FakeAligner(no_face={2}), frames, color="RGB"))
    paths = {"jsonl": tmp_path / "t.jsonl", "csv": tmp_path / "t.csv", "overlay": tmp_path / "t.mp4"}
    with TrackWriter(**paths, fps=10.0) as writer:
        for frame, result in zip(frames, tracked):
            writer.write(result, frame, color="RGB")
            assert not any(path.exists() for path in paths.values())  # nothing final until closed
    assert writer.count == 4
    assert len(paths["jsonl"].read_text().splitlines()) == 4
    assert list(csv.reader(open(paths["csv"])))[0] == CSV_HEADER
    assert video_info(paths["overlay"]).frame_count == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.jsonl", "t.mp4"]
    with pytest.raises(InvalidOptionError, match="frame"):
        with TrackWriter(overlay=tmp_path / "o.mp4") as writer:
            writer.write(tracked[0])


@pytest.mark.parametrize("fault", [RuntimeError, KeyboardInterrupt])
def test_track_writer_leaves_nothing_on_failure(tmp_path, fault):
    frames = _frames(3)
    tracked = list(track(FakeAligner(), frames, color="RGB"))
    with pytest.raises(fault):
        with TrackWriter(jsonl=tmp_path / "t.jsonl", csv=tmp_path / "t.csv", overlay=tmp_path / "t.mp4") as w:
            for frame, result in zip(frames, tracked):
                w.write(result, frame, color="RGB")
            raise fault()
    assert list(tmp_path.iterdir()) == []


def test_overlay_writer_is_atomic(tmp_path):
    tracked = list(track(FakeAligner(), _frames(2), color="RGB"))
    target = tmp_path / "overlay.mp4"
    with pytest.raises(KeyboardInterrupt):
        with OverlayWriter(target, 10.0, (64, 48)) as writer:
            writer.write(_frames(1)[0], tracked[0])
            assert not target.exists()
            raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    with OverlayWriter(target, 10.0, (64, 48)) as writer:
        for frame in tracked:
            writer.write(_frames(1)[0], frame)
    assert [p.name for p in tmp_path.iterdir()] == ["overlay.mp4"]
    assert video_info(target).frame_count == 2


def test_a_video_that_cannot_be_opened_raises(tmp_path):
    with pytest.raises(VideoError, match="no such video"):
        next(read_video(tmp_path / "missing.mp4"))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VideoError):
        list(track(FakeAligner(), broken))
    with pytest.raises(VideoError):
        video_info(broken)


def test_tiny_model_tracks_a_real_clip(tiny_onnx, aflw_sample, tmp_path, write_clip):
    import cv2

    from parface_sdk import Aligner

    image_path, truth = aflw_sample
    clip = tmp_path / "clip.mp4"
    write_clip(clip, cv2.imread(str(image_path)), 5)
    info = video_info(clip)
    assert info.frame_count == 5 and info.fps == pytest.approx(25.0)
    box = (*truth[:, :2].min(0), *truth[:, :2].max(0))
    with Aligner.from_pretrained(tiny_onnx) as aligner:
        frames = list(track(aligner, clip, box=box, min_confidence=0.0))
        assert [f.detected for f in frames] == [True, False, False, False, False]
        assert all(f.landmarks.shape == (68, 3) for f in frames)
        assert frames[4].timestamp == pytest.approx(4 / 25)
        assert len(list(track(aligner, clip, box=box, max_frames=2))) == 2
    with OverlayWriter(tmp_path / "overlay.mp4", 25.0, (info.width, info.height)) as writer:
        for frame, (_, bgr) in zip(frames, read_video(clip)):
            writer.write(bgr[:, :, ::-1].copy(), frame)
    assert video_info(tmp_path / "overlay.mp4").frame_count == 5


def test_video_cli(video_cli, aflw_sample, tmp_path, write_clip):
    import cv2

    from parface_sdk.cli.main import main

    image_path, truth = aflw_sample
    clip = tmp_path / "clip.mp4"
    write_clip(clip, cv2.imread(str(image_path)), 4)
    out = tmp_path / "out"
    assert video_cli(clip, out, (*truth[:, :2].min(0), *truth[:, :2].max(0))) == 0
    assert len((out / "clip.jsonl").read_text().splitlines()) == 4
    assert len((out / "clip.csv").read_text().splitlines()) == 5
    assert video_info(out / "clip_overlay.mp4").frame_count == 4
    assert main(["video", str(tmp_path / "missing.mp4"), "--out", str(out)]) == 2


def _count_decodes(monkeypatch) -> list:
    """Patch the one video decoder (parface_sdk.video.frames.read_video) to count its passes."""
    from parface_sdk.video import frames as frames_module

    calls = []
    original = frames_module.read_video

    def counting(path, fps=None):
        calls.append(str(path))
        yield from original(path, fps)

    monkeypatch.setattr(frames_module, "read_video", counting)
    return calls


def test_tracked_frames_carry_their_frame(tiny_onnx, aflw_sample):
    import cv2

    from parface_sdk import Aligner
    from parface_sdk.image import load_image

    image_path, truth = aflw_sample
    bgr = cv2.imread(str(image_path))
    box = (*truth[:, :2].min(0), *truth[:, :2].max(0))
    with Aligner.from_pretrained(tiny_onnx) as aligner:
        plain = list(track(aligner, [bgr, bgr], color="BGR", box=box))
        kept = list(track(aligner, [bgr, bgr], color="BGR", box=box, with_frames=True))
    assert all(f.frame is None for f in plain)
    for without, frame in zip(plain, kept):
        np.testing.assert_array_equal(frame.frame, load_image(bgr, "BGR"))  # RGB, as the tracker saw it
        np.testing.assert_array_equal(frame.landmarks, without.landmarks)  # the frame changes nothing
        assert frame.to_dict() == without.to_dict()  # the outputs hold no image


def test_video_cli_decodes_the_file_once(video_cli, aflw_sample, tmp_path, write_clip, monkeypatch):
    import cv2

    image_path, truth = aflw_sample
    clip = tmp_path / "clip.mp4"
    write_clip(clip, cv2.imread(str(image_path)), 3)
    calls = _count_decodes(monkeypatch)
    assert video_cli(clip, tmp_path / "out", (*truth[:, :2].min(0), *truth[:, :2].max(0))) == 0
    assert calls == [str(clip)]  # the tracker's pass; the overlay draws on the frames it kept
    assert video_info(tmp_path / "out" / "clip_overlay.mp4").frame_count == 3


def test_analyze_decodes_the_file_once(tiny_onnx, aflw_sample, tmp_path, write_clip, monkeypatch):
    pytest.importorskip("matplotlib", reason="the analysis extra is not installed")
    import cv2

    from parface_sdk.cli.main import main

    image_path, truth = aflw_sample
    clip = tmp_path / "clip.mp4"
    write_clip(clip, cv2.imread(str(image_path)), 4)
    calls = _count_decodes(monkeypatch)
    box = [str(v) for v in (*truth[:, :2].min(0), *truth[:, :2].max(0))]
    out = tmp_path / "report"
    args = [
        "analyze",
        str(clip),
        "--out",
        str(out),
        "--model",
        str(tiny_onnx),
        "--box",
        *box,
        "--task",
        "rest=0:0.1",
        "--task",
        "smile=0.1:0.3",
        "--no-progress",
    ]
    assert main(args) == 0
    assert calls == [str(clip)]  # tracking, flow and the overlay images all from one decode
    assert (out / "overlay.png").is_file() and (out / "report.html").is_file()
