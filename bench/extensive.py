"""Extensive surrogates trained on small lattices, evaluated on large ones; speed at L = 64.

    python bench/extensive.py [--device auto|gpu|cpu] [--out DIR] [--smoke] [--train] [--sizes 8,16,32,64,128]

1. Accuracy against L: per-site errors ``|E_pred - E| / N`` (mean and max) of the shipped
   extensive models (``models/*_extensive.keras``: Ising trained on 8x8, screened Coulomb k = 0.5
   trained on 8x8 + 16x16) on uniform random configurations, on Metropolis configurations
   (:func:`deepspin.mc.run`, several temperatures) and on the two ordered states (all +1,
   checkerboard), with exact labels from deepspin's engine. The
   paper architecture (``models/screened_coulomb_L8.keras``) sits beside them where it applies:
   it takes only its training L.
2. Speed at L = 64 on one device: the Coulomb surrogate against the explicit image sum
   (``method="explicit"``, rcut = 8L) and the folded-kernel exact method (``method="kernel"``),
   configurations per second (median of repeats; a method slower than 5 s per call is timed once).

It prints two tables, writes JSON (machine named) and a figure of per-site error against L to
``--out`` (default bench/out/, git-ignored). Models are loaded from files (``--train`` retrains them
first), so the GPU run needs only Keras with any backend (JAX, no TensorFlow, works).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402
from speedup import pick_device, throughput, uniform_configs  # noqa: E402

MODELS = {"ising": ROOT / "models" / "ising_extensive.keras",
          "screened-coulomb": ROOT / "models" / "screened_coulomb_extensive.keras"}
PAPER_MODELS = {"screened-coulomb": ROOT / "models" / "screened_coulomb_L8.keras"}
TEMPERATURES = {"ising": (2.0, 2.269, 2.6), "screened-coulomb": (0.5, 1.0, 2.0)}
SIZES = {"ising": (8, 16, 32, 64, 128), "screened-coulomb": (8, 16, 32, 64, 128)}
TARGETS = {"ising": (64, 1e-3), "screened-coulomb": (32, 1e-2)}  # (L, per-site MAE goal in J)


def test_sets(H, n_sites: int, chains: int, temperatures, backend: str, seed: int):
    """Test configurations of ``H`` with exact energies: ``{kind: (spins, E)}``.

    ``uniform``: about ``n_sites`` sites of uniform random spins; ``thermal``: the final states of
    ``chains`` Metropolis chains per temperature; ``ordered``: all +1 and the checkerboard.
    """
    from deepspin.mc import run

    n_uniform = max(4, n_sites // H.N)
    uniform = uniform_configs(n_uniform, H.L, seed)
    sweeps = 200 if H.L <= 32 else 100
    # The compiled CPU chains: a GPU's pair-model chains (one thread per chain) crawl at L >= 32.
    result = run(H, temperatures, chains=chains, sweeps=sweeps, burn_in=0, seed=seed, start="random",
                 backend="cpu")
    thermal = result.configs.reshape(-1, H.L, H.L).astype(np.int8)
    checkerboard = np.where(np.indices((H.L, H.L)).sum(axis=0) % 2, -1, 1).astype(np.int8)
    ordered = np.stack([np.ones((H.L, H.L), np.int8), checkerboard])
    return {kind: (spins, np.asarray(H.energy(spins, backend=backend), dtype=np.float64))
            for kind, spins in (("uniform", uniform), ("thermal", thermal), ("ordered", ordered))}


def per_site_errors(op, spins, exact) -> dict:
    """:func:`deepspin.surrogate.diagnostics.per_site_errors`, under this benchmark's column names."""
    from deepspin.surrogate.diagnostics import per_site_errors as errors

    e = errors(op, spins, exact)
    return {"n": e["n"], "mae_per_site": e["mae"], "max_per_site": e["max"]}


def accuracy(name: str, sizes, args, backend: str) -> list[dict]:
    import deepspin
    from deepspin import surrogate

    op = surrogate.load(MODELS[name])
    paper = surrogate.load(PAPER_MODELS[name]) if name in PAPER_MODELS and PAPER_MODELS[name].exists() else None
    params = {"k": 0.5} if name == "screened-coulomb" else {}
    rows = []
    for L in sizes:
        start = time.perf_counter()
        H = deepspin.hamiltonian(name, L, **params)
        sets = test_sets(H, args.sites, args.chains, TEMPERATURES[name], backend, seed=1000 + L)
        for kind, (spins, exact) in sets.items():
            row = {"hamiltonian": name, "L": L, "configs": kind, **per_site_errors(op, spins, exact)}
            if paper is not None and L == paper.L:
                row["paper_mae_per_site"] = per_site_errors(paper, spins, exact)["mae_per_site"]
            elif paper is not None:
                row["paper_mae_per_site"] = f"n/a (paper arch takes only L={paper.L}; retrain)"
            else:
                row["paper_mae_per_site"] = "n/a (no paper model shipped; takes only its training L)"
            rows.append(row)
        print(f"  {name} L={L}: {time.perf_counter() - start:.1f} s", file=sys.stderr)
    return rows, op


def speed(op, L: int, batch: int, args, backend: str, sync) -> dict:
    import deepspin

    H = deepspin.hamiltonian("screened-coulomb", L, k=0.5)
    configs = uniform_configs(batch, L, seed=7)
    explicit_batch = 1 if args.device_used == "cpu" else min(batch, 64)
    rows = {
        f"extensive surrogate (R={op.receptive_radius})": throughput(lambda: op.energy(configs), batch,
                                                                    args.repeats, sync),
        f"explicit image sum rcut={H.rcut:g} float64": throughput(
            lambda: H.energy(configs[:explicit_batch], backend=backend, method="explicit"), explicit_batch,
            args.repeats, sync),
        "folded kernel (exact) float64": throughput(lambda: H.energy(configs, backend=backend, method="kernel"),
                                                    batch, args.repeats, sync),
    }
    return rows


def plot(rows, path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from deepspin.io import atomic_path

    fig, ax = plt.subplots(figsize=(6, 4.2))
    styles = {"ising": "o", "screened-coulomb": "s"}
    for name in MODELS:
        for kind, line in (("uniform", "-"), ("thermal", "--")):
            pts = [(r["L"], r["mae_per_site"]) for r in rows if r["hamiltonian"] == name and r["configs"] == kind]
            if pts:
                ax.plot(*zip(*pts), line, marker=styles[name], label=f"{name}, {kind}")
        L_goal, goal = TARGETS[name]
        ax.plot([L_goal], [goal], marker="*", ms=12, ls="none", color="k" if name == "ising" else "gray",
                label=f"goal {name} (L={L_goal})")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("L (trained on 8x8; Coulomb on 8x8 + 16x16)")
    ax.set_ylabel("MAE of E/N (J per site)")
    ax.set_title("extensive surrogates: per-site error against lattice size")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight", format="png")
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "gpu", "cpu"), default="auto")
    parser.add_argument("--out", type=Path, default=harness.OUT_DIR)
    parser.add_argument("--train", action="store_true", help="retrain the shipped extensive models first")
    parser.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], help="default 8,16,32,64,128")
    parser.add_argument("--sites", type=int, default=400_000, help="sites of uniform test configurations per L")
    parser.add_argument("--chains", type=int, default=8, help="Metropolis chains per temperature per L")
    parser.add_argument("--speed-L", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, seconds on a CPU (for tests)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sizes, args.sites, args.chains, args.repeats, args.speed_L = [8, 16], 4096, 2, 1, 16
    device, backend = pick_device(args.device)
    args.device_used = device
    if device == "cpu" and args.device == "cpu":
        os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

    from deepspin import surrogate

    if args.train:
        for name, path in MODELS.items():
            surrogate.train_extensive_model(name, path)
    missing = [str(p) for p in MODELS.values() if not p.exists()]
    if missing:
        raise SystemExit(f"extensive: no model at {', '.join(missing)}; run with --train to make them")
    info = harness.machine_info()
    info["keras_backend"] = os.environ.get("KERAS_BACKEND", "tensorflow")
    info["keras"] = surrogate.framework_versions()
    print(f"extensive: {device} ({harness.machine_label(info)}), Keras backend {info['keras_backend']}")

    # Speed first (seconds), then accuracy (minutes: exact labels and Metropolis test sets per L).
    sync = None
    if device == "gpu":
        import cupy

        sync = cupy.cuda.Device().synchronize
    batch = 64 if args.smoke else (4096 if device == "gpu" else 256)
    speed_rows = speed(surrogate.load(MODELS["screened-coulomb"]), args.speed_L, batch, args, backend, sync)
    print(f"\nspeed, screened Coulomb k=0.5, L={args.speed_L}, {device}:", flush=True)
    print(harness.format_table(["method", "configs/s", "batch"],
                               [[k, v["configs_per_s"], v["batch"]] for k, v in speed_rows.items()]), flush=True)

    rows, ops = [], {}
    for name in MODELS:
        sizes = args.sizes or SIZES[name]
        part, ops[name] = accuracy(name, sizes, args, backend)
        rows += part
    table = [[r["hamiltonian"], r["L"], r["configs"], r["n"], r["mae_per_site"], r["max_per_site"],
              r["paper_mae_per_site"]] for r in rows]
    print(harness.format_table(["model", "L", "configs", "n", "MAE/site (J)", "max/site (J)",
                                "paper arch MAE/site"], table))
    goals = {}
    for name, (L_goal, goal) in TARGETS.items():
        got = [r["mae_per_site"] for r in rows if r["hamiltonian"] == name and r["L"] == L_goal]
        if got:
            goals[name] = {"L": L_goal, "goal_mae_per_site": goal, "worst_mae_per_site": max(got),
                           "met": bool(max(got) <= goal)}
            print(f"goal {name}: MAE/site <= {goal:g} at L={L_goal}: worst {max(got):.3g} "
                  f"({'met' if max(got) <= goal else 'NOT met'})")

    args.out.mkdir(parents=True, exist_ok=True)
    name = f"extensive-{device}-{info['hostname']}" + ("-smoke" if args.smoke else "")
    figure = args.out / f"{name}.png"
    plot(rows, figure)
    payload = {"machine": info, "device": device, "exact_backend": backend,
               "models": {k: {"path": str(p.relative_to(ROOT)), "receptive_radius": ops[k].receptive_radius,
                              "train_sizes": ops[k].train_sizes} for k, p in MODELS.items()},
               "temperatures": TEMPERATURES, "accuracy": rows, "goals": goals,
               "speed": {"L": args.speed_L, "hamiltonian": "screened-coulomb k=0.5", "rows": speed_rows},
               "figure": figure.name, "smoke": args.smoke}
    path = harness.write_results(name, payload, args.out)
    print(f"wrote {path} and {figure}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
