"""Exact-energy throughput: every available backend x method, L in {4, 8, 16, 32}.

    python bench/engine.py [--L 4 8 16 32] [--quick] [--out DIR]

Screened Coulomb (k = 0.5, rcut = 8L) by the folded-kernel and the explicit image-sum methods,
and nearest-neighbour Ising. Two rates per row, in configurations per second (median of repeats):
``api`` is the public ``H.energy`` call (validation and chunking included), ``kernel`` calls the
backend on pre-validated int8 input (the compiled kernels alone). On GPU backends the input lives
on the device when CuPy is present, and every timing synchronises. Prints a table and writes
``bench/out/engine-<host>.json`` (git-ignored; ``--out bench/results`` for the committed reference) naming the machine.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import deepspin  # noqa: E402
from deepspin.backends import available_backends, resolve  # noqa: E402

#: Seconds one explicit-method timing may take before it is measured once instead of repeated.
SLOW_CALL = 3.0


def device_input(backend: str, spins: np.ndarray):
    """Spins as the backend consumes them fastest: CuPy device arrays for GPU backends when possible."""
    if backend in ("cuda", "cupy"):
        try:
            import cupy
        except ImportError:
            return spins, None
        return cupy.asarray(spins), cupy.cuda.Device().synchronize
    return spins, None


def batch_size(method: str, terms_per_config: int, backend: str, N: int) -> int:
    """A batch that takes roughly a tenth of a second or more, bounded in memory. On a GPU the
    explicit method runs one thread per (configuration, site): at least 2^18 threads fill an H100
    (the first H100 run used far fewer at L >= 16 and under-reported the explicit rate)."""
    if method == "explicit":
        gpu = backend in ("cuda", "cupy")
        rate = 1e11 if gpu else 1e8  # (pair, image) terms per second, roughly
        fill = (1 << 18) // N if gpu else 1
        return int(np.clip(max(rate * 0.1 / terms_per_config, fill), 1, 1 << 16))
    return 1 << 20 if backend in ("cuda", "cupy") else 1 << 16


def time_call(fn, sync, repeats: int) -> dict:
    def run():
        fn()
        if sync is not None:
            sync()

    start = time.perf_counter()
    run()  # warm-up (and a first estimate)
    first = time.perf_counter() - start
    if first > SLOW_CALL:  # one more call, timed alone: a first call may pay one-off set-up costs
        start = time.perf_counter()
        run()
        second = time.perf_counter() - start
        return {"median_s": second, "all_s": [second], "first_call_s": first,
                "note": "single timing after one warm-up call (slow call)"}
    return harness.measure(run, repeats=repeats, warmup=0, min_time=0.2)


def bench_row(H, backend: str, method, batch: int, rng, repeats: int) -> dict:
    spins_host = rng.choice(np.array([-1, 1], np.int8), size=(batch, H.L, H.L))
    spins, sync = device_input(backend, spins_host)
    engine = resolve(backend)
    kwargs = {} if method is None else {"method": method}
    api = time_call(lambda: H.energy(spins, backend=backend, **kwargs), sync, repeats)
    if method is None:
        kernel_fn = lambda: engine.ising(spins, H.J)  # noqa: E731
    elif method == "kernel":
        kernel_fn = lambda: engine.pair_kernel(spins, H.kernel, H.J, False)  # noqa: E731
    else:
        kernel_fn = lambda: engine.pair_explicit(  # noqa: E731
            spins, H.image_vectors, H.weights, H._radial_code, H.k, H.J, False)
    raw = time_call(kernel_fn, sync, repeats)
    return {
        "hamiltonian": repr(H),
        "L": H.L,
        "backend": backend,
        "method": method or "-",
        "batch": batch,
        "terms_per_config": getattr(H, "term_count", 2 * H.N),
        "api_configs_per_s": batch / api["median_s"],
        "kernel_configs_per_s": batch / raw["median_s"],
        "api_timings_s": api["all_s"],
        "kernel_timings_s": raw["all_s"],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--L", type=int, nargs="+", default=[4, 8, 16, 32])
    parser.add_argument("--backends", nargs="+", default=None, help="default: every available backend")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="L = 8 only, 3 repeats (a smoke run)")
    parser.add_argument("--out", type=Path, default=harness.OUT_DIR, help="directory for the JSON")
    args = parser.parse_args(argv)
    if args.quick:
        args.L, args.repeats = [8], 3
    chosen = args.backends or available_backends()
    info = harness.machine_info()
    print(f"deepspin {deepspin.__version__} exact-energy benchmark on {harness.machine_label(info)}")
    rng = np.random.default_rng(0)
    rows = []
    for L in args.L:
        coulomb = deepspin.ScreenedCoulomb(L, k=0.5)
        ising = deepspin.Ising(L)
        print(f"L={L}: screened Coulomb rcut={coulomb.rcut:g}, {coulomb.term_count:,} (pair, image) terms per config",
              flush=True)
        for backend in chosen:
            for H, method in ((coulomb, "kernel"), (coulomb, "explicit"), (ising, None)):
                terms = getattr(H, "term_count", 2 * H.N)
                batch = batch_size(method or "kernel", terms, backend, H.N)
                rows.append(bench_row(H, backend, method, batch, rng, args.repeats))
                r = rows[-1]
                print(f"  {backend:6s} {type(H).__name__:16s} {r['method']:8s} "
                      f"{r['kernel_configs_per_s']:>14,.0f} cfg/s", flush=True)
    table = [[r["L"], r["hamiltonian"].split("(")[0], r["method"], r["backend"], r["batch"],
              r["terms_per_config"], r["api_configs_per_s"], r["kernel_configs_per_s"]] for r in rows]
    print()
    print(harness.format_table(["L", "model", "method", "backend", "batch", "terms/config", "api cfg/s",
                                "kernel cfg/s"], table))
    ratios = {}
    for L in args.L:
        for backend in chosen:
            pick = {r["method"]: r for r in rows if r["L"] == L and r["backend"] == backend
                    and r["hamiltonian"].startswith("ScreenedCoulomb")}
            if "kernel" in pick and "explicit" in pick:
                ratios[f"L{L}-{backend}"] = pick["kernel"]["kernel_configs_per_s"] / pick["explicit"]["kernel_configs_per_s"]
    print("\nkernel / explicit speed ratio (screened Coulomb, same backend):")
    for key, value in ratios.items():
        print(f"  {key:12s} {value:,.0f}x")
    path = harness.write_results(f"engine-{info['hostname']}", {"machine": info, "rows": rows,
                                                               "kernel_over_explicit": ratios}, args.out)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
