"""Thermodynamic estimators over independent chains (SPEC section 6, k_B = 1).

Each chain ``c`` at temperature ``T`` contributes ``n`` measurements through its sums
``S1_c = sum E``, ``S2_c = sum E^2`` and ``A_c = sum |m|``.

- ``<E>/N``: the mean of the chain means ``S1_c / n``, divided by ``N``; its standard error is the
  standard deviation of the chain means over ``sqrt(chains)``.
- ``<|m|>``: likewise from ``A_c / n``.
- ``C/N = (<E^2> - <E>^2) / (N T^2)`` with both moments pooled over all chains (the pooled variance
  contains the spread of the chain means, so it is not biased low by the finite length of a chain as
  a per-chain variance is); its standard error is the jackknife over chains (leave one chain out).
"""
from __future__ import annotations

import numpy as np


def chain_means(sums: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over chains of ``sums / n`` (shape ``(T, chains)``) and its standard error (``NaN`` for one chain)."""
    means = sums / n
    chains = means.shape[-1]
    err = means.std(axis=-1, ddof=1) / np.sqrt(chains) if chains > 1 else np.full(means.shape[:-1], np.nan)
    return means.mean(axis=-1), err


def pooled_specific_heat(s1: np.ndarray, s2: np.ndarray, n: int, temperatures: np.ndarray, N: int):
    """``C/N`` from pooled moments and its jackknife standard error over chains.

    ``s1``, ``s2``: ``(T, chains)`` per-chain sums of ``E`` and ``E^2`` over ``n`` measurements each.
    """
    chains = s1.shape[-1]

    def scale(variance, T):  # variance / (N T^2), divided step by step: T^2 underflows for T < 1e-154
        return variance / N / T / T
    # Centre on each temperature's grand mean: no cancellation in <E^2> - <E>^2.
    centre = s1.sum(-1, keepdims=True) / (chains * n)
    c1 = s1 - n * centre
    c2 = s2 - 2 * centre * s1 + n * centre**2
    heat = scale(c2.sum(-1) / (chains * n) - (c1.sum(-1) / (chains * n)) ** 2, temperatures)
    if chains < 2:
        return heat, np.full_like(heat, np.nan)
    m1 = (c1.sum(-1, keepdims=True) - c1) / ((chains - 1) * n)
    m2 = (c2.sum(-1, keepdims=True) - c2) / ((chains - 1) * n)
    leave_one_out = scale(m2 - m1**2, temperatures[:, None])
    err = np.sqrt((chains - 1) / chains * ((leave_one_out - leave_one_out.mean(-1, keepdims=True)) ** 2).sum(-1))
    return heat, err


def thermodynamics(moments: np.ndarray, n: int, temperatures: np.ndarray, N: int) -> dict:
    """All observables of SPEC section 6 from per-chain moments ``(T, chains, 3)`` (sum E, E^2, |m|)."""
    if n < 1:
        raise ValueError("no measurements were taken: increase sweeps or lower interval")
    energy, energy_err = chain_means(moments[..., 0], n)
    heat, heat_err = pooled_specific_heat(moments[..., 0], moments[..., 1], n, temperatures, N)
    absm, absm_err = chain_means(moments[..., 2], n)
    return {
        "T": temperatures,
        "E_per_site": energy / N,
        "E_per_site_err": energy_err / N,
        "C_per_site": heat,
        "C_per_site_err": heat_err,
        "absm": absm,
        "absm_err": absm_err,
    }
