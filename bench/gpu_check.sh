#!/usr/bin/env bash
# GPU check: build deepspin with CUDA, run the GPU tests and the GPU benchmarks, and write every
# measurement into RESULTS_DIR (default bench/results/). Meant for the lent H100/H200 machine,
# which has nvcc 13, CMake, ninja, pybind11, CuPy and JAX but no package registry and no TensorFlow:
#   bench/gpu_check.sh "$OUT"            # everything that fits GPU_CHECK_DEADLINE
#   GPU_CHECK_STEPS="build tests" bench/gpu_check.sh "$OUT"   # a subset, in the order below
#   GPU_CHECK_PACK=1 bench/gpu_check.sh "$OUT"   # the JSON files as one archive (the device tool's 8 files)
# Keras 3 and its two missing dependencies (namex, optree) travel as wheels in .whl/ (or
# shared/wheels/); they are installed into /tmp/site so the surrogate runs under KERAS_BACKEND=jax.
# Output stays within the device tool's 8 returned files: one combined log, one summary, the
# benchmarks' JSON files and one archive of the reproduce stages. Every step has its own time limit,
# cut to what is left of GPU_CHECK_DEADLINE (seconds for the whole script, default 540: the device
# tool's 10-minute command with room to copy the results back); steps are in order of importance,
# a step with under 15 s left is skipped, and a failing step is reported while the next one still runs.
#   learned: the paper profile's learned 8x8 Metropolis (phase-8x8-learned, 400 chains x 46 T) with as
#   many sweeps as fit LEARNED_BUDGET seconds (default 200; bench/learned_sweeps.py measures the rate),
#   run on a copy of docs/reproduce-paper/ (its trained networks), stage folder and records archived.
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR=$(realpath -m "${1:-bench/results}")
mkdir -p "$RESULTS_DIR"
SUMMARY="$RESULTS_DIR/gpu_check_summary.txt"
LOG="$RESULTS_DIR/gpu_check.log"
: > "$SUMMARY"
: > "$LOG"
PY=${PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-"build backends tests multispin learned inference mc speedup engine extensive"}
DEADLINE=${GPU_CHECK_DEADLINE:-540}
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

left() { echo $((DEADLINE - SECONDS)); }

step() {  # step NAME SECONDS COMMAND...: run under a time limit, append to the log, record exit code
  local name=$1 limit=$2; shift 2
  wanted "$name" || return 0
  if (( $(left) < 15 )); then echo "== $name: skipped, $(left) s left of ${DEADLINE} s" | tee -a "$SUMMARY"; return 0; fi
  (( limit > $(left) )) && limit=$(left)
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
step tests 180 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider -W default::DeprecationWarning tests
# Multispin Ising (64 replicas per word): the tests (CUDA == CPU bit for bit) and its benchmark rows,
# flips/ns beside ising-gpu (~900 per H100) and cuIsingModel (~1,384 per RTX 6000 Ada).
step multispin 120 bash -c "\"$PY\" -m pytest -q -rs -m gpu -p no:cacheprovider tests/test_multispin.py && \
  \"$PY\" bench/mc.py --device gpu --only multispin --repeats 2 --out \"$RESULTS_DIR\""
# The learned 8x8 Metropolis of the paper profile at 400 chains x 46 T, as many sweeps as fit the
# budget (cut to the time left, with 90 s for the stage's own set-up and the exact-operator twin).
if wanted learned; then
  REPORT_COPY=$(mktemp -d)
  cp -r docs/reproduce-paper/. "$REPORT_COPY" && touch "$REPORT_COPY/.start"
  budget=${LEARNED_BUDGET:-200}
  (( budget > $(left) - 90 )) && budget=$(( $(left) - 90 ))
  (( budget >= 60 )) || { echo "== learned: skipped, budget $budget s" | tee -a "$SUMMARY"; STEPS=${STEPS/learned/}; }
  step learned $(( budget + 90 )) bash -c 'sweeps=$("$0" bench/learned_sweeps.py --budget "$1" --step 10 --out "$2" --twin "$3") &&
    echo "learned Metropolis: $sweeps sweeps in a budget of $1 s" &&
    "$0" -m deepspin reproduce --profile paper --only phase-8x8-learned --no-progress \
      --set phase-8x8-learned.mc.sweeps="$sweeps" -o "$3"' "$PY" "$budget" "$RESULTS_DIR" "$REPORT_COPY"
  (cd "$REPORT_COPY" && find stages/phase-8x8-learned cache/mc -newer .start -type f 2>/dev/null \
    | tar czf "$RESULTS_DIR/phase-8x8-learned.tar.gz" -T -)
fi
# The fast inference path on the GPU under JAX (device arrays in and out; every shipped model against Keras).
step inference 120 "$PY" -m pytest -q -rs -p no:cacheprovider -W default::DeprecationWarning tests/test_surrogate_inference.py
step mc 150 "$PY" bench/mc.py --device gpu --out "$RESULTS_DIR"
step speedup 120 "$PY" bench/speedup.py --device gpu --out "$RESULTS_DIR"
step engine 180 "$PY" bench/engine.py --backends ${ENGINE_BACKENDS:-cuda cupy cpu} --repeats 3 --out "$RESULTS_DIR"
step extensive 180 "$PY" bench/extensive.py --device gpu --sizes 8,16,32,64 --out "$RESULTS_DIR"
# Other paper-profile stages of `deepspin reproduce` (Keras on JAX), only when named in GPU_CHECK_STEPS.
if [[ " $STEPS " == *" reproduce "* ]]; then
  REPRO_DIR=$(mktemp -d)
  step reproduce 240 "$PY" -m deepspin reproduce --profile paper --only ${REPRO_STAGES:-coulomb-regression} -o "$REPRO_DIR"
  tar czf "$RESULTS_DIR/reproduce-paper.tar.gz" -C "$REPRO_DIR" --exclude=cache .
fi
grep -E "passed|failed|error" "$LOG" | tail -n 3 | tee -a "$SUMMARY"
# GPU_CHECK_PACK=1 (the device tool brings back at most 8 files): the benchmarks' JSON files as one archive.
if [[ ${GPU_CHECK_PACK:-0} == 1 ]] && compgen -G "$RESULTS_DIR/*.json" > /dev/null; then
  (cd "$RESULTS_DIR" && tar czf bench-json.tar.gz ./*.json && rm -f ./*.json)
fi
echo "results in $RESULTS_DIR" | tee -a "$SUMMARY"
