"""Sublattice-parallel Metropolis for operators with a finite range (``backend="local"``).

A *local* operator writes the energy as a sum of per-site terms, ``E = sum_i e_i``, where ``e_i``
depends only on the spins within Chebyshev distance ``R`` of site ``i`` on the torus (the
receptive radius): a fully convolutional surrogate with periodic padding (``--arch extensive``)
is one, and so is the nearest-neighbour Ising energy ``e_i = -J s_i (s_{i+x} + s_{i+y})`` (R = 1).
It exposes ``.site_energies(configs) -> (B, L, L)`` and ``.receptive_radius``.

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
the chain's Philox stream ``(seed, chain, purpose 2)`` from block ``t * ceil(N / 4)`` on, and a flip
is accepted iff ``r + 0.5 < 2^32 min(1, exp(-dE / T))`` as on the other paths. A sweep costs ``s^2``
operator calls instead of the generic path's ``N``.
"""
from __future__ import annotations

from numbers import Integral

import numpy as np

from .. import _core
from ..validation import check_operator_output
from .metropolis import ChainState, _GenericSampler, acceptance_scale

_LOCAL_STREAM = 2


def is_local_operator(model) -> bool:
    """True if ``model`` has ``site_energies`` and an integer ``receptive_radius``."""
    radius = getattr(model, "receptive_radius", None)
    return callable(getattr(model, "site_energies", None)) and isinstance(radius, Integral) and radius >= 0


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


class LocalSampler(_GenericSampler):
    """Metropolis with a local operator: ``s^2`` batched operator calls per sweep (module docstring)."""

    path = "local"

    def __init__(self, operator, magnetization, betas, chains, plan, L: int):
        super().__init__(operator.site_energies, magnetization, betas, chains, plan)
        self.radius = int(operator.receptive_radius)
        self.spacing = sublattice_spacing(L, self.radius)
        self.site_energies = None  # (G, L, L), the operator's per-site energies of the current state

    def initial(self, spins):
        self.site_energies = self._evaluate(spins)
        return {"energy": self.site_energies.sum(axis=(1, 2))}

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        G, L = state.spins.shape[0], state.spins.shape[1]
        if self.site_energies is None:  # resumed from a checkpoint
            self.site_energies = self._evaluate(state.spins)
        s, N, plan = self.spacing, L * L, self.plan
        chains = np.arange(G, dtype=np.int64)
        blocks = (N + 3) // 4
        beta = self.beta[:, None, None]
        for _ in range(n_sweeps):
            words = _core.philox_words(plan.seed, chains, _LOCAL_STREAM, state.sweeps_done * blocks, blocks)
            thresholds = (words[:, :N].astype(np.float64) + 0.5).reshape(G, L, L)
            order = np.random.default_rng([plan.seed, state.sweeps_done]).permutation(s * s)
            for sub in order:
                offset = (int(sub) // s, int(sub) % s)
                sites = (slice(None), slice(offset[0], None, s), slice(offset[1], None, s))
                proposed = state.spins.copy()
                proposed[sites] *= -1
                flipped_energies = self._evaluate(proposed)
                dE = block_sums(flipped_energies - self.site_energies, s, offset)
                accept = thresholds[sites] < acceptance_scale(beta, dE)
                state.spins[sites] = np.where(accept, proposed[sites], state.spins[sites])
                self.site_energies = np.where(expand_blocks(accept, s, offset), flipped_energies, self.site_energies)
                state.magnet += 2 * (proposed[sites].astype(np.int64) * accept).sum(axis=(1, 2))
                state.accepted += accept.sum(axis=(1, 2))
            state.energy = self.site_energies.sum(axis=(1, 2))
            state.sweeps_done += 1
            if state.sweeps_done > plan.burn_in and (state.sweeps_done - plan.burn_in) % plan.interval == 0:
                self._record(state)

    def _evaluate(self, spins) -> np.ndarray:
        """Per-site energies ``(G, L, L)`` float64 of a batch, checked finite and of the right shape."""
        return check_operator_output(self.operator(spins), spins.shape, "site_energies")
