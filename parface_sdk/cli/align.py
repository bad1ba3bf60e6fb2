"""`parface align IMAGE|DIR`: one JSON per image, optionally an overlay PNG."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
from pathlib import Path

from parface_sdk.errors import ParfaceError
from parface_sdk.geometry import IMAGE_SUFFIXES

logger = logging.getLogger(__name__)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("align", help="68 3D landmarks for every face in images")
    parser.add_argument("inputs", nargs="+", type=Path, help="image files or folders")
    parser.add_argument("--out", type=Path, default=Path("parface_out"), help="output folder")
    parser.add_argument("--draw", action="store_true", help="also write an overlay PNG per image")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or tensorrt")
    parser.add_argument("--detector", default="auto", help="face detector name (default: auto)")
    parser.add_argument("--detector-model", type=Path, default=None, help="detector model file")
    parser.add_argument("--no-refine", action="store_true", help="skip the landmark re-crop pass")
    parser.set_defaults(func=run)


def collect_images(inputs: list[Path]) -> list[Path]:
    images: list[Path] = []
    for path in inputs:
        if path.is_dir():
            images += sorted(p for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            images.append(path)
    return images


def write_atomically(path: Path, data: bytes) -> None:
    """No partial files: write beside the target, then rename into place."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)


def run(args: argparse.Namespace) -> int:
    import cv2
    from tqdm import tqdm

    from parface_sdk.aligner import Aligner
    from parface_sdk.draw import draw_result
    from parface_sdk.image import load_image
    from parface_sdk.options import AlignerOptions

    try:
        options = AlignerOptions(
            backend=args.backend, device=args.device, detector=args.detector,
            detector_model=args.detector_model, refine=not args.no_refine,
        )
        aligner = Aligner(args.model, options)
    except (ParfaceError, ValueError) as exc:
        print(f"parface align: {exc}", file=sys.stderr)
        return 2
    images = collect_images(args.inputs)
    args.out.mkdir(parents=True, exist_ok=True)
    failures = 0
    with aligner:
        for path in tqdm(images, desc="align", unit="img", disable=len(images) < 2):
            try:
                image = load_image(path)
                result = aligner.align(image, color="RGB")
            except ParfaceError as exc:
                failures += 1
                tqdm.write(f"parface align: {exc}", file=sys.stderr)
                continue
            stem = args.out / path.stem
            write_atomically(stem.with_suffix(".json"), result.to_json(indent=1).encode())
            if args.draw:
                overlay = cv2.cvtColor(draw_result(image, result), cv2.COLOR_RGB2BGR)
                ok, encoded = cv2.imencode(".png", overlay)
                if ok:
                    write_atomically(stem.with_suffix(".png"), encoded.tobytes())
    logger.info("aligned %d of %d images", len(images) - failures, len(images))
    return 1 if failures else 0
