#!/usr/bin/env bash
# GPU check: build deepspin with CUDA, run the GPU tests and the GPU benchmarks, and write every
# measurement into RESULTS_DIR (default bench/results/). Meant for the lent H100/H200 machine,
# which has nvcc 13, CMake, ninja, pybind11, CuPy and JAX but no package registry and no TensorFlow:
#   bench/gpu_check.sh "$OUT"            # everything
#   GPU_CHECK_STEPS="build tests" bench/gpu_check.sh "$OUT"   # a subset, in the order below
# Keras 3 and its two missing dependencies (namex, optree) travel as wheels in .whl/ (or
# shared/wheels/); they are installed into /tmp/site so the surrogate runs under KERAS_BACKEND=jax.
# Output stays within the device tool's 8 returned files: one combined log, one summary, and the
# benchmarks' JSON files. Every step has its own time limit; a failing step is reported and the
# next one still runs.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR=$(realpath -m "${1:-bench/results}")
mkdir -p "$RESULTS_DIR"
SUMMARY="$RESULTS_DIR/gpu_check_summary.txt"
LOG="$RESULTS_DIR/gpu_check.log"
: > "$SUMMARY"
: > "$LOG"
PY=${PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-"build backends tests inference engine mc multispin speedup extensive reproduce"}
export DEEPSPIN_CUDA=1 PYTHONUNBUFFERED=1 KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false   # JAX allocates as it goes: the exact kernels share the GPU
export DEEPSPIN_CUDA_ARCHS=${DEEPSPIN_CUDA_ARCHS:-90-real}   # H100/H200 only: one SASS target builds fastest
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"

for dir in .whl shared/wheels; do
  if compgen -G "$dir/*.whl" > /dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
      "$dir"/*.whl >> "$LOG" 2>&1 && export PYTHONPATH="$PYTHONPATH:/tmp/site"
  fi
done

wanted() { [[ " $STEPS " == *" $1 "* ]]; }

step() {  # step NAME SECONDS COMMAND...: run under a time limit, append to the log, record exit code
  local name=$1 limit=$2; shift 2
  wanted "$name" || return 0
  local start=$SECONDS
  echo "== $name (limit ${limit} s): $*" | tee -a "$SUMMARY" >> "$LOG"
  timeout --kill-after=10 "$limit" "$@" >> "$LOG" 2>&1
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$SUMMARY"
  return 0
}

{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -n 1
  "$PY" --version
  "$PY" -c "import cupy, jax, keras; print('cupy', cupy.__version__, '| jax', jax.__version__, '| keras', keras.__version__)" 2>&1
  echo "steps: $STEPS"
} | tee -a "$SUMMARY"

step build 300 "$PY" setup.py build_ext --inplace
step backends 60 "$PY" -m deepspin backends
step tests 240 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider -W default::DeprecationWarning tests
# The fast inference path on the GPU under JAX (device arrays in and out; every shipped model against Keras).
step inference 240 "$PY" -m pytest -q -rs -p no:cacheprovider -W default::DeprecationWarning tests/test_surrogate_inference.py
step engine 180 "$PY" bench/engine.py --backends ${ENGINE_BACKENDS:-cuda cupy cpu} --repeats 3 --out "$RESULTS_DIR"
step mc 240 "$PY" bench/mc.py --device gpu --out "$RESULTS_DIR"
# Multispin Ising (64 replicas per word): the tests (CUDA == CPU bit for bit) and its benchmark rows,
# flips/ns beside ising-gpu (~900 per H100) and cuIsingModel (~1,384 per RTX 6000 Ada).
step multispin 200 bash -c "\"$PY\" -m pytest -q -rs -m gpu -p no:cacheprovider tests/test_multispin.py && \
  \"$PY\" bench/mc.py --device gpu --only multispin --repeats 2 --out \"$RESULTS_DIR\""
step speedup 180 "$PY" bench/speedup.py --device gpu --out "$RESULTS_DIR"
step extensive 180 "$PY" bench/extensive.py --device gpu --sizes 8,16,32,64 --out "$RESULTS_DIR"
# Paper-profile stages of `deepspin reproduce` (Keras on JAX); the report folder comes back as one archive.
REPRO_DIR=$(mktemp -d)
step reproduce 240 "$PY" -m deepspin reproduce --profile paper --only ${REPRO_STAGES:-coulomb-regression} -o "$REPRO_DIR"
if wanted reproduce; then tar czf "$RESULTS_DIR/reproduce-paper.tar.gz" -C "$REPRO_DIR" --exclude=cache . ; fi
grep -E "passed|failed|error" "$LOG" | tail -n 3 | tee -a "$SUMMARY"
echo "results in $RESULTS_DIR" | tee -a "$SUMMARY"
