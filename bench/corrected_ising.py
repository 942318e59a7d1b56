"""The paper's biased case, corrected: the 8x8 Ising regressor with the exact Ising energy as second stage.

    python bench/corrected_ising.py                       # 400 chains x 300 sweeps x 9 T (the paper profile)
    python bench/corrected_ising.py --chains 100 --sweeps 60     # a short run
    python bench/corrected_ising.py --T 1.5,1.75                 # where the paper profile's learned run was 4.1 SE off

Three runs with the same seed, chains, sweeps and temperatures (T = 1.5 .. 3.5, step 0.25), all from
the ordered start:

- exact Metropolis (the compiled Ising rule; the twin);
- plain learned Metropolis with the regressor as the energy (``accept="metropolis"``: biased);
- delayed acceptance (``accept="delayed"``): the regressor screens each flip, the exact Ising energy
  decides the survivors, so the chains sample the exact Boltzmann distribution.

The surrogate is the paper-profile 8x8 energy regressor of ``docs/reproduce-paper/`` (stage
``phase-8x8-learned``, cached as ``docs/reproduce-paper/cache/model/7e2aad4615ca41ec.keras``; its
plain learned Metropolis sat 4.1 standard errors above the exact twin there). It prints ``<E>/N``,
``C/N`` and ``<|m|>`` of each run with standard errors and each one's distance from the twin in
combined standard errors, and writes ``bench/out/corrected_ising.json`` (git-ignored).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import numpy as np  # noqa: E402
from harness import machine_info, machine_label, write_results  # noqa: E402

import deepspin  # noqa: E402
from deepspin.mc import run  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "docs" / "reproduce-paper" / "cache" / "model" / "7e2aad4615ca41ec.keras"
TEMPERATURES = np.round(np.arange(9) * 0.25 + 1.5, 12)
KEYS = ("E_per_site", "C_per_site", "absm")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chains", type=int, default=400)
    parser.add_argument("--sweeps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--T", default=None, help="comma-separated temperatures (default 1.5 .. 3.5, step 0.25)")
    parser.add_argument("--model", type=Path, default=MODEL, help="the learned surrogate (.keras)")
    parser.add_argument("--out", type=Path, default=None, help="directory for corrected_ising.json (default bench/out/)")
    args = parser.parse_args()
    info = machine_info()
    print(f"machine: {machine_label(info)}", file=sys.stderr)
    harness.import_keras_quietly()
    from deepspin.surrogate import load

    temperatures = TEMPERATURES if args.T is None else np.array([float(t) for t in args.T.split(",")])
    surrogate = load(args.model)
    H = deepspin.Ising(8)
    common = dict(chains=args.chains, sweeps=args.sweeps, seed=args.seed, start="ordered")
    runs = {}
    for name, kwargs in (("exact Metropolis", dict(backend="cpu")),
                         ("learned Metropolis", dict(surrogate=surrogate, accept="metropolis", backend="generic")),
                         ("delayed acceptance", dict(surrogate=surrogate, accept="delayed"))):
        begin = time.perf_counter()
        result = run(H, temperatures, **common, **kwargs)
        runs[name] = (result, time.perf_counter() - begin)
        print(f"  {name}: {runs[name][1]:.1f} s", file=sys.stderr)
    twin = runs["exact Metropolis"][0].observables()
    rows = []
    print(f"{'method':<20} {'T':>5} {'E/N':>9} {'err':>7} {'z':>5} {'C/N':>7} {'err':>7} {'z':>5} {'<|m|>':>7} "
          f"{'err':>7} {'z':>5} {'exact.acc':>9}")
    for name, (result, seconds) in runs.items():
        obs = result.observables()
        for i, T in enumerate(temperatures):
            row = {"method": name, "T": float(T), "seconds": seconds}
            line = f"{name:<20} {T:5.2f}"
            for key in KEYS:
                z = (obs[key][i] - twin[key][i]) / np.hypot(obs[f"{key}_err"][i], twin[f"{key}_err"][i])
                row.update({key: float(obs[key][i]), f"{key}_err": float(obs[f"{key}_err"][i]), f"{key}_z": float(z)})
                line += f" {obs[key][i]:9.5f} {obs[f'{key}_err'][i]:7.1e} {z:5.1f}" if key == "E_per_site" else \
                    f" {obs[key][i]:7.4f} {obs[f'{key}_err'][i]:7.1e} {z:5.1f}"
            if result.policy is not None:
                row.update({key: float(result.policy[key][i])
                            for key in ("exact_acceptance", "surrogate_acceptance", "exact_evaluations")})
                line += f" {row['exact_acceptance']:9.4f}"
            rows.append(row)
            print(line)
    payload = {"machine": info, "model": str(args.model.relative_to(ROOT)) if args.model.is_relative_to(ROOT)
               else str(args.model), "chains": args.chains, "sweeps": args.sweeps, "seed": args.seed, "rows": rows}
    path = write_results("corrected_ising", payload, args.out)
    print(f"wrote {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
