"""Single flips of nearest-neighbour Ising spins, compiled (``csrc/metropolis_chain.hpp::ising_chain``).

Attempt ``i`` of sweep ``t`` takes the words ``2i`` (site) and ``2i + 1`` (acceptance) of the chain's
sweep stream from block ``t * ceil(N / 2)`` on; ``s_a * (sum of the four neighbours) = 2k - 4``
indexes the acceptance table (:func:`~deepspin.mc.acceptance.ising_thresholds`). The state's
``energy`` is the exact integer bond sum ``-sum s s'`` (the energy is ``J`` times it).
"""
from __future__ import annotations

import numpy as np

from ...backends.compiled import _core, num_threads
from ...hamiltonians import Ising
from ..acceptance import ising_thresholds
from .base import CompiledRule, compiled_accepts, compiled_device, initial_magnet
from .registry import RuleSpec, register_rule


def flip_energy_change(J: float, s_a, neighbour_sum) -> np.ndarray:
    """``dE = 2 J s_a sum_{b nn a} s_b`` of flipping spin ``s_a`` with neighbour sum ``neighbour_sum`` (arrays broadcast).

    The compiled kernel indexes its acceptance table by ``s_a * neighbour_sum``; the targeted
    sampler's walkers (:mod:`deepspin.sampling.walkers`) call this function.
    """
    return 2.0 * J * s_a * neighbour_sum


class IsingFlip(CompiledRule):
    name = "ising"

    def __init__(self, operator, ensemble, backend):
        super().__init__(operator, ensemble, backend)
        self.thresholds = ising_thresholds(ensemble.betas, self.H.J)

    def start(self, spins):
        bonds = -(spins * (np.roll(spins, -1, 1) + np.roll(spins, -1, 2))).sum(axis=(1, 2), dtype=np.int64)
        return {"energy": bonds, "magnet": initial_magnet(spins), "cache": {}}

    def advance(self, state, n_sweeps):
        _core.metropolis_ising(state, self.plan(state, n_sweeps), thresholds=self.thresholds, J=self.H.J,
                               chains_per_temperature=self.ensemble.chains, device=self.backend, threads=num_threads())
        state.sweeps_done += n_sweeps


register_rule(RuleSpec(name=IsingFlip.name, backends=("cpu", "cuda"), accepts=compiled_accepts(Ising, "Ising"),
                       build=IsingFlip, auto=compiled_device, priority=10))
