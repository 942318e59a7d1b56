"""Every acceptance rule of the Monte Carlo core, and the random-number protocol shared by the proposal rules.

Rules propose, this module decides. A proposal rule draws, for attempt ``i`` of sweep ``t`` of chain
``g``, a site, possibly a new value, and a uniform 32-bit word ``r`` from the chain's Philox streams
(:mod:`.philox`); the move, with energy change ``dE``, is accepted iff

    r + 0.5 < (2^32 - 2^24) min(1, exp(-beta dE))

which is ``(1 - 2^-8) min(1, exp(-beta dE))`` to within ``2^-33``: Metropolis-Hastings for a
symmetric proposal (:func:`accept`), made lazy by the constant factor :data:`LAZINESS` (detailed
balance holds for any constant factor). Without it a sweep at acceptance 1 (``T -> inf``) flips
exactly ``N`` spins, the parity of the down spins is the same at every measurement, and the chain
keeps the parity of its start (``<|m|>`` 0.183 instead of 0.196 on the 4x4 torus at ``T = 1e6``
from the ordered start). The compiled kernels state it once in
``csrc/metropolis_chain.hpp::metropolis_accept``, the Ising kernels read it from the table of
:func:`ising_thresholds`, and the multispin kernels from :func:`multispin_thresholds`.

With a surrogate energy ``Ê`` beside the exact ``E`` (:mod:`.policies`), the exact stage accepts
with the same rule applied to the *residual* energy change ``dE - dÊ``, without the laziness (the
first stage or the inner chain is lazy already, and a perfect surrogate then accepts every move):

- delayed acceptance (Christen & Fox 2005): a single-site move passes stage 1 with
  ``min(1, exp(-beta dÊ))`` (:func:`accept`) and stage 2 with ``min(1, exp(-beta (dE - dÊ)))``
  (:func:`delayed_second_stage`); the product of the two is Metropolis-Hastings for
  ``exp(-beta E)``;
- cumulative updates (self-learning Monte Carlo, Liu et al. 2017): ``n`` sweeps under ``Ê`` carry
  ``s`` to ``s'``; the end state is accepted with ``min(1, exp(-beta [(E' - E) - (Ê' - Ê)]))``
  (:func:`cumulative_correction`).
"""
from __future__ import annotations

import numpy as np

from .philox import INITIAL_STREAM, philox_words


#: Fraction of moves rejected whatever their energy change (module docstring).
LAZINESS = 2.0**-8


def acceptance_scale(beta, dE, laziness: float = LAZINESS) -> np.ndarray:
    """``2^32 (1 - laziness) min(1, exp(-beta dE))``: a move is accepted iff ``r + 0.5`` is below it (``r`` a uint32 word)."""
    return 2.0**32 * (1.0 - laziness) * np.exp(np.minimum(-np.asarray(beta) * dE, 0.0))


def accept(words, beta, dE, laziness: float = LAZINESS) -> np.ndarray:
    """The Metropolis decision (bool array) of uint32 acceptance ``words`` for energy changes ``dE`` at ``beta``.

    ``laziness``: the fraction of moves refused whatever ``dE`` (module docstring); the exact stages
    of the surrogate policies pass 0, since their first stage or inner chain is lazy already.
    """
    return np.asarray(words, dtype=np.float64) + 0.5 < acceptance_scale(beta, dE, laziness)


def delayed_second_stage(words, beta, dE, dE_surrogate) -> np.ndarray:
    """Stage 2 of delayed acceptance: accept a stage-1 survivor with ``min(1, exp(-beta (dE - dE_surrogate)))``.

    With stage 1 ``min(1, exp(-beta dÊ))`` under the surrogate, the two-stage probability
    ``a(s -> s') = min(1, e^{-beta dÊ}) min(1, e^{-beta (dE - dÊ)})`` satisfies
    ``e^{-beta E(s)} a(s -> s') = e^{-beta E(s')} a(s' -> s)`` for a symmetric proposal (both sides
    are ``min`` of the same products), whatever ``Ê`` is: detailed balance for the exact energy.
    """
    return accept(words, beta, np.asarray(dE) - np.asarray(dE_surrogate), laziness=0.0)


def cumulative_correction(words, beta, dE, dE_surrogate) -> np.ndarray:
    """The exact decision of a cumulative update ``s -> s'``: ``min(1, exp(-beta [(E' - E) - (Ê' - Ê)]))``.

    ``dE = E(s') - E(s)``, ``dE_surrogate = Ê(s') - Ê(s)``. If the inner chain's kernel ``P`` is
    reversible w.r.t. ``exp(-beta Ê)``, then ``P(s -> s') / P(s' -> s) = exp(-beta dÊ)`` and this is
    Metropolis-Hastings with proposal ``P^n`` for ``exp(-beta E)`` (:mod:`.policies`).
    """
    return accept(words, beta, np.asarray(dE) - np.asarray(dE_surrogate), laziness=0.0)


def ising_thresholds(betas: np.ndarray, J: float) -> np.ndarray:
    """Acceptance table ``(T, 5)`` uint64 of the compiled Ising kernels.

    Column ``k`` is for ``s_a * (sum of the four neighbours) = 2k - 4``, i.e. ``dE = J (4k - 8)``;
    ``r < table[t, k]`` is exactly :func:`accept` for integer ``r``.
    """
    dE = J * (4.0 * np.arange(5) - 8.0)
    return np.ceil(acceptance_scale(np.asarray(betas)[:, None], dE[None, :]) - 0.5).astype(np.uint64)


#: Bits per random threshold of the multispin kernels (and most random words per decision).
THRESHOLD_BITS = 32


def multispin_thresholds(betas, J: float) -> np.ndarray:
    """``(len(betas), 2)`` uint64 thresholds of the multispin kernels (:mod:`.multispin`).

    ``round(2^32 exp(-4 beta |J| k))`` for ``k = 1, 2`` (column ``k - 1``: ``c = k + 2`` bad
    neighbours, ``dE = 4 |J| k``), clipped to ``2^32 - 1``; a move with ``c <= 2`` (``dE <= 0``) is
    always accepted. A uniform 32-bit ``U`` below the threshold accepts: the Metropolis probability
    to within ``2^-32``.
    """
    betas = np.asarray(betas, dtype=np.float64)
    p = np.exp(-4.0 * abs(J) * betas[:, None] * np.array([1.0, 2.0]))
    return np.minimum(np.floor(2.0**THRESHOLD_BITS * p + 0.5), 2.0**THRESHOLD_BITS - 1).astype(np.uint64)


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
