"""What a trained surrogate does where its errors matter, beyond its test metrics.

Its predictions on every configuration of a small lattice (:func:`predict_enumerated`), its error
per site on configurations of any size (:func:`per_site_errors`), how it prices the excitations
that Metropolis below T_c lives on (:func:`ordered_flip_costs`), and how each training ended
(:func:`training_ends`), read from the saved models.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def predict_enumerated(path, L: int = 4) -> np.ndarray:
    """What the surrogate saved at ``path`` predicts (classes or values) for all ``2^(L*L)``
    configurations of the ``L x L`` lattice, in :func:`deepspin.enumeration.configurations` order."""
    from .. import enumeration
    from . import load

    return load(path).predict(enumeration.configurations(L))


def per_site_errors(operator, spins: np.ndarray, exact) -> dict:
    """Per-site errors ``|E_pred - E| / N`` of ``operator`` on configurations ``spins`` ``(n, L, L)``
    with exact energies ``exact``: their count ``n``, mean ``mae`` and largest ``max``. Per site, so
    that an extensive surrogate's errors compare across lattice sizes."""
    error = np.abs(np.asarray(operator.energy(spins), dtype=np.float64) - np.asarray(exact)) / spins[0].size
    return {"n": int(len(spins)), "mae": float(error.mean()), "max": float(error.max())}


def ordered_flip_costs(operator, H) -> dict:
    """A learned energy ``operator`` against the exact Hamiltonian ``H`` at the ordered state (all +1,
    where the chains below T_c live).

    Returns ``offset_per_site``, (learned - exact) energy of that state per site, and ``cost`` and
    ``exact_cost``, what flipping each of the ``N`` sites from it costs, learned and exact (for the
    nearest-neighbour Ising model ``8J`` at every site). A constant offset shifts a recorded ``<E>/N``
    without changing Metropolis; a flip that costs less than the exact one makes the chains hold more
    single-flip excitations below T_c, by ``exp(delta / T) - 1`` relative."""
    up = np.ones((1, H.L, H.L), dtype=np.int8)
    flipped = np.repeat(up, H.N, axis=0)
    flipped.reshape(H.N, H.N)[np.arange(H.N), np.arange(H.N)] = -1  # flipped[i]: site i flipped
    learned, exact = float(operator.energy(up)[0]), float(H.energy(up)[0])
    return {"offset_per_site": (learned - exact) / H.N, "cost": np.asarray(operator.energy(flipped)) - learned,
            "exact_cost": np.asarray(H.energy(flipped)) - exact}


def training_ends(models: Iterable[Path]) -> dict | None:
    """How the training of each saved network ended, from its metadata: ``early``, the epochs at which
    the runs that stopped early stopped (the validation loss stopped improving), and ``caps``, the
    epoch caps of those that ran to them (they may not have converged). ``None`` where a model does not
    record it, or there is none."""
    from .model_io import read_metadata

    runs = [read_metadata(model).get("training", {}) for model in models]
    if not runs or any("last_epoch" not in run or "epochs" not in run for run in runs):
        return None
    return {"runs": len(runs), "early": [run["last_epoch"] for run in runs if run["last_epoch"] < run["epochs"]],
            "caps": [run["epochs"] for run in runs if run["last_epoch"] >= run["epochs"]]}
