"""Per-configuration observables and the Ising energy classes (SPEC sections 1 and 3)."""
from __future__ import annotations

import numpy as np

from .validation import check_lattice_size, check_spins


def magnetization(configs):
    """Magnetization per site ``m = mean(s)`` of +1/-1 configurations: float or ``(B,)`` float64.

    An empty ``(0, L, L)`` batch gives an empty ``(0,)`` array.
    """
    spins, single = check_spins(configs)
    m = spins.reshape(spins.shape[0], spins.shape[1] * spins.shape[2]).mean(axis=1, dtype=np.float64)
    return float(m[0]) if single else m


def staggered_magnetization(configs):
    """Staggered magnetization per site ``m_s = (1/N) sum_{r,c} (-1)^(r+c) s[r,c]``: float or ``(B,)`` float64.

    The checkerboard order parameter (the Falicov–Kimball model's, docs/conventions.md): ``+1`` or
    ``-1`` for the two checkerboards, 0 on average in the disordered phase. Even ``L`` only (an odd
    torus has no consistent checkerboard).
    """
    spins, single = check_spins(configs)
    L = spins.shape[1]
    if L % 2:
        raise ValueError(f"the staggered magnetization needs an even L (an odd torus has no checkerboard), got L={L}")
    sign = np.where(np.add.outer(np.arange(L), np.arange(L)) % 2, -1.0, 1.0)
    m = np.einsum("bij,ij->b", spins, sign, dtype=np.float64) / (L * L)
    return float(m[0]) if single else m


def ising_energy_levels(L: int) -> np.ndarray:
    """Attainable nearest-neighbour Ising energies (J = 1) of an even ``L x L`` torus, ascending.

    ``E = -2N + 4m`` for ``m = 0..N`` except ``m = 1`` and ``m = N - 1``: ``N - 1`` levels
    (15 for 4x4 from -32 to 32, 63 for 8x8 from -128 to 128). Odd ``L`` has no class scheme.
    """
    L = check_lattice_size(L)
    if L % 2:
        raise ValueError(f"Ising energy classes exist for even L only (odd L is regression only), got L={L}")
    N = L * L
    m = np.array([i for i in range(N + 1) if i not in (1, N - 1)])
    return (-2.0 * N + 4.0 * m).astype(np.float64)


def ising_class(configs):
    """Class index of each configuration: rank of its Ising energy (J = 1) among the levels.

    Class 0 is the all-aligned ground state. Returns an int or a ``(B,)`` int64 array.
    """
    from .hamiltonians import Ising

    spins, single = check_spins(configs)
    L = spins.shape[1]
    levels = ising_energy_levels(L)
    energies = Ising(L).energy(spins, backend="cpu" if _has_core() else "numpy")
    classes = np.searchsorted(levels, energies)
    return int(classes[0]) if single else classes.astype(np.int64)


def energy_to_class(energies, L: int) -> np.ndarray:
    """Map exact Ising energies (J = 1) to class indices; raises on a value that is not a level."""
    levels = ising_energy_levels(L)
    energies = np.asarray(energies, dtype=np.float64)
    classes = np.searchsorted(levels, energies)
    ok = (classes < len(levels)) & (levels[np.minimum(classes, len(levels) - 1)] == energies)
    if not np.all(ok):
        bad = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"energy {energies.flat[bad]!r} at index {bad} is not an Ising level of L={L}")
    return classes.astype(np.int64)


def class_to_energy(classes, L: int) -> np.ndarray:
    """Energy (J = 1) of each Ising class index."""
    levels = ising_energy_levels(L)
    classes = np.asarray(classes)
    if classes.size and (classes.min() < 0 or classes.max() >= len(levels)):
        raise ValueError(f"class indices must lie in [0, {len(levels)}) for L={L}")
    return levels[classes]


def _has_core() -> bool:
    from .backends import backends

    return backends()["cpu"][0]
