"""Linear effective pair models fitted to labelled configurations (the self-learning Monte Carlo baseline).

J. Liu, Y. Qi, Z. Y. Meng and L. Fu, Phys. Rev. B 95, 041101 (2017) fit the Falicov–Kimball
model's effective energy at one temperature by a cheap Ising model

    E_lin(s) = E0 + sum_n J_n C_n(s),   C_n(s) = (1/2) sum_a sum_{v in shell n} s_a s_{a+v},

where shell ``n`` holds the lattice vectors ``v`` of the ``n``-th smallest length ``d_n`` and ``a + v``
is taken modulo ``L``. ``C_n`` is the sum of ``s_a s_b`` over unordered pairs at torus distance
``d_n``; a pair separated by exactly ``L/2`` along an axis is joined by two such vectors (four at
``(L/2, L/2)``) and counts that many times, as it does in the pair-kernel energy of
:class:`~deepspin.hamiltonians.PairPotential`. Shells are limited to ``d_n <= L/2`` (no vector
reaches a periodic image of its own site, and different shells never share a pair), which makes
``sum_n J_n C_n`` exactly the pair-kernel energy with ``f(d_n) = J_n``: :meth:`EffectivePairModel.as_hamiltonian`
runs on the compiled pair Metropolis kernel.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .hamiltonians import PairPotential
from .lattice import image_vectors
from .validation import check_count, check_lattice_size, check_spins


def shell_norms(L: int) -> np.ndarray:
    """Squared lengths ``d^2`` of every shell with ``0 < d <= L/2``, ascending (int64)."""
    L = check_lattice_size(L)
    vectors = image_vectors(L / 2).astype(np.int64)
    return np.unique((vectors**2).sum(axis=1))


def shell_features(configs, L: int, shells: int) -> np.ndarray:
    """``C_n(s)`` of the first ``shells`` shells (module docstring): ``(B, shells)`` float64."""
    spins, _ = check_spins(configs, L)
    norms = _check_shells(L, shells)
    vectors = image_vectors(math.sqrt(norms[-1] + 0.5)).astype(np.int64)
    length2 = (vectors**2).sum(axis=1)
    s = spins.astype(np.float64)
    features = np.zeros((s.shape[0], shells))
    for n, norm in enumerate(norms):
        for dx, dy in vectors[length2 == norm]:
            features[:, n] += (s * np.roll(s, (-dx, -dy), axis=(1, 2))).sum(axis=(1, 2))
    return features / 2


@dataclasses.dataclass(frozen=True)
class ShellFunction:
    """A radial function constant on shells: ``f(d) = couplings[n]`` where ``d^2 = norms[n]``, else 0.

    Vectorised, comparable and printable, so that a :class:`PairPotential` built on it is too.
    """

    norms: tuple[int, ...]
    couplings: tuple[float, ...]

    def __call__(self, d) -> np.ndarray:
        d2 = np.rint(np.asarray(d, dtype=np.float64) ** 2).astype(np.int64)
        table = dict(zip(self.norms, self.couplings))
        return np.array([table.get(int(x), 0.0) for x in d2.ravel()], dtype=np.float64).reshape(d2.shape)


@dataclasses.dataclass(frozen=True, eq=False)
class EffectivePairModel:
    """``E_lin(s) = E0 + sum_n J_n C_n(s)`` fitted by least squares (:func:`fit_pair_model`).

    Attributes
    ----------
    L : int
        Lattice size of the fit (``C_n`` depends on it through the torus).
    norms : tuple of int
        ``d_n^2`` of the shells, ascending.
    couplings : numpy.ndarray
        ``J_n``, ``(shells,)`` float64 (same units as the fitted energies).
    E0 : float
        The constant.
    residual_std : float
        Root-mean-square residual of the fit, ``sqrt(mean((E - E_lin)^2))`` over the fitted samples.
    samples : int
        Number of fitted configurations.
    """

    L: int
    norms: tuple[int, ...]
    couplings: np.ndarray
    E0: float
    residual_std: float
    samples: int

    @property
    def radii(self) -> np.ndarray:
        """Shell radii ``d_n``."""
        return np.sqrt(np.asarray(self.norms, dtype=np.float64))

    @property
    def shells(self) -> int:
        return len(self.norms)

    def energy(self, configs):
        """``E_lin`` of one ``(L, L)`` configuration (a float) or a ``(B, L, L)`` batch (``(B,)`` float64)."""
        spins, single = check_spins(configs, self.L)
        energies = self.E0 + shell_features(spins, self.L, self.shells) @ self.couplings
        return float(energies[0]) if single else energies

    def as_hamiltonian(self) -> PairPotential:
        """The pair part as a :class:`PairPotential` (``f(d_n) = J_n``, ``rcut`` just beyond the last shell).

        Its energies are ``E_lin - E0``: the constant drops out of every energy difference, so a
        Metropolis chain on it (compiled pair kernel) samples ``exp(-E_lin / T)``.
        """
        f = ShellFunction(tuple(int(n) for n in self.norms), tuple(float(j) for j in self.couplings))
        return PairPotential(self.L, f, rcut=math.sqrt(self.norms[-1] + 0.5), name="effective-pairs")


def fit_pair_model(configs, energies, L: int, shells: int = 4) -> EffectivePairModel:
    """Least-squares fit of ``E ≈ E0 + sum_n J_n C_n(s)`` over the first ``shells`` torus shells.

    Parameters
    ----------
    configs : array_like
        ``(B, L, L)`` +1/-1 configurations (e.g. thermal samples at one temperature).
    energies : array_like
        ``(B,)`` finite energies of them (e.g. the Falicov–Kimball ``E(s; T)`` at that temperature).
    L : int
        Lattice size.
    shells : int
        Number of shells (at most the number with ``d <= L/2``: 3 at L = 4, 9 at L = 8).

    Raises
    ------
    ValueError
        Too few samples for the parameters, or configurations that do not determine the couplings
        (a rank-deficient design, e.g. all of them equal).
    """
    spins, _ = check_spins(configs, L)
    norms = _check_shells(L, shells)
    energies = np.asarray(energies, dtype=np.float64)
    if energies.shape != (spins.shape[0],):
        raise ValueError(f"energies must have shape ({spins.shape[0]},), one per configuration; got {energies.shape}")
    if not np.all(np.isfinite(energies)):
        raise ValueError("energies must be finite")
    if spins.shape[0] <= shells + 1:
        raise ValueError(f"fitting {shells + 1} parameters needs more than {shells + 1} configurations, "
                         f"got {spins.shape[0]}")
    design = np.column_stack([np.ones(spins.shape[0]), shell_features(spins, L, shells)])
    solution, _, rank, _ = np.linalg.lstsq(design, energies, rcond=None)
    if rank < design.shape[1]:
        raise ValueError(f"the configurations do not determine {shells} shell couplings and E0 (design rank {rank}); "
                         "give more varied configurations or fewer shells")
    residual = energies - design @ solution
    couplings = solution[1:].copy()
    couplings.setflags(write=False)
    return EffectivePairModel(L=L, norms=tuple(int(n) for n in norms), couplings=couplings, E0=float(solution[0]),
                              residual_std=float(np.sqrt(np.mean(residual**2))), samples=int(spins.shape[0]))


def _check_shells(L: int, shells) -> np.ndarray:
    norms = shell_norms(L)
    shells = check_count("shells", shells)
    if shells > len(norms):
        raise ValueError(f"shells={shells}: an L={L} torus has {len(norms)} shells with d <= L/2 "
                         f"(d^2 = {', '.join(map(str, norms))}); use at most {len(norms)}")
    return norms[:shells]
