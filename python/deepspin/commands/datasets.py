"""``deepspin generate``, ``deepspin datasets info|merge`` and ``deepspin plot``."""
from __future__ import annotations

import json
import sys

from ..backends import NAMES
from ..campaign import cli as campaign_cli
from ..io import check_output_paths, claim_outputs
from ..sampling import SAMPLERS
from .engine import add_hamiltonian_arguments, hamiltonian_from_args

#: Sampler options of ``generate``: option -> (keyword of the sampler, samplers it applies to).
SAMPLER_OPTIONS = {
    "n": ("n", ("uniform",)),
    "per_class": ("per_class", ("targeted",)),
    "bins": ("bins", ("targeted",)),
    "walkers": ("walkers", ("targeted",)),
    "sigma": ("sigma", ("targeted",)),
    "max_sweeps": ("max_sweeps", ("targeted",)),
    "temperatures": ("temperatures", ("thermal",)),
    "chains": ("chains", ("thermal",)),
    "samples": ("samples", ("thermal",)),
    "burn_in": ("burn_in", ("thermal",)),
    "thin": ("thin", ("targeted", "thermal")),
}
REQUIRED = {"uniform": ("n",), "targeted": ("per_class",), "thermal": ("temperatures",), "enumerate": ()}


def _floats(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {text!r}") from None


def _bins(text: str):
    values = _floats(text)
    if len(values) == 1 and "," not in text and values[0].is_integer():
        return int(values[0])
    return values


def sampler_params(args) -> dict:
    """The sampler's keyword arguments from the options given (an option of another sampler is an error)."""
    params = {}
    for option, (keyword, samplers) in SAMPLER_OPTIONS.items():
        value = getattr(args, option)
        if value is None:
            continue
        if args.sampler not in samplers:
            raise ValueError(f"--{option.replace('_', '-')} applies to the {'/'.join(samplers)} sampler, "
                             f"not {args.sampler}")
        if option == "temperatures":
            value = _floats(value)
        elif option == "bins":
            value = _bins(value)
        params[keyword] = value
    missing = [f"--{o.replace('_', '-')}" for o in REQUIRED[args.sampler] if getattr(args, o) is None]
    if missing:
        raise ValueError(f"the {args.sampler} sampler needs {', '.join(missing)}")
    return params


def _check_memory(H, sampler: str, params: dict, shards: int) -> None:
    """Refuse a dataset that cannot be held in memory (it is built whole before it is written).

    With --shard-index only that shard's share (1/``shards``) is built. Per configuration: the spins twice (sample and dataset) at 1 byte a spin or 8 an angle, and
    about 64 bytes of labels (energy, magnetization, split, extras).
    """
    from ..memory import require

    counts = {"uniform": lambda: params["n"],
              "thermal": lambda: len(params["temperatures"]) * params.get("chains", 16) * params.get("samples", 100)}
    if sampler not in counts:
        return
    count = -(-counts[sampler]() // shards)
    per_config = 2 * H.N * (8 if H.spin_kind == "angle" else 1) + 64
    require(float(count) * per_config, f"a dataset of {count:,} configurations of {H.L}x{H.L} sites",
            "make fewer configurations per run, or cut the run into --shards and make them one at a time "
            "with --shard-index")


def run_generate(args) -> int:
    from ..datasets import generate, summary

    from ..datasets import shard_path

    # the file this run writes (one shard's, with --shard-index) is locked: a concurrent run is refused
    target = args.output if args.shard_index is None else shard_path(args.output, args.shard_index, args.shards)
    check_output_paths(output=args.output)
    claim_outputs(**{"output" if args.shard_index is None else "output (shard)": target})
    H = hamiltonian_from_args(args)
    params = sampler_params(args)
    _check_memory(H, args.sampler, params, 1 if args.shard_index is None else args.shards)
    if args.sampler == "uniform" and params["n"] < max(1, args.shards if args.shard_index is None else 1):
        raise ValueError(f"--n {params['n']} makes " + ("no configurations; give --n >= 1" if params["n"] < 1 else
                         f"fewer configurations than --shards {args.shards}: every shard needs at least one "
                         f"(give --n >= {args.shards} or fewer shards)"))
    if campaign_cli.requested(args):
        path = _generate_campaign(args, H, params)
    else:
        path = generate(H, args.sampler, args.output, test_fraction=args.test_fraction, seed=args.seed,
                        shards=args.shards, shard_index=args.shard_index, backend=args.backend,
                        progress=not args.quiet, **params)
    report = summary(path)
    meta = report["meta"]
    print(f"wrote {path}: {report['total']:,} configurations of {H} ({report['distinct']:,} distinct), "
          f"train {report['train']:,}, test {report['test']:,}", file=sys.stderr)
    if meta.get("complete") is False:
        short = [i for i, (c, q) in enumerate(zip(meta["counts"], meta["quota"])) if c < q]
        print(f"warning: targets {short} fell short of their quota (counts {[meta['counts'][i] for i in short]}); "
              "see `deepspin datasets info`", file=sys.stderr)
    return 0


def _generate_campaign(args, H, params):
    """``generate`` with a campaign option: every shard a task (docs/campaigns.md), then the merge."""
    from ..campaign import generate as generate_campaign

    if args.shard_index is not None:
        raise ValueError(f"--shard-index {args.shard_index} makes one shard here, while the campaign options run "
                         "every shard and merge them; give one or the other")
    with campaign_cli.client_for(args) as client:
        return generate_campaign(H, args.sampler, args.output, test_fraction=args.test_fraction, seed=args.seed,
                                 shards=args.shards, backend=args.backend, client=client, retries=args.retries,
                                 progress=not args.quiet, summary=args.campaign_json, **params)


def run_info(args) -> int:
    from ..datasets import summary

    report = summary(args.file)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    meta = report["meta"]
    ham = meta["hamiltonian"]
    print(f"file           {report['path']}")
    print(f"hamiltonian    {ham['name']}  L={ham['L']}  {ham['params']}")
    print(f"sampler        {meta['sampler']}  {meta['sampler_params']}")
    print(f"seed           {meta.get('seed')}  shards={meta.get('shards')}  shard_index={meta.get('shard_index')}")
    print(f"created        {meta['created']}  deepspin {meta['deepspin_version']}  schema {meta['schema_version']}")
    print(f"configurations {report['total']:,}  distinct {report['distinct']:,}")
    print(f"split          test_fraction={meta['test_fraction']}  train {report['train']:,}  test {report['test']:,}  "
          f"duplicates across the split {report['overlap']}")
    print(f"energy         {report['energy_range']}")
    print(f"magnetization  {meta['magnetization_definition']}")
    if "complete" in meta:
        print(f"quota met      {meta['complete']}")
    if report["overlap"]:
        print(f"error: {report['overlap']} configurations are in both the training and the test set", file=sys.stderr)
    if report["histogram"]:
        by = report["histogram_by"]
        print(f"\n{by:>8s} {'energy':>14s} {'count':>9s} {'distinct':>9s} {'test':>7s}")
        for row in report["histogram"]:
            energy = row["energy"] + 0.0  # no "-0"
            print(f"{row[by] if by != 'energy' else '':>8} {energy:>14.6g} {row['count']:>9,} {row['distinct']:>9,} "
                  f"{row['test']:>7,}")
    return 1 if report["overlap"] else 0


def run_merge(args) -> int:
    from ..datasets import merge

    claim_outputs(inputs={f"FILES[{i}]": f for i, f in enumerate(args.files)}, output=args.output)
    path = merge(args.files, args.output)
    print(f"merged {len(args.files)} shards into {path}", file=sys.stderr)
    return 0


def run_plot(args) -> int:
    from .. import plots
    from ..datasets import hash_buckets, load
    from ..observables import ising_energy_levels
    from ..sampling import enumerate_all
    from ..hamiltonians import Ising

    claim_outputs(inputs={"file": getattr(args, "file", None)}, output=args.output)
    if args.figure == "histogram":
        data = load(args.file, split=args.split)
        meta = data["meta"]
        levels, bins = None, args.bins or 50
        if "class" in data:
            levels = ising_energy_levels(meta["hamiltonian"]["L"]) * meta["hamiltonian"]["params"].get("J", 1.0)
        elif args.bins is None and meta.get("targets", {}).get("kind") == "bin":
            bins = meta["targets"]["edges"]  # the targeted bins themselves
        plots.energy_histogram(data["energy"], args.output, levels=levels, bins=bins,
                               title=f"{meta['hamiltonian']['name']} L={meta['hamiltonian']['L']}, "
                                     f"{meta['sampler']} ({args.split}, {len(data['energy']):,})")
    elif args.figure == "dos":
        plots.density_of_states(args.L, args.output)
    else:
        if args.file:
            data = load(args.file, split="all")
            configs, what = data["spins"], args.file
        else:
            configs, what = enumerate_all(Ising(args.L)).spins, f"all {args.L}x{args.L} configurations"
        result = plots.hash_buckets(hash_buckets(configs), args.output, title=f"SHA3 buckets of {what}")
        print(f"chi2 = {result['chi2']:.1f} for {result['dof']} degrees of freedom", file=sys.stderr)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "generate",
        help="sample, label, split and write a dataset (HDF5)",
        description="Sample configurations, label them with exact energies, split them by SHA3 hash and write "
        "an HDF5 dataset. Example: deepspin generate --hamiltonian ising --L 8 --sampler targeted "
        "--per-class 1800 --test-fraction 0.1 --seed 1 -o ising8.h5",
    )
    add_hamiltonian_arguments(p)
    p.add_argument("--sampler", required=True, choices=SAMPLERS)
    g = p.add_argument_group("uniform")
    g.add_argument("--n", type=int, help="number of configurations")
    g = p.add_argument_group("targeted")
    g.add_argument("--per-class", type=int, help="quota per energy class or bin")
    g.add_argument("--bins", help="number of energy bins, or comma-separated edges (continuous models)")
    g.add_argument("--walkers", type=int, help="independent walkers (default 256)")
    g.add_argument("--sigma", type=float, help="width of the Gaussian rejection (default: Ising level spacing 4|J|; bin width / 10)")
    g.add_argument("--max-sweeps", type=int, help="give up after this many sweeps (default 20000)")
    g.add_argument("--thin", type=int, help="targeted: steps between records of a walker (default N/4); "
                   "thermal: sweeps between records (default 10)")
    g = p.add_argument_group("thermal")
    g.add_argument("--temperatures", help="comma-separated temperatures (k_B = 1)")
    g.add_argument("--chains", type=int, help="independent chains per temperature (default 16)")
    g.add_argument("--samples", type=int, help="records per chain (default 100)")
    g.add_argument("--burn-in", type=int, help="sweeps before the first record (default 1000)")
    g = p.add_argument_group("output")
    g.add_argument("-o", "--output", required=True, help="HDF5 file to write")
    g.add_argument("--test-fraction", type=float, default=0.1, help="fraction of hash buckets in the test set")
    g.add_argument("--seed", type=int, help="seed of every random stream (required with --shards)")
    g.add_argument("--shards", type=int, default=1, help="cut the run into N independent shards (resumable)")
    g.add_argument("--shard-index", type=int, help="make only this shard (then merge with `datasets merge`)")
    g.add_argument("--backend", default="auto", choices=("auto",) + NAMES, help="exact-energy backend")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    campaign_cli.add_arguments(p)
    p.set_defaults(handler=run_generate)

    p = sub.add_parser("datasets", help="inspect or merge dataset files")
    dsub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    q = dsub.add_parser("info", help="metadata, per-class histogram, distinct count, split sizes, overlap",
                        description="Describe a dataset; exit code 1 if any configuration is on both sides of the split.")
    q.add_argument("file")
    q.add_argument("--json", action="store_true", help="print the report as JSON")
    q.set_defaults(handler=run_info)
    q = dsub.add_parser("merge", help="merge the shard files of one run (in shard order)")
    q.add_argument("files", nargs="+")
    q.add_argument("-o", "--output", required=True)
    q.set_defaults(handler=run_merge)

    p = sub.add_parser("plot", help="figures: dataset energy histogram, density of states, hash buckets")
    psub = p.add_subparsers(dest="figure", metavar="FIGURE", required=True)
    q = psub.add_parser("histogram", help="energy histogram of a dataset (paper Figs. 2-3)")
    q.add_argument("file")
    q.add_argument("--split", default="all", choices=("train", "test", "all"))
    q.add_argument("--bins", type=int, help="bins for continuous energies (default: the targeted bins, else 50)")
    q.add_argument("-o", "--output", required=True, help="PNG file")
    q.set_defaults(handler=run_plot)
    q = psub.add_parser("dos", help="density of states of the L x L Ising model by enumeration (paper Fig. 5)")
    q.add_argument("--L", type=int, default=4)
    q.add_argument("-o", "--output", required=True, help="PNG file")
    q.set_defaults(handler=run_plot)
    q = psub.add_parser("hash-buckets", help="uniformity of the 12-bit SHA3 buckets (paper Fig. 15b)")
    q.add_argument("file", nargs="?", help="dataset (default: all configurations of --L)")
    q.add_argument("--L", type=int, default=4)
    q.add_argument("-o", "--output", required=True, help="PNG file")
    q.set_defaults(handler=run_plot)
