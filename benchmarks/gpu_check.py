"""GPU check: single-stream FPS on 640x480 frames and batched faces/s, both variants, written as JSON.

Engines: the torch device-crop backend (``torch-frame``, fp32 and fp16) always; onnxruntime CUDA
and TensorRT providers when onnxruntime-gpu is installed. Weights are seeded (speed does not
depend on them). Single stream: one frame, one face (a fixed box, no detector), end to end through
``pipeline.infer`` (upload, crop, network, map back, download). Batched: ``--batch`` faces per call.

    python benchmarks/gpu_check.py --out gpu_check.json            # on a GPU (< 8 minutes)
    python benchmarks/gpu_check.py --device cpu --quick --out x.json  # CPU smoke test of this script
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

TARGETS = {"paper": {"single_stream_fps": 300, "batched_faces_per_s": 1000}}


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _time(call, device: str, seconds: float, min_runs: int) -> float:
    """Median seconds per call, after warm-up, over at least ``min_runs`` runs or ``seconds``."""
    for _ in range(3):
        call()
    _sync(device)
    times, start = [], time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < seconds:
        began = time.perf_counter()
        call()
        _sync(device)
        times.append(time.perf_counter() - began)
        if len(times) >= 10 * min_runs:
            break
    return float(np.median(times))


def _measure(backend, spec, device: str, batch: int, seconds: float, min_runs: int) -> dict:
    from parface_sdk import pipeline

    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (480, 640, 3), dtype=np.uint8)
    one = pipeline.faces_from_boxes([[[220.0, 120.0, 420.0, 360.0]]], spec)
    single = _time(lambda: pipeline.infer(backend, [frame], one), device, seconds, min_runs)
    many = one.take(np.zeros(batch, np.int64))
    batched = _time(
        lambda: pipeline.infer(backend, [frame], many, batch_size=batch), device, seconds, min_runs
    )
    return {
        "single_stream_fps": 1.0 / single,
        "single_stream_ms": 1e3 * single,
        "batched_faces_per_s": batch / batched,
        "batch": batch,
    }


def _engines(variant: str, device: str, workdir: Path, quick: bool):
    """(label, backend factory) for each engine that can run here."""
    import importlib.util

    from parface_sdk.backends.torch_frame import TorchFrameBackend
    from parface_sdk.nn.checkpoint import seeded_model

    net = seeded_model(variant, seed=0)
    yield "torch-frame-fp32", lambda: TorchFrameBackend.from_module(net, device=device)
    if device == "cuda":
        yield "torch-frame-fp16", lambda: TorchFrameBackend.from_module(net, device=device, precision="fp16")
    if quick or importlib.util.find_spec("onnxruntime") is None:
        return
    import onnxruntime

    providers = onnxruntime.get_available_providers()
    wanted = [  # (label, backend, provider, precision): TensorRT in fp16, as it is deployed
        ("ort-cuda", "onnxruntime", "CUDAExecutionProvider", "fp32"),
        ("ort-tensorrt", "onnxruntime-tensorrt", "TensorrtExecutionProvider", "fp16"),
    ]
    if device != "cuda" or not any(p in providers for _, _, p, _ in wanted):
        return
    from parface_export.onnx_export import export_onnx

    path = export_onnx(net, workdir / f"{variant}.onnx")
    from parface_sdk.backends import create_backend

    for label, backend_name, provider, precision in wanted:
        if provider in providers:
            yield (
                label,
                lambda b=backend_name, p=precision: create_backend(
                    path, backend=b, device="cuda", precision=p
                ),
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny run: smoke-test this script")
    parser.add_argument("--variants", nargs="+", default=["light", "paper"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    args = parser.parse_args(argv)
    import torch

    if args.device == "cuda" and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device visible to torch; nothing measured (use --device cpu --quick "
            "to test the script)"
        )
        return 3
    if args.quick:
        args.variants, args.batch, args.seconds = ["tiny"], 4, 0.0
    report = {
        "device": torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or "cpu",
        "torch": torch.__version__,
        "quick": args.quick,
        "frame": [640, 480],
        "weights": "seeded, untrained",
        "targets": TARGETS,
        "results": {},
        "errors": {},
    }
    with tempfile.TemporaryDirectory() as workdir:
        for variant in args.variants:
            for label, factory in _engines(variant, args.device, Path(workdir), args.quick):
                key = f"{variant}/{label}"
                try:
                    backend = factory()
                    report["results"][key] = _measure(
                        backend, backend.spec, args.device, args.batch, args.seconds, 3 if args.quick else 20
                    )
                    backend.close()
                except Exception as exc:  # one engine failing must not lose the others' numbers
                    report["errors"][key] = f"{type(exc).__name__}: {exc}"
                print(key, report["results"].get(key) or report["errors"][key], flush=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if report["results"] and not report["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
