#!/usr/bin/env bash
# Record the CPU benchmark reports quoted in README.md and docs/benchmarks.md.
#
#   bash benchmarks/run_cpu_reports.sh            # all scenarios, 2 threads (the whole 2-core machine)
#   THREADS=1 bash benchmarks/run_cpu_reports.sh  # single thread
#   MODEL_LIGHT=model-light.onnx bash benchmarks/run_cpu_reports.sh   # a trained model instead of seeded
#   VARIANTS=tiny FRAMES=3 OUT=/tmp/bench bash benchmarks/run_cpu_reports.sh   # a quick check of the script
#
# Run it on an otherwise idle machine: every report records the load average at its start, and
# numbers taken beside a training run are contended. Scenarios: variants light and paper x engines
# torch and ort x batch 1 and 8 (network and per-stage latency on a 640x480 frame with the default
# detector), and the full Aligner.align pipeline on that frame (the batch-1 runs).
set -euo pipefail
cd "$(dirname "$0")/.."

THREADS="${THREADS:-2}"
OUT="${OUT:-benchmarks/reports/cpu}"
BENCH="${BENCH:-parface-bench}"
export OMP_NUM_THREADS="$THREADS"
mkdir -p "$OUT"

frames_for() {  # timed frames per scenario: enough for a stable p95 within a few minutes each
  if [[ -n "${FRAMES:-}" ]]; then echo "$FRAMES"; return; fi
  case "$1-$2" in
    light-1) echo 200 ;; light-8) echo 60 ;;
    paper-1) echo 40 ;; paper-8) echo 12 ;;
    *) echo 20 ;;
  esac
}

for variant in ${VARIANTS:-light paper}; do
  model_var="MODEL_${variant^^}"
  for engine in ort torch; do
    for batch in 1 8; do
      frames="$(frames_for "$variant" "$batch")"
      warmup=$(( frames / 10 + 2 ))
      args=(--engine "$engine" --variant "$variant" --batch "$batch" --threads "$THREADS"
            --frames "$frames" --warmup "$warmup" --quiet
            --json "$OUT/${engine}-${variant}-b${batch}-t${THREADS}.json")
      if [[ -n "${!model_var:-}" ]]; then
        case "$engine:${!model_var}" in
          ort:*.onnx|torch:*.safetensors) args+=(--model "${!model_var}") ;;
        esac
      fi
      [[ "$batch" == 1 ]] || args+=(--no-aligner)  # the Aligner figure does not depend on --batch
      echo "== $engine $variant batch $batch ($frames frames, $THREADS threads)"
      "$BENCH" "${args[@]}"
    done
  done
done

"${PYTHON:-python}" benchmarks/summarize.py "$OUT"/*.json > "$OUT/SUMMARY.md"
echo "summary: $OUT/SUMMARY.md"
