"""Exact thermodynamic references for the Monte Carlo engine (SPEC section 6, k_B = 1).

- :func:`enumerate_thermodynamics`: any Hamiltonian of the engine with ``N = L*L <= 25`` sites, by
  summing Boltzmann weights over all ``2^N`` configurations (:mod:`deepspin.enumeration`).
- :func:`ising_torus`: the nearest-neighbour Ising model on the finite ``L x L`` torus, from
  Kaufman's exact partition function (B. Kaufman, Phys. Rev. 76, 1232 (1949); A. E. Ferdinand and
  M. E. Fisher, Phys. Rev. 185, 832 (1969)), for any ``L``:

  ``Z = 1/2 (2 sinh 2K)^(N/2) [P1 + P2 + P3 + P4]``, ``K = J/T``, with
  ``P1 = prod_r 2cosh(L g_(2r+1)/2)``, ``P2 = prod_r 2sinh(L g_(2r+1)/2)``,
  ``P3 = prod_r 2cosh(L g_(2r)/2)``, ``P4 = prod_r 2sinh(L g_(2r)/2)`` (``r = 0 .. L-1``),
  ``cosh g_k = cosh 2K coth 2K - cos(pi k / L)`` for ``k >= 1`` and ``g_0 = 2K + ln tanh K``
  (negative above the critical temperature, so ``P4`` changes sign there).

  ``ln Z`` is evaluated in log space (log-cosh, log-sinh, a shared scale for the four products) and
  differentiated analytically in ``beta`` by second-order forward-mode differentiation, giving
  ``<E> = -d ln Z / d beta`` and ``C = beta^2 d^2 ln Z / d beta^2`` to rounding error at any ``L``.
- :func:`specific_heat_peak`: the temperature of the specific-heat maximum of the ``L x L`` torus
  (the finite-size pseudo-critical temperature, ``gamma * Tc`` in the paper).
"""
from __future__ import annotations

import math

import numpy as np

from .. import enumeration
from ..hamiltonians import Hamiltonian, Ising
from ..validation import check_lattice_size, check_real
from ..validation import check_temperatures

#: Onsager's critical temperature of the infinite square lattice, ``2 J / ln(1 + sqrt 2)``.
T_CRITICAL = 2.0 / math.log1p(math.sqrt(2.0))


class _Jet:
    """A function of ``beta`` with its first and second derivatives (forward-mode, second order)."""

    __slots__ = ("v", "d", "dd")
    __array_ufunc__ = None  # NumPy arrays defer to the jet's reflected operators

    def __init__(self, v, d, dd):
        self.v, self.d, self.dd = v, d, dd

    @staticmethod
    def _lift(other):
        return other if isinstance(other, _Jet) else _Jet(other, 0.0, 0.0)

    def __add__(self, other):
        o = self._lift(other)
        return _Jet(self.v + o.v, self.d + o.d, self.dd + o.dd)

    __radd__ = __add__

    def __neg__(self):
        return _Jet(-self.v, -self.d, -self.dd)

    def __sub__(self, other):
        return self + (-self._lift(other))

    def __mul__(self, other):
        o = self._lift(other)
        return _Jet(self.v * o.v, self.d * o.v + self.v * o.d, self.dd * o.v + 2 * self.d * o.d + self.v * o.dd)

    __rmul__ = __mul__

    def apply(self, f0, f1, f2):
        """``f(self)`` given ``f``, ``f'`` and ``f''`` evaluated at ``self.v`` (chain rule)."""
        return _Jet(f0, f1 * self.d, f2 * self.d**2 + f1 * self.dd)

    def sum(self, axis):
        return _Jet(self.v.sum(axis), self.d.sum(axis), self.dd.sum(axis))


def _log(x: _Jet) -> _Jet:
    return x.apply(np.log(x.v), 1.0 / x.v, -1.0 / x.v**2)


def _sinh(x: _Jet) -> _Jet:
    return x.apply(np.sinh(x.v), np.cosh(x.v), np.sinh(x.v))


def _exp_shifted(x: _Jet, shift) -> _Jet:
    e = np.exp(x.v - shift)
    return x.apply(e, e, e)


def _log_2cosh(x: _Jet) -> _Jet:
    """``ln(2 cosh x)`` without overflow."""
    a, t = np.abs(x.v), np.tanh(x.v)
    return x.apply(a + np.log1p(np.exp(-2 * a)), t, 1 - t**2)


def _log_2sinh(x: _Jet) -> _Jet:
    """``ln(2 sinh x)`` for ``x > 0``, without overflow and accurate for small ``x``."""
    coth = 1.0 / np.tanh(x.v)
    return x.apply(x.v + np.log(-np.expm1(-2 * x.v)), coth, 1 - coth**2)


def _arccosh_1p(a: _Jet) -> _Jet:
    """``arccosh(1 + a)`` for ``a > 0`` (no cancellation near ``a = 0``)."""
    root = np.sqrt(a.v * (a.v + 2))
    return a.apply(np.log1p(a.v + root), 1.0 / root, -(a.v + 1) / root**3)


def _log_tanh(x: _Jet) -> _Jet:
    s2 = np.sinh(2 * x.v)
    return x.apply(np.log(np.tanh(x.v)), 2.0 / s2, -4.0 / (s2 * np.tanh(2 * x.v)))


def _kaufman_log_z(L: int, beta: np.ndarray, J: float) -> _Jet:
    """``ln Z`` of the ``L x L`` Ising torus as a jet in ``beta`` (``beta`` of shape ``(T,)``)."""
    K = _Jet(J * beta, np.full_like(beta, J), np.zeros_like(beta))
    two_k = 2 * K
    k = np.arange(1, 2 * L)[None, :]
    kk = _Jet(two_k.v[:, None], two_k.d[:, None], two_k.dd[:, None])
    sinh2k = _sinh(kk)
    # cosh g_k - 1 = (sinh 2K - 1)^2 / sinh 2K + 2 sin^2(pi k / 2L): both terms >= 0.
    a = _divide(_square(sinh2k - 1), sinh2k) + 2 * np.sin(np.pi * k / (2 * L)) ** 2
    gamma = _arccosh_1p(a)  # g_1 .. g_(2L-1), shape (T, 2L-1)
    half = 0.5 * L * gamma
    odd, even = _take(half, slice(0, None, 2)), _take(half, slice(1, None, 2))  # g_(2r+1) and g_(2r), r >= 1
    l1, l2 = _log_2cosh(odd).sum(1), _log_2sinh(odd).sum(1)
    g0_half = 0.5 * L * (K * 2 + _log_tanh(K))
    l3 = _log_2cosh(even).sum(1) + _log_2cosh(g0_half)
    l4_rest = _log_2sinh(even).sum(1)
    scale = np.maximum(np.maximum(l1.v, l2.v), l3.v)
    total = _exp_shifted(l1, scale) + _exp_shifted(l2, scale) + _exp_shifted(l3, scale)
    total = total + _exp_shifted(l4_rest, scale) * (2 * _sinh(g0_half))
    return -math.log(2.0) + 0.5 * L * L * _log_2sinh(two_k) + scale + _log(total)


def _square(x: _Jet) -> _Jet:
    return x * x


def _divide(x: _Jet, y: _Jet) -> _Jet:
    return x * y.apply(1 / y.v, -1 / y.v**2, 2 / y.v**3)


def _take(x: _Jet, index) -> _Jet:
    return _Jet(x.v[:, index], x.d[:, index], x.dd[:, index])


def ising_torus(L: int, temperatures, J: float = 1.0) -> dict:
    """Exact ``<E>/N`` and ``C/N`` of the ``L x L`` nearest-neighbour Ising torus (Kaufman 1949).

    Parameters
    ----------
    L : int
        Linear size (any ``L >= 2``; ``L = 64`` is fine).
    temperatures : array_like
        Temperatures ``T > 0`` (k_B = 1).
    J : float
        Coupling, ``J > 0``; for even ``L`` a negative ``J`` (antiferromagnet) has the same ``Z``.

    Returns
    -------
    dict with ``T``, ``E_per_site``, ``C_per_site`` and ``log_Z`` (each ``(n_T,)`` float64).
    """
    L = check_lattice_size(L)
    J = check_real("J", J)
    temperatures = check_temperatures(temperatures)
    if J == 0:
        raise ValueError("J must be nonzero for the Kaufman partition function")
    if J < 0:
        if L % 2:
            raise ValueError(f"J < 0 on an odd L={L} torus is frustrated; Kaufman's formula needs J > 0 or even L")
        J = -J
    beta = 1.0 / temperatures
    with np.errstate(over="ignore", under="ignore"):
        log_z = _kaufman_log_z(L, beta, J)
    N = L * L
    return {
        "T": temperatures,
        "E_per_site": -log_z.d / N,
        "C_per_site": beta**2 * log_z.dd / N,
        "log_Z": log_z.v,
    }


def specific_heat_peak(L: int, J: float = 1.0, bracket: tuple[float, float] | None = None) -> tuple[float, float]:
    """``(T_max, C_max / N)``: where the exact ``L x L`` torus specific heat peaks (golden-section search).

    The peak lies near Onsager's ``Tc = 2.269 J`` and tends to it as ``L -> infinity``
    (``T_max / Tc`` is the paper's ``gamma``).
    """
    J = abs(check_real("J", J))
    lo, hi = bracket or (0.5 * J * T_CRITICAL, 2.0 * J * T_CRITICAL)
    grid = np.linspace(lo, hi, 301)
    c = ising_torus(L, grid, J)["C_per_site"]
    i = int(np.argmax(c))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    ratio = (math.sqrt(5) - 1) / 2

    def heat(t):
        return float(ising_torus(L, [t], J)["C_per_site"][0])

    x1, x2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = heat(x1), heat(x2)
    while b - a > 1e-10 * max(1.0, abs(b)):
        if f1 > f2:
            b, x2, f2 = x2, x1, f1
            x1 = b - ratio * (b - a)
            f1 = heat(x1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = a + ratio * (b - a)
            f2 = heat(x2)
    t_max = 0.5 * (a + b)
    return t_max, heat(t_max)


def enumerate_thermodynamics(H: Hamiltonian, temperatures, backend: str = "auto", chunk: int = 1 << 16) -> dict:
    """Exact ``<E>/N``, ``C/N`` and ``<|m|>`` of any +1/-1 Hamiltonian with ``N <= 25`` by enumeration.

    Sums ``exp(-(E - E_ref)/T)`` over all ``2^N`` configurations in chunks (``E_ref`` is the lowest
    energy seen so far, so no weight overflows) with ``E = H.energy(configs)``; configurations of
    equal energy share one weight.

    Returns
    -------
    dict with ``T``, ``E_per_site``, ``C_per_site``, ``absm`` (each ``(n_T,)`` float64).
    """
    if not isinstance(H, Hamiltonian) or H.spin_kind != "ising":
        raise ValueError(f"enumeration needs a +1/-1 spin Hamiltonian of deepspin, got {H!r}")
    temperatures = check_temperatures(temperatures)
    beta = 1.0 / temperatures
    shift = math.inf
    sums = np.zeros((4, len(beta)))  # sum of w, w*dE, w*dE^2, w*|m| with dE = E - shift
    for configs in enumeration.chunks(H.L, chunk):
        # Group equal energies (few distinct levels for lattice models): one weight per level.
        energies, index = np.unique(np.asarray(H.energy(configs, backend=backend), dtype=np.float64),
                                    return_inverse=True)
        counts = np.bincount(index, minlength=len(energies)).astype(np.float64)
        absm = np.bincount(index, weights=np.abs(configs.astype(np.float64).mean(axis=(1, 2))),
                           minlength=len(energies))
        low = float(energies[0])
        if low < shift:
            if math.isfinite(shift):  # re-reference the sums: dE grows by (shift - low), weights shrink
                delta = shift - low
                w0, w1, w2, wm = sums
                sums = np.stack([w0, w1 + delta * w0, w2 + 2 * delta * w1 + delta**2 * w0, wm])
                sums *= np.exp(-beta * delta)[None, :]
            shift = low
        de = energies - shift
        weights = np.exp(-np.outer(de, beta))
        sums += np.stack([counts @ weights, (counts * de) @ weights, (counts * de**2) @ weights, absm @ weights])
    w0, w1, w2, wm = sums
    mean_de = w1 / w0
    variance = np.maximum(w2 / w0 - mean_de**2, 0.0)
    return {
        "T": temperatures,
        "E_per_site": (shift + mean_de) / H.N,
        "C_per_site": variance * beta**2 / H.N,
        "absm": wm / w0,
    }


METHODS = ("auto", "enumeration", "kaufman", "transfer")


def exact_thermodynamics(H: Hamiltonian, temperatures, method: str = "auto") -> dict:
    """Exact references for ``H``: enumeration (``N <= 25``) or, for Ising, Kaufman's torus formula or
    the transfer matrix's ``g(E, M)`` (``method="transfer"``, L <= 11: it also gives ``<|m|>``; seconds
    at L = 8, about an hour at L = 10, :mod:`.transfer`).

    ``method="auto"`` enumerates when ``N <= 16`` (it also gives ``<|m|>``) and otherwise uses the
    Kaufman formula for Ising (``absm`` is then ``None``: it has no closed form on the finite torus).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if getattr(H, "thermal", False):
        raise ValueError(f"no exact reference for {H!r}: its energy depends on the temperature")
    if method == "auto":
        method = "enumeration" if H.N <= 16 or not isinstance(H, Ising) else "kaufman"
    if method == "transfer":
        if not isinstance(H, Ising):
            raise ValueError(f"the transfer matrix counts Ising configurations, not {H!r}")
        from .transfer import ising_density_of_states, thermodynamics

        values = thermodynamics(ising_density_of_states(H.L), temperatures, H.J)
        return {key: values[key] for key in ("T", "E_per_site", "C_per_site", "absm")}
    if method == "kaufman":
        if not isinstance(H, Ising):
            raise ValueError(f"Kaufman's formula is for the nearest-neighbour Ising model, not {H!r}")
        return {**ising_torus(H.L, temperatures, H.J), "absm": None}
    if H.N > enumeration.MAX_SITES:
        raise ValueError(
            f"no exact reference for {H!r}: enumeration covers N <= {enumeration.MAX_SITES} sites "
            f"(L <= 5) and Kaufman's formula only the Ising model"
        )
    return enumerate_thermodynamics(H, temperatures)


def exact_reference(H: Hamiltonian):
    """``T -> dict`` of exact values (:func:`exact_thermodynamics`) where one exists, else ``None``.

    One exists for +1/-1 models of ``N <= 16`` sites (enumeration, with ``<|m|>``) and for the
    Ising model at any size (Kaufman; ``absm`` is ``None``); none for a temperature-dependent
    energy (``H.thermal``, e.g. Falicov-Kimball).
    """
    if getattr(H, "thermal", False):
        return None
    if H.spin_kind == "ising" and (H.N <= 16 or isinstance(H, Ising)):
        return lambda T: exact_thermodynamics(H, T)
    return None
