"""int8 check: an int8 (QDQ, per-channel, Conv/MatMul/Gemm) copy of the shipped ONNX model,
calibrated on 300-W TRAIN faces (never the held-out ones), against the float32 model on the
held-out validation faces of the same folder (``is_validation(path, 0.05)``): landmark parity
(max / mean x-y difference in px), NME of each, and per-face latency at 1 thread (batch 1, the
two models interleaved). Writes JSON.

    python benchmarks/int8_check.py --out benchmarks/reports/int8_check.json [--faces 40 --calibration 64]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PARFACE_SHARED", REPO.parent / "shared"))
FOLDER = SHARED / "data" / "300w-subset" / "train"


def _latency(sessions: dict, crops: np.ndarray, rounds: int) -> dict[str, float]:
    """Median seconds per face at batch 1 for each backend, the backends interleaved."""
    times = {name: [] for name in sessions}
    for _ in range(rounds):
        for i in range(len(crops)):
            for name, backend in sessions.items():
                began = time.perf_counter()
                backend.run(crops[i : i + 1])
                times[name].append(time.perf_counter() - began)
    return {name: float(np.median(values)) for name, values in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=FOLDER)
    parser.add_argument("--faces", type=int, default=40, help="held-out validation faces to compare on")
    parser.add_argument("--calibration", type=int, default=64, help="training faces to calibrate on")
    parser.add_argument("--rounds", type=int, default=3, help="latency rounds over the faces")
    parser.add_argument("--out", type=Path, default=Path("int8_check.json"))
    args = parser.parse_args(argv)
    from parface_export.quantize import QUANTIZED_OPS, labelled_faces, landmark_crops, quantize_int8
    from parface_sdk import crop
    from parface_sdk.backends.onnxruntime import OnnxRuntimeBackend
    from parface_sdk.evaluation.metrics import nme
    from parface_sdk.models import default_model_path
    from parface_training.data.largepose import is_validation

    held_out = lambda path: is_validation(path, 0.05)  # noqa: E731
    validation = labelled_faces(args.folder, exclude=lambda p: not held_out(p))[: args.faces]
    fp32_path = default_model_path("onnxruntime")
    fp32 = OnnxRuntimeBackend(fp32_path, threads=1)
    spec = fp32.spec
    with tempfile.TemporaryDirectory() as workdir:
        began = time.perf_counter()
        int8_path = quantize_int8(
            fp32_path, Path(workdir) / "int8.onnx", args.folder, args.calibration, held_out
        )
        quantize_s = time.perf_counter() - began
        int8 = OnnxRuntimeBackend(int8_path, threads=1)
        int8_bytes = int8_path.stat().st_size
        crops, truth = landmark_crops(validation, spec)
        # Crop pixels back to image pixels: the same transforms landmark_crops used.
        from parface_sdk import pipeline

        transforms = pipeline.faces_from_landmarks([[t] for t in truth], spec).transforms
        outputs = {}
        for name, backend in (("fp32", fp32), ("int8", int8)):
            landmarks, _ = backend.run(crops)
            outputs[name] = np.stack(
                [crop.apply(crop.invert(t), p[:, :2]) for t, p in zip(transforms, landmarks)]
            )
        latency = _latency({"fp32": fp32, "int8": int8}, crops, args.rounds)
    diff = np.linalg.norm(outputs["int8"] - outputs["fp32"], axis=2)
    gt = np.stack([t[:, :2] for t in truth])
    report = {
        "model": fp32_path.name,
        "quantization": {
            "format": "QDQ",
            "per_channel": True,
            "ops": list(QUANTIZED_OPS),
            "calibrate": "MinMax",
        },
        "calibration_faces": f"first {args.calibration} 300-W train faces outside the 5 % validation split",
        "faces": len(validation),
        "faces_from": f"{args.folder} with is_validation(path, 0.05) (held out from training)",
        "crop": "from the ground-truth landmarks, as the runtime crops (faces_from_landmarks)",
        "landmark_diff_px": {"max": float(diff.max()), "mean": float(diff.mean())},
        "nme_box_percent": {name: float(100 * nme(out, gt, "box").mean()) for name, out in outputs.items()},
        "latency_ms_per_face_1_thread": {name: 1e3 * value for name, value in latency.items()},
        "latency_ratio_int8_over_fp32": latency["int8"] / latency["fp32"],
        "size_bytes": {"fp32": fp32_path.stat().st_size, "int8": int8_bytes},
        "quantize_s": quantize_s,
        "note": "measured on 2 shared CPU cores beside a training job: latencies are noisy",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
