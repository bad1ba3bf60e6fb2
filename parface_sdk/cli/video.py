"""`parface video IN.mp4 --out DIR`: track the face through a video; JSON lines / CSV / overlay."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from parface_sdk.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    describe_os_error,
    error_line,
    prepare_output_folder,
)
from parface_sdk.errors import ParfaceError

logger = logging.getLogger(__name__)


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """Model and tracking options shared by `parface video` and `parface analyze`."""
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument(
        "--backend",
        default="auto",
        help="auto, onnxruntime, onnxruntime-tensorrt, torch, torch-frame or tensorrt",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--detector", default="auto", help="face detector name (default: auto)")
    parser.add_argument("--detector-model", type=Path, default=None, help="detector model file")
    parser.add_argument(
        "--box",
        type=float,
        nargs=4,
        metavar=("X0", "Y0", "X1", "Y1"),
        default=None,
        help="a known face box; no detector runs",
    )
    parser.add_argument(
        "--redetect-interval",
        type=int,
        default=30,
        help="run the detector every N frames (0: only when the face is lost)",
    )
    parser.add_argument(
        "--min-confidence",
        type=float,
        default=0.0,
        help="re-detect when the mean landmark confidence drops below this floor "
        "(the face is also re-detected below 0.9 x its confidence at detection)",
    )
    parser.add_argument("--max-frames", type=int, default=None, help="stop after this many frames")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def make_aligner(args: argparse.Namespace):
    from parface_sdk.aligner import Aligner
    from parface_sdk.options import AlignerOptions

    options = AlignerOptions(
        backend=args.backend, device=args.device, detector=args.detector, detector_model=args.detector_model
    )
    aligner = Aligner(args.model, options)
    if args.box is None:
        try:
            aligner.detector  # noqa: B018  a misconfigured detector fails here, before any output
        except BaseException:
            aligner.close()
            raise
    return aligner


def track_options(args: argparse.Namespace, **overrides):
    from parface_sdk.video import TrackOptions

    values = dict(
        redetect_interval=args.redetect_interval,
        min_confidence=args.min_confidence,
        box=tuple(args.box) if args.box else None,
        max_frames=args.max_frames,
    )
    options = TrackOptions(**values)  # the user's values are checked even where a command overrides them
    return options.with_updates(**overrides) if overrides else options


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("video", help="track 68 3D landmarks through a video")
    parser.add_argument("input", type=Path, help="video file (anything OpenCV reads)")
    parser.add_argument("--out", type=Path, default=Path("parface_out"), help="output folder")
    parser.add_argument(
        "--format",
        choices=["jsonl", "csv", "both"],
        default="both",
        help="per-frame output: JSON lines, CSV or both",
    )
    parser.add_argument("--overlay", action="store_true", help="also write an overlay MP4")
    parser.add_argument(
        "--smoothing",
        choices=["one_euro", "none"],
        default="one_euro",
        help="live One Euro smoothing of the landmarks (default) or none",
    )
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from parface_sdk.video import TrackWriter, track, video_info

    try:
        info = video_info(args.input)
        # The video is decoded once, by the tracker; the overlay draws on the RGB frame it kept.
        options = track_options(args, smoothing=args.smoothing, with_frames=args.overlay)
        prepare_output_folder(args.out)
        aligner = make_aligner(args)
    except (ParfaceError, ValueError) as exc:
        print(f"parface video: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    stem = args.out / args.input.stem
    total = min(info.frame_count, args.max_frames or info.frame_count) or None
    found = 0
    # TrackWriter writes every output under a temporary name and renames them only when the
    # whole video is done: an error, a full disk or Ctrl-C leaves no truncated file behind.
    try:
        with (
            aligner,
            TrackWriter(
                jsonl=stem.with_suffix(".jsonl") if args.format != "csv" else None,
                csv=stem.with_suffix(".csv") if args.format != "jsonl" else None,
                overlay=args.out / f"{args.input.stem}_overlay.mp4" if args.overlay else None,
                fps=info.fps or 30.0,
            ) as writer,
        ):
            for tracked in tqdm(
                track(aligner, args.input, options),
                total=total,
                unit="frame",
                desc="track",
                disable=args.no_progress,
            ):
                writer.write(tracked)
                found += tracked.face is not None
    except ParfaceError as exc:
        print(f"parface video: {error_line(exc)}; no output written", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(
            f"parface video: cannot write to {args.out}: {describe_os_error(exc)}; no output written",
            file=sys.stderr,
        )
        return EXIT_FAILED
    logger.info("%d frames, a face in %d; outputs in %s", writer.count, found, args.out)
    if not found:
        print(f"parface video: no face found in {args.input}", file=sys.stderr)
    return 0 if found else 1
