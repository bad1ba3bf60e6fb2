"""`parface export onnx|tensorrt|triton|info`: deployable model files from a checkpoint.

parface export onnx model.safetensors -o model.onnx [--graph frame] [--fp16] [--parity DATA_DIR]
parface export tensorrt model.onnx -o model.engine [--fp32] [--max-batch 32] [--timing-cache FILE]
parface export triton model.onnx -o model_repository [--max-batch 32] [--trt-fp16]
parface export info model.onnx|model.engine
"""

from __future__ import annotations

import argparse
import json
import logging
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


def _run_onnx(args) -> int:
    if args.int8 and (args.calibration is None or args.graph != "crop" or args.fp16):
        print("--int8 needs --calibration TRAIN_DIR, the crop graph and no --fp16", file=sys.stderr)
        return 2
    from parface_export.onnx_export import export_onnx

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

    height, width = (int(v) for v in args.max_frame.lower().split("x"))
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

    folder = export_triton_repository(
        args.onnx,
        args.output,
        args.max_batch,
        name=args.name,
        gpu=not args.cpu,
        tensorrt_fp16=args.trt_fp16,
        instances=args.instances,
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
    from parface_sdk.errors import ParfaceError

    handlers = {"onnx": _run_onnx, "tensorrt": _run_tensorrt, "triton": _run_triton, "info": _run_info}
    try:
        return handlers[args.target](args)
    except ParfaceError as exc:
        print(f"parface export {args.target}: {exc}", file=sys.stderr)
        return 2
    except ImportError as exc:  # torch / onnx / onnxslim missing
        print(
            f"parface export {args.target} needs the export extra ({exc}): pip install 'parface-sdk[export]'",
            file=sys.stderr,
        )
        return 2
