#!/usr/bin/env bash
# Record GPU benchmark reports (needs an NVIDIA GPU, `pip install "parface-sdk[gpu]"` and torch for
# the seeded models and the peak probe). Not run here: no GPU on the development machine.
#
#   bash benchmarks/run_gpu_reports.sh
#   MODEL_PAPER=model-paper.onnx bash benchmarks/run_gpu_reports.sh   # a trained model (ONNX; engines are built)
#
# Scenarios: the paper variant (the product goal: > 150 faces/s end to end with TensorRT FP16) and
# light, on TensorRT (crop graph, batch 1/8/32; frame graph, batch 1/8) and onnxruntime CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT="${OUT:-benchmarks/reports/gpu}"
BENCH="${BENCH:-parface-bench}"
mkdir -p "$OUT"

run() {  # run NAME ARGS...: one report, skipped (with the reason printed) if the engine cannot run
  local name="$1"; shift
  echo "== $name"
  "$BENCH" --device cuda --threads 2 --quiet --json "$OUT/$name.json" "$@" || echo "   ($name not recorded)"
}

for variant in paper light; do
  model_var="MODEL_${variant^^}"
  model=()
  [[ -n "${!model_var:-}" ]] && model=(--model "${!model_var}")
  for batch in 1 8 32; do
    run "trt-${variant}-b${batch}" --engine trt --variant "$variant" --batch "$batch" --frames 300 "${model[@]}"
  done
  for batch in 1 8; do
    [[ -n "${!model_var:-}" ]] && continue  # a frame graph needs its own export: see docs/export.md
    run "trt-frame-${variant}-b${batch}" --engine trt --graph frame --variant "$variant" --batch "$batch" \
        --frames 300
  done
  for batch in 1 8; do
    run "ort-cuda-${variant}-b${batch}" --engine ort --variant "$variant" --batch "$batch" --frames 300 \
        "${model[@]}"
  done
done

"${PYTHON:-python}" benchmarks/summarize.py "$OUT"/*.json > "$OUT/SUMMARY.md"
echo "summary: $OUT/SUMMARY.md"
