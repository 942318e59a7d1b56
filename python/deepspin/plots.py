"""Figures (matplotlib, Agg backend, PNG), imported lazily so that ``import deepspin`` stays light.

- :func:`energy_histogram`: energies of a dataset, per Ising class or binned (paper, Figs. 2-3).
- :func:`density_of_states`: number of configurations per energy level of a small Ising lattice,
  by full enumeration (paper, Fig. 5 for 4x4).
- :func:`hash_buckets`: occupancy of the 4096 buckets of the 12-bit SHA3 split (paper, Fig. 15b).
Each function writes the PNG atomically and returns the numbers it drew.
"""
from __future__ import annotations

import numpy as np

from .io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    _pyplot().close(fig)


def energy_histogram(energies, path, *, levels=None, bins=50, title: str = "") -> dict:
    """Histogram of ``energies``: one bar per exact level if ``levels`` is given, else ``bins`` (a count or edges)."""
    plt = _pyplot()
    energies = np.asarray(energies, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    if levels is not None:
        levels = np.asarray(levels, dtype=np.float64)
        counts = np.array([(energies == level).sum() for level in levels])
        step = np.min(np.diff(levels)) if len(levels) > 1 else 1.0
        ax.bar(levels, counts, width=0.8 * step)
        result = {"levels": levels.tolist(), "counts": counts.tolist()}
    else:
        counts, edges = np.histogram(energies, bins=bins)
        ax.stairs(counts, edges, fill=True)
        result = {"edges": edges.tolist(), "counts": counts.tolist()}
    ax.set_xlabel("energy E (units of J)")
    ax.set_ylabel("configurations")
    ax.set_title(title or f"{len(energies):,} configurations")
    _save(fig, path)
    return result


def density_of_states(L: int, path) -> dict:
    """Configurations per nearest-neighbour Ising energy level of the ``L x L`` torus (enumeration, N <= 25)."""
    from .hamiltonians import Ising
    from .sampling import enumerate_all

    energies = enumerate_all(Ising(L)).energy
    levels, counts = np.unique(energies, return_counts=True)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(levels, counts, width=0.8 * (np.min(np.diff(levels)) if len(levels) > 1 else 1.0))
    ax.set_yscale("log")
    ax.set_xlabel("energy E (units of J)")
    ax.set_ylabel("number of configurations g(E)")
    ax.set_title(f"Density of states, {L}x{L} Ising ({int(counts.sum()):,} configurations)")
    _save(fig, path)
    return {"levels": levels.tolist(), "counts": counts.tolist()}


def hash_buckets(buckets, path, *, title: str = "") -> dict:
    """Occupancy of the 4096 12-bit hash buckets, with the uniform expectation and its +-2 sigma band."""
    from .datasets.split import BUCKETS

    counts = np.bincount(np.asarray(buckets, dtype=np.int64), minlength=BUCKETS)
    expected = counts.sum() / BUCKETS
    sigma = np.sqrt(expected * (1 - 1 / BUCKETS))
    plt = _pyplot()
    fig, (ax, ax_hist) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 1]})
    ax.plot(np.arange(BUCKETS), counts, ".", markersize=1.5)
    ax.axhline(expected, color="k", linewidth=1, label="uniform expectation")
    ax.axhspan(expected - 2 * sigma, expected + 2 * sigma, color="0.85", label=r"$\pm 2\sigma$")
    ax.set_xlabel("bucket (12 most significant bits of SHA3-512)")
    ax.set_ylabel("configurations")
    ax.legend(loc="upper right")
    ax_hist.hist(counts, bins=np.arange(counts.min(), counts.max() + 2) - 0.5, orientation="horizontal")
    ax_hist.set_xlabel("buckets")
    fig.suptitle(title or f"{int(counts.sum()):,} configurations in {BUCKETS} buckets")
    _save(fig, path)
    chi2 = float(((counts - expected) ** 2 / expected).sum()) if expected > 0 else float("nan")
    return {"counts": counts.tolist(), "expected": expected, "chi2": chi2, "dof": BUCKETS - 1}
