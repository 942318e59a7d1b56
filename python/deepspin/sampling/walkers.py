"""Many independent single-site Monte Carlo walkers, advanced together in NumPy.

A :class:`Walkers` object holds ``W`` configurations (flattened, C order) and their energies.
Every step proposes one single-site move per walker, all walkers at once:

- Ising-like (+1/-1) models: flip a uniformly chosen site;
- planar Potts and angle-valued energy functions: give a uniformly chosen site a new angle drawn
  uniformly from ``[0, pi)``.

Both proposals are symmetric, so a sampler's acceptance rule alone decides the stationary law
(Metropolis). The energy change of a proposal is computed locally where the model allows it, by
the Monte Carlo core's statement of each move (:mod:`deepspin.mc.rules`):

- :class:`IsingWalkers`: ``dE = 2 J s_a sum_{b nn a} s_b`` from the 4 neighbours
  (:func:`deepspin.mc.rules.ising.flip_energy_change`);
- :class:`PairWalkers`: with the dense matrix ``M`` of the folded kernel ``K`` (SPEC section 2)
  and the local fields ``h = M s``, ``dE = -2 J s_a (h_a - M_aa s_a)``
  (:func:`deepspin.mc.rules.pair.flip_energy_change`, fields by :func:`~deepspin.mc.rules.pair.field_change`);
- :class:`PottsWalkers`: ``dE = J sum_{b nn a} [cos(t'_a - t_b) - cos(t_a - t_b)]``
  (:func:`deepspin.mc.rules.potts.angle_energy_change`);
- :class:`BatchWalkers` (any :class:`~deepspin.hamiltonians.Hamiltonian`, including user energy
  functions): the whole batch of proposed configurations is evaluated in one call and
  ``dE = E(proposed) - E(current)``.

Tracked energies of the local walkers accumulate rounding; :meth:`Walkers.resync` recomputes them
from scratch (samplers call it periodically). Samplers label what they record with the exact
engine, so stored energies never carry this drift. All randomness comes from the caller's
:class:`numpy.random.Generator`, in a fixed order, so a walk is reproducible bit for bit.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..backends.numpy_backend import ising_energy, potts_energy
from ..hamiltonians import Hamiltonian, Ising, PairPotential, PlanarPotts
from ..lattice import pair_matrix
from ..mc.rules import ising as ising_rule
from ..mc.rules import pair as pair_rule
from ..mc.rules import potts as potts_rule

#: Largest number of sites for which pair models keep the dense N x N matrix (8 MiB at N = 1024).
DENSE_MAX_SITES = 1024
#: Steps between exact recomputations of tracked energies (:meth:`Walkers.resync`) in the samplers.
RESYNC_STEPS = 2048


def draw_uniform(spin_kind: str, shape, rng: np.random.Generator) -> np.ndarray:
    """Independent uniform configurations: +1/-1 ``int8`` spins, or float64 angles in ``[0, pi)``."""
    if spin_kind == "angle":
        return rng.random(shape) * np.pi
    return (2 * rng.integers(0, 2, size=shape, dtype=np.int8) - 1).astype(np.int8)


def ordered_states(H: Hamiltonian) -> np.ndarray:
    """Simple periodic patterns: aligned, checkerboard, row/column stripes of width 1 and 2, ``(P, L, L)``.

    For angle models a +1 site gets angle 0 and a -1 site an angle just below pi, so the aligned
    and checkerboard patterns sit at the extremes ``+-2 N J`` of the planar Potts energy.
    """
    L = H.L
    r, c = np.indices((L, L))
    signs = [np.ones((L, L)), (-1.0) ** (r + c), (-1.0) ** r, (-1.0) ** c,
             (-1.0) ** (r // 2), (-1.0) ** (c // 2), (-1.0) ** (r // 2 + c // 2)]
    patterns = np.stack(signs + [-s for s in signs])
    if H.spin_kind == "angle":
        return np.where(patterns > 0, 0.0, np.pi - 1e-9)
    return patterns.astype(np.int8)


def neighbours(L: int) -> np.ndarray:
    """Flat indices of the 4 periodic nearest neighbours of every site, ``(N, 4)`` (down, up, right, left)."""
    r, c = np.divmod(np.arange(L * L), L)
    return np.stack([((r + 1) % L) * L + c, ((r - 1) % L) * L + c, r * L + (c + 1) % L, r * L + (c - 1) % L], axis=1)


@dataclass(frozen=True)
class Proposal:
    """One single-site move per walker: ``sites`` ``(W,)`` and the proposed new values ``(W,)``."""

    sites: np.ndarray
    values: np.ndarray


class Walkers:
    """``W`` configurations of one Hamiltonian with their energies and a single-site move per step."""

    def __init__(self, H: Hamiltonian, states) -> None:
        batch, _ = H.check(np.asarray(states))
        self.H = H
        self.L = H.L
        self.N = H.N
        self.states = np.array(batch.reshape(batch.shape[0], self.N), copy=True)
        self.rows = np.arange(self.states.shape[0])
        self.resync()

    @property
    def count(self) -> int:
        return self.states.shape[0]

    def configs(self, index=slice(None)) -> np.ndarray:
        """Copies of the current configurations ``(k, L, L)``."""
        return self.states[index].reshape(-1, self.L, self.L).copy()

    def propose(self, rng: np.random.Generator) -> Proposal:
        """Draw a site per walker (and, for angles, a new angle): two fixed-size draws per step."""
        sites = rng.integers(0, self.N, size=self.count)
        if self.H.spin_kind == "angle":
            return Proposal(sites, rng.random(self.count) * np.pi)
        return Proposal(sites, -self.states[self.rows, sites])

    def delta(self, move: Proposal) -> np.ndarray:
        """Energy change ``(W,)`` each walker's proposal would cause."""
        raise NotImplementedError

    def accept(self, move: Proposal, accepted: np.ndarray, dE: np.ndarray) -> None:
        """Apply the accepted proposals (bool mask ``(W,)``) and update the energies by ``dE``."""
        w = np.flatnonzero(accepted)
        self._update_fields(w, move.sites[w], move.values[w])
        self.states[w, move.sites[w]] = move.values[w]
        self.energies[w] += dE[w]

    def _update_fields(self, w, sites, values) -> None:
        """Hook for walkers that cache per-site fields (called before the states change)."""

    def resync(self) -> None:
        """Recompute the energies (and cached fields) from the configurations."""
        raise NotImplementedError


class IsingWalkers(Walkers):
    """Nearest-neighbour Ising: ``dE = 2 J s_a sum_nn s_b`` (exact in integers for integer J)."""

    def __init__(self, H: Ising, states) -> None:
        self._nb = neighbours(H.L)
        super().__init__(H, states)

    def delta(self, move):
        field = self.states[self.rows[:, None], self._nb[move.sites]].sum(axis=1, dtype=np.int64)
        return ising_rule.flip_energy_change(self.H.J, -move.values, field)

    def resync(self):
        self.energies = ising_energy(np, self.configs(), self.H.J)


class PairWalkers(Walkers):
    """Pair-kernel models: local fields ``h = M s``; ``dE = -2 J s_a (h_a - M_aa s_a)``."""

    def __init__(self, H: PairPotential, states) -> None:
        self._M = pair_matrix(H.kernel)
        self._self = float(H.kernel[0, 0])
        super().__init__(H, states)

    def delta(self, move):
        s_a = (-move.values).astype(np.float64)
        return pair_rule.flip_energy_change(self.H.J, s_a, self._h[self.rows, move.sites], self._self)

    def _update_fields(self, w, sites, values):
        self._h[w] += pair_rule.field_change(self._M, sites, values)

    def resync(self):
        s = self.states.astype(np.float64)
        self._h = s @ self._M
        self.energies = 0.5 * self.H.J * np.einsum("ij,ij->i", self._h, s)


class PottsWalkers(Walkers):
    """Planar Potts: ``dE = J sum_nn [cos(t'_a - t_b) - cos(t_a - t_b)]`` over the 4 neighbours."""

    def __init__(self, H: PlanarPotts, states) -> None:
        self._nb = neighbours(H.L)
        super().__init__(H, states)

    def delta(self, move):
        t_nb = self.states[self.rows[:, None], self._nb[move.sites]]
        return potts_rule.angle_energy_change(self.H.J, self.states[self.rows, move.sites], move.values, t_nb)

    def resync(self):
        self.energies = potts_energy(np, self.configs(), self.H.J)


class BatchWalkers(Walkers):
    """Any Hamiltonian: evaluate all proposed configurations in one ``H.energy`` call per step."""

    def __init__(self, H: Hamiltonian, states, backend: str = "auto") -> None:
        self._backend = backend
        super().__init__(H, states)

    def _energy(self, flat):
        kwargs = {} if self._backend == "auto" else {"backend": self._backend}
        return np.asarray(self.H.energy(flat.reshape(-1, self.L, self.L), **kwargs), dtype=np.float64)

    def delta(self, move):
        proposed = self.states.copy()
        proposed[self.rows, move.sites] = move.values
        self._proposed_energy = self._energy(proposed)
        return self._proposed_energy - self.energies

    def accept(self, move, accepted, dE):
        w = np.flatnonzero(accepted)
        self.states[w, move.sites[w]] = move.values[w]
        self.energies[w] = self._proposed_energy[w]

    def resync(self):
        self.energies = self._energy(self.states)


def walkers_for(H: Hamiltonian, states, backend: str = "auto") -> Walkers:
    """The fastest exact walker for ``H``: local updates for the built-in models, batch energies otherwise."""
    if type(H) is Ising:
        return IsingWalkers(H, states)
    if isinstance(H, PairPotential) and H.N <= DENSE_MAX_SITES:
        return PairWalkers(H, states)
    if type(H) is PlanarPotts:
        return PottsWalkers(H, states)
    return BatchWalkers(H, states, backend)
