"""``deepspin energy`` and ``deepspin backends``: exact energies from the command line."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from ..backends import NAMES, backends
from ..hamiltonians import HAMILTONIANS, hamiltonian
from ..io import claim_outputs, load_configs, save_npy


def add_hamiltonian_arguments(parser: argparse.ArgumentParser, default: str | None = None) -> None:
    """Options that define a Hamiltonian (shared by every command that needs one).

    ``--hamiltonian`` is a built-in model name or an energy function ``package.module:function``
    (a callable on a ``(B, L, L)`` batch returning ``(B,)`` energies); the name is checked by
    :func:`hamiltonian_from_args`, so an unknown one is a one-line error listing the choices.
    ``default`` makes ``--hamiltonian`` optional with that model.
    """
    group = parser.add_argument_group("Hamiltonian")
    group.add_argument(
        "--hamiltonian", required=default is None, default=default, metavar="NAME",
        help=f"model: {', '.join(HAMILTONIANS)}, or an energy function package.module:function"
        + (f" (default {default})" if default else ""),
    )
    group.add_argument("--L", type=int, required=True, help="linear lattice size")
    group.add_argument("--J", type=float, default=1.0, help="coupling (default 1)")
    group.add_argument("--k", type=float, default=None, help="screening constant of the Coulomb models (default 0.5)")
    group.add_argument("--rcut", type=float, default=None, help="image-sum cutoff of the Coulomb models (default 8L)")
    group.add_argument("--U", type=float, default=None, help="falicov-kimball: on-site repulsion (default 4)")
    group.add_argument("--t", type=float, default=None, help="falicov-kimball: hopping (default 1)")


def hamiltonian_from_args(args):
    """Build the Hamiltonian named by :func:`add_hamiltonian_arguments`' options."""
    fk = args.hamiltonian == "falicov-kimball"
    for name in ("U", "t"):
        if getattr(args, name) is not None and not fk:
            raise ValueError(f"--{name} applies to the falicov-kimball model only, not {args.hamiltonian}")
    if fk:
        for name in ("k", "rcut"):
            if getattr(args, name) is not None:
                raise ValueError(f"--{name} applies to the Coulomb models only, not falicov-kimball")
        if args.J != 1.0:
            raise ValueError("--J does not apply to falicov-kimball; its parameters are --U and --t")
        params = {name: getattr(args, name) for name in ("U", "t") if getattr(args, name) is not None}
        return hamiltonian(args.hamiltonian, args.L, **params)
    if ":" in args.hamiltonian:
        for name in ("k", "rcut"):
            if getattr(args, name) is not None:
                raise ValueError(f"--{name} applies to the Coulomb models only, not {args.hamiltonian}")
        if args.J != 1.0:
            raise ValueError(f"--J does not apply to an energy function ({args.hamiltonian}); put J inside it")
        return hamiltonian(args.hamiltonian, args.L)
    params = {"J": args.J}
    coulomb = args.hamiltonian in ("screened-coulomb", "sinusoidal-coulomb")
    for name in ("k", "rcut"):
        value = getattr(args, name)
        if value is not None and not coulomb:
            raise ValueError(f"--{name} applies to the Coulomb models only, not {args.hamiltonian}")
        if value is not None:
            params[name] = value
    return hamiltonian(args.hamiltonian, args.L, **params)


def run_energy(args) -> int:
    claim_outputs(inputs={"configs": args.configs}, output=args.output)
    H = hamiltonian_from_args(args)
    configs = load_configs(args.configs, args.key)
    if getattr(H, "thermal", False):
        if args.T is None:
            raise ValueError(f"{H.name}'s energy E(s; T) depends on the temperature: pass --T (e.g. --T 0.15)")
        if args.method is not None or args.precision != "float64":
            raise ValueError(f"{H.name} has one exact float64 method: leave out --method and --precision")
        energies = H.energy(configs, T=args.T, backend=args.backend)
    else:
        if args.T is not None:
            raise ValueError(f"--T applies to temperature-dependent models (falicov-kimball), not {H.name}")
        energies = H.energy(configs, backend=args.backend, method=args.method, precision=args.precision)
    energies = np.atleast_1d(np.asarray(energies, dtype=np.float64))
    if args.output:
        save_npy(args.output, energies)
        print(f"wrote {len(energies)} energies of {H} to {args.output}", file=sys.stderr)
    else:
        np.savetxt(sys.stdout, energies, fmt="%.17g")
    return 0


def run_backends(args) -> int:
    for name, (available, reason) in backends().items():
        print(f"{name:8s} {'available' if available else 'unavailable'}" + (f"  ({reason})" if reason else ""))
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "energy",
        help="exact energies of configurations stored in .npy/.npz",
        description="Exact energies of (B, L, L) or (L, L) configurations read from .npy or .npz. "
        "Example: deepspin energy --hamiltonian screened-coulomb --L 8 --k 0.5 --rcut 64 "
        "--backend cpu --method kernel configs.npy -o energies.npy",
    )
    add_hamiltonian_arguments(p)
    p.add_argument("configs", help=".npy or .npz file of +1/-1 spins (angles for potts)")
    p.add_argument("--key", help="array name inside an .npz (default: configs, spins, or the only one)")
    p.add_argument("--backend", default="auto", choices=("auto",) + NAMES)
    p.add_argument("--method", choices=("kernel", "explicit"), help="pair-kernel models: kernel (default) or explicit")
    p.add_argument("--precision", default="float64", choices=("float64", "float32"))
    p.add_argument("--T", type=float, help="temperature of a temperature-dependent energy (falicov-kimball: required)")
    p.add_argument("-o", "--output", help="write energies to this .npy (default: print one per line)")
    p.set_defaults(handler=run_energy)

    p = sub.add_parser("backends", help="list the exact-energy backends and why any is unavailable")
    p.set_defaults(handler=run_backends)
