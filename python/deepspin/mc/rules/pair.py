"""Single flips for pair-kernel models from local fields, compiled (``csrc/metropolis_chain.hpp::pair_chain``).

With the dense matrix ``M = lattice.pair_matrix(K)`` of the folded kernel and the local fields
``h = M s`` (the rule's cache, ``state.cache["fields"]``), flipping ``a`` changes
``E = (J/2) s^T M s`` by ``dE = -2 J s_a (h_a - M_aa s_a)`` in ``O(1)``, and an accepted flip updates
the fields in ``O(N)``. Same random streams as the Ising rule.
"""
from __future__ import annotations

import numpy as np

from ...backends.compiled import _core, num_threads
from ...hamiltonians import PairPotential
from ...lattice import pair_matrix
from .base import CompiledRule, compiled_accepts, compiled_device, initial_magnet
from .registry import RuleSpec, register_rule


def flip_energy_change(J: float, s_a, h_a, self_term: float) -> np.ndarray:
    """``dE = -2 J s_a (h_a - M_aa s_a)`` of flipping ``s_a`` with local field ``h_a = (M s)_a`` (arrays broadcast).

    ``self_term = M_aa = K[0, 0]``, the self-image coupling, does not change with the flip. The
    compiled kernel states the same (``csrc/metropolis_chain.hpp``); the targeted sampler's walkers
    (:mod:`deepspin.sampling.walkers`) call this function.
    """
    return -2.0 * J * s_a * (h_a - self_term * s_a)


def field_change(matrix: np.ndarray, sites, new_values) -> np.ndarray:
    """Change ``(k, N)`` of the local fields ``h = M s`` when site ``sites[j]`` flips to ``new_values[j]``.

    ``s_a`` goes from ``-v`` to ``v``: ``h_b`` changes by ``2 v M[b, a]`` (``M`` is symmetric).
    """
    return (2.0 * np.asarray(new_values).astype(np.float64))[:, None] * matrix[sites]


class PairFieldFlip(CompiledRule):
    name = "pair"

    def __init__(self, operator, ensemble, backend):
        super().__init__(operator, ensemble, backend)
        self.matrix = pair_matrix(self.H.kernel)

    def start(self, spins):
        fields, energy = _core.pair_local_fields_cpu(spins, self.matrix, self.H.J, num_threads())
        return {"energy": energy, "magnet": initial_magnet(spins), "cache": {"fields": fields}}

    def advance(self, state, n_sweeps):
        _core.metropolis_pair(state, self.plan(state, n_sweeps), fields=state.cache["fields"], matrix=self.matrix,
                              betas=self.ensemble.betas, J=self.H.J, chains_per_temperature=self.ensemble.chains,
                              device=self.backend, threads=num_threads())
        state.sweeps_done += n_sweeps


register_rule(RuleSpec(name=PairFieldFlip.name, backends=("cpu", "cuda"),
                       accepts=compiled_accepts(PairPotential, "pair-kernel"), build=PairFieldFlip,
                       auto=compiled_device, priority=10))
