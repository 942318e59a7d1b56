"""Every configuration of a small lattice, in the order fixed by SPEC section 5.

Configuration ``i`` (``0 <= i < 2^N``) has spin +1 at site ``j`` (C order) iff bit ``N - 1 - j``
of ``i`` is set: site 0 is the most significant bit. This is the lexicographic order of the
packed bytes ``numpy.packbits(s > 0, bitorder="big")`` of SPEC section 4.
"""
from __future__ import annotations

import numpy as np

from .validation import check_lattice_size

#: Largest number of sites that may be enumerated (2^25 configurations).
MAX_SITES = 25


def count(L: int) -> int:
    """Number of configurations ``2^(L*L)`` of an ``L x L`` lattice, checked against :data:`MAX_SITES`."""
    L = check_lattice_size(L, minimum=1)
    if L * L > MAX_SITES:
        raise ValueError(
            f"enumeration covers N = L*L <= {MAX_SITES} sites (2^{MAX_SITES} configurations); "
            f"L={L} has N={L * L}. Use a sampler instead."
        )
    return 1 << (L * L)


def configurations(L: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Configurations ``start .. stop-1`` of the enumeration as int8 ``(stop - start, L, L)``."""
    total = count(L)
    stop = total if stop is None else stop
    if not 0 <= start <= stop <= total:
        raise ValueError(f"need 0 <= start <= stop <= {total}, got start={start}, stop={stop}")
    N = L * L
    index = np.arange(start, stop, dtype=np.int64)
    shifts = np.arange(N - 1, -1, -1, dtype=np.int64)
    bits = (index[:, None] >> shifts[None, :]) & 1
    return (2 * bits - 1).astype(np.int8).reshape(-1, L, L)


def chunks(L: int, size: int = 1 << 16):
    """Yield the whole enumeration in chunks of at most ``size`` configurations."""
    total = count(L)
    for first in range(0, total, size):
        yield configurations(L, first, min(total, first + size))


def index(configs) -> np.ndarray:
    """Position of each +1/-1 configuration ``(B, L, L)`` in the enumeration (the inverse of :func:`configurations`)."""
    configs = np.asarray(configs)
    N = configs.shape[-1] * configs.shape[-2]
    count(configs.shape[-1])
    bits = (configs.reshape(-1, N) > 0).astype(np.int64)
    return bits @ (np.int64(1) << np.arange(N - 1, -1, -1, dtype=np.int64))
