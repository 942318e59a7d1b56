#!/usr/bin/env bash
# GPU check: build deepspin with CUDA, run the GPU tests and the GPU benchmarks, and write every
# measurement into RESULTS_DIR (default bench/results/). Meant for the lent H100/H200 machine,
# which has nvcc 13, CMake, ninja, pybind11 and CuPy but no package registry and no TensorFlow:
#   bench/gpu_check.sh "$OUT"
# Each step logs to RESULTS_DIR/<step>.log; a failing step is reported and the next one still runs.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR=$(realpath -m "${1:-bench/results}")
mkdir -p "$RESULTS_DIR"
SUMMARY="$RESULTS_DIR/gpu_check_summary.txt"
: > "$SUMMARY"
export DEEPSPIN_CUDA=1 PYTHONUNBUFFERED=1
# Carried wheels (keras, namex, optree) for the JAX surrogate benchmark, if any were brought along.
if compgen -G "shared/wheels/*.whl" > /dev/null; then
  python -m pip install --no-index --no-deps --quiet shared/wheels/*.whl >> "$RESULTS_DIR/setup.log" 2>&1
fi

step() {  # step NAME COMMAND...: run, log, time, record the exit code
  local name=$1; shift
  local start=$SECONDS
  echo "== $name: $*" | tee -a "$SUMMARY"
  "$@" > "$RESULTS_DIR/$name.log" 2>&1
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$SUMMARY"
  tail -n 25 "$RESULTS_DIR/$name.log"
  return 0
}

{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -n 1
  python --version
} | tee -a "$SUMMARY"

step build python -m pip install --no-build-isolation --no-deps -e .
step backends python -m deepspin backends
step gpu-tests python -m pytest -q -m gpu -p no:cacheprovider tests
step engine-bench python bench/engine.py --out "$RESULTS_DIR"
for extra in bench/mc.py bench/speedup.py; do
  if [ -f "$extra" ]; then
    name=$(basename "$extra" .py)
    step "$name-bench" env KERAS_BACKEND=jax python "$extra" --device gpu --out "$RESULTS_DIR"
  fi
done
echo "results in $RESULTS_DIR" | tee -a "$SUMMARY"
