"""Exact joint density of states ``g(E, M)`` of the Ising torus by a transfer matrix, and ``<|m|>`` from it.

``g(E, M)`` counts the configurations of the ``L x L`` periodic Ising model (``J = 1``,
``E = -sum_<ij> s_i s_j`` over the ``2N`` bonds, ``M = sum_i s_i``) with energy ``E`` and
magnetization ``M``. Enumeration costs ``2^N``; here the lattice is built one spin at a time
("broken-row" transfer matrix): for each first row ``a`` the state is the front of the last ``L``
spins added, each carrying a table of counts over (unsatisfied bonds ``u``, up spins ``n``), and adding
a spin shifts each table by the bonds it closes (left, above, the periodic right neighbour at the end
of a row, and row ``a`` below when it completes the last row). Summing over the first rows closes the
torus. Cost ``~ 2^L (L/(4L)) L^2 2^L`` table shifts: seconds for L = 8, minutes for L = 10.

First rows related by a cyclic shift or a reflection of the columns give the same table (the whole
configuration shifts or reflects with them); a global spin flip mirrors ``M``. So one row per orbit
is propagated and weighted by its orbit's size.

Counts are exact integers. The propagation only adds, in ``uint64``: where the ``2^(N - L)`` tori of
one first row fit (``N - L < 64``, L <= 8) that is exact as it stands; beyond, it runs twice, modulo
``2^64`` (wrap-around) and modulo the prime ``2^61 - 1``, combined by the Chinese remainder theorem
(exact below ``2^125``, so for ``N <= 124``).
"""
from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import math

import numpy as np

from ..validation import check_temperatures

_PRIME = (1 << 61) - 1
#: Largest L: the CRT of the two moduli is exact below 2^125 (N = L^2 <= 124).
MAX_L = 11


@dataclasses.dataclass(frozen=True)
class DensityOfStates:
    """``counts[i, j]``: configurations with energy ``energies[i]`` and magnetization ``magnetizations[j]``
    (Python ints in an object array ``(len(energies), len(magnetizations))``; rows and columns that are
    zero everywhere are dropped)."""

    L: int
    energies: np.ndarray
    magnetizations: np.ndarray
    counts: np.ndarray

    @property
    def N(self) -> int:
        return self.L * self.L

    def total(self) -> int:
        """Sum of all counts (``2^N``)."""
        return int(sum(int(c) for c in self.counts.ravel()))

    def energy_counts(self) -> np.ndarray:
        """``g(E)``: counts summed over ``M``, object array of Python ints."""
        return np.array([sum(int(c) for c in row) for row in self.counts], dtype=object)


def _orbits(L: int) -> list[tuple[int, int, bool]]:
    """``(row, orbit size under shifts and reflections, flipped row in the same orbit)`` for one row
    of each orbit of the dihedral group acting on the ``2^L`` rows (bit ``j`` = column ``j`` is up)."""
    full = (1 << L) - 1

    def images(row):
        bits = [(row >> j) & 1 for j in range(L)]
        out = set()
        for shift in range(L):
            rotated = bits[shift:] + bits[:shift]
            for candidate in (rotated, rotated[::-1]):
                out.add(sum(b << j for j, b in enumerate(candidate)))
        return out

    seen, orbits = set(), []
    for row in range(1 << L):
        if row in seen:
            continue
        orbit = images(row)
        flipped = row ^ full
        seen |= orbit
        if flipped not in orbit:
            seen |= images(flipped)
        orbits.append((row, len(orbit), flipped in orbit))
    return orbits


def _propagate(L: int, first: int, modulus: int | None) -> np.ndarray:
    """Counts ``(2N + 1, N + 1)`` over (unsatisfied bonds, up spins) of all tori with first row ``first``,
    modulo ``modulus`` (``None``: modulo 2^64 by uint64 wrap-around).

    The table has one axis of length 2 per column of the front (the spin there: 0 down, 1 up), then
    the ``u`` and ``n`` axes, so every update is a slice (a view), not a gather.
    """
    N = L * L
    a = [(first >> j) & 1 for j in range(L)]
    table = np.zeros((2,) * L + (2 * N + 5, N + 2), dtype=np.uint64)  # margins: a shift never leaves the array
    u_max, n_max = sum(a[j] != a[(j + 1) % L] for j in range(L)), sum(a)
    table[tuple(a)][u_max, n_max] = 1
    for r in range(1, L):
        for j in range(L):
            new = np.zeros_like(table)
            for t, above, left, right in itertools.product((0, 1), repeat=4):
                if (j == 0 and left) or (j < L - 1 and right) or (j == 1 == L - 1 and left != right):
                    continue  # no left neighbour yet / no wrap bond yet / L = 2: left and right are one spin
                index = [slice(None)] * L
                index[j] = above
                if j > 0:
                    index[j - 1] = left
                if j == L - 1 and L > 2:
                    index[0] = right
                d = int(t != above) + (j > 0) * int(left != t) + (j == L - 1) * int(right != t) \
                    + (r == L - 1) * int(a[j] != t)
                target = list(index)
                target[j] = t
                new[tuple(target)][..., d: d + u_max + 1, t: t + n_max + 1] += \
                    table[tuple(index)][..., : u_max + 1, : n_max + 1]
            if modulus is not None:
                np.subtract(new, np.uint64(modulus), out=new, where=new >= modulus)
            table = new
            u_max += 1 + (j > 0) + (j == L - 1) + (r == L - 1)  # the bonds this spin closed
            n_max += 1
    flat = table.reshape(-1, *table.shape[L:])
    total = flat.sum(axis=0, dtype=np.uint64) if modulus is None else _sum_mod(flat, modulus)
    return total[: 2 * N + 1, : N + 1]


def _sum_mod(table: np.ndarray, modulus: int) -> np.ndarray:
    out = np.zeros(table.shape[1:], dtype=np.uint64)
    for state in table:
        out += state
        np.subtract(out, np.uint64(modulus), out=out, where=out >= modulus)
    return out


def _combine(wrapped: np.ndarray, prime: np.ndarray) -> np.ndarray:
    """The integers ``x < 2^64 p`` with ``x = wrapped (mod 2^64)`` and ``x = prime (mod p)``."""
    inverse = pow(1 << 64, -1, _PRIME)
    out = np.empty(wrapped.shape, dtype=object)
    for index in np.ndindex(wrapped.shape):
        r1, r2 = int(wrapped[index]), int(prime[index])
        out[index] = r1 + (1 << 64) * (((r2 - r1) * inverse) % _PRIME)
    return out


@functools.lru_cache(maxsize=4)
def ising_density_of_states(L: int) -> DensityOfStates:
    """Exact ``g(E, M)`` of the ``L x L`` Ising torus (``J = 1``), ``2 <= L <= MAX_L``."""
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or not 2 <= L <= MAX_L:
        raise ValueError(f"L must be an integer in [2, {MAX_L}] for the transfer matrix, got {L!r}")
    L = int(L)
    N = L * L
    total = np.zeros((2 * N + 1, N + 1), dtype=object)
    total[:] = 0
    for row, size, self_flipped in _orbits(L):
        wrapped = _propagate(L, row, None)
        if N - L < 64:  # all tori with this first row number 2^(N - L): no count can wrap around
            counts = wrapped.astype(object)
        else:
            counts = _combine(wrapped, _propagate(L, row, _PRIME))
        total += size * counts
        if not self_flipped:  # the flipped rows: the same tables with up and down exchanged
            total += size * counts[:, ::-1]
    u = np.arange(2 * N + 1)
    n = np.arange(N + 1)
    keep_u = np.array([any(c != 0 for c in total[i]) for i in u])
    keep_n = np.array([any(c != 0 for c in total[:, j]) for j in n])
    return DensityOfStates(L, (2 * u - 2 * N)[keep_u], (2 * n - N)[keep_n], total[np.ix_(keep_u, keep_n)])


def thermodynamics(dos: DensityOfStates, temperatures, J: float = 1.0) -> dict:
    """Exact ``<E>/N``, ``C/N``, ``<|m|>`` and ``<m^2>`` against ``T`` from ``g(E, M)`` (``E`` scaled by ``J``).

    Returns a dict of ``(n_T,)`` float64 arrays: ``T``, ``E_per_site``, ``C_per_site``, ``absm``, ``m2``.
    """
    T = check_temperatures(np.atleast_1d(np.asarray(temperatures, dtype=np.float64)))
    E = J * dos.energies.astype(np.float64)
    m = np.abs(dos.magnetizations.astype(np.float64)) / dos.N
    # log g without overflow: counts reach 2^N
    log_g = np.array([[math.log(int(c)) if c else -np.inf for c in row] for row in dos.counts])
    out = {"T": T, "E_per_site": [], "C_per_site": [], "absm": [], "m2": []}
    for t in T:
        log_w = log_g - (E - E.min())[:, None] / t  # from the ground state up: no inf - inf as T -> 0
        w = np.exp(log_w - log_w.max())
        z = w.sum()
        pe = w.sum(axis=1) / z
        pm = w.sum(axis=0) / z
        mean_e = pe @ E
        out["E_per_site"].append(mean_e / dos.N)
        out["C_per_site"].append((pe @ (E - mean_e) ** 2) / t / t / dos.N)  # t * t underflows for t < 1e-154
        out["absm"].append(pm @ m)
        out["m2"].append(pm @ m**2)
    return {k: (np.asarray(v, dtype=np.float64) if k != "T" else v) for k, v in out.items()}


def density_of_states_json(H) -> str:
    """``g(E, M)`` of the Ising torus ``H`` as JSON: ``L``, ``J``, ``energies`` (in units of ``J``: multiply by
    ``J`` for the energy), ``magnetizations`` and ``counts`` (decimal strings: they exceed 2^53)."""
    if type(H).__name__ != "Ising":
        raise ValueError(f"the transfer matrix counts Ising configurations, not {H!r}")
    dos = ising_density_of_states(H.L)
    return json.dumps({"L": dos.L, "J": H.J, "energies": dos.energies.tolist(),
                       "magnetizations": dos.magnetizations.tolist(),
                       "counts": [[str(int(c)) for c in row] for row in dos.counts]}) + "\n"
