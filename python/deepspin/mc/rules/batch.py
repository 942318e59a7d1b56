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

import dataclasses

import numpy as np

from ..acceptance import accept, random_sites, uniform_angles
from ..philox import ANGLE_STREAM, SWEEP_STREAM, philox_words
from .base import NumpyRule, evaluate, initial_magnet
from .registry import RuleSpec, register_rule


@dataclasses.dataclass
class Move:
    """One single-site proposal per chain: ``index`` (chains, flat sites), ``old``/``new`` values ``(G,)`` and
    the ``energy`` ``(G,)`` of the proposed configurations under the rule's operator."""

    index: tuple
    old: np.ndarray
    new: np.ndarray
    energy: np.ndarray


class BatchMove(NumpyRule):
    """Propose (:meth:`draws`, :meth:`propose`), decide (:func:`~deepspin.mc.acceptance.accept`), commit (:meth:`commit`).

    The policies of :mod:`deepspin.mc.policies` reuse the proposal and commit steps with another decision.
    """

    name = "batch"

    def start(self, spins):
        return {"energy": self._energy(spins), "magnet": initial_magnet(spins), "cache": {}}

    def _energy(self, spins) -> np.ndarray:
        T = np.repeat(self.ensemble.temperatures, self.ensemble.chains)
        return evaluate(lambda c: self.operator.energy_at(c, T), spins, spins.shape[0], "the energy operator")

    def draws(self, state):
        """Per chain and attempt: sites ``(G, N)``, new values ``(G, N)`` (None: flip), acceptance words ``(G, N)``."""
        G, N, L = state.spins.shape[0], self.ensemble.N, self.ensemble.L
        chains = np.arange(G, dtype=np.int64)
        if self.operator.spin_kind == "angle":
            words = philox_words(self.ensemble.seed, chains, ANGLE_STREAM, state.sweeps_done * N, N).reshape(G, N, 4)
            return random_sites(words[..., 0], L), uniform_angles(words[..., 1], words[..., 2]), words[..., 3]
        blocks = (N + 1) // 2
        words = philox_words(self.ensemble.seed, chains, SWEEP_STREAM, state.sweeps_done * blocks, blocks)
        return random_sites(words[:, 0 : 2 * N : 2], L), None, words[:, 1 : 2 * N : 2]

    def propose(self, state, sites, values) -> Move:
        """Put each chain's proposal (site ``sites``, new value ``values``, None: flip) into ``state.spins`` and
        evaluate the operator on them; :meth:`commit` keeps or undoes it."""
        G = state.spins.shape[0]
        flat = state.spins.reshape(G, -1)
        index = (np.arange(G, dtype=np.int64), sites)
        old = flat[index]
        new = -old if values is None else values
        flat[index] = new
        return Move(index, old, new, self._energy(state.spins))

    def commit(self, state, move: Move, ok) -> None:
        """Keep the proposals of the chains where ``ok`` ``(G,)`` and undo the others (spins, magnetization, counts)."""
        flat = state.spins.reshape(state.spins.shape[0], -1)
        flat[move.index] = np.where(ok, move.new, move.old)
        if self.operator.spin_kind != "angle":
            state.magnet -= 2 * move.old.astype(np.int64) * ok
        state.accepted += ok

    def sweep_once(self, state):
        beta = self.ensemble.chain_betas
        sites, values, words = self.draws(state)
        for i in range(self.ensemble.N):
            move = self.propose(state, sites[:, i], None if values is None else values[:, i])
            ok = accept(words[:, i], beta, move.energy - state.energy)
            self.commit(state, move, ok)
            state.energy = np.where(ok, move.energy, state.energy)


register_rule(RuleSpec(name=BatchMove.name, backends=("generic",), accepts=lambda op: None, build=BatchMove,
                       auto=lambda op, ens: "generic", priority=0))
