"""The Metropolis acceptance rule and the random-number protocol shared by every proposal rule.

A proposal rule draws, for attempt ``i`` of sweep ``t`` of chain ``g``, a site, possibly a new
value, and a uniform 32-bit word ``r`` from the chain's Philox streams (:mod:`.philox`); the move,
with energy change ``dE``, is accepted iff

    r + 0.5 < (2^32 - 2^24) min(1, exp(-beta dE))

which is ``(1 - 2^-8) min(1, exp(-beta dE))`` to within ``2^-33``: Metropolis-Hastings for a
symmetric proposal, made lazy by the constant factor :data:`LAZINESS` (detailed balance holds for
any constant factor). Without it a sweep at acceptance 1 (``T -> inf``) flips exactly ``N`` spins,
the parity of the down spins is the same at every measurement, and the chain keeps the parity of
its start (``<|m|>`` 0.183 instead of 0.196 on the 4x4 torus at ``T = 1e6`` from the ordered start). This module is the only Python statement of that rule; the compiled kernels state it
once in ``csrc/metropolis_chain.hpp::metropolis_accept`` (the Ising kernels read it from the table
of :func:`ising_thresholds`).
"""
from __future__ import annotations

import numpy as np

from .philox import INITIAL_STREAM, philox_words


#: Fraction of moves rejected whatever their energy change (module docstring).
LAZINESS = 2.0**-8


def acceptance_scale(beta, dE) -> np.ndarray:
    """``(2^32 - 2^24) min(1, exp(-beta dE))``: a move is accepted iff ``r + 0.5`` is below it (``r`` a uint32 word)."""
    return (2.0**32 - 2.0**24) * np.exp(np.minimum(-np.asarray(beta) * dE, 0.0))


def accept(words, beta, dE) -> np.ndarray:
    """The Metropolis decision (bool array) of uint32 acceptance ``words`` for energy changes ``dE`` at ``beta``."""
    return np.asarray(words, dtype=np.float64) + 0.5 < acceptance_scale(beta, dE)


def ising_thresholds(betas: np.ndarray, J: float) -> np.ndarray:
    """Acceptance table ``(T, 5)`` uint64 of the compiled Ising kernels.

    Column ``k`` is for ``s_a * (sum of the four neighbours) = 2k - 4``, i.e. ``dE = J (4k - 8)``;
    ``r < table[t, k]`` is exactly :func:`accept` for integer ``r``.
    """
    dE = J * (4.0 * np.arange(5) - 8.0)
    return np.ceil(acceptance_scale(np.asarray(betas)[:, None], dE[None, :]) - 0.5).astype(np.uint64)


def random_sites(words: np.ndarray, L: int) -> np.ndarray:
    """Flat site indices of uint32 site words: row ``(w >> 16) L >> 16``, column ``(w & 0xffff) L >> 16``.

    Every site has a probability that does not depend on the configuration, so each attempt keeps
    detailed balance, and random sites (unlike a fixed sweep order) keep every chain irreducible.
    """
    w = np.asarray(words).astype(np.int64)
    return ((w >> 16) * L >> 16) * L + ((w & 0xFFFF) * L >> 16)


def uniform_angles(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Angles uniform in ``[0, pi)``: ``pi`` times the 53-bit fraction of two uint32 words (as the kernels)."""
    hi = np.asarray(hi).astype(np.uint64) >> np.uint64(5)
    lo = np.asarray(lo).astype(np.uint64) >> np.uint64(6)
    return np.pi * ((hi.astype(np.float64) * 67108864.0 + lo.astype(np.float64)) * 2.0**-53)


def initial_configurations(seed: int, chains: int, L: int, spin_kind: str = "ising") -> np.ndarray:
    """Random initial configurations ``(chains, L, L)`` from each chain's initial Philox stream.

    +1/-1 spins (int8): spin ``a`` is +1 iff the top bit of word ``a`` is set. Angles (float64):
    site ``a`` gets :func:`uniform_angles` of words ``2a`` and ``2a + 1``.
    """
    N = L * L
    per_site = 2 if spin_kind == "angle" else 1
    words = philox_words(seed, np.arange(chains, dtype=np.int64), INITIAL_STREAM, 0, (per_site * N + 3) // 4)
    if spin_kind == "angle":
        return uniform_angles(words[:, 0 : 2 * N : 2], words[:, 1 : 2 * N : 2]).reshape(chains, L, L)
    return np.where(words[:, :N] >> 31, 1, -1).astype(np.int8).reshape(chains, L, L)
