"""Surrogates vs exact energies, speed at the paper's accuracy: the project's main job.

    python bench/speedup.py [--device auto|gpu|cpu] [--out DIR] [--model PATH ...] [--train]
                            [--hamiltonian screened-coulomb|sinusoidal-coulomb] [--smoke]

Mills & Tamblyn (2018) report that their network predicts screened-Coulomb energies (8x8, k = 0.5,
rcut = 64) 1600x faster than a CUDA "exact" image sum on a Tesla K40 at comparable median error
(0.640 J). This benchmark re-measures that claim on one device, in one run:

1. every shipped surrogate (the paper's CNN, the faithful row; the fast extensive model) on each
   inference runtime available (:class:`deepspin.surrogate.inference.Predictor`: ONNX Runtime,
   the Keras backend's compiled predict): median |error| on 20,000 uniform configurations
   against the exact energy (rcut = 64), and configurations/s of ``operator.energy`` (the public
   call: validation, int8 in, float64 out);
2. the exact methods: the explicit image sum at rcut = 64 (float64 and float32), the folded-kernel
   method, and, for every row, the explicit sum at that row's *accuracy-matched cutoff*: the
   smallest rcut whose median |E(rcut) - E(64)| is at most the row's median |error|;
3. per row, ``vs_explicit_rcut64`` (against the faster of float64 and float32 at rcut = 64),
   ``vs_explicit_matched`` and ``vs_folded_kernel``, and a computed verdict: the paper's 1600x at
   <= 0.640 J is reproduced when some surrogate reaches both.

Throughput is the median of repeats after a warm-up (``bench/harness.py``). The JSON goes to
``--out`` (default ``bench/out/``, git-ignored, so the main job leaves the checkout clean; the
committed references are written with ``--out bench/results``). ``--train`` retrains the paper
CNN (``bench/train_screened_coulomb_L8.py``); ``bench/train_fast.py`` remakes the fast model.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up notes stay out of the table
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

#: Shipped surrogates per Hamiltonian: (label, file). Missing files are skipped with a note.
SURROGATES = {
    "screened-coulomb": [("paper CNN", ROOT / "models" / "screened_coulomb_L8.keras"),
                         ("fast extensive", ROOT / "models" / "screened_coulomb_fast.keras")],
    "sinusoidal-coulomb": [("paper CNN", ROOT / "models" / "sinusoidal_coulomb_L8.keras")],
}
PAPER = {"speedup_vs_explicit": 1600.0, "device": "NVIDIA Tesla K40", "median_abs_error_J": 0.64}
EXPLICIT_64 = ("explicit rcut=64 float64", "explicit rcut=64 float32")
KERNEL = "folded kernel (exact) float64"
RUNTIMES = ("onnxruntime", "keras")


def pick_device(requested: str) -> tuple[str, str]:
    """Return (device, exact backend): the GPU when present (or asked for), else this CPU."""
    import deepspin

    available = {name for name, (ok, _) in deepspin.backends().items() if ok}
    gpu_backend = next((b for b in ("cuda", "cupy") if b in available), None)
    if requested == "gpu" and gpu_backend is None:
        reasons = "; ".join(f"{b}: {deepspin.backends()[b][1]}" for b in ("cuda", "cupy"))
        raise SystemExit(f"speedup: --device gpu but no GPU backend works here ({reasons})")
    if requested == "cpu" or gpu_backend is None:
        return "cpu", "cpu"
    return "gpu", gpu_backend


def uniform_configs(n: int, L: int, seed: int) -> np.ndarray:
    """``n`` uniform random +1/-1 configurations ``int8 (n, L, L)`` (SPEC section 5) from ``seed``."""
    return np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(n, L, L))


def median_abs_error(predicted, exact) -> float:
    return float(np.median(np.abs(np.asarray(predicted, dtype=np.float64) - np.asarray(exact, dtype=np.float64))))


def matched_cutoff(name: str, L: int, k: float, configs, reference, target: float, backend: str):
    """Smallest integer rcut with median |E(rcut) - E(reference cutoff)| <= target, and that median."""
    import deepspin

    for rcut in range(1, 8 * L + 1):
        energies = deepspin.hamiltonian(name, L, k=k, rcut=rcut).energy(configs, backend=backend)
        error = median_abs_error(energies, reference)
        if error <= target:
            return rcut, error
    raise RuntimeError("no cutoff up to 8L reaches the target error")  # cannot happen: rcut = 8L gives 0


def throughput(fn, batch: int, repeats: int, sync=None) -> dict:
    """Configurations/s of ``fn`` (one call handles ``batch``): median of ``repeats`` after one warm-up call."""
    def run():
        fn()
        if sync is not None:
            sync()

    start = time.perf_counter()
    run()
    first = time.perf_counter() - start
    if first > 5.0:  # a slow method is timed once rather than stalling the whole benchmark
        timing = {"median_s": first, "all_s": [first]}
    else:
        timing = harness.measure(run, repeats=repeats, warmup=0, min_time=0.3)
    return {"configs_per_s": batch / timing["median_s"], "batch": batch, "timings_s": timing["all_s"]}


def verdict(rows: list[dict]) -> dict:
    """The paper's claim checked on ``rows``: a surrogate at <= 0.640 J median error and >= 1600x rcut = 64."""
    surrogates = [r for r in rows if r.get("kind") == "surrogate"]
    accurate = [r for r in surrogates if r["median_abs_error"] <= PAPER["median_abs_error_J"]]
    pool = accurate or surrogates
    best = max(pool, key=lambda r: r["vs_explicit_rcut64"]) if pool else None
    reproduced = bool(best is not None and accurate and best["vs_explicit_rcut64"] >= PAPER["speedup_vs_explicit"])
    return {"reproduced": reproduced, "best_method": best["method"] if best else None,
            "best_ratio": best["vs_explicit_rcut64"] if best else None,
            "criterion": f"median |error| <= {PAPER['median_abs_error_J']} J and >= "
                         f"{PAPER['speedup_vs_explicit']:.0f}x the faster explicit sum at rcut = 64, same run"}


def verdict_line(v: dict) -> str:
    head = f"paper's {PAPER['speedup_vs_explicit']:.0f}x at <= {PAPER['median_abs_error_J']:.3f} J: "
    if v["best_method"] is None:
        return head + "not reproduced (no surrogate measured)"
    if v["reproduced"]:
        return head + f"reproduced by {v['best_method']} ({v['best_ratio']:,.0f} x)"
    return head + f"not reproduced (best {v['best_ratio']:,.1f} x, {v['best_method']})"


def cpu_fp32_peak() -> dict:
    """FP32 peak of this CPU: cores x SIMD lanes x FMA units x 2 FLOP x clock (read from /proc/cpuinfo).

    Lanes: 16 with AVX-512F, 8 with AVX2 (else 4). FMA units per core cannot be read from the
    machine: 2 is assumed (Xeon Gold/Platinum and EPYC Zen 4 have two 512-/256-bit FMA pipes).
    The clock is the one /proc/cpuinfo reports (under a hypervisor, the nominal clock).
    """
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return {"gflops": None, "reason": "no /proc/cpuinfo"}
    flags = next((line.split(":", 1)[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    mhz = [float(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("cpu MHz")]
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    cores, fma_units = os.cpu_count() or 1, 2
    clock_ghz = max(mhz) / 1000 if mhz else None
    gflops = cores * lanes * fma_units * 2 * clock_ghz if clock_ghz else None
    return {"gflops": gflops, "cores": cores, "fp32_lanes": lanes, "fma_units_assumed": fma_units,
            "clock_ghz": clock_ghz, "formula": "cores x lanes x FMA units x 2 FLOP x clock"}


def macs_per_config(operator, L: int) -> int:
    """Multiply-adds per configuration of what runs: the lowered matrices, or the Conv2D/Dense layers."""
    from deepspin.surrogate import describe
    from deepspin.surrogate.inference import lowered_stages

    if operator.predictor.lowered(L):
        stages = lowered_stages(operator.model, L)
        N = L * L
        return int(sum(m.size for m, _, _ in stages["convs"]) + N * sum(k.size for k, _, _ in stages["head"])
                   + stages["pair"].size)
    return describe(operator.model)["macs"]


def surrogate_runs(hamiltonian: str, extra: list[Path], device: str) -> list[tuple[str, Path, str]]:
    """``(label, path, runtime)`` of every shipped (or given) surrogate on every runtime usable here."""
    import importlib.util

    models = [(label, path) for label, path in SURROGATES[hamiltonian] if path.exists()]
    for label, path in SURROGATES[hamiltonian]:
        if not path.exists():
            print(f"note: {label} model {path.relative_to(ROOT)} is not shipped; its row is skipped")
    models += [(path.stem, path) for path in extra]
    onnx = device == "cpu" and all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))
    runs = []
    for label, path in models:
        for runtime in RUNTIMES:
            if runtime == "onnxruntime" and not onnx:
                continue
            runs.append((label, path, runtime))
    return runs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "gpu", "cpu"), default="auto")
    parser.add_argument("--hamiltonian", choices=tuple(SURROGATES), default="screened-coulomb")
    parser.add_argument("--model", type=Path, action="append", default=[],
                        help="another surrogate .keras file to report (repeatable)")
    parser.add_argument("--train", action="store_true", help="retrain the paper CNN first")
    parser.add_argument("--batch", type=int, default=None, help="configurations per timed call of the fast methods")
    parser.add_argument("--test-size", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds on a CPU (for tests)")
    parser.add_argument("--out", type=Path, default=harness.OUT_DIR,
                        help="folder for the JSON (default bench/out/, git-ignored)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.test_size, args.repeats = 2_000, 2
    device, backend = pick_device(args.device)
    if device == "cpu" and args.device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")  # keep the surrogate off a GPU too

    import deepspin

    harness.import_keras_quietly()
    from deepspin import surrogate

    if args.train:
        surrogate.train_speedup_model(args.hamiltonian, SURROGATES[args.hamiltonian][0][1])
    runs = surrogate_runs(args.hamiltonian, args.model, device)
    L, k = 8, 0.5
    H = deepspin.hamiltonian(args.hamiltonian, L, k=k)  # rcut = 8L = 64: the paper's cutoff
    batch = args.batch or (1 << 20 if device == "gpu" else 1 << 16)
    explicit_batch = 4 if args.smoke else (64 if device == "cpu" else 1 << 14)
    if args.smoke:
        batch = 4096

    info = harness.machine_info()
    peak = cpu_fp32_peak()
    info["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    info["keras"] = surrogate.framework_versions()
    load = os.getloadavg()
    print(f"speedup: {H} on {device} ({harness.machine_label(info)}), Keras backend {info['keras_backend']}, "
          f"load average {load[0]:.2f}")
    if peak["gflops"]:
        print(f"CPU FP32 peak {peak['gflops']:.1f} GFLOP/s = {peak['cores']} cores x {peak['fp32_lanes']} lanes x "
              f"{peak['fma_units_assumed']} FMA units (assumed) x 2 x {peak['clock_ghz']:.2f} GHz")

    test = uniform_configs(args.test_size, L, seed=2018)
    exact = np.asarray(H.energy(test, backend=backend), dtype=np.float64)
    fast = uniform_configs(batch, L, seed=1)
    sync, on_device = None, (lambda a: a)
    if device == "gpu":
        import cupy

        sync, on_device = cupy.cuda.Device().synchronize, cupy.asarray
    fast_dev = on_device(fast)
    slow = on_device(fast[:explicit_batch])
    error_n = min(len(test), 4 if args.smoke else 256)  # the explicit sums at rcut = 64 are slow: a subset

    rows = []
    for label, path, runtime in runs:
        operator = surrogate.load(path, batch_size=8192 if device == "cpu" else 1 << 16, runtime=runtime)
        error = median_abs_error(operator.energy(test), exact)
        method = f"{label} ({path.name}), {runtime}"
        timing = throughput(lambda op=operator: op.energy(fast_dev), batch, args.repeats, sync)
        macs = macs_per_config(operator, L)
        gflops = 2 * macs * timing["configs_per_s"] / 1e9
        rows.append({"method": method, "kind": "surrogate", "model": str(path), "runtime": runtime,
                     "predictor": repr(operator.predictor), "median_abs_error": error, **timing,
                     "macs_per_config": macs, "gflops": gflops,
                     "fraction_of_fp32_peak": gflops / peak["gflops"] if device == "cpu" and peak["gflops"] else None})
        share = f" ({gflops / peak['gflops']:.0%} of the CPU's FP32 peak)" if device == "cpu" and peak["gflops"] else ""
        print(f"  {method}: median |error| {error:.4g} J, {timing['configs_per_s']:,.0f} configurations/s, "
              f"{macs:,} multiply-adds each = {gflops:.1f} GFLOP/s{share}")

    explicit = {}
    for precision in ("float64", "float32"):
        err = median_abs_error(H.energy(test[:error_n], backend=backend, method="explicit", precision=precision),
                               exact[:error_n])
        timing = throughput(lambda p=precision: H.energy(slow, backend=backend, method="explicit", precision=p),
                            explicit_batch, args.repeats, sync)
        explicit[precision] = {"method": f"explicit rcut=64 {precision}", "kind": "explicit-64", "rcut": 64,
                               "median_abs_error": err, "error_n": error_n, **timing}
    rows += [explicit["float64"], explicit["float32"]]
    kernel_error = median_abs_error(H.energy(test, backend=backend, method="kernel"), exact)
    rows.append({"method": KERNEL, "kind": "kernel", "median_abs_error": kernel_error,
                 **throughput(lambda: H.energy(fast_dev, backend=backend, method="kernel"), batch, args.repeats, sync)})

    # Every row's accuracy-matched cutoff, and the explicit sum timed once at each distinct one.
    for r in list(rows):
        r["matched_rcut"], r["matched_rcut_median_abs_error"] = matched_cutoff(
            args.hamiltonian, L, k, test, exact, r["median_abs_error"], backend)
    for rcut in sorted({r["matched_rcut"] for r in rows} - {64}):  # rcut = 64 is timed above
        H_r = deepspin.hamiltonian(args.hamiltonian, L, k=k, rcut=rcut)
        n = batch if rcut <= 12 else min(batch, 16 * explicit_batch)  # large cutoffs are slow
        configs = fast_dev[:n]
        rows.append({"method": f"explicit rcut={rcut} float64", "kind": "explicit", "rcut": rcut,
                     "median_abs_error": median_abs_error(H_r.energy(test, backend=backend), exact),
                     "matched_rcut": rcut, **throughput(lambda h=H_r, c=configs: h.energy(c, backend=backend,
                                                                                          method="explicit"),
                                                        n, args.repeats, sync)})
    by_rcut = {r["rcut"]: r for r in rows if r.get("kind") == "explicit"}
    by_rcut[64] = explicit["float64"]
    _fill_ratios(rows, by_rcut)

    table = [[r["method"], r["configs_per_s"], r["median_abs_error"], r["matched_rcut"], r["vs_explicit_rcut64"],
              r["vs_explicit_matched"], r["vs_folded_kernel"]] for r in rows]
    print(harness.format_table(["method", "configs/s", "median |error| (J)", "matched rcut", "vs explicit rcut=64",
                                "vs explicit matched", "vs folded kernel"], table))
    result = verdict(rows)
    print(verdict_line(result))
    payload = {
        "machine": info, "device": device, "exact_backend": backend, "hamiltonian": repr(H), "L": L, "k": k,
        "test_set": {"n": len(test), "sampler": "uniform", "seed": 2018}, "timing_set": {"n": batch, "seed": 1},
        "load_average_start": load, "load_average_end": os.getloadavg(), "cpu_fp32_peak": peak,
        "rows": rows, "verdict": result, "paper": PAPER, "smoke": args.smoke,
    }
    name = f"speedup-{args.hamiltonian}-{device}-{info['hostname']}" + ("-smoke" if args.smoke else "")
    path = harness.write_results(name, payload, args.out)
    print(f"wrote {path}")
    return 0


def _fill_ratios(rows: list[dict], by_rcut: dict) -> None:
    """Ratios of every row to the faster explicit sum at rcut = 64, to its matched cutoff and to the kernel."""
    explicit64 = max(r["configs_per_s"] for r in rows if r.get("kind") == "explicit-64")
    kernel = next(r["configs_per_s"] for r in rows if r.get("kind") == "kernel")
    for r in rows:
        r["vs_explicit_rcut64"] = r["configs_per_s"] / explicit64
        r["vs_explicit_matched"] = r["configs_per_s"] / by_rcut[r["matched_rcut"]]["configs_per_s"]
        r["vs_folded_kernel"] = r["configs_per_s"] / kernel


if __name__ == "__main__":
    sys.exit(main())
