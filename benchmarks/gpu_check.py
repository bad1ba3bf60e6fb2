"""GPU check: what users get. ``Aligner.align`` end to end (decode, detector, crop, network, recrop
pass, map back) on a real face image shipped in the repo, and ``Aligner.align_batch`` on many copies,
for every backend that can run here, with the shipped model. Written as JSON, even when engines fail
(each failure is recorded under ``errors``, the others' numbers are kept).

Engines on ``cuda``: torch-frame (fp32, fp16), onnxruntime CUDA provider, onnxruntime TensorRT
provider (fp16), native TensorRT (an engine built from the shipped ONNX model). On ``cpu``:
onnxruntime and torch (a smoke test of this script; the numbers are CPU numbers).

    python benchmarks/gpu_check.py --out gpu_check.json                 # on a GPU (< 8 minutes)
    python benchmarks/gpu_check.py --device cpu --quick --out x.json    # CPU run of this script
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
IMAGE = REPO / "examples" / "data" / "astronaut.jpg"
TARGETS = {"align_ms": 5.0, "align_batch_faces_per_s": 1000}


def _sync(device: str) -> None:
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def _time(call, device: str, seconds: float, min_runs: int, max_runs: int) -> float:
    """Median seconds per call, after warm-up, over at least ``min_runs`` runs or ``seconds``."""
    for _ in range(2):
        call()
    _sync(device)
    times, start = [], time.perf_counter()
    while len(times) < min_runs or (time.perf_counter() - start < seconds and len(times) < max_runs):
        began = time.perf_counter()
        call()
        _sync(device)
        times.append(time.perf_counter() - began)
    return float(np.median(times))


def _engines(device: str, workdir: Path):
    """(label, model path factory, AlignerOptions fields) for each engine of ``device``."""
    from parface_sdk.models import default_model_path

    onnx = lambda: default_model_path("onnxruntime")  # noqa: E731
    torch_file = lambda: default_model_path("torch")  # noqa: E731
    if device == "cpu":
        yield "onnxruntime", onnx, {"backend": "onnxruntime"}
        yield "torch", torch_file, {"backend": "torch"}
        return

    def engine_file() -> Path:
        from parface_export.tensorrt_build import build_engine

        return build_engine(onnx(), workdir / "shipped.engine", precision="fp16", max_batch=64)

    yield "torch-frame-fp32", torch_file, {"backend": "torch-frame"}
    yield "torch-frame-fp16", torch_file, {"backend": "torch-frame", "precision": "fp16"}
    yield "ort-cuda", onnx, {"backend": "onnxruntime"}
    yield "ort-tensorrt-fp16", onnx, {"backend": "onnxruntime-tensorrt", "precision": "fp16"}
    yield "tensorrt-fp16", engine_file, {"backend": "tensorrt"}


def _measure(aligner, image: np.ndarray, device: str, batch: int, seconds: float, quick: bool) -> dict:
    runs = (2, 3) if quick else (20, 2000)
    result = aligner.align(image, color="rgb")
    align = _time(lambda: aligner.align(image, color="rgb"), device, seconds, *runs)
    images = [image] * batch
    batched = _time(lambda: aligner.align_batch(images, color="rgb"), device, seconds, *runs)
    faces = len(result.faces)
    return {
        "backend": aligner.backend.name,
        "backend_device": aligner.backend.device,
        "detector": aligner.detector.name,
        "faces": faces,
        "align_ms": 1e3 * align,
        "align_fps": 1.0 / align,
        "align_batch_images": batch,
        "align_batch_faces_per_s": faces * batch / batched,
        "landmarks": result.faces[0].landmarks.tolist() if faces else None,
    }


def _parity(results: dict) -> None:
    """Max landmark difference (px, x/y) of each engine against the first one that found a face."""
    reference = next((r["landmarks"] for r in results.values() if r.get("landmarks")), None)
    for result in results.values():
        landmarks = result.pop("landmarks")
        if reference is not None and landmarks is not None:
            diff = np.abs(np.asarray(landmarks)[:, :2] - np.asarray(reference)[:, :2])
            result["max_xy_diff_px_vs_first"] = float(diff.max())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny run: a few calls per measurement")
    parser.add_argument("--batch", type=int, default=32, help="images per align_batch call")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per measurement")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: onnxruntime's)")
    parser.add_argument("--image", type=Path, default=IMAGE)
    parser.add_argument("--out", type=Path, default=Path("gpu_check.json"))
    args = parser.parse_args(argv)
    from parface_sdk import Aligner, AlignerOptions
    from parface_sdk.image import load_image

    if args.quick:
        args.batch, args.seconds = min(args.batch, 2), 0.0
    device_name = platform.processor() or "cpu"
    report = {"device": device_name, "quick": args.quick, "image": str(args.image), "targets": TARGETS}
    try:
        import torch

        report["torch"] = torch.__version__
        if args.device == "cuda":
            if not torch.cuda.is_available():
                report["errors"] = {"cuda": "no CUDA device visible to torch"}
            else:
                report["device"] = torch.cuda.get_device_name(0)
    except ImportError:
        report["torch"] = None
    report.setdefault("errors", {})
    report["results"] = {}
    image = load_image(args.image)
    report["frame"] = [int(image.shape[1]), int(image.shape[0])]
    with tempfile.TemporaryDirectory() as workdir:
        for label, model, fields in _engines(args.device, Path(workdir)):
            try:  # one engine failing must not lose the others' numbers
                options = AlignerOptions(device=args.device, threads=args.threads, **fields)
                with Aligner(model(), options) as aligner:
                    report["results"][label] = _measure(
                        aligner, image, args.device, args.batch, args.seconds, args.quick
                    )
            except Exception as exc:
                report["errors"][label] = f"{type(exc).__name__}: {exc}"
            shown = {k: v for k, v in report["results"].get(label, {}).items() if k != "landmarks"}
            print(label, shown or report["errors"][label], flush=True)
    _parity(report["results"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0 if report["results"] and not report["errors"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
