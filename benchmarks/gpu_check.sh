#!/usr/bin/env bash
# The prepared GPU check (< 8 minutes on one GPU): Aligner.align end to end (detector, recrop pass)
# and align_batch on examples/data/astronaut.jpg with the shipped model, for torch-frame (fp32,
# fp16), onnxruntime CUDA / TensorRT providers and a native TensorRT engine. Writes
# benchmarks/reports/gpu/gpu_check.json (errors per engine included).
#   bash benchmarks/gpu_check.sh                        # on a GPU machine
#   bash benchmarks/gpu_check.sh --device cpu --quick   # CPU run of the script
set -euo pipefail
cd "$(dirname "$0")/.."
out="benchmarks/reports/gpu"
mkdir -p "$out"
timeout 470 python benchmarks/gpu_check.py --out "$out/gpu_check.json" "$@"
