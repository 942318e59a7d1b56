"""Single-site moves for any energy operator, one batched operator call per attempt (``backend="generic"``).

The proposals of all chains and temperatures go to the operator in one call per attempt, so a
surrogate on a GPU sees batches of ``chains x temperatures`` configurations. Two proposals, each
drawing the very numbers of its compiled twin, so that with an exact energy the chains are the
compiled ones:

- +1/-1 spins (``"flip"``): attempt ``i`` of sweep ``t`` takes words ``2i`` (site) and ``2i + 1``
  (acceptance) of the sweep stream from block ``t ceil(N / 2)`` on (:mod:`.ising`, :mod:`.pair`);
- angles (``"angle"``): block ``t N + i`` of the angle stream gives the site, the new angle and the
  acceptance word (:mod:`.potts`).

``dE = E(proposed) - E(current)`` from the operator's batch energies.
"""
from __future__ import annotations

import numpy as np

from ..acceptance import accept, random_sites, uniform_angles
from ..philox import ANGLE_STREAM, SWEEP_STREAM, philox_words
from .base import NumpyRule, evaluate, initial_magnet
from .registry import RuleSpec, register_rule


class BatchMove(NumpyRule):
    name = "batch"

    def start(self, spins):
        return {"energy": self._energy(spins), "magnet": initial_magnet(spins), "cache": {}}

    def _energy(self, spins) -> np.ndarray:
        T = np.repeat(self.ensemble.temperatures, self.ensemble.chains)
        return evaluate(lambda c: self.operator.energy_at(c, T), spins, spins.shape[0], "the energy operator")

    def _draws(self, state):
        """Per chain and attempt: sites ``(G, N)``, new values ``(G, N)`` (None: flip), acceptance words ``(G, N)``."""
        G, N, L = state.spins.shape[0], self.ensemble.N, self.ensemble.L
        chains = np.arange(G, dtype=np.int64)
        if self.operator.spin_kind == "angle":
            words = philox_words(self.ensemble.seed, chains, ANGLE_STREAM, state.sweeps_done * N, N).reshape(G, N, 4)
            return random_sites(words[..., 0], L), uniform_angles(words[..., 1], words[..., 2]), words[..., 3]
        blocks = (N + 1) // 2
        words = philox_words(self.ensemble.seed, chains, SWEEP_STREAM, state.sweeps_done * blocks, blocks)
        return random_sites(words[:, 0 : 2 * N : 2], L), None, words[:, 1 : 2 * N : 2]

    def sweep_once(self, state):
        G, N = state.spins.shape[0], self.ensemble.N
        flat = state.spins.reshape(G, N)
        chains = np.arange(G, dtype=np.int64)
        beta = self.ensemble.chain_betas
        sites, values, words = self._draws(state)
        for i in range(N):
            index = (chains, sites[:, i])
            old = flat[index]
            new = -old if values is None else values[:, i]
            flat[index] = new
            proposed = self._energy(state.spins)
            ok = accept(words[:, i], beta, proposed - state.energy)
            flat[index] = np.where(ok, new, old)
            state.energy = np.where(ok, proposed, state.energy)
            if values is None:
                state.magnet -= 2 * old.astype(np.int64) * ok
            state.accepted += ok


register_rule(RuleSpec(name=BatchMove.name, backends=("generic",), accepts=lambda op: None, build=BatchMove,
                       auto=lambda op, ens: "generic", priority=0))
