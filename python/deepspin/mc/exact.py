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
- :func:`random_spin_absm`: ``<|m|>`` of ``N`` independent random spins, the ``T -> infinity`` limit.
- :func:`parabola_peak`, :func:`parabola_peak_error`, :func:`peak_agreement`, :func:`reference_peak`:
  where a curve sampled on a temperature grid (Monte Carlo or exact) peaks, with its standard error.
"""
from __future__ import annotations

import math

import numpy as np

from .. import enumeration
from ..hamiltonians import Hamiltonian, Ising
from ..validation import check_count, check_lattice_size, check_real
from ..validation import check_temperatures

#: Onsager's critical temperature of the infinite square lattice, ``2 J / ln(1 + sqrt 2)``.
T_CRITICAL = 2.0 / math.log1p(math.sqrt(2.0))


class _Jet:
    """A function of ``beta`` with its first and second derivatives (forward-mode, second order).

    Jets of logarithms (``_log*`` below) keep ``ln x`` and its derivatives, never ``x``, so that
    nothing overflows at any temperature; second derivatives are formed as variances (sums of
    non-negative terms) wherever a difference of squares would cancel.
    """

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

    def __mul__(self, other):  # by a constant only
        return _Jet(self.v * other, self.d * other, self.dd * other)

    __rmul__ = __mul__

    def sum(self, axis):
        return _Jet(self.v.sum(axis), self.d.sum(axis), self.dd.sum(axis))

    def at(self, index):
        return _Jet(self.v[index], self.d[index], self.dd[index])


def _where(mask, a: _Jet, b: _Jet) -> _Jet:
    return _Jet(np.where(mask, a.v, b.v), np.where(mask, a.d, b.d), np.where(mask, a.dd, b.dd))


def _logsumexp(terms, signs=None) -> _Jet:
    """``ln(sum_i sign_i exp(l_i))`` of log-jets ``l_i`` (same shapes), the sum positive.

    With weights ``w_i = sign_i exp(l_i) / sum``: first derivative ``sum w_i l_i'``, second
    ``sum w_i l_i'' + sum w_i (l_i' - mean)^2`` (no cancellation of large squares).
    """
    signs = signs or [1.0] * len(terms)
    shape = np.broadcast_shapes(*[np.shape(t.v) for t in terms])
    terms = [_Jet(*(np.broadcast_to(np.asarray(a, dtype=np.float64), shape) for a in (t.v, t.d, t.dd)))
             for t in terms]
    top = np.max(np.stack([t.v for t in terms]), axis=0)
    top = np.where(np.isfinite(top), top, 0.0)
    parts = [s * np.exp(t.v - top) for s, t in zip(signs, terms)]
    total = sum(parts)
    weights = [p / total for p in parts]
    d = sum(w * t.d for w, t in zip(weights, terms))
    dd = sum(w * (t.dd + (t.d - d) ** 2) for w, t in zip(weights, terms))
    return _Jet(top + np.log(total), d, dd)


def _log_sinh_2k(K: _Jet) -> _Jet:
    """``ln sinh 2K`` for ``K = J beta`` (``K' = J``, ``K'' = 0``)."""
    k = K.v
    return _Jet(2 * k + np.log(-np.expm1(-4 * k)) - math.log(2.0), 2 * K.d / np.tanh(2 * k),
                -4 * K.d**2 / np.sinh(2 * k) ** 2)


def _log_minus_one(x: _Jet) -> _Jet:
    """``ln(e^x - 1)`` of a log-jet ``x`` with ``x > 0``: ``r = e^-x``, no cancellation of squares."""
    r = np.exp(-x.v)
    return _Jet(x.v + np.log(-np.expm1(-x.v)), x.d / (1 - r), x.dd / (1 - r) - r * x.d**2 / (1 - r) ** 2)


def _log1p_exp_neg(x: _Jet) -> _Jet:
    """``ln(1 + e^-x)`` of a jet ``x``."""
    p = 0.5 * (1 - np.tanh(0.5 * x.v))  # 1 / (1 + e^x)
    return _Jet(np.logaddexp(0.0, -x.v), -p * x.d, p * (1 - p) * x.d**2 - p * x.dd)


def _log_1m_exp_neg(x: _Jet) -> _Jet:
    """``ln(1 - e^-x)`` of a jet ``x > 0``."""
    e = np.expm1(x.v)
    return _Jet(np.log(-np.expm1(-x.v)), x.d / e, x.dd / e - x.d**2 / (e * -np.expm1(-x.v)))


def _log_of(x: _Jet) -> _Jet:
    """``ln x`` of a plain jet ``x > 0``."""
    r = x.d / x.v
    return _Jet(np.log(x.v), r, x.dd / x.v - r**2)


def _kaufman_log_z(L: int, beta: np.ndarray, J: float) -> _Jet:
    """``ln Z`` of the ``L x L`` Ising torus as a jet in ``beta`` (``beta`` ``(T,)``, ``J > 0``), in logs throughout.

    With ``s = sinh 2K``, each factor of the four products times ``(2s)^(L/2)`` is written without
    cancellation: ``b_k = (s - 1)^2 + 2 s sin^2(pi k / 2L)`` (``= s (cosh g_k - 1)``), ``f_k =
    ln(2s + 2b_k + 2 sqrt(b_k (b_k + 2s)))`` (``= g_k + ln 2s``), ``2cosh(L g_k/2) (2s)^(L/2) =
    exp(L f_k / 2) (1 + e^(-L g_k))`` (``sinh``: ``1 - e^(-L g_k)``), and for ``g_0 = 2K + ln tanh K``
    ``(L/2)(ln 2s + g_0) = L ln(e^(2K) - 1) = u``, ``(L/2)(ln 2s - g_0) = L ln(1 + e^(-2K)) = v``, so
    that the ``g_0`` factors are ``e^u + e^v`` and ``e^u - e^v``.
    """
    T = len(beta)
    K = _Jet(J * beta, np.full(T, J), np.zeros(T))
    ls = _log_sinh_2k(K)
    col = lambda j: _Jet(j.v[:, None], j.d[:, None], j.dd[:, None])  # noqa: E731
    ls_k = col(ls)
    k = np.arange(1, 2 * L)[None, :]
    log_sin2 = np.log(2.0 * np.sin(np.pi * k / (2 * L)) ** 2)  # ln(2 sin^2)
    # ln b: directly where s <= 2 (b is moderate), else from ln(s - 1) (s - 1 >= s / 2: no cancellation)
    s = np.exp(ls.v)
    sj = _Jet(s, s * ls.d, s * (ls.dd + ls.d**2))
    with np.errstate(all="ignore"):
        small = s[:, None] <= 2
        b_direct = _log_of(_Jet((s - 1)[:, None] ** 2 + np.exp(log_sin2) * s[:, None],
                                (2 * (s - 1) * sj.d)[:, None] + np.exp(log_sin2) * sj.d[:, None],
                                (2 * sj.d**2 + 2 * (s - 1) * sj.dd)[:, None] + np.exp(log_sin2) * sj.dd[:, None]))
        two_log_sm1 = col(_log_minus_one(ls)) * 2.0
        b_large = _logsumexp([two_log_sm1 + _Jet(np.zeros(k.shape), 0.0, 0.0), ls_k + log_sin2])
        lb = _where(small, b_direct, b_large)
    ln2 = math.log(2.0)
    lb2s = _logsumexp([lb, ls_k + ln2])  # ln(b + 2s)
    f = _logsumexp([ls_k + ln2, lb + ln2, (lb + lb2s) * 0.5 + ln2])
    gamma = f - ls_k - ln2  # g_k >= 0
    x = gamma * float(L)
    lc = f * (L / 2) + _log1p_exp_neg(x)
    lsn = f * (L / 2) + _log_1m_exp_neg(x)
    odd, even = slice(0, None, 2), slice(1, None, 2)  # k = 1, 3, .. and k = 2, 4, ..
    l1, l2 = lc.at((slice(None), odd)).sum(1), lsn.at((slice(None), odd)).sum(1)
    r3, r4 = lc.at((slice(None), even)).sum(1), lsn.at((slice(None), even)).sum(1)
    two_k = K * 2.0
    u = _log_minus_one(two_k) * float(L)
    v = _log1p_exp_neg(two_k) * float(L)
    total = _logsumexp([l1, l2, r3 + u, r3 + v, r4 + u, r4 + v], [1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    return total - ln2


def _high_temperature(L: int, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ln Z / N, E / (N J), C / N)`` for ``K = J / T`` below :func:`_high_temperature_limit`.

    The high-temperature expansion ``ln Z / N = ln 2 + 2 ln cosh K + t^4 + (2 / L) t^L + O(t^6)``,
    ``t = tanh K`` (plaquettes and the ``2L`` straight loops around the torus); the terms left out
    change ``E`` and ``C`` by a relative ``O(t^4)`` (``O(t^2)`` for ``L = 2``), below rounding there,
    where Kaufman's products would cancel to a relative ``eps / K``.
    """
    t = np.tanh(K)
    q = 1 - t * t
    g = 2 * np.log(np.cosh(K)) + t**4 + (2 / L) * t**L
    loops = 4 * t**3 + 2 * t ** (L - 1)
    g1 = 2 * t + loops * q
    g2 = 2 * q + (12 * t**2 + 2 * (L - 1) * t ** (L - 2)) * q * q - 2 * t * q * loops
    return math.log(2.0) + g, g1, K * K * g2


def _high_temperature_limit(L: int) -> float:
    """Below this ``K`` :func:`ising_torus` uses the high-temperature expansion: for ``L >= 4`` its
    relative error there is below 1e-13, and above it Kaufman's products (relative error ~ eps / K)
    are as good (both measured against each other for L = 4, 8, 64)."""
    return {2: 1e-8, 3: 1e-6}.get(L, 3e-4)


#: From this ``K = |J| / T`` on (``L >= 5``), :func:`ising_torus` uses the low-temperature expansion.
LOW_TEMPERATURE_K = 3.0


def _low_temperature(L: int, K: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(ln Z / N, E / (N J), C / N)`` for ``K >= LOW_TEMPERATURE_K`` and ``L >= 5``.

    ``ln Z = ln 2 + N (2K + x^4 + 2 x^6 + 9/2 x^8) + O(N x^10)``, ``x = e^(-2K)`` (single flips,
    dominoes, then the clusters of perimeter 8; a domain wall around the torus costs ``x^(2L)``,
    ``2L >= 10``): its relative error there is below ``12 x^6 < 1e-14``, where Kaufman's products
    leave ``C`` (of order ``x^4``) only an absolute accuracy near 1e-16.
    """
    x4, x6, x8 = np.exp(-8 * K), np.exp(-12 * K), np.exp(-16 * K)
    per_site = 2 * K + x4 + 2 * x6 + 4.5 * x8 + math.log(2.0) / (L * L)
    return per_site, 2 + (-8 * x4 - 24 * x6 - 72 * x8), K * (K * (64 * x4 + 288 * x6 + 1152 * x8))


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
    N = L * L
    K = J * beta
    high = K < _high_temperature_limit(L)
    low = (K >= LOW_TEMPERATURE_K) & (L >= 5)
    middle = ~(high | low)
    energy, heat, log_z = np.empty_like(beta), np.empty_like(beta), np.empty_like(beta)
    for mask, series in ((high, _high_temperature), (low, _low_temperature)):
        if mask.any():
            with np.errstate(under="ignore"):
                per_site, e, c = series(L, K[mask])
            log_z[mask], energy[mask], heat[mask] = N * per_site, -J * e, c
    if middle.any():
        with np.errstate(over="ignore", under="ignore", divide="ignore", invalid="ignore"):
            jet = _kaufman_log_z(L, beta[middle], J)
        b = beta[middle]
        log_z[middle], energy[middle], heat[middle] = jet.v, -jet.d / N, b * (b * jet.dd) / N
    bad = ~(np.isfinite(energy) & np.isfinite(heat) & np.isfinite(log_z))
    if bad.any():
        raise ValueError(f"Kaufman's formula could not be evaluated for L={L}, J={J} at T = "
                         f"{temperatures[bad].tolist()} (overflow of ln Z = 2 N J / T); use fewer sites or a larger T")
    return {"T": temperatures, "E_per_site": energy, "C_per_site": np.maximum(heat, 0.0), "log_Z": log_z}


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
        "C_per_site": variance * beta * beta / H.N,  # beta**2 overflows for T < 1e-154
        "absm": wm / w0,
    }


METHODS = ("auto", "enumeration", "kaufman", "transfer")
#: ``method="auto"`` takes the transfer matrix for the Ising model up to this L (it gives ``<|m|>``; on a
#: 2-core AMD EPYC it took 1.4 s at L = 6, 4.7 s at L = 7, 21 s at L = 8, and minutes from L = 9 on).
TRANSFER_AUTO_MAX_L = 8


def kaufman_refusal(H: Hamiltonian) -> str | None:
    """Why Kaufman's formula cannot give ``H``'s thermodynamics, or None if it can."""
    if not isinstance(H, Ising):
        return f"Kaufman's formula is for the nearest-neighbour Ising model, not {H!r}"
    if H.J == 0:
        return "J = 0: every configuration has energy 0 (ln Z = N ln 2, E = C = 0; <|m|> is that of random spins)"
    if H.J < 0 and H.L % 2:
        return (f"J < 0 on an odd L={H.L} torus is frustrated (no Neel state fits), so Kaufman's formula, which "
                "maps J < 0 to J > 0 on even L, does not apply; --method transfer does (L <= 11)")
    return None


def exact_thermodynamics(H: Hamiltonian, temperatures, method: str = "auto") -> dict:
    """Exact references for ``H``: enumeration (``N <= 25``) or, for Ising, Kaufman's torus formula or
    the transfer matrix's ``g(E, M)`` (``method="transfer"``, L <= 11: it also gives ``<|m|>``; seconds
    at L = 8, about an hour at L = 10, :mod:`.transfer`).

    ``method="auto"``: enumeration when ``N <= 16``; for the Ising model the transfer matrix up to
    :data:`TRANSFER_AUTO_MAX_L` (with ``<|m|>``), then Kaufman's formula (``absm`` is then ``None``: it
    has no closed form on the finite torus); enumeration up to ``N = 25`` for other models. What no
    method can compute is refused with a ValueError that says why.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(map(repr, METHODS))}; got {method!r}")
    if getattr(H, "thermal", False):
        raise ValueError(f"no exact reference for {H!r}: its energy depends on the temperature")
    if method == "auto":
        if H.N <= 16 or not isinstance(H, Ising):
            method = "enumeration"
        elif H.L <= TRANSFER_AUTO_MAX_L:
            method = "transfer"
        else:
            method = "kaufman"
    if method == "transfer":
        if not isinstance(H, Ising):
            raise ValueError(f"the transfer matrix counts Ising configurations, not {H!r}")
        from .transfer import MAX_L, ising_density_of_states, thermodynamics

        if H.L > MAX_L:
            raise ValueError(f"the transfer matrix is exact for L <= {MAX_L} (its counts exceed 2^125 beyond), "
                             f"got L={H.L}; use --method kaufman (no <|m|>)")
        values = thermodynamics(ising_density_of_states(H.L), temperatures, H.J)
        return {key: values[key] for key in ("T", "E_per_site", "C_per_site", "absm")}
    if method == "kaufman":
        reason = kaufman_refusal(H)
        if reason:
            raise ValueError(reason)
        return {**ising_torus(H.L, temperatures, H.J), "absm": None}
    if getattr(H, "spin_kind", "ising") != "ising":
        raise ValueError(f"no exact reference for {H!r}: enumeration sums over +1/-1 spins, and this model has "
                         "continuous angles")
    if H.N > enumeration.MAX_SITES:
        raise ValueError(
            f"no exact reference for {H!r}: enumeration covers N <= {enumeration.MAX_SITES} sites "
            f"(L <= 5) and Kaufman's formula only the Ising model"
        )
    return enumerate_thermodynamics(H, temperatures)


def exact_reference(H: Hamiltonian):
    """``T -> dict`` of exact ``<E>/N`` and ``C/N`` (:func:`exact_thermodynamics`) where one is quick, else ``None``.

    One is for +1/-1 models of ``N <= 16`` sites (enumeration, with ``<|m|>``) and for the Ising model
    at any size where Kaufman's formula applies (``absm`` is ``None``); none for a temperature-dependent
    energy (``H.thermal``, e.g. Falicov-Kimball).
    """
    if getattr(H, "thermal", False):
        return None
    if H.spin_kind == "ising" and H.N <= 16:
        return lambda T: exact_thermodynamics(H, T, method="enumeration")
    if isinstance(H, Ising) and kaufman_refusal(H) is None:
        return lambda T: exact_thermodynamics(H, T, method="kaufman")
    return None


def random_spin_absm(N: int) -> float:
    """Mean ``|m|`` of ``N`` independent uniform +1/-1 spins, ``m = (1/N) sum_i s_i``: the infinite-temperature limit.

    For even ``N``, ``E|S| = N C(N, N/2) / 2^N`` of the sum ``S``; for odd ``N`` the last spin adds one to
    ``|S|`` where the other ``N - 1`` cancel and nothing on average elsewhere. So ``E|m| = C(M, M/2) / 2^M``
    with ``M = N`` (even) or ``N - 1`` (odd), about ``sqrt(2 / (pi N))`` for large ``N``.
    The ratio is taken of exact integers (rounded once), so it holds for every ``N``, where ``2.0**N``
    would overflow from ``N = 1024`` (32x32) on.
    """
    N = check_count("N", N)
    M = N - N % 2
    return math.comb(M, M // 2) / (1 << M)



# --------------------------------------------------------------------------- locating a peak on a grid


def parabola_peak(T, values) -> float:
    """Temperature of the maximum of ``values`` sampled at ``T`` (``(n,)`` each, distinct temperatures).

    The vertex of the parabola through the largest sample and its two neighbours; the grid point
    itself where the largest sample is at an end of the grid or the three points are not concave.
    On a grid of spacing ``h`` the vertex is exact for a parabola and otherwise biased by
    ``O(h^2)`` times the curve's asymmetry (its third derivative over its second).
    """
    T, values = _grid(T, values)
    i = int(np.argmax(values))
    if i == 0 or i == len(T) - 1:
        return float(T[i])
    a, b, _ = np.polyfit(T[i - 1:i + 2], values[i - 1:i + 2], 2)
    return float(-b / (2 * a)) if a < 0 else float(T[i])


def parabola_peak_error(T, values, errors, draws: int = 1000, seed: int = 0) -> float:
    """Standard error of :func:`parabola_peak` from independent standard errors ``errors`` ``(n,)`` of ``values``.

    The standard deviation of the peak over ``draws`` resamplings ``values + N(0, errors^2)``
    (seeded by ``seed``); it grows linearly with the errors while they are small against the
    curvature. NaN where an error is missing (NaN or infinite).
    """
    errors = np.asarray(errors, dtype=np.float64)
    if errors.shape != np.shape(values):
        raise ValueError(f"errors must have the shape of values {np.shape(values)}, got {errors.shape}")
    T, values = np.asarray(T, dtype=np.float64), np.asarray(values, dtype=np.float64)
    _grid(T, values)
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 2:
        raise ValueError(f"draws must be an integer >= 2, got {draws!r}")
    if not np.all(np.isfinite(errors)):
        return float("nan")
    if np.any(errors < 0):
        raise ValueError(f"errors must be >= 0 (standard errors), got a minimum of {errors.min()!r}")
    if not errors.any():
        return 0.0
    rng = np.random.default_rng(seed)
    noise = errors * rng.standard_normal((int(draws), len(values)))
    return float(np.std([parabola_peak(T, values + row) for row in noise]))


def peak_agreement(T, values, errors, exact_values, sigmas: float = 2.0) -> dict:
    """Whether a measured curve (a Monte Carlo ``C/N``, say) peaks where the exact curve does.

    ``values``, ``errors``: the measured curve and its standard errors at ``T``; ``exact_values``: the
    exact curve at the same ``T``. Both peaks are located the same way (:func:`parabola_peak`), so the
    grid's bias cancels. Returns ``peak``, ``error`` (:func:`parabola_peak_error`), ``exact`` and
    ``agrees``: ``|peak - exact| <= sigmas * error`` (False where the error is NaN).
    """
    peak = parabola_peak(T, values)
    error = parabola_peak_error(T, values, errors)
    exact = parabola_peak(T, exact_values)
    return {"peak": peak, "error": error, "exact": exact, "agrees": bool(abs(peak - exact) <= sigmas * error)}


def reference_peak(reference, T, points: int = 2001, key: str = "C_per_site") -> float:
    """Temperature of the maximum of an exact curve over the range of ``T``, on a fine grid.

    ``reference``: a callable ``T -> dict`` such as :func:`exact_reference` returns; ``key``: the
    curve (``C/N`` by default). The grid of ``points`` temperatures from ``min(T)`` to ``max(T)``
    resolves the peak to ``(max(T) - min(T)) / (points - 1)``; for the Ising torus
    :func:`specific_heat_peak` finds it to 1e-10.
    """
    T = np.asarray(T, dtype=np.float64)
    if isinstance(points, bool) or not isinstance(points, (int, np.integer)) or points < 3:
        raise ValueError(f"points must be an integer >= 3, got {points!r}")
    fine = reference(np.linspace(T.min(), T.max(), int(points)))
    return float(fine["T"][np.argmax(fine[key])])


def _grid(T, values) -> tuple[np.ndarray, np.ndarray]:
    T, values = np.asarray(T, dtype=np.float64), np.asarray(values, dtype=np.float64)
    if T.ndim != 1 or T.shape != values.shape or len(T) < 1:
        raise ValueError(f"T and values must be 1-D arrays of one length, got shapes {T.shape} and {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"values must be finite, got {values[~np.isfinite(values)][:3].tolist()}")
    order = np.argsort(T, kind="stable")
    if np.any(np.diff(T[order]) <= 0):
        raise ValueError("T must hold distinct temperatures")
    return T[order], values[order]
