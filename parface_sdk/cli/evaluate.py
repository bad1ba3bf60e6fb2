"""`parface eval` / `parface-eval`: accuracy on a test set with the paper's protocol.

parface-eval --dataset aflw2000-3d-full --root ../shared/data --crop both --out eval_aflw
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from parface_sdk.errors import ParfaceError
from parface_sdk.evaluation.datasets import LOADERS

logger = logging.getLogger(__name__)

DATASET_CHOICES = tuple(LOADERS)
CROP_CHOICES = {"gt": ("gt",), "detector": ("detector",), "both": ("gt", "detector")}
HELP = "accuracy on a test set (NME, GTE, AUC/FR at 10%%, yaw bins, CED plots)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        required=True,
        choices=DATASET_CHOICES,
        help="layout of --root: aflw2000-3d (jpg + .mat folder), aflw2000-3d-full "
        "(the 2000-face benchmark from the shared data folder), 300w (.pts folder), "
        "300w-common (HELEN + LFPW test from the shared data folder), manifest "
        "(a CSV or JSON file)",
    )
    parser.add_argument(
        "--root",
        required=True,
        type=Path,
        action="append",
        help="dataset folder (or manifest file); repeat to pool several folders",
    )
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped model)")
    parser.add_argument(
        "--crop",
        choices=tuple(CROP_CHOICES),
        default="both",
        help="gt: crop from the ground-truth landmarks (paper protocol); detector: "
        "crop from the face detector (misses count as failures); both (default)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("parface_eval"),
        help="output folder for report.json, predictions.npz, ced.png",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="evaluate only N faces, spread evenly over the set (quick checks)",
    )
    parser.add_argument(
        "--normalizer",
        choices=("box", "inter-ocular"),
        default="box",
        help="2D NME normaliser: sqrt(w*h) of the GT box (paper) or outer-eye distance",
    )
    parser.add_argument(
        "--backend",
        default="auto",
        help="auto, onnxruntime, onnxruntime-tensorrt, torch, torch-frame or tensorrt",
    )
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--detector", default="auto", help="face detector for --crop detector")
    parser.add_argument("--detector-model", type=Path, default=None, help="detector model file")
    parser.add_argument("--threads", type=int, default=None, help="inference threads")
    parser.add_argument("--no-plots", action="store_true", help="skip the CED plot")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("eval", help=HELP, description=HELP)
    add_arguments(parser)
    parser.set_defaults(func=run)


def _meta(args: argparse.Namespace, aligner, dataset) -> dict:
    import parface_sdk

    spec = aligner.spec
    return {
        "parface_sdk": parface_sdk.__version__,
        "model": str(aligner.model_path),
        "model_variant": spec.variant,
        "weights_sha256": spec.weights_sha256,
        "backend": aligner.backend.name,
        "device": args.device,
        "detector": args.detector if args.crop != "gt" else None,
        "roots": [str(root) for root in dataset.roots],
        "limit": args.limit,
    }


def run(args: argparse.Namespace) -> int:
    from parface_sdk.aligner import Aligner
    from parface_sdk.evaluation import build_report, evaluate, load_dataset, print_table, write_outputs
    from parface_sdk.options import AlignerOptions

    try:
        dataset = load_dataset(args.dataset, args.root).subset(args.limit)
        options = AlignerOptions(
            backend=args.backend,
            device=args.device,
            detector=args.detector,
            detector_model=args.detector_model,
            threads=args.threads,
        )
        aligner = Aligner(args.model, options)
    except (ParfaceError, ValueError) as exc:
        print(f"parface eval: {exc}", file=sys.stderr)
        return 2
    with aligner:
        try:
            runs = evaluate(
                aligner, dataset, CROP_CHOICES[args.crop], args.normalizer, progress=not args.no_progress
            )
        except ParfaceError as exc:
            print(f"parface eval: {exc}", file=sys.stderr)
            return 1
        report = build_report(runs, _meta(args, aligner, dataset))
    written = write_outputs(runs, report, args.out, plots=not args.no_plots)
    print_table(report)
    for kind, path in written.items():
        print(f"{kind}: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """The `parface-eval` entry point (the same as `parface eval`)."""
    parser = argparse.ArgumentParser(prog="parface-eval", description=HELP)
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    add_arguments(parser)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
