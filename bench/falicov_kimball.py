"""Falicov–Kimball: exact-energy throughput and the linear effective pair model's residuals.

    python bench/falicov_kimball.py [--L 4 8 16] [--fit-L 8] [--T 0.15] [--chains 32] [--burn-in 100]
                                    [--records 20] [--every 5] [--out DIR]

1. Throughput of ``FalicovKimball(L).energy`` (batched ``numpy.linalg.eigvalsh``, validation
   included) in configurations per second, median of repeats.
2. Thermal samples at ``--fit-L`` and ``--T`` from the generic batch Monte Carlo (``deepspin.mc.init``
   and ``sweep``: ``--chains`` chains, ``--burn-in`` sweeps, then ``--records`` configurations per
   chain every ``--every`` sweeps), labelled with ``E(s; T)``; the linear pair model
   (:func:`deepspin.effective.fit_pair_model`) fitted for every number of shells, with its RMS
   residual on the fitted samples and on held-out ones (even/odd chains).

Prints tables and writes ``bench/out/falicov-kimball-L<L>-T<T>-<host>.json`` naming the machine
(``--fit-L 0``: throughput only, ``falicov-kimball-throughput-<host>.json``).
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
from deepspin.effective import fit_pair_model, shell_norms  # noqa: E402
from deepspin.mc import init, sweep  # noqa: E402

BATCH = {4: 4096, 8: 1024, 16: 32, 32: 2}


def throughput(L: int, backend: str = "numpy") -> dict:
    H = deepspin.FalicovKimball(L)
    batch = BATCH.get(L, 1)
    spins = np.random.default_rng(0).choice(np.array([-1, 1], np.int8), size=(batch, L, L))
    timing = harness.measure(lambda: H.energy(spins, T=0.15, backend=backend), repeats=3)
    return {"L": L, "backend": backend, "batch": batch, "seconds": timing["median_s"],
            "configs_per_s": batch / timing["median_s"]}


def thermal_samples(L: int, T: float, chains: int, burn_in: int, records: int, every: int, seed: int = 0):
    H = deepspin.FalicovKimball(L)
    state = init(H, [T], chains=chains, seed=seed, start="random", backend="generic")
    start = time.perf_counter()
    sweep(state, burn_in)
    configs = []
    for _ in range(records):
        sweep(state, every)
        configs.append(state.spins.copy())
    seconds = time.perf_counter() - start
    configs = np.stack(configs)  # (records, chains, L, L)
    chain = np.broadcast_to(np.arange(chains), (records, chains)).ravel()
    configs = configs.reshape(-1, L, L)
    return configs, H.energy(configs, T=T), chain, seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--L", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--fit-L", type=int, default=8, help="0: throughput only")
    parser.add_argument("--backends", nargs="+", default=["numpy"], help="energy backends to time (e.g. numpy cupy)")
    parser.add_argument("--T", type=float, default=0.15)
    parser.add_argument("--chains", type=int, default=32)
    parser.add_argument("--burn-in", type=int, default=100)
    parser.add_argument("--records", type=int, default=20)
    parser.add_argument("--every", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    info = harness.machine_info()
    print(harness.machine_label(info))
    rates = [throughput(L, backend) for backend in args.backends for L in args.L]
    print(harness.format_table(["backend", "L", "batch", "configs/s"],
                               [[r["backend"], r["L"], r["batch"], r["configs_per_s"]] for r in rates]))

    if not args.fit_L:
        path = harness.write_results(f"falicov-kimball-throughput-{info['hostname']}",
                                     {"machine": info, "throughput": rates}, args.out)
        print(f"wrote {path}")
        return 0
    L, T = args.fit_L, args.T
    configs, energies, chain, seconds = thermal_samples(L, T, args.chains, args.burn_in, args.records, args.every)
    ms = np.abs(deepspin.staggered_magnetization(configs))
    print(f"\n{len(configs)} thermal samples of FalicovKimball({L}) at T = {T} in {seconds:.0f} s; "
          f"std E = {energies.std():.4g}, <|m_s|> = {ms.mean():.3f}")
    train, test = chain % 2 == 0, chain % 2 == 1
    fits = []
    for shells in range(1, len(shell_norms(L)) + 1):
        model = fit_pair_model(configs, energies, L, shells)
        held = fit_pair_model(configs[train], energies[train], L, shells)
        held_rms = float(np.sqrt(np.mean((held.energy(configs[test]) - energies[test]) ** 2)))
        fits.append({"shells": shells, "residual_std": model.residual_std, "heldout_rms": held_rms,
                     "couplings": model.couplings.tolist(), "E0": model.E0})
    print(harness.format_table(
        ["shells", "residual std", "per site", "held-out RMS", "J_1"],
        [[f["shells"], f["residual_std"], f["residual_std"] / (L * L), f["heldout_rms"], f["couplings"][0]]
         for f in fits]))
    payload = {"machine": info, "throughput": rates,
               "fit": {"L": L, "T": T, "U": 4.0, "t": 1.0, "chains": args.chains, "burn_in": args.burn_in,
                       "records": args.records, "every": args.every, "samples": len(configs),
                       "sampling_seconds": seconds, "energy_std": float(energies.std()),
                       "mean_abs_staggered": float(ms.mean()), "fits": fits}}
    path = harness.write_results(f"falicov-kimball-L{L}-T{T:g}-{info['hostname']}", payload, args.out)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
