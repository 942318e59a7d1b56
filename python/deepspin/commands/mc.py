"""``deepspin mc`` (Metropolis phase diagrams) and ``deepspin exact`` (exact thermodynamic references)."""
from __future__ import annotations

import csv
import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from ..hamiltonians import CallableHamiltonian, Ising, load_callable
from ..errors import EquilibrationWarning
from ..io import check_output_paths, write_text
from ..mc import backends, exact_reference, is_local, run
from ..mc import exact as exact_mod
from ..mc.policies import POLICIES
from ..mc.temperatures import parse_temperatures
from .engine import add_hamiltonian_arguments, hamiltonian_from_args

MC_KEYS = ("T", "E_per_site", "E_per_site_err", "C_per_site", "C_per_site_err", "absm", "absm_err", "tau_int_E",
           "rhat_E", "rhat_absm", "equilibrated")
EXACT_KEYS = ("T", "E_per_site", "C_per_site", "absm")


def _records_csv(records: list[dict], keys) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(keys), lineterminator="\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: "" if record.get(k) is None else repr(record[k]) for k in keys})
    return buffer.getvalue()


def check_operator_model(operator, H, path, option: str = "--operator") -> None:
    """Raise a ValueError unless the surrogate was trained on ``H``'s model (name and parameters).

    The name is the registry name, or for an energy function its import path ``package.module:function``
    (what datasets record). A model file without that metadata cannot be checked and is refused:
    its results would be compared with the exact values of a model it may not have learned.
    """
    name = H.path if isinstance(H, CallableHamiltonian) else H.name
    metadata = getattr(operator, "metadata", {}) or {}
    trained = metadata.get("hamiltonian")
    if trained is None:
        raise ValueError(f"{option} {path} does not say which model it was trained on (no 'hamiltonian' in its "
                         f"metadata), so it cannot be checked against --hamiltonian {name}")
    if trained != name:
        raise ValueError(f"{option} {path} was trained on {trained}, but --hamiltonian is {name}; "
                         f"pass --hamiltonian {trained} (with its parameters) or another model file")
    params = metadata.get("params") or {}
    differ = {k: (v, H.params.get(k)) for k, v in params.items() if k in H.params and H.params[k] != v}
    if differ:
        details = ", ".join(f"{k}={a!r} (model) vs {b!r} (--{k})" for k, (a, b) in differ.items())
        raise ValueError(f"{option} {path} was trained on {trained} with other parameters: {details}")


def _load_operator(path: str, H, option: str = "--operator"):
    """Load a trained surrogate through ``deepspin.surrogate.load`` (imported only when asked for)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{option}: no such file: {path}")
    try:
        from ..surrogate import load
    except ImportError as exc:
        raise ValueError(
            f"{option} {path} needs deepspin.surrogate.load, which could not be imported ({exc}); "
            "install the surrogate extra (pip install 'deepspin[surrogate]')"
        ) from None
    operator = load(path)
    check_operator_model(operator, H, path, option)
    op_L = getattr(operator, "L", None)
    L = H.L
    if op_L is not None and op_L != L and not is_local(operator):
        raise ValueError(f"{option} {path} was trained for L={op_L}, but --L is {L} (only an extensive "
                         "surrogate, --arch extensive, predicts other sizes)")
    return operator


def _load_surrogate(spec: str, H):
    """``--surrogate``: a ``.keras`` model file (checked against ``H``) or an energy function ``package.module:function``.

    A function with a true ``thermal`` attribute is called ``f(configs, T)``; any other becomes a
    :class:`~deepspin.hamiltonians.CallableHamiltonian` (its import path identifies it in checkpoints).
    """
    if Path(spec).suffix == ".keras":
        return _load_operator(spec, H, "--surrogate")
    if ":" not in spec:
        raise ValueError(f"--surrogate takes a .keras model file or an energy function package.module:function, "
                         f"got {spec!r}")
    f = load_callable(spec)
    return f if getattr(f, "thermal", False) else CallableHamiltonian(H.L, f, spin_kind=H.spin_kind, path=spec)


def run_mc(args) -> int:
    H = hamiltonian_from_args(args)
    temperatures = parse_temperatures(args.T)
    output = Path(args.output or f"mc_{H.name}_L{H.L}.json")
    if output.suffix in (".csv", ".png", ".npz"):
        raise ValueError(f"-o {output}: the JSON results go there and the CSV and PNG beside it with the same stem; "
                         f"give a .json name, e.g. -o {output.with_suffix('.json')}")
    checkpoint = output.with_name(output.name + ".checkpoint.npz")
    check_output_paths(output=output, **{"output (CSV)": output.with_suffix(".csv"),
                                         "output (PNG)": output.with_suffix(".png"),
                                         "output (checkpoint)": checkpoint}, timeseries=args.timeseries)
    surrogate, accept = None, args.accept
    if args.surrogate is not None and args.operator != "exact":
        raise ValueError("--surrogate and --operator MODEL exclude each other: --operator replaces the energy, "
                         "--surrogate assists the exact one (--accept metropolis runs it alone, like --operator)")
    if args.surrogate is None and accept != "metropolis":
        raise ValueError(f"--accept {accept} corrects a surrogate with the exact energy: pass --surrogate "
                         "MODEL.keras or package.module:function")
    if args.surrogate is not None:
        model, surrogate = H, _load_surrogate(args.surrogate, H)
        label = {"metropolis": "learned Metropolis", "delayed": "delayed acceptance",
                 "cumulative": f"cumulative updates, n = {args.surrogate_sweeps}"}[accept]
        label += f" ({Path(args.surrogate).name if Path(args.surrogate).suffix == '.keras' else args.surrogate})"
    elif args.operator == "exact":
        model, label = H, "Metropolis (exact energies)"
    else:
        model, label = _load_operator(args.operator, H), f"Metropolis ({Path(args.operator).name})"
    if checkpoint.exists():
        print(f"resuming from {checkpoint}", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EquilibrationWarning)
        result = run(model, temperatures, L=H.L, chains=args.chains, sweeps=args.sweeps, burn_in=args.burn_in,
                     interval=args.interval, seed=args.seed, start=args.start, backend=args.backend,
                     timeseries=args.timeseries is not None, checkpoint=checkpoint,
                     checkpoint_every=args.checkpoint_every, progress=not args.no_progress, surrogate=surrogate,
                     accept=accept, surrogate_sweeps=args.surrogate_sweeps)
    for w in caught:  # the diagnostics' warning as a plain line; any other warning as it came
        if issubclass(w.category, EquilibrationWarning):
            print(f"deepspin mc: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    records = result.records()
    reference = exact_reference(H)
    write_text(output, json.dumps(records, indent=1, allow_nan=False) + "\n")
    write_text(output.with_suffix(".csv"), _records_csv(records, MC_KEYS))
    if args.timeseries is not None:
        from ..io import atomic_path

        with atomic_path(args.timeseries, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
            np.savez(handle, T=result.temperatures, energy=result.series_energy, m=result.series_magnet)
    from ..plots import phase_diagram

    title = (f"{H!r}: {result.chains} chains x {result.sweeps} sweeps (burn-in {result.burn_in}, "
             f"{result.start} start), seed {result.seed}")
    phase_diagram(records, output.with_suffix(".png"), reference, title=title, label=label)
    checkpoint.unlink(missing_ok=True)
    _print_table(records, reference(temperatures) if reference else None, result.acceptance)
    if result.policy is not None:
        print(f"{label}: {int(result.policy['exact_evaluations'].sum())} exact energy evaluations, "
              f"{result.policy['exact_time_share']:.0%} of the time", file=sys.stderr)
    print(f"wrote {output}, {output.with_suffix('.csv')} and {output.with_suffix('.png')}"
          f" ({result.rule} rule on {result.backend}, seed {result.seed})", file=sys.stderr)
    return 0


def _number(value, spec: str, width: int) -> str:
    """``value`` formatted by ``spec``, or ``n/a`` (a null of the records) right-aligned in ``width``."""
    return f"{'n/a':>{width}}" if value is None else f"{value:{width}{spec}}"


def _print_table(records, exact, acceptance) -> None:
    """The results by temperature; with an exact-correction policy also the acceptance of its stages."""
    policy = "exact_acceptance" in records[0]
    head = (f"{'T':>7} {'E/N':>10} {'err':>8} {'C/N':>9} {'err':>8} {'<|m|>':>8} {'err':>8} {'accept':>7} "
            f"{'tau_E':>6} {'Rhat_E':>6}")
    if policy:
        head += f" {'surr.acc':>8} {'exact.acc':>9}"
    if exact is not None:
        head += f" {'exact E/N':>10} {'exact C/N':>9}"
    print(head)
    for i, r in enumerate(records):
        line = (f"{r['T']:7.4g} {_number(r['E_per_site'], '.5f', 10)} {_number(r['E_per_site_err'], '.1e', 8)} "
                f"{_number(r['C_per_site'], '.5f', 9)} {_number(r['C_per_site_err'], '.1e', 8)} "
                f"{_number(r['absm'], '.5f', 8)} {_number(r['absm_err'], '.1e', 8)} {acceptance[i]:7.4f} "
                f"{_number(r.get('tau_int_E'), '.3g', 6)} {_number(r.get('rhat_E'), '.3f', 6)}")
        if policy:
            line += f" {_number(r['surrogate_acceptance'], '.4f', 8)} {_number(r['exact_acceptance'], '.4f', 9)}"
        if exact is not None:
            line += f" {exact['E_per_site'][i]:10.5f} {exact['C_per_site'][i]:9.5f}"
        print(line)
    missing = {}  # (key, reason) -> temperatures
    for r in records:
        for key, why in r.items():
            if key.endswith("_reason"):
                missing.setdefault((key[:-len("_reason")], why), []).append(f"{r['T']:.6g}")
    for (key, why), temps in missing.items():
        print(f"{key} is n/a at T = {', '.join(temps)}: {why}", file=sys.stderr)


def run_exact(args) -> int:
    H = hamiltonian_from_args(args)
    check_output_paths(json=args.json, csv=args.csv)
    temperatures = parse_temperatures(args.T)
    values = exact_mod.exact_thermodynamics(H, temperatures, method=args.method)
    records = []
    for i, T in enumerate(temperatures):
        records.append({k: (None if values.get(k) is None else float(values[k][i])) if k != "T" else float(T)
                        for k in EXACT_KEYS})
    print(f"{'T':>8} {'E/N':>14} {'C/N':>14} {'<|m|>':>10}")
    for r in records:
        absm = "" if r["absm"] is None else f"{r['absm']:10.6f}"
        print(f"{r['T']:8.4g} {r['E_per_site']:14.10f} {r['C_per_site']:14.10f} {absm:>10}")
    if exact_mod.kaufman_refusal(H) is None:
        t_max, c_max = exact_mod.specific_heat_peak(H.L, H.J)
        print(f"specific-heat maximum of the {H.L}x{H.L} torus: T = {t_max:.6f} "
              f"(T/Tc = {t_max / (abs(H.J) * exact_mod.T_CRITICAL):.6f}), C/N = {c_max:.6f}")
    if args.json:
        write_text(args.json, json.dumps(records, indent=1, allow_nan=False) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    if args.dos:
        from ..mc.transfer import density_of_states_json

        write_text(args.dos, density_of_states_json(H))
        print(f"wrote {args.dos}", file=sys.stderr)
    if args.csv:
        write_text(args.csv, _records_csv(records, EXACT_KEYS))
        print(f"wrote {args.csv}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "mc",
        help="Metropolis phase diagram (<E>/N, C/N, <|m|> against T) with exact or learned energies",
        description="Single-spin-flip Metropolis for CHAINS independent chains at each temperature. "
        "Writes JSON (-o), CSV and PNG (same stem) and resumes from OUTPUT.checkpoint.npz if a previous "
        "run was interrupted. Example: deepspin mc --hamiltonian ising --L 8 --T 0.5:5:0.1 --chains 400 "
        "--sweeps 2000 -o run.json",
    )
    add_hamiltonian_arguments(p, default="ising")
    p.add_argument("--T", required=True, help="temperatures: start:stop:step (stop included) or a comma list")
    p.add_argument("--chains", type=int, default=400, help="independent chains per temperature (default 400)")
    p.add_argument("--sweeps", type=int, default=2000, help="measured sweeps after burn-in (default 2000)")
    p.add_argument("--burn-in", type=int, default=None, help="equilibration sweeps (default sweeps/4)")
    p.add_argument("--interval", type=int, default=1, help="sweeps between measurements (default 1)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--start", default="auto", choices=("auto", "random", "ordered"),
                   help="initial configurations; auto: ordered (all +1, angles 0) for a ferromagnet "
                   "(Ising J > 0 below T_c = 2.269 J, Potts J < 0), else random")
    p.add_argument("--operator", default="exact",
                   help="'exact' (compiled exact energies) or a trained model file loaded by deepspin.surrogate.load")
    p.add_argument("--surrogate", metavar="MODEL_OR_FUNCTION",
                   help="a cheap energy beside the exact --hamiltonian: a .keras model file (checked against the "
                   "Hamiltonian) or an energy function package.module:function; see --accept")
    p.add_argument("--accept", default="metropolis", choices=POLICIES,
                   help="with --surrogate: metropolis (the surrogate alone, biased), delayed (the surrogate "
                   "pre-screens each flip, the exact energy corrects the survivors) or cumulative (--surrogate-sweeps "
                   "sweeps under the surrogate, then one exact accept/reject); delayed and cumulative sample the "
                   "exact Boltzmann distribution (default metropolis)")
    p.add_argument("--surrogate-sweeps", type=int, default=1,
                   help="--accept cumulative: surrogate sweeps per exact decision (default 1); --sweeps counts "
                   "these cumulative steps")
    p.add_argument("--backend", default="auto", choices=backends(),
                   help="exact operator: compiled cpu/cuda or the generic batched rule; learned operator: local "
                   "(sublattice-parallel, for extensive models) or generic; further registered backends "
                   "(deepspin.mc.rules) are listed here too (default auto picks the fastest that applies)")
    p.add_argument("-o", "--output", help="JSON results (default mc_<model>_L<L>.json); CSV/PNG beside it")
    p.add_argument("--timeseries", metavar="NPZ", help="also write every measurement of E and m to this .npz")
    p.add_argument("--checkpoint-every", type=float, default=60.0, help="seconds between checkpoints (default 60)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_mc)

    p = sub.add_parser(
        "exact",
        help="exact <E>/N, C/N (and <|m|>) by enumeration, Kaufman's torus formula or a transfer matrix",
        description="Exact thermodynamics: enumeration of all 2^N configurations (N <= 25, any model) or, for "
        "the Ising model at any L, Kaufman's finite-torus partition function. Example: deepspin exact --L 8 "
        "--T 1:4:0.05 --json exact.json",
    )
    add_hamiltonian_arguments(p, default="ising")
    p.add_argument("--T", required=True, help="temperatures: start:stop:step (stop included) or a comma list")
    p.add_argument("--method", default="auto", choices=exact_mod.METHODS,
                   help="auto: enumeration for N <= 16, the transfer matrix for Ising up to L = 8 (both give "
                   "<|m|>), then Kaufman for Ising; transfer: the Ising torus's exact g(E, M) by a transfer matrix, "
                   "with <|m|> (L <= 11; 21 s at L = 8 on a 2-core AMD EPYC)")
    p.add_argument("--dos", metavar="JSON", help="Ising: write the exact joint density of states g(E, M) "
                   "(transfer matrix) to this JSON file")
    p.add_argument("--json", help="write records (T, E_per_site, C_per_site, absm) to this JSON file")
    p.add_argument("--csv", help="write the same records as CSV")
    p.set_defaults(handler=run_exact)
