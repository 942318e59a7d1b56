"""Readable array reference for every Hamiltonian (NumPy, and CuPy through the same code).

The functions take the array module ``xp`` so that :mod:`deepspin.backends.cupy_backend` runs the
very same formulas on a GPU.
"""
from __future__ import annotations

import numpy as np

from ..lattice import pair_matrix
from .base import Backend

#: Up to this many sites the kernel method uses the dense N x N matrix (8 MiB at N = 1024); above,
#: a circular correlation by FFT (memory O(N)).
DENSE_MAX_SITES = 1024
#: Bound on the elements of a temporary (configs x sites x vectors) gather in the explicit sum.
GATHER_ELEMENTS = 1 << 24


def ising_energy(xp, spins, J):
    """``E = -J sum s[r,c] (s[r+1,c] + s[r,c+1])``, periodic, exact in integers."""
    s = spins.astype(xp.int32)
    bonds = s * (xp.roll(s, -1, axis=1) + xp.roll(s, -1, axis=2))
    return -J * bonds.sum(axis=(1, 2)).astype(xp.float64)


def potts_energy(xp, theta, J):
    """``E = J sum [cos(t[r,c] - t[r+1,c]) + cos(t[r,c] - t[r,c+1])]``, periodic."""
    down = xp.cos(theta - xp.roll(theta, -1, axis=1))
    right = xp.cos(theta - xp.roll(theta, -1, axis=2))
    return J * (down + right).sum(axis=(1, 2))


def pair_kernel_energy(xp, spins, kernel, J, dtype):
    """``E = (J/2) s^T M s`` with the dense matrix of the folded kernel, or by FFT for large N."""
    B, L, _ = spins.shape
    N = L * L
    x = spins.reshape(B, N).astype(dtype)
    if N <= DENSE_MAX_SITES:
        M = xp.asarray(pair_matrix(np.asarray(kernel)), dtype=dtype)
        return 0.5 * J * xp.einsum("ij,ij->i", x @ M, x).astype(xp.float64)
    # field_a = sum_d K[d] s_{a+d}: a circular correlation; K is symmetric, so the product of the
    # transforms is the convolution theorem with a real kernel spectrum.
    k_hat = xp.fft.rfft2(xp.asarray(kernel, dtype=xp.float64))
    field = xp.fft.irfft2(xp.fft.rfft2(spins.astype(xp.float64)) * k_hat, s=(L, L))
    return 0.5 * J * (spins.astype(xp.float64) * field).sum(axis=(1, 2))


def pair_explicit_energy(xp, spins, vectors, weights, J, dtype):
    """``E = (J/2) sum_a sum_v f(|v|) s_a s_{a+v}``: one gathered term per (site, image vector)."""
    B, L, _ = spins.shape
    N = L * L
    flat = spins.reshape(B, N)
    rows, cols = np.divmod(np.arange(N), L)
    v = np.asarray(vectors)
    w_all = xp.asarray(weights, dtype=dtype)
    fields = xp.zeros((B, N), dtype=dtype)
    step = max(1, GATHER_ELEMENTS // max(1, B * N))
    for start in range(0, len(v), step):
        vv = v[start : start + step]
        partner = ((rows[:, None] + vv[None, :, 0]) % L) * L + (cols[:, None] + vv[None, :, 1]) % L
        gathered = flat[:, xp.asarray(partner)].astype(dtype)  # (B, N, n_vectors in this step)
        fields += gathered @ w_all[start : start + step]
    return 0.5 * J * (flat.astype(dtype) * fields).sum(axis=1).astype(xp.float64)


class NumpyBackend(Backend):
    """The readable NumPy reference (float64 by default; float32 on request)."""

    name = "numpy"

    def status(self):
        return True, ""

    def ising(self, spins, J):
        return ising_energy(np, spins, J)

    def potts(self, theta, J):
        return potts_energy(np, theta, J)

    def pair_kernel(self, spins, kernel, J, fp32):
        return pair_kernel_energy(np, spins, kernel, J, np.float32 if fp32 else np.float64)

    def pair_explicit(self, spins, vectors, weights, model, k, J, fp32):
        return pair_explicit_energy(np, spins, vectors, weights, J, np.float32 if fp32 else np.float64)
