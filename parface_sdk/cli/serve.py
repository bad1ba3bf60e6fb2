"""`parface serve`: an HTTP endpoint on Ray Serve. POST image bytes, get the AlignResult JSON.

    parface serve --port 8000 --replicas 2 --max-batch 8
    curl --data-binary @photo.jpg http://127.0.0.1:8000/

Binds 127.0.0.1 unless --host says otherwise. Bad requests get a 4xx with a one-line reason.
See docs/scaling.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="HTTP endpoint on Ray Serve: POST image bytes, get AlignResult JSON",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--address", default=None, help="an existing Ray cluster (default: a local one)")
    parser.add_argument("--replicas", type=int, default=1, help="replicas, each with one Aligner (default 1)")
    parser.add_argument("--max-batch", type=int, default=8, help="most images per batched call (default 8)")
    parser.add_argument(
        "--batch-wait-ms", type=float, default=5.0, help="longest wait for a batch to fill (default 5 ms)"
    )
    parser.add_argument("--max-body-mb", type=float, default=20.0, help="largest request body (default 20)")
    parser.add_argument("--cpus-per-replica", type=float, default=1.0, help="CPUs per replica (default 1)")
    parser.add_argument("--num-gpus", type=float, default=0.0, help="GPUs per replica (default 0; sets cuda)")
    parser.add_argument("--model", type=Path, default=None, help="model file (default: shipped)")
    parser.add_argument("--backend", default="auto", help="auto, onnxruntime, torch or tensorrt")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: cuda with --num-gpus)")
    parser.add_argument("--detector", default="auto", help="face detector name (default: auto)")
    parser.add_argument("--no-recrop", action="store_true", help="skip the landmark re-crop pass")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from parface_sdk.errors import InvalidOptionError
    from parface_sdk.scale.serve import build_app, serve_forever

    if args.replicas < 1 or args.max_batch < 1 or args.max_body_mb <= 0 or args.batch_wait_ms < 0:
        raise InvalidOptionError("--replicas and --max-batch must be at least 1, --max-body-mb positive")
    app = build_app(
        args.model,
        {
            "backend": args.backend,
            "device": args.device or ("cuda" if args.num_gpus else "cpu"),
            "detector": args.detector,
            "recrop": not args.no_recrop,
        },
        replicas=args.replicas,
        max_batch=args.max_batch,
        batch_wait_s=args.batch_wait_ms / 1000.0,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        cpus_per_replica=args.cpus_per_replica,
        gpus_per_replica=args.num_gpus,
        local=args.address is None,
    )
    print(
        f"parface serve: POST image bytes to http://{args.host}:{args.port}/ (Ctrl-C stops)", file=sys.stderr
    )
    serve_forever(
        app,
        host=args.host,
        port=args.port,
        address=args.address,
        replicas=args.replicas,
        cpus_per_replica=args.cpus_per_replica,
        gpus_per_replica=args.num_gpus,
        verbose=bool(getattr(args, "verbose", False)),
    )
    return 0
