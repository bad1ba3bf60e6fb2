"""`parface batch INPUT... --out OUT`: align a folder, a glob or a manifest on Ray Data into Parquet.

Inputs: folders (recursive), globs in quotes, files, or .csv / .parquet manifests with a `path`
column (any fsspec path). Output: OUT/part-NNNNNN.parquet, one row per face (one per frame for
videos), one status row per image without a face or that failed; OUT/_plan.json. Run the same
command again to finish an interrupted job: finished shards are skipped. See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parface_sdk.cli.common import EXIT_FAILED


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "batch",
        help="align many images or videos on Ray Data into Parquet shards",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("inputs", nargs="+", help="folders, globs ('a/*.jpg'), files or manifests")
    parser.add_argument("--out", type=Path, required=True, help="output folder of Parquet shards")
    parser.add_argument("--address", default=None, help="an existing Ray cluster (default: a local one)")
    parser.add_argument("--actors", type=int, default=2, help="actors, each with one Aligner (default 2)")
    parser.add_argument("--batch-size", type=int, default=8, help="images per align_batch call (default 8)")
    parser.add_argument("--shard-size", type=int, default=64, help="images per output shard (default 64)")
    parser.add_argument("--cpus-per-actor", type=float, default=1.0, help="CPUs per actor (default 1)")
    parser.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per actor (default 0; sets cuda)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda with --num-gpus)")
    parser.add_argument("--detector", default="auto", help="face detector name (default: auto)")
    parser.add_argument("--no-recrop", action="store_true", help="skip the landmark re-crop pass")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def _check(args: argparse.Namespace) -> None:
    from parface_sdk.errors import InvalidOptionError

    for name in ("actors", "batch_size", "shard_size"):
        if getattr(args, name) < 1:
            raise InvalidOptionError(
                f"--{name.replace('_', '-')} must be at least 1, got {getattr(args, name)}"
            )
    if args.cpus_per_actor <= 0 or args.num_gpus < 0:
        raise InvalidOptionError("--cpus-per-actor must be positive and --num-gpus not negative")


def run(args: argparse.Namespace) -> int:
    from parface_sdk.scale.batch import run_batch

    _check(args)
    options = {
        "backend": args.backend,
        "device": args.device or ("cuda" if args.num_gpus else "cpu"),
        "detector": args.detector,
        "recrop": not args.no_recrop,
    }
    report = run_batch(
        args.inputs,
        args.out,
        model=args.model,
        options=options,
        actors=args.actors,
        batch_size=args.batch_size,
        shard_size=args.shard_size,
        cpus_per_actor=args.cpus_per_actor,
        num_gpus=args.num_gpus,
        address=args.address,
        progress=not args.no_progress,
        verbose=bool(getattr(args, "verbose", False)),
    )
    print(f"parface batch: {report.line()}", file=sys.stderr)
    return EXIT_FAILED if report.errors else 0
