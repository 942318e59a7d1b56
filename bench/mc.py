"""Monte Carlo throughput: spin-flip attempts per second of deepspin.mc.run.

    python bench/mc.py                 # compiled cpu (and cuda when present) + generic path
    python bench/mc.py --paper         # also the paper-size phase diagram (8x8, 400 chains,
                                       # 46 temperatures, 10^4 sweeps, 1.2e10 attempts), timed once
    python bench/mc.py --device gpu --out DIR   # cuda only (with a 16x larger ensemble and the
                                                # paper-size run), as bench/gpu_check.sh calls it

Multispin rows (the ``multispin`` rule, 64 replicas per word) follow the Ising rows of the same
device in the same run, with their speed-up over them; on the CPU also one row per SIMD level
(``DEEPSPIN_SIMD``) and, with ``--paper``, the paper-size phase diagram; on CUDA a 16x larger
ensemble, the paper-size run and the engine alone on 2^24 replicas (a word per thread: 400 x 50
chains are only 313 threads), with flips/ns. ``--only multispin`` times the Ising rule and the
multispin rows only (``mc_multispin.json``).

Each case is an end-to-end ``run()`` (initial state, sweeps, estimators) at L = 8 with 400 chains
x 50 temperatures (T = 0.5 .. 5); the rate is attempts (chains x temperatures x N x sweeps) over the
median wall time, and over this process's CPU time (which a busy shared machine does not inflate).
Learned-operator rows (``learned_rows``; ``--no-learned`` skips them): Metropolis with each shipped
surrogate (paper CNN, fast extensive model) as the operator on its fast inference path, 8x8, 400
chains x 10 temperatures, as attempted flips/s and as a fraction of the model's own inference rate.
Results go to bench/out/mc.json (git-ignored; ``--out bench/results`` for the reference) with the machine and the load average named.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import numpy as np  # noqa: E402
from harness import format_table, machine_info, machine_label, measure, write_results  # noqa: E402

import deepspin  # noqa: E402
from deepspin.backends.compiled import cuda_status  # noqa: E402
from deepspin.mc import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
L, CHAINS = 8, 400
TEMPERATURES = np.linspace(0.5, 5.0, 50)


def case(name, model, backend, sweeps, repeats, chains=CHAINS):
    attempts = chains * len(TEMPERATURES) * L * L * sweeps

    def once():
        run(model, TEMPERATURES, chains=chains, sweeps=sweeps, burn_in=0, seed=1, backend=backend)

    timing = measure(once, repeats=repeats, warmup=1, min_time=0.0)
    cpu_start = time.process_time()
    once()
    cpu_s = time.process_time() - cpu_start  # this process's CPU time: robust to other loads on the machine
    rate = attempts / timing["median_s"]
    print(f"  {name:<34s} {backend:<8s} {rate:12.4g} attempts/s ({attempts / cpu_s:.4g} per CPU-second)",
          file=sys.stderr)
    return {"case": name, "backend": backend, "chains": chains, "sweeps": sweeps, "attempts": attempts, **timing,
            "attempts_per_s": rate, "cpu_s": cpu_s, "attempts_per_cpu_s": attempts / cpu_s}


def potts_rows(backends, repeats) -> list[dict]:
    """Compiled planar Potts angle moves (the ``potts`` rule) at L = 8, same ensemble as the Ising rows."""
    potts = deepspin.PlanarPotts(L)
    return [case("planar-potts L=8 (angle moves)", potts, backend, 200 if backend == "cuda" else 10, repeats)
            for backend in backends]


LEARNED_MODELS = (("paper CNN", "screened_coulomb_L8.keras"), ("fast extensive", "screened_coulomb_fast.keras"))
LEARNED_TEMPERATURES = np.linspace(0.5, 5.0, 10)


def learned_rows(device: str, repeats: int) -> list[dict]:
    """Metropolis with each shipped surrogate as the operator (8x8, 400 chains x 10 temperatures).

    Every row runs ``deepspin.mc.run`` with ``backend="generic"``: one batched call of the
    surrogate's fast path (:func:`deepspin.surrogate.load`) per attempted flip, on all 4,000
    chains at once, so one attempted flip costs one network evaluation. It reports attempted
    flips/s and their ratio to the same model's inference rate (``operator.energy``) at the same
    batch (4,000 configurations) and at 65,536, by wall time and by this process's CPU time
    (robust to other jobs on a shared machine): the share of the Monte Carlo time that is the network.
    """
    models = [(label, ROOT / "models" / name) for label, name in LEARNED_MODELS if (ROOT / "models" / name).exists()]
    if not models:
        return []
    harness.import_keras_quietly()
    from deepspin.surrogate import load

    rows = []
    chains, temps = CHAINS, LEARNED_TEMPERATURES
    batch = chains * len(temps)
    rng = np.random.default_rng(0)
    small = rng.choice(np.array([-1, 1], np.int8), size=(batch, L, L))
    large = rng.choice(np.array([-1, 1], np.int8), size=(1 << 16, L, L))
    for label, path in models:
        op = load(path)
        attempts = batch * L * L  # one sweep

        def once(op=op):
            run(op, temps, L=L, chains=chains, sweeps=1, burn_in=0, seed=1, backend="generic")

        rates = {"mc": _rates(once, attempts, repeats),
                 "same_batch": _rates(lambda op=op: op.energy(small), batch, repeats),
                 "batch_65536": _rates(lambda op=op: op.energy(large), len(large), repeats)}
        runtime = op.predictor.runtime_for(L)
        mc_rate = rates["mc"]["per_s"]
        print(f"  learned Metropolis, {label} ({runtime}): {mc_rate:.4g} attempted flips/s = "
              f"{mc_rate / rates['same_batch']['per_s']:.0%} of its inference rate at batch {batch:,} "
              f"({rates['same_batch']['per_s']:.4g}/s; by CPU time "
              f"{rates['mc']['per_cpu_s'] / rates['same_batch']['per_cpu_s']:.0%}), "
              f"{mc_rate / rates['batch_65536']['per_s']:.0%} of batch 65,536", file=sys.stderr)
        rows.append({"case": f"learned Metropolis, {label} ({path.name}, {runtime})", "backend": "generic",
                     "device": device, "chains": chains, "temperatures": len(temps), "sweeps": 1,
                     "attempts": attempts, "median_s": rates["mc"]["median_s"], "all_s": rates["mc"]["all_s"],
                     "attempts_per_s": mc_rate, "cpu_s": rates["mc"]["cpu_s"],
                     "attempts_per_cpu_s": rates["mc"]["per_cpu_s"],
                     "inference": {k: v for k, v in rates.items() if k != "mc"},
                     "fraction_of_inference_same_batch": mc_rate / rates["same_batch"]["per_s"],
                     "fraction_of_inference_same_batch_cpu":
                         rates["mc"]["per_cpu_s"] / rates["same_batch"]["per_cpu_s"],
                     "fraction_of_inference_batch_65536": mc_rate / rates["batch_65536"]["per_s"]})
    return rows


def _rates(fn, items: int, repeats: int) -> dict:
    """Items/s of ``fn`` by wall time (median of repeats after a warm-up) and by this process's CPU time (one call)."""
    timing = measure(fn, repeats=repeats, warmup=1, min_time=0.0)
    cpu_start = time.process_time()
    fn()
    cpu_s = time.process_time() - cpu_start
    return {"median_s": timing["median_s"], "all_s": timing["all_s"], "per_s": items / timing["median_s"],
            "cpu_s": cpu_s, "per_cpu_s": items / cpu_s}


def multispin_rows(backends, rows, repeats, paper) -> list[dict]:
    """Multispin Ising at L = 8 beside the Ising rule's row of the same device (``rows``), same ensemble."""
    from deepspin.mc.multispin import supported_simd

    ising, out = deepspin.Ising(L), []
    for device in backends:
        base = next(r for r in rows if r["case"] == "ising L=8" and r["backend"] == device)
        backend = f"multispin-{device}"
        sized = [(1, 20_000 if device == "cuda" else 1000)]
        if device == "cuda":
            sized.append((16, 2000))
        for factor, sweeps in sized:
            name = "ising L=8 multispin" + (f", {factor}x chains" if factor > 1 else "")
            row = case(name, ising, backend, sweeps, repeats, chains=factor * CHAINS)
            row.update(speedup_vs_ising_rule=row["attempts_per_s"] / base["attempts_per_s"],
                       flips_per_ns=row["attempts_per_s"] / 1e9)
            out.append(row)
        if device == "cpu":
            level = os.environ.get("DEEPSPIN_SIMD")
            for simd in supported_simd():
                os.environ["DEEPSPIN_SIMD"] = simd
                out.append({**case(f"ising L=8 multispin, DEEPSPIN_SIMD={simd}", ising, backend, 300, 1),
                            "simd": simd})
            if level is None:
                os.environ.pop("DEEPSPIN_SIMD")
            else:
                os.environ["DEEPSPIN_SIMD"] = level
        if paper or device == "cuda":
            out.append(paper_phase_diagram(backend))
        if device == "cuda":
            out.append(multispin_engine_row(base))
    return out


def multispin_engine_row(base: dict, words: int = 1 << 17, sweeps: int = 100) -> dict:
    """The multispin engine alone on CUDA: ``64 * words`` 8x8 replicas over the 50 temperatures from
    the ordered start, measured every sweep; the wall time includes the host-device copies of one call."""
    from deepspin.mc.multispin import MultispinEngine, MultispinState

    G = 64 * words
    betas = np.repeat(1.0 / TEMPERATURES, -(-G // len(TEMPERATURES)))[:G]
    engine = MultispinEngine(L, 1.0, betas, 1, device="cuda")
    state = MultispinState(0, np.zeros((L * L, words), dtype=np.uint64), np.zeros((4, G), dtype=np.int64),
                           np.zeros(G, dtype=np.int64))
    engine.advance(state, 2)  # warm-up: context, first launch
    start = time.perf_counter()
    engine.advance(state, sweeps)
    wall = time.perf_counter() - start
    attempts = G * L * L * sweeps
    print(f"  multispin engine, {G} replicas    cuda     {attempts / wall:12.4g} attempts/s", file=sys.stderr)
    return {"case": f"ising L=8 multispin engine, {G} replicas (ordered start)", "backend": "multispin-cuda",
            "chains": G, "sweeps": sweeps, "attempts": attempts, "median_s": wall, "all_s": [wall],
            "attempts_per_s": attempts / wall, "cpu_s": None, "attempts_per_cpu_s": None,  # the GPU's work
            "flips_per_ns": attempts / wall / 1e9, "speedup_vs_ising_rule": attempts / wall / base["attempts_per_s"]}


def paper_phase_diagram(backend: str) -> dict:
    """The full phase diagram of Figs. 7-8: 8x8 Ising, 400 chains, 46 temperatures, 10^4 sweeps."""
    temperatures = np.round(np.arange(46) * 0.1 + 0.5, 12)
    sweeps = 10_000
    start, cpu_start = time.perf_counter(), time.process_time()
    result = run(deepspin.Ising(8), temperatures, chains=400, sweeps=sweeps, burn_in=0, seed=1, backend=backend)
    wall, cpu_s = time.perf_counter() - start, time.process_time() - cpu_start
    attempts = 400 * 46 * 64 * sweeps
    print(f"  paper phase diagram ({backend}): {attempts:.3g} attempts in {wall:.1f} s", file=sys.stderr)
    return {"case": "paper phase diagram 8x8 ising, 400 chains x 46 T x 1e4 sweeps", "backend": backend,
            "sweeps": sweeps, "attempts": attempts, "median_s": wall, "all_s": [wall],
            "attempts_per_s": attempts / wall, "cpu_s": cpu_s, "attempts_per_cpu_s": attempts / cpu_s,
            "acceptance_mean": float(result.acceptance.mean())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--paper", action="store_true", help="also time the paper-size phase diagram")
    parser.add_argument("--device", choices=("all", "cpu", "gpu"), default="all",
                        help="compiled backends to time: all available (default), cpu only, or cuda only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-learned", dest="learned", action="store_false",
                        help="skip the learned-operator rows (Metropolis with the shipped surrogates)")
    parser.add_argument("--only", choices=("multispin",), default=None,
                        help="multispin: the Ising rule and the multispin rows only (mc_multispin.json)")
    parser.add_argument("--out", type=Path, default=None, help="directory for mc.json (default bench/out/, git-ignored)")
    args = parser.parse_args()
    info = machine_info()
    print(f"machine: {machine_label(info)}", file=sys.stderr)
    if args.device == "gpu" and not cuda_status()[0]:
        print(f"--device gpu: our CUDA kernels cannot run here ({cuda_status()[1]})", file=sys.stderr)
        return 1
    backends = {"cpu": ["cpu"], "gpu": ["cuda"], "all": ["cpu"] + (["cuda"] if cuda_status()[0] else [])}[args.device]
    ising, coulomb = deepspin.Ising(L), deepspin.ScreenedCoulomb(L)
    rows = []
    for backend in backends:
        big = backend == "cuda"
        rows.append(case("ising L=8", ising, backend, 2000 if big else 100, args.repeats))
        if args.only:
            continue
        rows.append(case("screened-coulomb L=8 (local fields)", coulomb, backend, 200 if big else 10, args.repeats))
        if big:  # a GPU needs more chains than 400 x 50 to fill its cores
            rows.append(case("ising L=8, 16x chains", ising, backend, 500, args.repeats, chains=16 * CHAINS))
    rows += multispin_rows(backends, rows, args.repeats, args.paper)
    if not args.only:
        rows += potts_rows(backends, args.repeats)
        # The generic path: one batched operator call (20,000 configurations) per attempted flip.
        rows.append(case("ising L=8, exact engine as operator", ising, "generic", 1, 1))
        rows.append(case("screened-coulomb L=8, exact operator", coulomb, "generic", 1, 1))
        if args.learned:
            rows += learned_rows("gpu" if args.device == "gpu" else "cpu", args.repeats)
    for backend in backends:
        if (args.paper or backend == "cuda") and not args.only:
            rows.append(paper_phase_diagram(backend))
    print(format_table(["case", "backend", "sweeps", "attempts", "median s", "attempts/s", "per CPU-s"],
                       [[r["case"], r["backend"], r["sweeps"], r["attempts"], r["median_s"], r["attempts_per_s"],
                         r["attempts_per_cpu_s"]] for r in rows]))
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    path = write_results("mc_multispin" if args.only else "mc",
                         {"machine": info, "L": L, "chains": CHAINS, "temperatures": len(TEMPERATURES),
                          "threads": os.environ.get("DEEPSPIN_NUM_THREADS", "all"), "load_average": load,
                          "results": rows}, directory=args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
