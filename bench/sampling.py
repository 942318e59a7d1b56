"""Sampler, split and labelling throughput against the targets of the samplers issue.

    python bench/sampling.py [--repeats 3] [--quick] [--out DIR]

Rows (wall time of one call, median of repeats; the target is for the 2-core CPU machine):

- targeted 4x4 Ising, 15 classes x 1800 = 27,000 configurations (target <= 10 s);
- targeted 8x8 Ising, 63 classes x 1588 = 100,044 configurations (target <= 120 s);
- SHA3 split of 10^6 random 8x8 configurations (target <= 10 s);
- uniform 8x8 + exact screened-Coulomb labels (kernel method), 120,000 configurations (<= 10 s);
- for scale: targeted 8x8 screened Coulomb (20 bins x 500) and thermal 8x8 Ising (64 chains).

Each call includes exact labelling. Prints a table and writes ``bench/out/sampling-<host>.json`` (git-ignored).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import deepspin  # noqa: E402
from deepspin.datasets import split_mask  # noqa: E402
from deepspin.sampling import targeted, thermal, uniform  # noqa: E402


def cases(quick: bool):
    """``(name, configurations, target seconds or None, fn)`` for every row."""
    rng = np.random.default_rng(0)
    split_input = (2 * rng.integers(0, 2, size=(10**6, 8, 8), dtype=np.int8) - 1).astype(np.int8)
    coulomb8 = deepspin.ScreenedCoulomb(8)
    rows = [
        ("targeted Ising 4x4, 15 x 1800", 27_000, 10.0, lambda: targeted(deepspin.Ising(4), 1800, seed=1)),
        ("targeted Ising 8x8, 63 x 1588", 63 * 1588, 120.0, lambda: targeted(deepspin.Ising(8), 1588, seed=1)),
        ("split 10^6 8x8 (SHA3-512)", 10**6, 10.0, lambda: split_mask(split_input, 0.1)),
        ("uniform 8x8 + screened-Coulomb labels", 120_000, 10.0, lambda: uniform(coulomb8, 120_000, seed=1)),
    ]
    if not quick:
        rows += [
            ("targeted screened Coulomb 8x8, 20 x 500", 10_000, None,
             lambda: targeted(coulomb8, 500, bins=20, seed=1)),
            ("thermal Ising 8x8, 64 chains, 1100 sweeps", 64 * 100, None,
             lambda: thermal(deepspin.Ising(8), 2.269, chains=64, samples=100, burn_in=100, thin=10, seed=1)),
        ]
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the four target rows, 1 repeat")
    parser.add_argument("--out", type=Path, default=harness.OUT_DIR, help="directory for the JSON")
    args = parser.parse_args(argv)
    repeats = 1 if args.quick else args.repeats
    info = harness.machine_info()
    print(f"deepspin {deepspin.__version__} sampling benchmark on {harness.machine_label(info)}", flush=True)
    rows = []
    for name, count, target, fn in cases(args.quick):
        timing = harness.measure(fn, repeats=repeats, warmup=0, min_time=0.0)
        seconds = timing["median_s"]
        rows.append({"case": name, "configurations": count, "seconds": seconds, "all_s": timing["all_s"],
                     "configs_per_s": count / seconds, "target_s": target,
                     "meets_target": None if target is None else seconds <= target})
        print(f"  {name:45s} {seconds:8.2f} s", flush=True)
    print()
    print(harness.format_table(
        ["case", "configs", "seconds", "cfg/s", "target s", "met"],
        [[r["case"], r["configurations"], r["seconds"], r["configs_per_s"],
          "-" if r["target_s"] is None else r["target_s"],
          {None: "-", True: "yes", False: "NO"}[r["meets_target"]]]
         for r in rows]))
    path = harness.write_results(f"sampling-{info['hostname']}", {"machine": info, "repeats": repeats, "rows": rows},
                                 args.out)
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
