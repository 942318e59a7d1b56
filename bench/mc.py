"""Monte Carlo throughput: spin-flip attempts per second of deepspin.mc.run.

    python bench/mc.py                 # compiled cpu (and cuda when present) + generic path
    python bench/mc.py --paper         # also the paper-size phase diagram (8x8, 400 chains,
                                       # 46 temperatures, 10^4 sweeps, 1.2e10 attempts), timed once
    python bench/mc.py --device gpu --out DIR   # cuda only (with a 16x larger ensemble and the
                                                # paper-size run), as bench/gpu_check.sh calls it

Each case is an end-to-end ``run()`` (initial state, sweeps, estimators) at L = 8 with 400 chains
x 50 temperatures (T = 0.5 .. 5); the rate is attempts (chains x temperatures x N x sweeps) over the
median wall time, and over this process's CPU time (which a busy shared machine does not inflate).
Results go to bench/results/mc.json with the machine and the load average named.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
from harness import format_table, machine_info, machine_label, measure, write_results  # noqa: E402

import deepspin  # noqa: E402
from deepspin.backends.compiled import cuda_status  # noqa: E402
from deepspin.mc import run  # noqa: E402

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
    parser.add_argument("--out", type=Path, default=None, help="directory for mc.json (default bench/results)")
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
        rows.append(case("screened-coulomb L=8 (local fields)", coulomb, backend, 200 if big else 10, args.repeats))
        if big:  # a GPU needs more chains than 400 x 50 to fill its cores
            rows.append(case("ising L=8, 16x chains", ising, backend, 500, args.repeats, chains=16 * CHAINS))
    rows += potts_rows(backends, args.repeats)
    # The generic path: one batched operator call (20,000 configurations) per attempted flip.
    rows.append(case("ising L=8, exact engine as operator", ising, "generic", 1, 1))
    rows.append(case("screened-coulomb L=8, exact operator", coulomb, "generic", 1, 1))
    for backend in backends:
        if args.paper or backend == "cuda":
            rows.append(paper_phase_diagram(backend))
    print(format_table(["case", "backend", "sweeps", "attempts", "median s", "attempts/s", "per CPU-s"],
                       [[r["case"], r["backend"], r["sweeps"], r["attempts"], r["median_s"], r["attempts_per_s"],
                         r["attempts_per_cpu_s"]] for r in rows]))
    load = os.getloadavg()
    print(f"load average during the run: {load[0]:.2f} on {os.cpu_count()} cores", file=sys.stderr)
    path = write_results("mc", {"machine": info, "L": L, "chains": CHAINS, "temperatures": len(TEMPERATURES),
                                "threads": os.environ.get("DEEPSPIN_NUM_THREADS", "all"), "load_average": load,
                                "results": rows}, directory=args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
