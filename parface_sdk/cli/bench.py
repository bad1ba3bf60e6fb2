"""`parface-bench`: per-stage latency (median, p95, p99), faces/s and the fraction of peak FLOP/s.

    parface-bench --engine ort --variant light --batch 8 --json report.json
    parface-bench --engine torch --variant paper --frames 100
    parface-bench --engine trt --device cuda --model model.engine
    parface-bench --engine torch-frame --device cuda --precision fp16 --batch 64

Without --model the variant is benchmarked with seeded, untrained weights (speed does not depend
on them; the report says so). Stages: detect (the default detector on a 640x480 frame), crop,
network, decode, and depth (inside the network graph; the torch engines time it separately),
then end to end; plus ``Aligner.align`` on the same frame. ``torch-frame`` is torch with the crop on
the device (what the Aligner runs for torch on cuda).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from parface_sdk.bench.models import ENGINES
from parface_sdk.cli.common import OneLineArgumentParser

EXIT_UNAVAILABLE = 3


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineArgumentParser(
        prog="parface-bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=ENGINES, default="ort", help="runtime (default ort)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="default cpu")
    parser.add_argument(
        "--precision",
        choices=["fp32", "fp16", "bf16"],
        default="fp32",
        help="network arithmetic (fp16/bf16: torch engines; fp16 is also onnxruntime-tensorrt's)",
    )
    parser.add_argument("--batch", type=int, default=1, help="faces per network call (default 1)")
    parser.add_argument(
        "--variant", default="light", help="model variant without --model: light, paper, tiny"
    )
    parser.add_argument("--model", type=Path, help=".safetensors (torch), .onnx (ort, trt) or .engine (trt)")
    parser.add_argument("--frames", type=int, default=200, help="timed frames (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed frames first (default 20)")
    parser.add_argument(
        "--graph",
        choices=["crop", "frame"],
        default="crop",
        help="frame: the frame graph (crop inside the model; ort and trt)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="CPU threads for every stage (default 1; 0 lets the runtimes decide)",
    )
    parser.add_argument(
        "--image", type=Path, help="face photo letterboxed to 640x480 (default: the shared sample face)"
    )
    parser.add_argument("--detector", default="auto", help="detector name, or 'none' for a fixed box")
    parser.add_argument("--no-aligner", action="store_true", help="skip timing Aligner.align")
    parser.add_argument(
        "--no-recrop",
        action="store_true",
        help="one network pass per face (Aligner recrop=False); default: as the Aligner",
    )
    parser.add_argument("--no-peak", action="store_true", help="skip measuring the peak FLOP/s")
    parser.add_argument("--json", type=Path, help="write the report here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details")
    return parser


def main(argv: list[str] | None = None) -> int:
    from parface_sdk.cli.common import EXIT_INTERRUPTED, guarded, sigterm_as_interrupt

    with sigterm_as_interrupt():  # SIGTERM is Ctrl-C from the first moment
        try:
            args = build_parser().parse_args(argv)
            return guarded("parface-bench", lambda: _main(args))
        except KeyboardInterrupt:
            print("parface-bench: interrupted", file=sys.stderr)
            return EXIT_INTERRUPTED


def _main(args: argparse.Namespace) -> int:
    from parface_sdk.cli.common import EXIT_USAGE, error_line, prepare_output_folder, write_atomically

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    from parface_sdk.bench.frames import bench_frame
    from parface_sdk.bench.report import print_table
    from parface_sdk.bench.runner import BenchConfig, run_benchmark
    from parface_sdk.errors import BackendUnavailableError, ParfaceError

    if args.batch < 1 or args.frames < 1 or args.warmup < 0 or args.threads < 0:
        print(
            "parface-bench: --batch and --frames must be >= 1, --warmup and --threads >= 0", file=sys.stderr
        )
        return EXIT_USAGE
    if args.model is not None and not args.model.is_file():
        print(f"parface-bench: no model file at {args.model}", file=sys.stderr)
        return EXIT_USAGE
    if args.image is not None and not args.image.is_file():
        print(f"parface-bench: no image file at {args.image}", file=sys.stderr)
        return EXIT_USAGE
    if args.json is not None:
        try:  # checked before the benchmark runs, not after minutes of it
            if args.json.is_dir():
                raise ParfaceError(f"--json {args.json} is a folder; pass the report file to write")
            prepare_output_folder(args.json.parent)
        except ParfaceError as exc:
            print(f"parface-bench: {error_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
    config = BenchConfig(
        engine=args.engine,
        device=args.device,
        batch=args.batch,
        variant=args.variant,
        model=args.model,
        frames=args.frames,
        warmup=args.warmup,
        threads=args.threads or None,
        image=args.image,
        detector=args.detector,
        graph=args.graph,
        precision=args.precision,
        aligner=not args.no_aligner,
        peak=not args.no_peak,
        progress=not args.quiet,
        recrop=not args.no_recrop,
    )
    try:
        image, label = bench_frame(args.image)
        report = run_benchmark(config, image, label)
    except BackendUnavailableError as exc:
        print(
            f"parface-bench: the {args.engine} engine is not available on this machine: {exc}",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    except (ParfaceError, ValueError) as exc:
        print(f"parface-bench: {error_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    print_table(report)
    if args.json:
        write_atomically(args.json, (report.model_dump_json(indent=2) + "\n").encode())
        print(f"report written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
