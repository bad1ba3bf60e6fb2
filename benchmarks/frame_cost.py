"""The default frame's cost, model against model, as ratios from one interleaved run.

    python benchmarks/frame_cost.py --baseline /work/runs/v3/parface_light.onnx \
        --out benchmarks/reports/frame_cost_v4.json [--rounds 7 --frames 30 --threads 1]

What is timed is what users run: ``Aligner.align`` on a 640x480 BGR frame holding one face (the
bundled astronaut photo letterboxed), detector included. Configurations: the baseline model with
the default options, the shipped default model with the default options, and the shipped model
without the second crop pass (``recrop=False``). Each round times every configuration for
``--frames`` frames, in turn; the report gives per-configuration medians over rounds and each
median's ratio to the baseline. Run it on a quiet machine: other jobs on the same cores make every
figure noisy (the ratios less so, since the rounds interleave).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]


def frame_640x480() -> np.ndarray:
    image = cv2.imread(str(REPO / "examples" / "data" / "astronaut.jpg"))
    scale = min(640 / image.shape[1], 480 / image.shape[0])
    resized = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.zeros((480, 640, 3), np.uint8)
    y, x = (480 - resized.shape[0]) // 2, (640 - resized.shape[1]) // 2
    frame[y : y + resized.shape[0], x : x + resized.shape[1]] = resized
    return frame


def main(argv: list[str] | None = None) -> int:
    from parface_sdk import Aligner

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline", required=True, help="the model to compare against (.onnx)")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    frame = frame_640x480()
    configs = {
        "baseline": Aligner.from_pretrained(args.baseline, threads=args.threads),
        "default": Aligner.from_pretrained(None, threads=args.threads),
        "default_no_recrop": Aligner.from_pretrained(None, threads=args.threads, **{_recrop_option(): False}),
    }
    for aligner in configs.values():
        for _ in range(5):
            assert len(aligner.align(frame, color="BGR").faces) == 1
    times: dict[str, list[float]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        for name, aligner in configs.items():
            start = time.perf_counter()
            for _ in range(args.frames):
                aligner.align(frame, color="BGR")
            times[name].append((time.perf_counter() - start) / args.frames * 1000)
    medians = {name: float(np.median(values)) for name, values in times.items()}
    report = {
        "what": "Aligner.align, 640x480 frame, one face, ms per frame (median over rounds)",
        "threads": args.threads,
        "rounds": args.rounds,
        "frames_per_round": args.frames,
        "machine": platform.processor() or platform.machine(),
        "baseline_model": str(args.baseline),
        "ms": medians,
        "ratio_to_baseline": {name: value / medians["baseline"] for name, value in medians.items()},
        "per_round_ms": times,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))
    print(json.dumps({"ms": medians, "ratio": report["ratio_to_baseline"]}, indent=1))
    for aligner in configs.values():
        aligner.close()
    return 0


def _recrop_option() -> str:
    from parface_sdk.options import AlignerOptions

    return "recrop" if "recrop" in AlignerOptions.model_fields else "refine"


if __name__ == "__main__":
    raise SystemExit(main())
