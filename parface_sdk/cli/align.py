"""`parface align IMAGE|DIR`: one JSON per image, optionally an overlay PNG.

Output names: ``OUT/<path below the input folder>/<image name>.json`` (``DIR/sub/a.jpg`` ->
``OUT/sub/a.jpg.json``, overlay ``OUT/sub/a.jpg.overlay.png``); a file given directly writes
``OUT/<image name>.json``. Files are written atomically with the usual permissions (umask).

Many processes over one folder: ``--shard I/N`` takes the images whose output name hashes to
shard I of N (each process decides alone, the same way); ``--skip-existing`` skips images whose
outputs are already there, so a rerun after a crash does only what is left.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from parface_sdk.cli.common import (
    EXIT_FAILED,
    EXIT_USAGE,
    OutputError,
    describe_os_error,
    error_line,
    prepare_output_folder,
    write_atomically,
)
from parface_sdk.errors import InvalidImageError, ParfaceError
from parface_sdk.geometry import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)
OVERLAY_SUFFIX = ".overlay.png"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("align", help="68 3D landmarks for every face in images")
    parser.add_argument("inputs", nargs="+", type=Path, help="image files or folders")
    parser.add_argument("--out", type=Path, default=Path("parface_out"), help="output folder")
    parser.add_argument("--draw", action="store_true", help="also write an overlay PNG per image")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument(
        "--backend",
        default="auto",
        help="auto, onnxruntime, onnxruntime-tensorrt, torch, torch-frame or tensorrt",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--detector", default="auto", help="face detector name (default: auto)")
    parser.add_argument("--detector-model", type=Path, default=None, help="detector model file")
    parser.add_argument("--no-recrop", action="store_true", help="skip the landmark re-crop pass")
    parser.add_argument(
        "--shard",
        default=None,
        metavar="I/N",
        help="only the images of shard I of N (0 <= I < N, by a hash of the output name), "
        "for N processes or machines over one folder",
    )
    parser.add_argument(
        "--skip-existing", action="store_true", help="skip images whose outputs already exist (resume)"
    )
    parser.set_defaults(func=run)


def collect_images(inputs: list[Path], out: Path) -> list[tuple[Path, Path]]:
    """``(image, output name)`` pairs, in a fixed order, with unique output names.

    A folder's images keep their path below the folder and their full name, so ``DIR/sub/a.jpg``
    writes ``OUT/sub/a.jpg.json``: ``a.jpg`` and ``a.png``, or ``x/a.jpg`` and ``y/a.jpg``, never
    share an output. A file given directly writes ``OUT/<name>.json``. Overlays this command wrote
    (``*.overlay.png`` under ``OUT``) are never read back as inputs. Two inputs that would still
    write the same file are an error before any work starts.
    """
    out_dir = _resolve(out)
    pairs: list[tuple[Path, Path]] = []
    for path in inputs:
        if path.is_dir():
            try:
                os.listdir(path)  # rglob skips a folder it cannot list without a word
            except OSError as exc:
                raise InvalidImageError(f"{path}: cannot read the folder: {exc.strerror or exc}") from None
            found = 0
            for image in sorted(path.rglob("*")):
                if not image.is_file() or image.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                if image.name.endswith(OVERLAY_SUFFIX) and _resolve(image).is_relative_to(out_dir):
                    continue
                pairs.append((image, image.relative_to(path)))
                found += 1
            if not found:
                logger.warning("%s: no images in this folder", path)
        else:
            pairs.append((path, Path(path.name)))
    seen: dict[Path, Path] = {}
    unique: list[tuple[Path, Path]] = []
    for image, name in pairs:
        if name in seen:
            if _resolve(seen[name]) == _resolve(image):
                continue  # the same file twice
            raise OutputError(
                f"{seen[name]} and {image} would both write {out / name}.json; "
                "align them in separate runs or pass the folder that holds both"
            )
        seen[name] = image
        unique.append((image, name))
    return unique


def _resolve(path: Path) -> Path:
    """``path.resolve()``, or the absolute path where it cannot be resolved (a symlink loop)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


def _outputs(out: Path, name: Path, draw: bool, inputs: set[Path]) -> tuple[Path, Path | None]:
    """The JSON and overlay paths of one image; an error rather than overwrite an input."""
    json_path = out / f"{name}.json"
    overlay = out / f"{name}{OVERLAY_SUFFIX}" if draw else None
    for target in (json_path, overlay):
        if target is not None and _resolve(target) in inputs:
            raise OutputError(f"{target} is one of the input images; it is never overwritten")
    json_path.parent.mkdir(parents=True, exist_ok=True)
    return json_path, overlay


def _make_aligner(args: argparse.Namespace):
    from parface_sdk.aligner import Aligner
    from parface_sdk.options import AlignerOptions

    options = AlignerOptions(
        backend=args.backend,
        device=args.device,
        detector=args.detector,
        detector_model=args.detector_model,
        recrop=not args.no_recrop,
    )
    aligner = Aligner(args.model, options)
    try:
        aligner.detector  # noqa: B018  every image needs it: a misconfigured one fails here, once
    except BaseException:
        aligner.close()
        raise
    return aligner


def _select(images: list[tuple[Path, Path]], args: argparse.Namespace) -> list[tuple[Path, Path]]:
    """``--shard I/N`` and ``--skip-existing``: the images this process still has to align."""
    shard = getattr(args, "shard", None)
    if shard is not None:
        from parface_sdk.scale.shards import in_shard, parse_shard

        index, count = parse_shard(shard)
        images = [(image, name) for image, name in images if in_shard(name.as_posix(), index, count)]
    if getattr(args, "skip_existing", False):
        done = len(images)
        images = [
            (image, name)
            for image, name in images
            if not (args.out / f"{name}.json").is_file()
            or (args.draw and not (args.out / f"{name}{OVERLAY_SUFFIX}").is_file())
        ]
        logger.info("--skip-existing: %d of %d images already aligned", done - len(images), done)
    return images


def run(args: argparse.Namespace) -> int:
    import cv2
    from tqdm import tqdm

    from parface_sdk.draw import draw_result
    from parface_sdk.image import load_image

    try:
        images = _select(collect_images(args.inputs, args.out), args)
        aligner = _make_aligner(args)
    except (ParfaceError, ValueError) as exc:
        print(f"parface align: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    try:
        prepare_output_folder(args.out)
    except ParfaceError as exc:
        aligner.close()
        print(f"parface align: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    if not images:
        aligner.close()
        where = ", ".join(map(str, args.inputs))
        print(
            f"parface align: no images in {where} (looked for {', '.join(IMAGE_SUFFIXES)})", file=sys.stderr
        )
        return EXIT_FAILED
    inputs = {_resolve(image) for image, _ in images}
    failures = 0
    with aligner:
        for path, name in tqdm(images, desc="align", unit="img", disable=len(images) < 2):
            target = args.out / name
            try:
                json_path, overlay_path = _outputs(args.out, name, args.draw, inputs)
                image = load_image(path)
                result = aligner.align(image, color="RGB")
                target = json_path
                write_atomically(json_path, result.to_json(indent=1).encode())
                if overlay_path is not None:
                    target = overlay_path
                    overlay = cv2.cvtColor(draw_result(image, result), cv2.COLOR_RGB2BGR)
                    ok, encoded = cv2.imencode(".png", overlay)
                    if not ok:
                        raise OutputError(f"{overlay_path}: PNG encoding failed")
                    write_atomically(overlay_path, encoded.tobytes())
            except ParfaceError as exc:
                failures += 1
                tqdm.write(f"parface align: {error_line(exc)}", file=sys.stderr)
            except OSError as exc:  # read-only folder, disk full, a folder in the way
                failures += 1
                where = target  # the output being written (an unreadable input is an InvalidImageError)
                tqdm.write(
                    f"parface align: {path}: cannot write {where}: {describe_os_error(exc)}", file=sys.stderr
                )
    logger.info("aligned %d of %d images", len(images) - failures, len(images))
    return EXIT_FAILED if failures else 0
