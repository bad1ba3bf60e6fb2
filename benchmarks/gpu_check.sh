#!/usr/bin/env bash
# The prepared GPU check (< 8 minutes on one GPU): single-stream FPS on 640x480 frames and batched
# faces/s for the light and paper variants (seeded weights) on the torch device-crop backend, and on
# onnxruntime CUDA / TensorRT where onnxruntime-gpu is installed. Writes benchmarks/reports/gpu/.
#   bash benchmarks/gpu_check.sh                 # on a GPU machine
#   bash benchmarks/gpu_check.sh --device cpu --quick   # smoke test without a GPU
set -euo pipefail
cd "$(dirname "$0")/.."
out="benchmarks/reports/gpu"
mkdir -p "$out"
timeout 470 python benchmarks/gpu_check.py --out "$out/gpu_check.json" "$@"
