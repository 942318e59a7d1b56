"""Exact Falicov–Kimball Monte Carlo, with and without a surrogate: effective samples per second.

    python bench/surrogate_mc.py [--L 8 16] [--T 0.13 0.145 0.16] [--chains 16] [--steps 600]
                                 [--model models/falicov_kimball_extensive.keras] [--out DIR]

The honest measure of a Monte Carlo method is the number of *independent* samples it makes per
second of one observable: ``1 / (tau_int x seconds per step per chain)``, with ``tau_int`` the
integrated autocorrelation time in steps (``1 + 2 sum_t rho(t)``, Sokal's window ``t <= 5 tau``)
of that observable's series. Rows, all on this machine, every chain at every temperature sharing
one batched run:

- ``exact``: single-site Metropolis with the exact energy (one diagonalisation per proposal, the
  standard exact method; O(N^2) rank-one updates of the fermion Green's function would make each
  proposal cheaper and are not implemented). At ``L > --exact-max-L`` only its cost per sweep is
  measured (a fraction of a sweep, scaled), and its ``tau_int`` is *estimated* by single-site
  Metropolis on the linear pair model (same kernel, approximate weights), a proxy whose agreement
  with the measured exact ``tau_int`` is shown at the sizes where both run;
- ``learned``: plain Metropolis with the network alone (biased; its distance from the exact
  results is given in standard errors);
- ``delayed``: single-site delayed acceptance, the linear pair model as first stage;
- ``cumulative``: self-learning cumulative updates of ``n`` surrogate sweeps, with the linear pair
  model (:func:`deepspin.effective.fit_pair_model`, 4 shells, fitted to exact samples at this
  ``L`` and ``T``) and with the network.

Every exact-correction row prints its observables (``<E>/N``, ``<|m_s|>``, the staggered
susceptibility ``chi_s = N (<m_s^2> - <|m_s|>^2) / T``) with standard errors over chains next to
the exact Metropolis ones (or, where exact Metropolis is out of reach, next to the best exact row).
Each (size, row) is cached as it finishes in the git-ignored ``bench/out/surrogate-mc/<key>/``, the key
a hash of the options that change a row, so a killed run resumes and a run with other options never
reuses a row. The results (``surrogate-mc-L<sizes>-<host>.json``) go to the git-ignored ``bench/out/``
unless ``--out`` says otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import numpy as np  # noqa: E402

import deepspin  # noqa: E402
from deepspin.effective import fit_pair_model, shell_features, shell_norms  # noqa: E402
from deepspin.io import write_text  # noqa: E402
from deepspin.mc import init  # noqa: E402
from deepspin.mc.policies import timed_steps  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
U, HOP = 4.0, 1.0
#: Shells of the linear pair model (d^2 = 1, 2, 4, 5).
SHELLS = 4


def tau_int(series: np.ndarray) -> float:
    """Integrated autocorrelation time ``1 + 2 sum rho(t)`` of ``(chains, steps)`` series (Sokal window c = 5).

    ``rho`` is the autocorrelation averaged over chains (each chain centred on the grand mean).
    A series that never decorrelates within the window returns its length (a lower bound).
    """
    x = series - series.mean()
    n = x.shape[1]
    spectrum = np.fft.rfft(x, n=2 * n, axis=1)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), axis=1)[:, :n].mean(axis=0)
    if acf[0] <= 0:
        return float("nan")
    rho = acf / acf[0]
    tau = 1.0
    for t in range(1, n):
        tau += 2 * rho[t]
        if t >= 5 * tau:
            return float(tau)
    return float(n)


def observables(energy: np.ndarray, magnet: np.ndarray, N: int, T: float) -> dict:
    """``<E>/N``, ``<|m_s|>``, ``chi_s`` and standard errors over chains of ``(chains, steps)`` series."""
    chains = energy.shape[0]
    e = energy.mean(axis=1) / N
    a = np.abs(magnet).mean(axis=1)
    a2 = (magnet**2).mean(axis=1)

    def chi(index):
        return N * (a2[index].mean() - a[index].mean() ** 2) / T

    jack = np.array([chi(np.arange(chains) != c) for c in range(chains)])
    return {"E_per_site": float(e.mean()), "E_per_site_err": float(e.std(ddof=1) / np.sqrt(chains)),
            "absm_s": float(a.mean()), "absm_s_err": float(a.std(ddof=1) / np.sqrt(chains)),
            "chi_s": float(chi(slice(None))), "chi_s_err": float(np.sqrt((chains - 1) / chains * ((jack - jack.mean()) ** 2).sum()))}


def run_row(H, temperatures, chains, steps, burn_in, seed, start, **policy) -> list[dict]:
    """One method at every temperature: timing, acceptance, ``tau_int`` of E and m_s, observables."""
    state = init(H, temperatures, chains=chains, seed=seed, start=start, burn_in=burn_in, series=steps, **policy)
    timing = timed_steps(state, burn_in + steps)
    G = chains * len(temperatures)
    per_chain_step = timing["seconds"] / (burn_in + steps) / G
    rows = []
    for t, T in enumerate(temperatures):
        block = slice(t * chains, (t + 1) * chains)
        energy, magnet = state.series_energy[block], state.series_magnet[block]
        taus = {"tau_E": tau_int(energy), "tau_m": tau_int(np.abs(magnet))}
        row = {"T": T, "chains": chains, "steps": steps, "burn_in": burn_in,
               "seconds_per_step_per_chain": per_chain_step, "acceptance": float(timing["acceptance"][t]), **taus,
               "ess_per_s_E": 1.0 / (taus["tau_E"] * per_chain_step),
               "ess_per_s_m": 1.0 / (taus["tau_m"] * per_chain_step),
               **observables(energy, magnet, state.ensemble.N, T)}
        for key in ("surrogate_acceptance", "exact_acceptance", "exact_time_share"):
            if key in timing:
                value = timing[key]
                row[key] = float(value[t] if np.ndim(value) else value)
        rows.append(row)
    return rows


def exact_cost_per_sweep(H, T: float, attempts: int, seed: int) -> float:
    """Seconds per sweep per chain of exact single-site Metropolis, from ``attempts`` timed attempts on 2 chains."""
    state = init(H, [T], chains=2, seed=seed, start="random", backend="generic")
    rule = state.rule
    sites, values, words = rule.draws(state)
    begin = time.perf_counter()
    for i in range(attempts):
        move = rule.propose(state, sites[:, i], None)
        rule.commit(state, move, np.zeros(2, dtype=bool))
    return (time.perf_counter() - begin) / attempts * H.N / 2


def thermal_samples(H, T: float, chains: int, seed: int, start: str, pair_model=None) -> np.ndarray:
    """Exact samples for fitting the linear model: exact Metropolis (small L) or cumulative updates of a given model."""
    if pair_model is None:
        state = init(H, [T], chains=chains, seed=seed, start=start, backend="generic")
        timed_steps(state, 30)
        out = [state.spins.copy()]
        for _ in range(4):
            timed_steps(state, 5)
            out.append(state.spins.copy())
        return np.concatenate(out)
    state = init(H, [T], chains=chains, seed=seed, start=start, surrogate=pair_model, accept="cumulative",
                 surrogate_sweeps=8)
    timed_steps(state, 40)
    out = []
    for _ in range(8):
        timed_steps(state, 4)
        out.append(state.spins.copy())
    return np.concatenate(out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--T", type=float, nargs="+", default=[0.13, 0.145, 0.16])
    parser.add_argument("--chains", type=int, default=16)
    parser.add_argument("--steps", type=int, default=600, help="measured steps per row (after burn-in)")
    parser.add_argument("--exact-steps", type=int, default=400, help="measured sweeps of exact Metropolis")
    parser.add_argument("--exact-max-L", type=int, default=8, help="largest L with a full exact Metropolis row")
    parser.add_argument("--sweeps", type=int, nargs="+", default=[4, 16], help="n of the cumulative rows")
    parser.add_argument("--model", default=str(ROOT / "models" / "falicov_kimball_extensive.keras"))
    parser.add_argument("--network-sweeps", type=int, nargs="+", default=[1, 4], help="n of the network's cumulative rows")
    parser.add_argument("--network-steps", type=int, default=160, help="measured steps of the network's rows")
    parser.add_argument("--network-chains", type=int, default=8, help="chains per temperature of the network's rows")
    parser.add_argument("--network-max-L", type=int, default=16, help="largest L with network rows")
    parser.add_argument("--learned-max-L", type=int, default=8, help="largest L with plain learned Metropolis")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--start", default="ordered", choices=("ordered", "random"),
                        help="initial configurations of every row (ordered: the checkerboard)")
    parser.add_argument("--out", help="results folder (default bench/out, git-ignored)")
    return parser


def main() -> None:
    args = build_parser().parse_args()
    out = Path(args.out) if args.out else ROOT / "bench" / "out"
    cache = ROOT / "bench" / "out" / "surrogate-mc" / run_key(args)
    cache.mkdir(parents=True, exist_ok=True)
    info = harness.machine_info()
    print(f"machine: {harness.machine_label(info)}", flush=True)

    results = {}
    for L in args.L:
        H = deepspin.FalicovKimball(L, U=U, t=HOP)
        steps, burn = args.steps, max(50, args.steps // 6)
        methods = {}

        def cached(name, make):
            path = cache / f"L{L}_{name}.json"
            if path.exists():
                return json.loads(path.read_text())
            print(f"L = {L}: {name} ...", flush=True)
            value = make()
            write_text(path, json.dumps(value, indent=1, allow_nan=False) + "\n")
            return value

        linear = {}  # the fitted linear pair model of each temperature
        for T in args.T:
            fitted = cached(f"pair_T{T}", lambda T=T: _fit_record(H, T, args.seed, args.start))
            linear[T] = _pair_hamiltonian(H.L, fitted)
        methods["exact"] = cached("exact", lambda: run_row(H, args.T, args.chains, args.exact_steps,
                                                            max(50, args.exact_steps // 6), args.seed, args.start, backend="generic")
                                  if L <= args.exact_max_L else
                                  [{"T": T, "seconds_per_step_per_chain": exact_cost_per_sweep(H, T, max(8, 2 * L), args.seed)}
                                   for T in args.T])
        methods["proxy"] = cached("proxy", lambda: [run_row(_fixed(linear[T]), [T], args.chains, args.exact_steps,
                                                            max(50, args.exact_steps // 6), args.seed, args.start)[0]
                                                    for T in args.T])
        for n in args.sweeps:
            methods[f"cumulative-linear-{n}"] = cached(
                f"cumulative-linear-{n}",
                lambda n=n: _per_T(args.T, lambda T: run_row(H, [T], args.chains, steps, burn, args.seed, args.start,
                                                              surrogate=linear[T], accept="cumulative",
                                                              surrogate_sweeps=n)))
        if L <= args.exact_max_L:
            methods["delayed"] = cached("delayed", lambda: _per_T(args.T, lambda T: run_row(
                H, [T], args.chains, args.exact_steps, max(50, args.exact_steps // 6), args.seed, args.start,
                surrogate=linear[T], accept="delayed")))
        if Path(args.model).exists() and L <= args.network_max_L:
            # the network's sweeps cost 0.2 s per chain at L = 16: past L = 8 only the first n, and half the steps
            network_steps = args.network_steps if L <= 8 else args.network_steps // 2
            for n in args.network_sweeps if L <= 8 else args.network_sweeps[:1]:
                methods[f"cumulative-network-{n}"] = cached(
                    f"cumulative-network-{n}",
                    lambda n=n: run_row(H, args.T, args.network_chains, network_steps, network_steps // 4,
                                        args.seed, args.start, surrogate=args.model, accept="cumulative", surrogate_sweeps=n))
            if L <= args.learned_max_L:
                methods["learned"] = cached("learned", lambda: run_row(H, args.T, args.chains, args.exact_steps,
                                                                        max(50, args.exact_steps // 6), args.seed, args.start,
                                                                        surrogate=args.model, accept="metropolis"))
        results[L] = methods
        print(report(L, methods, args.T), flush=True)

    payload = {"machine": info, "args": vars(args), "results": {str(L): m for L, m in results.items()}}
    path = out / f"surrogate-mc-L{'-'.join(map(str, args.L))}-{info['hostname']}.json"
    write_text(path, json.dumps(payload, indent=1, allow_nan=False) + "\n")
    print(f"wrote {path}")


def run_key(args) -> str:
    """The cache folder of a run: a hash of every option that changes a row (not ``--L`` or ``--out``)."""
    import hashlib

    options = {k: v for k, v in sorted(vars(args).items()) if k not in ("L", "out")}
    model = Path(args.model)  # the network by its content, wherever the checkout is
    options["model"] = hashlib.sha256(model.read_bytes()).hexdigest() if model.exists() else None
    return hashlib.sha256(json.dumps(options, sort_keys=True).encode()).hexdigest()[:12]


def _per_T(temperatures, run_one) -> list[dict]:
    return [run_one(T)[0] for T in temperatures]


def _fit_record(H, T: float, seed: int, start: str) -> dict:
    spins = thermal_samples(H, T, 16, seed, start) if H.L <= 8 else _bootstrap_samples(H, T, seed, start)
    shells = min(SHELLS, len(shell_norms(H.L)))
    design = np.column_stack([np.ones(len(spins)), shell_features(spins, H.L, shells)])
    if np.linalg.matrix_rank(design) <= shells:
        # deep in the ordered phase the samples are near-perfect checkerboards, which cannot determine
        # the couplings: add copies with random flips (labelled exactly like the rest)
        spins = np.concatenate([spins, with_random_flips(spins, max(1, H.N // 32), seed)])
    model = fit_pair_model(spins, H.energy(spins, T), H.L, shells=shells)
    return {"norms": list(model.norms), "couplings": model.couplings.tolist(), "E0": model.E0,
            "residual_std": model.residual_std, "samples": model.samples}


def with_random_flips(spins: np.ndarray, flips: int, seed: int) -> np.ndarray:
    """Copies of ``spins`` ``(B, L, L)`` with ``flips`` distinct random sites flipped in each."""
    rng = np.random.default_rng(seed)
    out = spins.reshape(len(spins), -1).copy()
    for row in out:
        row[rng.choice(row.size, flips, replace=False)] *= -1
    return out.reshape(spins.shape)


def _bootstrap_samples(H, T: float, seed: int, start: str) -> np.ndarray:
    """Exact samples at a larger L: cumulative updates with the L = 8 fit's couplings (fitted now if needed)."""
    small = deepspin.FalicovKimball(8, U=H.U, t=H.t)
    spins = thermal_samples(small, T, 16, seed, start)
    model = fit_pair_model(spins, small.energy(spins, T), 8, shells=SHELLS)
    record = {"norms": list(model.norms), "couplings": model.couplings.tolist()}
    return thermal_samples(H, T, 8, seed, start, _pair_hamiltonian(H.L, record))


def _pair_hamiltonian(L: int, record: dict):
    from deepspin.effective import ShellFunction

    f = ShellFunction(tuple(int(n) for n in record["norms"]), tuple(float(j) for j in record["couplings"]))
    return deepspin.PairPotential(L, f, rcut=float(np.sqrt(record["norms"][-1] + 0.5)), name="effective-pairs")


def _fixed(model):
    """The linear model as the *target* of the proxy row (its own staggered order parameter)."""
    from deepspin.observables import staggered_magnetization

    return deepspin.mc.as_operator(model, magnetization=staggered_magnetization)


def reference_rows(methods: dict) -> list[dict]:
    """The exact rows the others are compared with: exact Metropolis, else the longest cumulative linear row (also exact)."""
    exact = methods.get("exact", [])
    if exact and "tau_m" in exact[0]:
        return exact
    exact_rows = [recs for name, recs in methods.items() if name.startswith("cumulative-linear")]
    # the most measurements; among equals, the smallest error of <|m_s|> (the most decorrelated)
    return max(exact_rows, key=lambda recs: (recs[0]["steps"] * recs[0]["chains"], -recs[0]["absm_s_err"])) \
        if exact_rows else []


def z_score(row: dict, ref: dict, key: str) -> float:
    """``(row - ref) / sqrt(err^2 + err_ref^2)`` of observable ``key``."""
    return (row[key] - ref[key]) / float(np.hypot(row[f"{key}_err"], ref[f"{key}_err"]))


def report(L: int, methods: dict, temperatures) -> str:
    """The table of one size: cost, acceptance, tau, effective samples/s (and the factor over exact Metropolis), observables and z-scores."""
    exact, proxy, ref = methods.get("exact", []), methods.get("proxy", []), reference_rows(methods)
    lines = [f"\nL = {L}" + ("" if exact and "tau_m" in exact[0] else
                              "  (exact Metropolis: cost measured, tau from the proxy; z against the longest exact cumulative row)")]
    head = ["method", "T", "s/step/chain", "accept", "tau_E", "tau_m", "ESS/s (m)", "x exact (m)", "E/N", "<|m_s|>",
            "chi_s", "z E", "z m"]
    rows = []
    for name, recs in methods.items():
        for i, r in enumerate(recs):
            if "tau_m" not in r:
                rows.append([name, r["T"], f"{r['seconds_per_step_per_chain']:.3g}"] + ["-"] * 10)
                continue
            if exact and "tau_m" in exact[i]:
                ref_ess = exact[i]["ess_per_s_m"]
            elif exact and proxy:  # exact cost measured, its tau estimated by the proxy
                ref_ess = 1.0 / (proxy[i]["tau_m"] * exact[i]["seconds_per_step_per_chain"])
            else:
                ref_ess = float("nan")
            cells = [name, r["T"], f"{r['seconds_per_step_per_chain']:.3g}", f"{r['acceptance']:.3f}",
                     f"{r['tau_E']:.1f}", f"{r['tau_m']:.1f}", f"{r['ess_per_s_m']:.3g}"]
            if name == "proxy":  # a different target: only its tau is used
                rows.append(cells + ["-"] * 6)
                continue
            cells.append(f"{r['ess_per_s_m'] / ref_ess:.3g}")
            # plain learned Metropolis records the network's energies (a constant apart from E): no E column
            learned = name == "learned"
            cells += ["-" if learned else f"{r['E_per_site']:.5f}({r['E_per_site_err']:.1e})",
                      f"{r['absm_s']:.4f}({r['absm_s_err']:.1e})", f"{r['chi_s']:.3g}({r['chi_s_err']:.1e})"]
            cells += ["-" if not ref or ref[i] is r or (learned and k == "E_per_site") else f"{z_score(r, ref[i], k):+.1f}"
                      for k in ("E_per_site", "absm_s")]
            rows.append(cells)
    lines.append(harness.format_table(head, rows))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
