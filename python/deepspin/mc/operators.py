"""What Monte Carlo needs from an energy: two small protocols and one :func:`as_operator`.

- :class:`EnergyOperator`: ``energy(configs)`` maps a batch ``(B, L, L)`` to ``(B,)`` energies
  (a deepspin Hamiltonian, a trained surrogate, or a plain callable wrapped by :func:`as_operator`).
- :class:`LocalEnergyOperator`: per-site energies ``site_energies(configs) -> (B, L, L)`` with
  ``E = sum_i e_i`` and ``e_i`` depending only on the spins within Chebyshev distance
  ``receptive_radius`` of site ``i`` (an extensive surrogate, or ``e_i = -J s_i (s_right + s_down)``).

:func:`as_operator` turns any of these into an :class:`Operator`, the one form the proposal rules
(:mod:`deepspin.mc.rules`) read, or says why an object does not qualify. :class:`TabulatedOperator`
is an :class:`EnergyOperator` of a lattice small enough to enumerate: any operator's values on all
``2^(L*L)`` configurations, looked up by each configuration's index (:func:`deepspin.enumeration.index`).
"""
from __future__ import annotations

import dataclasses
from numbers import Integral
from typing import Callable, Protocol, runtime_checkable

import numpy as np

from .. import enumeration
from ..hamiltonians import Hamiltonian
from ..validation import check_lattice_size


@runtime_checkable
class EnergyOperator(Protocol):
    """Batch energies: ``energy(configs)`` with ``configs`` ``(B, L, L)`` returns ``(B,)`` numbers."""

    def energy(self, configs: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class LocalEnergyOperator(Protocol):
    """Per-site energies ``site_energies(configs) -> (B, L, L)`` of finite range ``receptive_radius`` (an int >= 0)."""

    receptive_radius: int

    def site_energies(self, configs: np.ndarray) -> np.ndarray: ...


class TabulatedOperator:
    """An operator (energy or magnetization) of an ``L x L`` lattice given by its value on every configuration.

    ``values[i]`` is the value of configuration ``i`` of the enumeration order of SPEC section 5
    (:func:`deepspin.enumeration.configurations`; site 0 is the most significant bit of ``i``), so a
    network evaluated once on all ``2^(L*L)`` configurations is then looked up instead of called: the
    same numbers, without a network call per Metropolis step. ``L*L <= 25``
    (:data:`deepspin.enumeration.MAX_SITES`).

    Calling it (or :meth:`energy`) maps +1/-1 configurations ``(B, L, L)`` to ``(B,)`` float64 values;
    :func:`as_operator` takes it as an energy operator, and ``magnetization=`` of
    :func:`deepspin.mc.run` as a magnetization operator.
    """

    def __init__(self, values, L: int):
        L = check_lattice_size(L, minimum=1)
        size = enumeration.count(L)
        table = np.asarray(values, dtype=np.float64)
        if table.shape != (size,):
            raise ValueError(f"values must hold one number per configuration of the {L}x{L} lattice, i.e. shape "
                             f"({size},) = 2^{L * L} in enumeration order; got shape {table.shape}")
        self.table, self.L = table, L

    def __call__(self, configs) -> np.ndarray:
        configs = np.asarray(configs)
        if configs.ndim != 3 or configs.shape[1:] != (self.L, self.L):
            raise ValueError(f"configs must have shape (B, {self.L}, {self.L}) for this {self.L}x{self.L} table, "
                             f"got {configs.shape}")
        return self.table[enumeration.index(configs)]

    energy = __call__

    def __repr__(self) -> str:
        return f"TabulatedOperator(L={self.L})"


def is_local(obj) -> bool:
    """True if ``obj`` is a :class:`LocalEnergyOperator`: callable ``site_energies`` and an integer radius >= 0."""
    radius = getattr(obj, "receptive_radius", None)
    return (callable(getattr(obj, "site_energies", None)) and isinstance(radius, Integral)
            and not isinstance(radius, bool) and radius >= 0)


@dataclasses.dataclass(frozen=True)
class Operator:
    """An energy in the form the proposal rules read.

    ``energy``: ``(B, L, L) -> (B,)``; ``spin_kind``: ``"ising"`` (+1/-1) or ``"angle"``;
    ``hamiltonian``: the deepspin Hamiltonian when there is one (compiled rules need it);
    ``site_energies`` / ``receptive_radius``: set for a local operator; ``magnetization``: an optional
    operator ``(B, L, L) -> (B,)`` for ``|m|`` (default: ``sum(s) / N``); ``label``: for records.
    ``thermal``: the energy depends on the temperature (an effective classical energy such as the
    Falicov-Kimball model's free energy); it is then called as ``energy(configs, T)`` with ``T``
    the ``(B,)`` temperatures of the configurations. Call it through :meth:`energy_at`.
    """

    L: int
    energy: Callable[[np.ndarray], np.ndarray]
    label: str
    spin_kind: str = "ising"
    hamiltonian: Hamiltonian | None = None
    site_energies: Callable[[np.ndarray], np.ndarray] | None = None
    receptive_radius: int | None = None
    magnetization: Callable[[np.ndarray], np.ndarray] | None = None
    thermal: bool = False

    @property
    def local(self) -> bool:
        return self.site_energies is not None

    def energy_at(self, configs: np.ndarray, T: np.ndarray) -> np.ndarray:
        """Energies ``(B,)`` of ``configs`` ``(B, L, L)`` at temperatures ``T`` ``(B,)`` (ignored unless ``thermal``)."""
        return self.energy(configs, T) if self.thermal else self.energy(configs)


def as_operator(obj, L: int | None = None, magnetization=None) -> Operator:
    """Turn a Hamiltonian, a surrogate (``.energy``, optionally ``.site_energies``) or a callable into an :class:`Operator`.

    ``L`` is needed only for an object without an ``L`` attribute and must agree with one it has.
    ``magnetization`` (a callable) overrides the object's own ``.magnetization``; for a Hamiltonian
    with an ``order_parameter`` (the Falicov-Kimball model's staggered magnetization) that is the default.
    """
    if isinstance(obj, Operator):
        if L is not None and L != obj.L:
            raise ValueError(f"L={L} contradicts the operator's L={obj.L}; leave L out")
        return obj if magnetization is None else dataclasses.replace(obj, magnetization=magnetization)
    if magnetization is not None and not callable(magnetization):
        raise ValueError(f"magnetization must be a callable configs -> (B,) values, got {magnetization!r}")
    if isinstance(obj, Hamiltonian):
        if L is not None and L != obj.L:
            raise ValueError(f"L={L} contradicts the Hamiltonian's L={obj.L}; leave L out")
        if magnetization is None:
            magnetization = getattr(obj, "order_parameter", None)
        return Operator(L=obj.L, energy=obj.energy, label=repr(obj), spin_kind=obj.spin_kind, hamiltonian=obj,
                        magnetization=magnetization, thermal=bool(getattr(obj, "thermal", False)))
    energy = getattr(obj, "energy", obj)
    if not callable(energy):
        raise ValueError(
            f"model must be a deepspin Hamiltonian, a callable configs -> energies, or an object with "
            f".energy(configs); got {type(obj).__name__}, which is not callable and has no .energy method"
        )
    own_L = getattr(obj, "L", None)
    if L is None:
        L = own_L
    if L is None:
        raise ValueError("pass L (the lattice size) for an energy operator that has no .L attribute")
    if own_L is not None and own_L != L and not is_local(obj):
        raise ValueError(f"L={L} contradicts the operator's L={own_L} (only a local operator runs at other sizes)")
    if magnetization is None and energy is not obj:
        magnetization = getattr(obj, "magnetization", None)
        if magnetization is not None and not callable(magnetization):
            raise ValueError(f"{type(obj).__name__}.magnetization must be callable, got {magnetization!r}")
    spin_kind = getattr(obj, "spin_kind", "ising")
    if spin_kind not in ("ising", "angle"):
        raise ValueError(f"{type(obj).__name__}.spin_kind must be 'ising' or 'angle', got {spin_kind!r}")
    label = type(obj).__name__ + (f"({getattr(obj, 'path')})" if hasattr(obj, "path") else "")
    local = is_local(obj)
    thermal = bool(getattr(obj, "thermal", False))
    if thermal and local:
        raise ValueError(f"{type(obj).__name__} is thermal and local: temperature-dependent per-site energies are not supported")
    return Operator(L=check_lattice_size(L), energy=energy, label=label, spin_kind=spin_kind,
                    site_energies=obj.site_energies if local else None,
                    receptive_radius=int(obj.receptive_radius) if local else None, magnetization=magnetization,
                    thermal=thermal)
