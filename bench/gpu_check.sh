#!/usr/bin/env bash
# GPU check: build deepspin with CUDA, run the GPU tests and the GPU benchmarks, and write every
# measurement into RESULTS_DIR (default bench/results/). Meant for the lent H100/H200 machine,
# which has nvcc 13, CMake, ninja, pybind11, CuPy and JAX but no package registry and no TensorFlow:
#   bench/gpu_check.sh "$OUT"            # every step that fits GPU_CHECK_DEADLINE, in the default order
#   GPU_CHECK_STEPS="build inference speedup" bench/gpu_check.sh "$OUT"   # these steps, in this order
#   GPU_CHECK_PACK=1 bench/gpu_check.sh "$OUT"   # the JSON files as one archive (the device tool's 8 files)
# Keras 3 and its two missing dependencies (namex, optree) travel as wheels in .whl/ (or
# shared/wheels/); they are installed into /tmp/site so the surrogate runs under KERAS_BACKEND=jax.
# Output stays within the device tool's 8 returned files: one combined log, one summary, the
# benchmarks' JSON files and one archive of the reproduce stages. Steps run in the order of
# GPU_CHECK_STEPS (default: by importance). Every step has its own time limit, cut to what is left of
# GPU_CHECK_DEADLINE (seconds for the whole script, default 540: the device tool's 10-minute command
# with room to copy the results back); a step with under 15 s left is skipped, and a failing step is
# reported while the next one still runs. Steps:
#   build, backends        the extension with CUDA (sm_90 only), and which backends work
#   speedup                bench/speedup.py on the GPU (the client's headline: surrogates against the exact sum)
#   tests                  pytest -m gpu (CUDA == CPU for every kernel)
#   falicov-kimball        FK energies on CuPy and NumPy (bench/falicov_kimball.py --fit-L 0)
#   surrogate-mc           exact surrogate-accelerated FK Monte Carlo, short rows (bench/surrogate_mc.py)
#   multispin              its GPU tests and benchmark rows (flips/ns)
#   inference              the fast inference path under JAX on the GPU (float32, device arrays)
#   learned                the paper profile's learned 8x8 Metropolis (phase-8x8-learned) at 400 chains x
#                          46 T with as many sweeps as fit LEARNED_BUDGET seconds (default 200;
#                          bench/learned_sweeps.py measures the rate), on a copy of the paper snapshot
#                          made by this code (PAPER_SNAPSHOT, default docs/reproduce-paper-rerun/: its
#                          trained networks); the stage folder and its records come back archived
#   mc, engine, extensive  the benchmarks (bench/*.py --device gpu)
#   reproduce              other paper-profile stages (REPRO_STAGES, default coulomb-regression)
# The device tool sends at most 64 MiB of working tree, the .whl carry included: keep the tracked files
# under about 60 MiB (`git ls-files -z | du -cb --files0-from=- | tail -1`; the committed networks hold
# no optimizer state, and the superseded networks of docs/reproduce-paper/ live in git history only).
set -uo pipefail
cd "$(dirname "$0")/.."
RESULTS_DIR=$(realpath -m "${1:-bench/results}")
mkdir -p "$RESULTS_DIR"
SUMMARY="$RESULTS_DIR/gpu_check_summary.txt"
LOG="$RESULTS_DIR/gpu_check.log"
: > "$SUMMARY"
: > "$LOG"
PY=${PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-"build backends speedup tests falicov-kimball surrogate-mc mc multispin inference learned engine extensive"}
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

left() { echo $((DEADLINE - SECONDS)); }

run_limited() {  # run_limited NAME SECONDS COMMAND...: run under a time limit, append to the log, record exit code
  local name=$1 limit=$2; shift 2
  if (( $(left) < 15 )); then echo "== $name: skipped, $(left) s left of ${DEADLINE} s" | tee -a "$SUMMARY"; return 0; fi
  (( limit > $(left) )) && limit=$(left)
  local start=$SECONDS
  echo "== $name (limit ${limit} s): $*" | tee -a "$SUMMARY" >> "$LOG"
  timeout --kill-after=10 "$limit" "$@" >> "$LOG" 2>&1
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$SUMMARY"
  return 0
}

#: Seconds of the learned stage beyond its sweeps (model loading and tracing, the exact references,
#: figures): 116 s on the H200 of 2026-12-04; and the classifier's sweeps cost 1.4x the calibration
#: model's there (63 outputs per configuration come back to the host).
LEARNED_OVERHEAD=150
LEARNED_MARGIN=1.5
#: The paper-profile snapshot whose networks (cache/model) the learned step uses.
PAPER_SNAPSHOT=${PAPER_SNAPSHOT:-docs/reproduce-paper-rerun}

step_learned() {
  local budget=${LEARNED_BUDGET:-200}
  (( budget > $(left) - LEARNED_OVERHEAD )) && budget=$(( $(left) - LEARNED_OVERHEAD ))
  if (( budget < 60 )); then echo "== learned: skipped, a budget of $budget s" | tee -a "$SUMMARY"; return 0; fi
  # The networks must come from $PAPER_SNAPSHOT (a snapshot with --snapshot-models made by this code):
  # under other code their cache keys differ and the stage would train them first, far past the budget.
  local key
  key=$("$PY" -c "from deepspin.reproduce import STAGES, profiles; \
print(STAGES['phase-8x8-learned'].key(profiles.params('paper', 'phase-8x8-learned')))") || return 1
  if [[ ! -f $PAPER_SNAPSHOT/stages/phase-8x8-learned/$key/results.json ]]; then
    echo "== learned: skipped, $PAPER_SNAPSHOT holds no phase-8x8-learned run of this code (key $key)" \
      | tee -a "$SUMMARY"; return 0
  fi
  local copy
  copy=$(mktemp -d)
  cp -r "$PAPER_SNAPSHOT"/. "$copy" && touch "$copy/.start"
  run_limited learned $(( budget + LEARNED_OVERHEAD )) bash -c '
    sweeps=$("$0" bench/learned_sweeps.py --budget "$1" --margin "$4" --step 10 --out "$2") &&
    echo "learned Metropolis: $sweeps sweeps in a budget of $1 s" &&
    "$0" -m deepspin reproduce --profile paper --only phase-8x8-learned --no-progress \
      --set phase-8x8-learned.mc.T=0.5:5:0.1 --set phase-8x8-learned.mc.sweeps="$sweeps" -o "$3"' \
    "$PY" "$budget" "$RESULTS_DIR" "$copy" "$LEARNED_MARGIN"
  (cd "$copy" && find stages/phase-8x8-learned cache/mc -newer .start -type f 2>/dev/null \
    | tar czf "$RESULTS_DIR/phase-8x8-learned.tar.gz" -T -)
}

step_reproduce() {
  local dir
  dir=$(mktemp -d)
  run_limited reproduce 240 "$PY" -m deepspin reproduce --profile paper --only ${REPRO_STAGES:-coulomb-regression} -o "$dir"
  tar czf "$RESULTS_DIR/reproduce-paper.tar.gz" -C "$dir" --exclude=cache .
}

run_step() {
  case $1 in
    build) run_limited build 300 "$PY" setup.py build_ext --inplace ;;
    backends) run_limited backends 60 "$PY" -m deepspin backends ;;
    tests) run_limited tests 180 "$PY" -m pytest -q -rs -m gpu -p no:cacheprovider -W default::DeprecationWarning tests ;;
    # Multispin Ising (64 replicas per word): the tests (CUDA == CPU bit for bit) and its benchmark rows,
    # flips/ns beside ising-gpu (~900 per H100) and cuIsingModel (~1,384 per RTX 6000 Ada).
    multispin) run_limited multispin 120 bash -c "\"$PY\" -m pytest -q -rs -m gpu -p no:cacheprovider tests/test_multispin.py && \
      \"$PY\" bench/mc.py --device gpu --only multispin --repeats 2 --out \"$RESULTS_DIR\"" ;;
    # The fast inference path on the GPU under JAX (float32; device arrays in and out; every shipped model against Keras).
    inference) run_limited inference 120 "$PY" -m pytest -q -rs -p no:cacheprovider -W default::DeprecationWarning \
      tests/test_surrogate_inference.py ;;
    learned) step_learned ;;
    falicov-kimball) run_limited falicov-kimball 90 "$PY" bench/falicov_kimball.py --fit-L 0 --L 8 16 32 \
      --backends cupy numpy --out "$RESULTS_DIR" ;;
    surrogate-mc) run_limited surrogate-mc 150 "$PY" bench/surrogate_mc.py --L 16 --chains 8 --steps 120 \
      --exact-max-L 0 --sweeps 16 --out "$RESULTS_DIR" ;;
    mc) run_limited mc 150 "$PY" bench/mc.py --device gpu --out "$RESULTS_DIR" ;;
    speedup) run_limited speedup 120 "$PY" bench/speedup.py --device gpu --out "$RESULTS_DIR" ;;
    engine) run_limited engine 180 "$PY" bench/engine.py --backends ${ENGINE_BACKENDS:-cuda cupy cpu} --repeats 3 \
      --out "$RESULTS_DIR" ;;
    extensive) run_limited extensive 180 "$PY" bench/extensive.py --device gpu --sizes 8,16,32,64 --out "$RESULTS_DIR" ;;
    reproduce) step_reproduce ;;
    *) echo "== $1: unknown step (known: build backends speedup tests falicov-kimball surrogate-mc mc multispin" \
         "inference learned engine extensive reproduce)" | tee -a "$SUMMARY" ;;
  esac
}

{
  echo "date: $(date -u +%FT%TZ)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1
  nvcc --version | tail -n 1
  "$PY" --version
  "$PY" -c "import cupy, jax, keras; print('cupy', cupy.__version__, '| jax', jax.__version__, '| keras', keras.__version__)" 2>&1
  echo "steps: $STEPS (deadline $DEADLINE s)"
} | tee -a "$SUMMARY"

for name in $STEPS; do
  run_step "$name"
done
grep -E "passed|failed|error" "$LOG" | tail -n 3 | tee -a "$SUMMARY"
# GPU_CHECK_PACK=1 (the device tool brings back at most 8 files): the benchmarks' JSON files as one archive.
if [[ ${GPU_CHECK_PACK:-0} == 1 ]] && compgen -G "$RESULTS_DIR/*.json" > /dev/null; then
  (cd "$RESULTS_DIR" && tar czf bench-json.tar.gz ./*.json && rm -f ./*.json)
fi
echo "results in $RESULTS_DIR" | tee -a "$SUMMARY"
