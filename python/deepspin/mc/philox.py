"""Philox4x32-10 streams of the Monte Carlo engine, from the compiled core or, where it is missing, NumPy.

Counter-based random numbers (Salmon et al., SC11): word block ``b`` of stream ``(seed, chain,
purpose)`` is Philox4x32-10 of the counter ``(b mod 2^32, b >> 32, chain, purpose)`` under the key
``(seed mod 2^32, seed >> 32)``; ``csrc/philox.hpp`` is the compiled twin. The purposes
(:data:`SWEEP_STREAM` ...) keep the streams of one chain apart; 4 and 5 are drawn only in Python
(the exact stages of :mod:`.policies`).
"""
from __future__ import annotations

import numpy as np

from ..backends.compiled import _core

#: Purposes (the fourth counter word), the same numbers as ``csrc/philox.hpp``.
SWEEP_STREAM = 0  # single flips: (site, acceptance) word pairs, two attempts per block
INITIAL_STREAM = 1  # random initial configurations
LOCAL_STREAM = 2  # sublattice rule: one acceptance word per site and sweep
ANGLE_STREAM = 3  # angle moves: one block (site, angle hi, angle lo, acceptance) per attempt
DELAYED_STREAM = 4  # delayed acceptance, stage 2: one word per attempt, ceil(N / 4) blocks per sweep
CUMULATIVE_STREAM = 5  # cumulative updates: one exact decision (word 0 of block t) per step t

_M0, _M1 = np.uint64(0xD2511F53), np.uint64(0xCD9E8D57)
_W0, _W1 = 0x9E3779B9, 0xBB67AE85
_LOW = np.uint64(0xFFFFFFFF)


def _numpy_words(seed: int, chains: np.ndarray, purpose: int, first_block: int, n_blocks: int) -> np.ndarray:
    """NumPy Philox4x32-10, the same words as ``_core.philox_words``."""
    blocks = np.uint64(first_block) + np.arange(n_blocks, dtype=np.uint64)
    shape = (len(chains), n_blocks)
    x0 = np.broadcast_to(blocks & _LOW, shape).astype(np.uint64)
    x1 = np.broadcast_to(blocks >> np.uint64(32), shape).astype(np.uint64)
    x2 = np.broadcast_to((chains.astype(np.uint64) & _LOW)[:, None], shape).astype(np.uint64)
    x3 = np.full(shape, purpose & 0xFFFFFFFF, dtype=np.uint64)
    k0, k1 = seed & 0xFFFFFFFF, (seed >> 32) & 0xFFFFFFFF
    for _ in range(10):
        p0, p1 = _M0 * x0, _M1 * x2
        x0, x1, x2, x3 = ((p1 >> np.uint64(32)) ^ x1 ^ np.uint64(k0), p1 & _LOW,
                          (p0 >> np.uint64(32)) ^ x3 ^ np.uint64(k1), p0 & _LOW)
        k0, k1 = (k0 + _W0) & 0xFFFFFFFF, (k1 + _W1) & 0xFFFFFFFF
    return np.stack([x0, x1, x2, x3], axis=-1).astype(np.uint32).reshape(len(chains), 4 * n_blocks)


def philox_words(seed: int, chains, purpose: int, first_block: int, n_blocks: int) -> np.ndarray:
    """Words ``4 first_block .. 4 (first_block + n_blocks) - 1`` of each chain's stream: ``(G, 4 n_blocks)`` uint32."""
    chains = np.ascontiguousarray(chains, dtype=np.int64)
    if _core is not None:
        return _core.philox_words(seed, chains, purpose, first_block, n_blocks)
    return _numpy_words(int(seed), chains, int(purpose), int(first_block), int(n_blocks))
