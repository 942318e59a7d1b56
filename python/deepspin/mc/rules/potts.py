"""New angles for the planar Potts model, compiled (``csrc/metropolis_chain.hpp::potts_chain``).

A move gives a random site a new angle uniform in ``[0, pi)`` (a symmetric proposal);
``dE = J sum_{b nn a} [cos(t'_a - t_b) - cos(t_a - t_b)]``. Attempt ``i`` of sweep ``t`` uses Philox
block ``t N + i`` of the chain's angle stream: site word, two angle words, acceptance word, exactly
as the NumPy angle rule (:mod:`.batch`). Energy and ``|sum exp(i theta)|`` are recomputed from the
angles at every measurement.
"""
from __future__ import annotations

import numpy as np

from ...backends.compiled import _core, num_threads
from ...hamiltonians import PlanarPotts
from .base import CompiledRule, compiled_accepts, compiled_device, initial_magnet
from .registry import RuleSpec, register_rule


def angle_energy_change(J: float, old, new, neighbours) -> np.ndarray:
    """``dE = J sum_b [cos(new - t_b) - cos(old - t_b)]`` of a new angle at a site: ``old``/``new`` ``(k,)``,
    ``neighbours`` ``(k, 4)`` the angles of its four nearest neighbours (the targeted sampler's walkers call this)."""
    change = np.cos(np.asarray(new)[:, None] - neighbours) - np.cos(np.asarray(old)[:, None] - neighbours)
    return J * change.sum(axis=1)


class PottsAngleMove(CompiledRule):
    name = "potts"

    def start(self, spins):
        return {"energy": self.H.energy(spins, backend="numpy"), "magnet": initial_magnet(spins), "cache": {}}

    def advance(self, state, n_sweeps):
        _core.metropolis_potts(state, self.plan(state, n_sweeps), betas=self.ensemble.betas, J=self.H.J,
                               chains_per_temperature=self.ensemble.chains, device=self.backend, threads=num_threads())
        state.sweeps_done += n_sweeps


register_rule(RuleSpec(name=PottsAngleMove.name, backends=("cpu", "cuda"),
                       accepts=compiled_accepts(PlanarPotts, "Potts"), build=PottsAngleMove, auto=compiled_device,
                       priority=10))
