"""How many Metropolis sweeps with a network operator fit in a time budget on this machine.

    python bench/learned_sweeps.py --budget 240 --runs 2 --out DIR     # prints the sweep count

``bench/gpu_check.sh`` sizes the paper profile's learned 8x8 Metropolis (``phase-8x8-learned``: 400
chains x 46 temperatures, one batched inference of 18,400 configurations per attempted flip) to the
device time it has left: it times whole sweeps of ``deepspin.mc.run`` on the generic path with the
shipped 8x8 paper CNN (``models/screened_coulomb_L8.keras``, the architecture of the stage's
classification and regression networks) after one warm-up sweep (the compiled shapes are traced
there), then prints the largest multiple of ``--step`` sweeps that lets ``--runs`` such runs finish
within ``--budget`` seconds with ``--margin`` to spare (at least ``--step``, at most ``--max``).
The measured rate goes to ``DIR/learned_sweeps.json`` with the machine named.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import machine_info, machine_label, write_results  # noqa: E402

from deepspin.mc import run  # noqa: E402
from deepspin.mc.temperatures import parse_temperatures  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def sweep_seconds(model: Path, temperatures, chains: int, sweeps: int) -> dict:
    """Wall seconds per sweep of the learned operator on ``chains`` x ``len(temperatures)`` chains (8x8)."""
    harness.import_keras_quietly()
    from deepspin.surrogate import load

    op = load(model)
    kwargs = dict(L=8, chains=chains, burn_in=0, seed=1, backend="generic", start="ordered", progress=False)
    start = time.perf_counter()
    run(op, temperatures, sweeps=1, **kwargs)  # traces the compiled shapes
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    run(op, temperatures, sweeps=sweeps, **kwargs)
    per_sweep = (time.perf_counter() - start) / sweeps
    return {"model": model.name, "runtime": op.predictor.runtime_for(8), "warmup_s": warmup, "timed_sweeps": sweeps,
            "s_per_sweep": per_sweep, "attempts_per_s": chains * len(temperatures) * 64 / per_sweep}


def affordable(per_sweep: float, budget: float, runs: int, margin: float, step: int, most: int) -> int:
    """Largest multiple of ``step`` sweeps (within ``[step, most]``) of which ``runs`` runs take at most
    ``budget / margin`` seconds."""
    fit = int(budget / (margin * runs * per_sweep) // step) * step
    return max(step, min(most, fit))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, required=True, help="seconds the learned runs may take together")
    parser.add_argument("--runs", type=int, default=3, help="network-driven runs of that size (default 3: the "
                        "classifier, the regressor, the regressor corrected by delayed acceptance)")
    parser.add_argument("--T", default="0.5:5:0.1", help="temperatures (default the paper profile's 0.5:5:0.1)")
    parser.add_argument("--chains", type=int, default=400)
    parser.add_argument("--timed-sweeps", type=int, default=2)
    parser.add_argument("--margin", type=float, default=1.25, help="safety factor on the measured time (default 1.25)")
    parser.add_argument("--step", type=int, default=50)
    parser.add_argument("--max", type=int, default=2000, help="at most this many sweeps (the paper's count)")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "screened_coulomb_L8.keras")
    parser.add_argument("--out", type=Path, default=None, help="directory for learned_sweeps.json (default bench/out/)")
    args = parser.parse_args()
    if args.budget <= 0 or args.runs < 1 or args.chains < 1 or args.timed_sweeps < 1 or args.step < 1:
        parser.error("--budget, --runs, --chains, --timed-sweeps and --step must be positive")
    temperatures = parse_temperatures(args.T)
    timing = sweep_seconds(args.model, temperatures, args.chains, args.timed_sweeps)
    sweeps = affordable(timing["s_per_sweep"], args.budget, args.runs, args.margin, args.step, args.max)
    info = machine_info()
    print(f"{machine_label(info)}: {timing['s_per_sweep']:.3f} s per sweep of {args.chains} chains x "
          f"{len(temperatures)} T ({timing['attempts_per_s']:.3g} attempted flips/s, {timing['runtime']}); "
          f"{args.runs} runs of {sweeps} sweeps fit {args.budget:g} s", file=sys.stderr)
    write_results("learned_sweeps", {"machine": info, "T": args.T, "chains": args.chains, "budget_s": args.budget,
                                      "runs": args.runs, "margin": args.margin, **timing, "sweeps": sweeps}, args.out)
    print(sweeps)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
