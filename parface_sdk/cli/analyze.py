"""`parface analyze VIDEO|IMAGES --out DIR`: facial-asymmetry report (CSV, JSON summary, PNG plots)."""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path

from parface_sdk.analysis.asymmetry import ADULT_INNER_CANTHAL_MM
from parface_sdk.cli.common import EXIT_FAILED, EXIT_USAGE, atomic_folder, error_line, prepare_output_folder
from parface_sdk.cli.video import add_model_arguments, make_aligner, track_options
from parface_sdk.errors import InvalidOptionError, ParfaceError
from parface_sdk.geometry import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="facial asymmetry over a video or a series of photos (palsy assessment)",
        description="Track the face, normalise head pose, measure left/right asymmetry per frame and "
        "write report.html (one self-contained file to open in a browser), measures.csv, "
        "summary.json, plots/*.png, overlay.png and overlays/<task>.png.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        type=Path,
        help="one video file, or images / folders of images (one frame each, in order; photos "
        "named after the photo protocol's tasks are analysed as the protocol)",
    )
    parser.add_argument("--out", type=Path, default=Path("parface_analysis"), help="output folder")
    parser.add_argument(
        "--task",
        action="append",
        default=[],
        metavar="NAME=START:END|NAME=FILE",
        help="an expression held from START to END seconds (repeatable), e.g. rest=0:2 "
        "smile=2:4; for images, time is the image index / --fps. NAME=FILE names one photo of the "
        "photo protocol (e.g. smile=IMG_0042.jpg); photos named after a protocol task (rest.jpg, "
        "brows.jpg, eyes_gentle.jpg, eyes_tight.jpg, smile.jpg, eee.jpg, pucker.jpg) need none",
    )
    parser.add_argument(
        "--scale-mm",
        type=float,
        default=None,
        help="the subject's inner inter-canthal distance (inner eye corners 39-42) in mm, for "
        "results in mm (photo protocol default: the average adult value, "
        f"{ADULT_INNER_CANTHAL_MM:g} mm)",
    )
    parser.add_argument(
        "--smoothing",
        choices=["savgol", "one_euro", "none"],
        default=None,
        help="temporal smoothing (default: savgol for video, none for images)",
    )
    parser.add_argument("--fps", type=float, default=1.0, help="frames per second of an image series")
    parser.add_argument(
        "--landmarks",
        choices=["flow", "model"],
        default=None,
        help="flow: the model's landmarks followed by optical flow from the first frame (sensitive "
        "to small one-sided changes); model: the model's landmarks (default: flow for video, model "
        "for images)",
    )
    add_model_arguments(parser)
    parser.set_defaults(func=run)


def _is_video(inputs: list[Path]) -> bool:
    return len(inputs) == 1 and inputs[0].is_file() and inputs[0].suffix.lower() not in IMAGE_SUFFIXES


def _images(inputs: list[Path]) -> list[Path]:
    images: list[Path] = []
    for path in inputs:
        if path.is_dir():
            images += sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            images.append(path)
    return images


def _is_span(text: str) -> bool:
    """``NAME=START:END`` (a time span) rather than ``NAME=FILE``."""
    _, _, value = text.partition("=")
    start, colon, end = value.partition(":")
    try:
        float(start), float(end)
    except ValueError:
        return False
    return bool(colon)


def _photo_protocol(args: argparse.Namespace, images: list[Path], photo_tasks: list[str]):
    """The photo protocol's series and tasks, or None when the inputs are not protocol photos."""
    from parface_sdk.analysis.photos import protocol_task, protocol_tasks

    assigned = []
    for text in photo_tasks:
        name, _, file = text.partition("=")
        if not name or not file:
            raise ValueError(f"a photo task is NAME=FILE, got {text!r}")
        if not Path(file).is_file():
            raise ValueError(f"task {name!r}: no such photo {file!r}")
        assigned.append((name, Path(file)))
    named = [(protocol_task(path), path) for path in images]
    if not assigned and not (named and all(task for task, _ in named)):
        return None
    given = {path.resolve() for _, path in assigned}
    assigned += [(task, path) for task, path in named if task and path.resolve() not in given]
    return protocol_tasks(assigned)


def _say(decision: dict) -> str:
    """The decision in one plain line."""
    confidence = (
        f"probability {decision['probability']:.2f}"
        + ("" if decision.get("probability_fitted") else " (placeholder until calibrated)")
        + f"; strength {decision['strength']:.1f} null spreads, threshold "
        f"{decision['strength_threshold']:.1f}; confidence {decision['confidence']:.6f}, threshold "
        f"{decision['confidence_threshold']:.6f}"
    )
    if decision["decision"] in ("right", "left"):
        return f"one-sided change: subject's {decision['decision']} side ({confidence})"
    if decision["decision"] == "undetermined":
        return f"asymmetric change on both sides; no side named ({confidence})"
    return f"no asymmetric change detected ({confidence})"


def _check_numbers(args: argparse.Namespace) -> None:
    """--scale-mm and --fps are finite and positive (a NaN would silently become every result)."""
    if args.scale_mm is not None and not (math.isfinite(args.scale_mm) and args.scale_mm > 0):
        raise InvalidOptionError(f"--scale-mm must be a positive number of millimetres, got {args.scale_mm}")
    if not (math.isfinite(args.fps) and args.fps > 0):
        raise InvalidOptionError(f"--fps must be a positive number of frames per second, got {args.fps}")
    for path in args.inputs:
        if not path.exists():
            raise InvalidOptionError(f"{path}: no such file or folder")


def run(args: argparse.Namespace) -> int:
    from parface_sdk.analysis import Task
    from parface_sdk.analysis.clip import VIDEO_SMOOTHING, KeptFrames, model_sha256, track_landmarks
    from parface_sdk.analysis.report import write_report
    from parface_sdk.analysis.timeseries import measure_sequence

    scale_mm, scale_source = args.scale_mm, "--scale-mm" if args.scale_mm else None
    try:
        _check_numbers(args)
        video = _is_video(args.inputs)
        photo_tasks = [text for text in args.task if not _is_span(text)]
        tasks = [Task.parse(text) for text in args.task if _is_span(text)]
        if video:
            if photo_tasks:
                raise ValueError(f"NAME=FILE tasks are for photos, not a video: {', '.join(photo_tasks)}")
            source = args.inputs[0]
            options = track_options(args, smoothing="none", progress=not args.no_progress)
        else:
            images = _images(args.inputs)
            protocol = _photo_protocol(args, images, photo_tasks)
            if protocol is not None:
                if tasks:
                    raise ValueError("photo protocol tasks are named by file, not by time span")
                source, tasks = protocol
                if scale_mm is None:
                    scale_mm = ADULT_INNER_CANTHAL_MM
                    scale_source = f"average adult inner inter-canthal distance ({scale_mm:g} mm)"
                logger.info(
                    "photo protocol: %s", ", ".join(f"{t.name}={p.name}" for t, (_, p) in zip(tasks, source))
                )
            else:
                source = [(index / args.fps, path) for index, path in enumerate(images)]
            if not source:
                raise InvalidOptionError(
                    f"no images in {', '.join(map(str, args.inputs)) or 'the arguments'}"
                )
            options = track_options(
                args, smoothing="none", redetect_interval=1, progress=not args.no_progress
            )
        prepare_output_folder(args.out)
        aligner = make_aligner(args)
    except (ParfaceError, ValueError, OSError) as exc:
        print(f"parface analyze: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with aligner:
            sha = model_sha256(aligner)
            source_kind = args.landmarks or ("flow" if video else "model")
            kept = KeptFrames()  # each frame decoded once, by the tracker; kept for the overlays
            found: list[bool] = []
            points, times = track_landmarks(
                aligner, source, landmarks=source_kind, kept=kept, found=found, options=options
            )
        smoothing = args.smoothing or (VIDEO_SMOOTHING if video else "none")
        if smoothing != VIDEO_SMOOTHING:
            logger.warning(
                "the asymmetry thresholds were calibrated on video smoothed with %s; with %s "
                "smoothing the decision is less certain than its confidence says",
                VIDEO_SMOOTHING,
                smoothing,
            )
        series = measure_sequence(
            points, times, scale_mm, smoothing, landmark_source=source_kind, face_found=found
        )
        # the whole report is written into a hidden folder and moved in only when complete
        with atomic_folder(args.out) as staging:
            report = write_report(
                series, staging, tasks, model_sha256=sha, frame_images=kept, scale_source=scale_source
            )
        paths = {key: args.out / path.relative_to(staging) for key, path in report.paths.items()}
    except ParfaceError as exc:
        print(f"parface analyze: {error_line(exc)}; no report written", file=sys.stderr)
        return EXIT_FAILED
    except OSError as exc:
        print(
            f"parface analyze: cannot write the report to {args.out}: {exc.strerror or exc}; "
            "no report written",
            file=sys.stderr,
        )
        return EXIT_FAILED
    decision = report.decision
    frames = report.summary.get("frames_per_task", {})
    print(
        "frames used per task: "
        + ", ".join(
            f"{name} {item['frames_used']}/{item['frames_with_face']}" for name, item in frames.items()
        )
        + " (used / with a face)"
    )
    print(f"{_say(decision)}; report in {args.out} ({', '.join(sorted(p.name for p in paths.values()))})")
    print(f"note: {decision['caveat']}")
    return 0 if series.values else 1
