"""Periodic-lattice geometry: image vectors, folded kernels and dense pair matrices (NumPy).

SPEC section 2: a pair-kernel energy is

    E = (J/2) sum_{a, b in cell} sum_{n in Z^2} s_a s_b f(|r_b - r_a + L n|),

where a term is kept iff ``0 < dx^2 + dy^2 <= rcut^2``. Writing ``v = r_b - r_a + L n``, every
term is one (site ``a``, lattice vector ``v``) pair with ``0 < |v| <= rcut``, and ``b`` is the site
``a + v`` reduced modulo ``L``; the set of such ``v`` is :func:`image_vectors`.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .memory import require


def within_cutoff(norm2, rcut: float):
    """Inclusion rule ``0 < |v|^2 <= rcut^2``, in exact integer arithmetic for an integer ``rcut``."""
    norm2 = np.asarray(norm2)
    if float(rcut).is_integer():
        limit = int(rcut) ** 2
        return (norm2 > 0) & (norm2 <= limit)
    return (norm2 > 0) & (norm2 <= float(rcut) ** 2)


@lru_cache(maxsize=32)
def _image_vectors(rcut: float) -> np.ndarray:
    reach = int(math.floor(rcut))
    # the (2 reach + 1)^2 grid: two int64 coordinates, their squared norm and a mask (~25 B a point)
    require(25.0 * (2 * reach + 1) ** 2, f"the image vectors of rcut = {rcut:g}",
            "give a smaller --rcut (the default is 8L; the screened interactions decay well before)")
    axis = np.arange(-reach, reach + 1, dtype=np.int64)
    dx, dy = np.meshgrid(axis, axis, indexing="ij")
    keep = within_cutoff(dx * dx + dy * dy, rcut)
    vectors = np.stack([dx[keep], dy[keep]], axis=1).astype(np.int32)
    vectors.setflags(write=False)
    return vectors


def image_vectors(rcut: float) -> np.ndarray:
    """All integer lattice vectors ``(dx, dy)`` with ``0 < dx^2 + dy^2 <= rcut^2``, as ``(n, 2)`` int32.

    ``dx`` runs along rows, ``dy`` along columns. The set is symmetric under ``v -> -v`` and the
    90-degree rotations, and does not depend on ``L``: each vector is one periodic image term
    per site.
    """
    return _image_vectors(float(rcut))


def term_count(L: int, rcut: float) -> int:
    """Number of ordered (site, image) terms of the explicit sum for one ``L x L`` configuration."""
    return L * L * len(image_vectors(rcut))


def vector_norms(vectors: np.ndarray) -> np.ndarray:
    """Euclidean lengths ``|v|`` of integer vectors, float64."""
    v = vectors.astype(np.float64)
    return np.sqrt(v[:, 0] ** 2 + v[:, 1] ** 2)


def folded_kernel(L: int, weights: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """Fold per-vector weights ``f(|v|)`` into the periodic kernel ``K`` of shape ``(L, L)``.

    ``K[dx mod L, dy mod L] = sum over vectors v with that residue of f(|v|)``; it includes a
    site's interaction with its own images (``K[0, 0]``, from ``v = L n, n != 0``).
    The sum is accumulated in float64.
    """
    index = (vectors[:, 0] % L) * L + (vectors[:, 1] % L)
    return np.bincount(index, weights=weights, minlength=L * L).reshape(L, L)


def pair_matrix(kernel: np.ndarray) -> np.ndarray:
    """Dense ``N x N`` matrix ``M[a, b] = K[(r_b - r_a) mod L, (c_b - c_a) mod L]`` of a folded kernel.

    With it the pair energy of a configuration ``s`` (flattened, C order) is ``(J/2) s^T M s``.
    """
    L = kernel.shape[0]
    N = L * L
    require(24.0 * N * N, f"the dense {N} x {N} pair matrix of L = {L} (float64 plus two index arrays)",
            "pair models keep it for single-flip updates: use a smaller L, or the FFT energy path (energies "
            "of whole configurations, `deepspin energy`), which needs no matrix")
    rows, cols = np.divmod(np.arange(L * L), L)
    dr = (rows[None, :] - rows[:, None]) % L
    dc = (cols[None, :] - cols[:, None]) % L
    return kernel[dr, dc]
