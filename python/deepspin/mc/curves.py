"""Reading Metropolis curves: the per-temperature records of :meth:`deepspin.mc.MCResult.records`.

Where a run's chains equilibrated (single-spin Metropolis from random starts freezes into domains at
the lowest temperatures), from which temperature ``<|m|>`` sits at its random-spin value, the exact
energy of the states a learned operator drove its chains to, the exact curves to set a run beside,
and whether its ``C/N`` peak agrees with theirs.
"""
from __future__ import annotations

import numpy as np

from ..hamiltonians import Ising
from .exact import exact_reference, ising_torus, peak_agreement
from .temperatures import parse_temperatures
from .transfer import MAX_L, ising_density_of_states, thermodynamics

#: Largest L whose exact ``<|m|>`` :func:`exact_curves` computes by the transfer matrix (seconds at L = 8).
TRANSFER_L = 8


def first_random_temperature(records: list[dict], limit: float, tolerance: float = 0.01) -> float | None:
    """Lowest temperature from which on ``<|m|>`` stays within ``tolerance`` (relative) of the random-spin
    value ``limit`` (:func:`deepspin.mc.exact.random_spin_absm`; ``None`` if the last point is not)."""
    close = [abs(r["absm"] - limit) <= tolerance * limit for r in records]
    if not close[-1]:
        return None
    i = len(close) - 1
    while i > 0 and close[i - 1]:
        i -= 1
    return float(records[i]["T"])


def equilibrated_from(records: list[dict], sigmas: float = 3.0) -> float:
    """The lowest temperature from which an ordering model's chains are taken as equilibrated.

    ``records`` measure the order parameter as ``absm`` (for an antiferromagnet the staggered
    ``<|m_s|>``, :func:`deepspin.observables.staggered_magnetization`). In equilibrium the order can
    only grow as ``T`` falls. Single-spin Metropolis from random starts freezes into domains of the
    ordered states at the lowest temperatures, so the order there drops below its value at a hotter
    point. Colder points whose order lies more than ``sigmas`` combined standard errors below the
    maximum are not equilibrated; returns the temperature of the maximum if there are any, else the
    lowest temperature."""
    values = np.array([r["absm"] for r in records])
    errors = np.array([r.get("absm_err", 0.0) for r in records])
    top = int(np.argmax(values))
    frozen = values[:top] < values[top] - sigmas * np.hypot(errors[:top], errors[top])
    return float(records[top]["T"] if frozen.any() else records[0]["T"])


def exact_energy_records(configs: np.ndarray, H) -> list[dict]:
    """``<E>/N`` per temperature of final configurations ``(T, chains, L, L)`` evaluated with the exact
    Hamiltonian ``H``, one sample per chain and the standard error over chains: records
    (``E_per_site``, ``E_per_site_err``) to set beside an exact-operator run
    (:func:`deepspin.mc.twins.twin_deviation`). Whether a learned operator's chains visit the right
    states, whatever the network says their energy is."""
    configs = np.asarray(configs)
    if configs.ndim != 4 or configs.shape[1] < 2:
        raise ValueError(f"configs must have shape (temperatures, chains >= 2, L, L), got {configs.shape}")
    per_site = np.stack([H.energy(c) for c in configs]) / H.N  # (T, chains)
    errors = per_site.std(axis=1, ddof=1) / np.sqrt(per_site.shape[1])
    return [{"E_per_site": float(m), "E_per_site_err": float(e)} for m, e in zip(per_site.mean(axis=1), errors)]


def exact_curves(H):
    """``T -> dict`` of exact ``<E>/N``, ``C/N`` and ``<|m|>`` for ``H`` (``None`` where there is none):
    enumeration for ``N <= 16``; for the Ising torus up to L = :data:`TRANSFER_L`, Kaufman's formula with
    ``<|m|>`` from the transfer matrix's ``g(E, M)``; else :func:`deepspin.mc.exact.exact_reference`."""
    if isinstance(H, Ising) and H.N > 16 and H.L <= min(TRANSFER_L, MAX_L):
        dos = ising_density_of_states(H.L)
        return lambda T: {**ising_torus(H.L, T, H.J), "absm": thermodynamics(dos, T, H.J)["absm"]}
    return exact_reference(H)


def peak_check(records: list[dict], reference) -> dict:
    """:func:`deepspin.mc.exact.peak_agreement` of the ``C/N`` of Metropolis ``records`` with the exact
    curve ``reference`` (:func:`exact_curves`) on the same grid: ``peak``, ``error``, ``exact`` and
    ``verdict`` (``met`` within 2 standard errors, else ``missed``)."""
    T = np.array([r["T"] for r in records])
    check = peak_agreement(T, [r["C_per_site"] for r in records], [r.get("C_per_site_err", np.nan) for r in records],
                           reference(T)["C_per_site"])
    return {**check, "verdict": "met" if check["agrees"] else "missed"}


def run_size(mc: dict) -> str:
    """The size of a Metropolis run with parameters ``mc``: chains x sweeps x temperatures."""
    return f"{mc['chains']} chains x {mc['sweeps']} sweeps x {len(parse_temperatures(mc['T']))} T"
