"""Sublattice-parallel single flips for local operators (``backend="local"``).

A local operator (:class:`~deepspin.mc.operators.LocalEnergyOperator`) writes ``E = sum_i e_i``
with ``e_i`` depending only on the spins within Chebyshev distance ``R`` (the receptive radius) of
site ``i`` on the torus: a fully convolutional surrogate with periodic padding is one, and so is the
nearest-neighbour Ising energy ``e_i = -J s_i (s_{i+x} + s_{i+y})`` (R = 1).

Flipping site ``i`` changes only ``e_j`` with ``|j - i| <= R``, and ``dE_i`` depends only on spins
within ``2R`` of ``i``. Sites on a sublattice of spacing ``s >= 2R + 1`` (``s`` divides ``L``, so
the spacing holds across the periodic boundary) therefore have independent ``dE_i``, and flipping
them all in one proposal gives every one of them its exact single-flip ``dE_i``: one operator call on
the configuration with the whole sublattice flipped returns ``e'``, and ``dE_i`` is the sum of
``e' - e`` over the ``s x s`` block centred on ``i`` (it holds the range-``R`` neighbourhood of
``i`` and no other flipped site's). Each site is then accepted or rejected on its own with
probability ``min(1, exp(-dE_i / T))``: a product of independent single-site Metropolis updates,
so detailed balance holds exactly for every sublattice step.

Protocol: a sweep visits the ``s^2`` sublattices once each, in an order drawn per sweep from
``numpy.random.default_rng([seed, sweep])`` (shared by all chains, so one batched operator call
serves every chain and temperature); site ``a``'s acceptance word in sweep ``t`` is word ``a`` of
the chain's Philox stream ``(seed, chain, purpose 2)`` from block ``t * ceil(N / 4)`` on. A sweep
costs ``s^2`` operator calls instead of the generic rule's ``N``. The per-site energies of the
current state are the rule's cache (``state.cache["site_energies"]``).
"""
from __future__ import annotations

import numpy as np

from ..acceptance import accept
from ..philox import LOCAL_STREAM, philox_words
from .base import NumpyRule, evaluate, initial_magnet
from .registry import RuleSpec, register_rule


def sublattice_spacing(L: int, radius: int) -> int:
    """Smallest divisor ``s`` of ``L`` with ``s >= 2 R + 1`` (``L`` itself, one site per step, if none)."""
    return next(s for s in range(2 * radius + 1, L + 1) if L % s == 0) if 2 * radius + 1 <= L else L


def block_sums(values: np.ndarray, spacing: int, offset: tuple[int, int]) -> np.ndarray:
    """Sums of ``values`` ``(B, L, L)`` over the ``s x s`` blocks centred on the sublattice sites.

    The sublattice is ``{(offset[0] + s u, offset[1] + s v)}``; the result ``(B, L/s, L/s)`` is
    indexed by ``(u, v)``.
    """
    B, L, _ = values.shape
    half = spacing // 2
    centred = np.roll(values, (half - offset[0], half - offset[1]), axis=(1, 2))
    return centred.reshape(B, L // spacing, spacing, L // spacing, spacing).sum(axis=(2, 4))


def expand_blocks(mask: np.ndarray, spacing: int, offset: tuple[int, int]) -> np.ndarray:
    """Inverse layout of :func:`block_sums`: ``(B, L/s, L/s)`` per-site values spread over their blocks."""
    half = spacing // 2
    spread = np.repeat(np.repeat(mask, spacing, axis=1), spacing, axis=2)
    return np.roll(spread, (offset[0] - half, offset[1] - half), axis=(1, 2))


class SublatticeFlip(NumpyRule):
    name = "sublattice"

    def __init__(self, operator, ensemble, backend):
        super().__init__(operator, ensemble, backend)
        self.spacing = sublattice_spacing(ensemble.L, operator.receptive_radius)

    def _site_energies(self, spins) -> np.ndarray:
        return evaluate(self.operator.site_energies, spins, spins.shape, "site_energies")

    def start(self, spins):
        site_energies = self._site_energies(spins)
        return {"energy": site_energies.sum(axis=(1, 2)), "magnet": initial_magnet(spins),
                "cache": {"site_energies": site_energies}}

    def sweep_once(self, state):
        G, L, N, s = state.spins.shape[0], self.ensemble.L, self.ensemble.N, self.spacing
        seed = self.ensemble.seed
        beta = self.ensemble.chain_betas[:, None, None]
        blocks = (N + 3) // 4
        words = philox_words(seed, np.arange(G), LOCAL_STREAM, state.sweeps_done * blocks, blocks)[:, :N].reshape(G, L, L)
        energies = state.cache["site_energies"]
        for sub in np.random.default_rng([seed, state.sweeps_done]).permutation(s * s):
            offset = (int(sub) // s, int(sub) % s)
            sites = (slice(None), slice(offset[0], None, s), slice(offset[1], None, s))
            proposed = state.spins.copy()
            proposed[sites] *= -1
            flipped = self._site_energies(proposed)
            ok = accept(words[sites], beta, block_sums(flipped - energies, s, offset))
            state.spins[sites] = np.where(ok, proposed[sites], state.spins[sites])
            energies = np.where(expand_blocks(ok, s, offset), flipped, energies)
            state.magnet += 2 * (proposed[sites].astype(np.int64) * ok).sum(axis=(1, 2))
            state.accepted += ok.sum(axis=(1, 2))
        state.cache["site_energies"] = energies
        state.energy = energies.sum(axis=(1, 2))


def _accepts(op) -> str | None:
    if not op.local:
        return ("backend 'local' needs an operator with .site_energies(configs) and an integer .receptive_radius; "
                f"{op.label} has not both")
    if op.spin_kind != "ising":
        return f"the sublattice rule flips +1/-1 spins; {op.label} takes angles"
    return None


register_rule(RuleSpec(name=SublatticeFlip.name, backends=("local",), accepts=_accepts, build=SublatticeFlip,
                       auto=lambda op, ens: "local", priority=5))
