"""`parface export onnx|tensorrt|triton|info`: deployable model files from a checkpoint.

parface export onnx model.safetensors -o model.onnx [--graph frame] [--fp16] [--parity DATA_DIR]
parface export tensorrt model.onnx -o model.engine [--fp32] [--max-batch 32] [--timing-cache FILE]
parface export triton model.onnx -o model_repository [--max-batch 32] [--trt | --trt-fp16]
    [--trt-engine-cache /cache] [--no-dynamic-batching] [--max-frame 1080 1920]
parface export info model.onnx|model.engine
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
from pathlib import Path

from parface_sdk.errors import InvalidOptionError, ModelNotFoundError

logger = logging.getLogger(__name__)

SEEDED_PREFIX = "seeded:"


def add_parser(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "export",
        help="export a checkpoint to ONNX, TensorRT or Triton",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)

    onnx = targets.add_parser("onnx", help="checkpoint (.safetensors) -> self-describing ONNX model")
    onnx.add_argument(
        "checkpoint", help="a .safetensors checkpoint, or 'seeded:VARIANT' for an untrained model"
    )
    onnx.add_argument("-o", "--output", type=Path, help="output .onnx (default: beside the checkpoint)")
    onnx.add_argument(
        "--graph",
        choices=["crop", "frame"],
        default="crop",
        help="crop: normalised crops in; frame: frame + crop affines in, crop inside the graph",
    )
    onnx.add_argument("--fp16", action="store_true", help="store weights as float16 (float32 I/O)")
    onnx.add_argument("--opset", type=int, default=17, help="ONNX opset, 17 or newer (default 17)")
    onnx.add_argument("--no-simplify", action="store_true", help="skip onnxslim simplification")
    onnx.add_argument(
        "--parity",
        type=Path,
        metavar="DATA_DIR",
        help="check parity with PyTorch on the faces of a 300-W style folder (.pts + image)",
    )
    onnx.add_argument(
        "--int8",
        action="store_true",
        help="also write an int8 copy (QDQ, per-channel Conv/MatMul/Gemm), calibrated on --calibration",
    )
    onnx.add_argument(
        "--calibration",
        type=Path,
        metavar="TRAIN_DIR",
        help="for --int8: a folder of TRAINING faces (.pts + image), never the faces you evaluate",
    )

    trt = targets.add_parser("tensorrt", help="ONNX -> TensorRT engine for this GPU")
    trt.add_argument("onnx", type=Path, help="a parface-sdk ONNX model")
    trt.add_argument("-o", "--output", type=Path, help="output .engine (default: beside the ONNX)")
    trt.add_argument("--fp32", action="store_true", help="build in float32 (default float16)")
    trt.add_argument("--max-batch", type=int, default=32, help="largest batch of faces (default 32)")
    trt.add_argument(
        "--opt-batch", type=int, default=None, help="batch the kernels are tuned for (default 8)"
    )
    trt.add_argument("--max-frame", default="1080x1920", help="frame graphs: largest HEIGHTxWIDTH")
    trt.add_argument("--timing-cache", type=Path, help="timing cache file, read and updated")
    trt.add_argument("--workspace-gib", type=float, default=2.0, help="builder workspace (default 2 GiB)")

    triton = targets.add_parser("triton", help="ONNX -> Triton Inference Server model repository")
    triton.add_argument("onnx", type=Path, help="a parface-sdk ONNX model")
    triton.add_argument("-o", "--output", type=Path, required=True, help="the model repository folder")
    triton.add_argument("--name", help="model name (default parface_VARIANT)")
    triton.add_argument("--max-batch", type=int, default=32, help="largest server-side batch (default 32)")
    triton.add_argument("--cpu", action="store_true", help="instances on CPU instead of GPU")
    triton.add_argument("--trt-fp16", action="store_true", help="let Triton run it with TensorRT FP16")
    triton.add_argument("--instances", type=int, default=1, help="model instances (default 1)")
    triton.add_argument("--trt", action="store_true", help="let Triton run it with TensorRT (FP32)")
    triton.add_argument(
        "--trt-engine-cache", metavar="DIR", help="TensorRT engine cache folder, as the server sees it"
    )
    triton.add_argument(
        "--dynamic-batching",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Triton batching of crop-graph requests (default on; frame graphs cannot)",
    )
    triton.add_argument("--preferred-batch", type=int, nargs="+", help="preferred batch sizes")
    triton.add_argument("--max-queue-delay-us", type=int, default=500, help="batching delay (default 500)")
    triton.add_argument(
        "--max-frame", type=int, nargs=2, default=(1080, 1920), metavar=("H", "W"),
        help="frame graph: largest frame in the TensorRT profile (default 1080 1920)",
    )  # fmt: skip

    info = targets.add_parser("info", help="print the spec of an ONNX model or the header of an engine")
    info.add_argument("model", type=Path)
    parser.set_defaults(func=run)
    return parser


def _check_variant(variant: str) -> None:
    from parface_sdk.nn.variants import VARIANTS

    if variant not in VARIANTS:
        raise InvalidOptionError(
            f"unknown model variant {variant!r} in {SEEDED_PREFIX}{variant}; "
            f"use one of {', '.join(SEEDED_PREFIX + name for name in sorted(VARIANTS))}"
        )


def _network(checkpoint: str):
    if checkpoint.startswith(SEEDED_PREFIX):
        _check_variant(checkpoint[len(SEEDED_PREFIX) :])
    elif not Path(checkpoint).is_file():
        raise ModelNotFoundError(f"no checkpoint at {checkpoint}; pass a .safetensors file or seeded:VARIANT")
    from parface_sdk.nn.checkpoint import load_checkpoint, seeded_model

    if checkpoint.startswith(SEEDED_PREFIX):
        variant = checkpoint[len(SEEDED_PREFIX) :]
        logger.warning("exporting a seeded, UNTRAINED %s model: for tests and benchmarks only", variant)
        return seeded_model(variant, seed=0), None
    from parface_export.onnx_export import file_sha256

    return load_checkpoint(checkpoint), file_sha256(checkpoint)


def _output_file(path: Path | None, what: str) -> None:
    """An output file path must not be a folder, and its folder must be writable."""
    if path is None:
        return
    if path.is_dir():
        raise InvalidOptionError(f"-o {path} is a folder; pass the {what} file to write")
    folder = path.parent if str(path.parent) else Path(".")
    if folder.exists() and not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
        raise InvalidOptionError(f"cannot write {path}: {folder} is not a writable folder")


def _run_onnx(args) -> int:
    if args.int8 and (args.calibration is None or args.graph != "crop" or args.fp16):
        raise InvalidOptionError("--int8 needs --calibration TRAIN_DIR, the crop graph and no --fp16")
    from parface_export.onnx_export import DEFAULT_OPSET, export_onnx, max_opset

    if not DEFAULT_OPSET <= args.opset <= max_opset():
        raise InvalidOptionError(f"--opset must be from {DEFAULT_OPSET} to {max_opset()}, got {args.opset}")
    if args.parity is not None and not args.parity.is_dir():
        raise InvalidOptionError(
            f"--parity {args.parity}: no such folder (a 300-W style folder of .pts + images)"
        )
    _output_file(args.output, "ONNX")
    net, source_sha = _network(args.checkpoint)
    spec = net.spec.model_copy(update={"source_sha256": source_sha}) if source_sha else net.spec
    default = Path(args.checkpoint.replace(":", "-")).with_suffix("")
    output = args.output or default.with_name(
        default.name + ("-frame" if args.graph == "frame" else "") + ("-fp16" if args.fp16 else "") + ".onnx"
    )
    precision = "fp16" if args.fp16 else "fp32"
    path = export_onnx(
        net,
        output,
        opset=args.opset,
        spec=spec,
        graph=args.graph,
        precision=precision,
        simplify=not args.no_simplify,
    )
    print(f"wrote {path} ({args.graph} graph, {precision}, opset {args.opset})")
    if args.int8:
        from parface_export.quantize import quantize_int8

        int8 = quantize_int8(path, path.with_name(path.stem + "-int8.onnx"), args.calibration)
        print(f"wrote {int8} (int8 QDQ, calibrated on {args.calibration})")
    if args.parity:
        report = _parity(net, path, args.parity, args.graph, precision)
        print(json.dumps(report.model_dump(), indent=2))
        if not report.passed:
            print(
                f"parity FAILED: {report.max_landmark_diff_px:.3g} px >= {report.tolerance_px} px",
                file=sys.stderr,
            )
            return 1
    return 0


def _parity(net, path: Path, folder: Path, graph: str, precision: str):
    from parface_export.parity import check_frame_parity, check_parity, cpu_crops, real_faces

    faces = real_faces(folder, net.spec, count=16)
    if graph == "frame":
        return check_frame_parity(net, path, faces, precision)
    return check_parity(net, path, cpu_crops(faces, net.spec), precision)


def _run_tensorrt(args) -> int:
    from parface_export.tensorrt_build import build_engine

    try:
        height, width = (int(v) for v in args.max_frame.lower().split("x"))
    except ValueError:
        raise InvalidOptionError(
            f"--max-frame must be HEIGHTxWIDTH, e.g. 1080x1920, got {args.max_frame!r}"
        ) from None
    if not (height > 0 and width > 0):
        raise InvalidOptionError(f"--max-frame must be positive, got {args.max_frame!r}")
    if args.max_batch < 1 or (args.opt_batch is not None and not 1 <= args.opt_batch <= args.max_batch):
        raise InvalidOptionError("--max-batch must be >= 1 and --opt-batch from 1 to --max-batch")
    if not (math.isfinite(args.workspace_gib) and args.workspace_gib > 0):
        raise InvalidOptionError(f"--workspace-gib must be a positive number, got {args.workspace_gib}")
    if not args.onnx.is_file():
        raise ModelNotFoundError(f"no ONNX model at {args.onnx}")
    _output_file(args.output, "engine")
    path = build_engine(
        args.onnx,
        args.output,
        precision="fp32" if args.fp32 else "fp16",
        max_batch=args.max_batch,
        opt_batch=args.opt_batch,
        max_frame=(height, width),
        timing_cache=args.timing_cache,
        workspace_gib=args.workspace_gib,
    )
    print(f"wrote {path}")
    return 0


def _run_triton(args) -> int:
    from parface_export.triton import export_triton_repository

    if args.max_batch < 1 or args.instances < 1:
        raise InvalidOptionError(
            f"--max-batch and --instances must be >= 1, got {args.max_batch} and {args.instances}"
        )
    if not args.onnx.is_file():
        raise ModelNotFoundError(f"no ONNX model at {args.onnx}")
    if args.output.exists() and not args.output.is_dir():
        raise InvalidOptionError(f"-o {args.output} is a file; pass the model repository folder")
    folder = export_triton_repository(
        args.onnx,
        args.output,
        args.max_batch,
        name=args.name,
        gpu=not args.cpu,
        tensorrt_fp16=args.trt_fp16,
        instances=args.instances,
        tensorrt=args.trt,
        trt_engine_cache=args.trt_engine_cache,
        dynamic_batching=args.dynamic_batching,
        preferred_batch_sizes=args.preferred_batch,
        max_queue_delay_us=args.max_queue_delay_us,
        max_frame=tuple(args.max_frame),
    )
    print(f"wrote {folder}/config.pbtxt and {folder}/1/model.onnx")
    print(f"serve with: tritonserver --model-repository {args.output.resolve()}")
    return 0


def _run_info(args) -> int:
    if args.model.suffix.lower() in (".engine", ".trt", ".plan"):
        from parface_sdk.backends.engine_file import read_engine_header

        header, _ = read_engine_header(args.model)
        print(header.model_dump_json(indent=2))
    else:
        from parface_export.onnx_export import read_spec

        print(read_spec(args.model).model_dump_json(indent=2))
    return 0


def run(args) -> int:
    from parface_sdk.cli.common import error_line
    from parface_sdk.errors import ParfaceError

    handlers = {"onnx": _run_onnx, "tensorrt": _run_tensorrt, "triton": _run_triton, "info": _run_info}
    try:
        return handlers[args.target](args)
    except ParfaceError as exc:
        print(f"parface export {args.target}: {error_line(exc)}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"parface export {args.target}: {error_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = getattr(args, "output", None) or exc.filename
        print(f"parface export {args.target}: cannot write {where}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except ImportError as exc:  # torch / onnx / onnxslim missing
        print(
            f"parface export {args.target} needs the export extra ({exc}): pip install 'parface-sdk[export]'",
            file=sys.stderr,
        )
        return 2
