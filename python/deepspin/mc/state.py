"""What a Monte Carlo run is made of: the :class:`Ensemble` (fixed) and the :class:`ChainState` (evolving).

Chain ``g = t * chains + c`` runs at temperature ``T_t``. Arrays of the state have the chains on
their first axis. Everything that evolves lives in :class:`ChainState`, the proposal rule's caches
included (``cache``: local fields of pair models, per-site energies of local operators), so saving
its arrays (:meth:`ChainState.arrays`) saves a run completely: the random streams are counter-based,
and the sweep count is their position.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np


def measurement_count(sweeps_done: int, burn_in: int, interval: int) -> int:
    """Measurements taken once ``sweeps_done`` sweeps are done (one after every ``interval``-th sweep past ``burn_in``)."""
    return 0 if sweeps_done <= burn_in else (sweeps_done - burn_in) // interval


@dataclasses.dataclass(frozen=True)
class Ensemble:
    """The fixed part of a run: ``chains`` chains at each of ``temperatures``, ``L x L`` sites, a seed and a plan.

    ``burn_in`` sweeps before the first measurement, then one every ``interval`` sweeps;
    ``series`` measurements of ``E`` and ``m`` are kept per chain (0: none); ``batches``: the
    ``measurements`` planned are split into this many consecutive batches whose per-chain sums are
    kept for the equilibration diagnostics (0: none; :meth:`batch_ends`).
    """

    temperatures: np.ndarray
    chains: int
    L: int
    seed: int
    burn_in: int = 0
    interval: int = 1
    series: int = 0
    batches: int = 0
    measurements: int = 0

    def batch_ends(self) -> np.ndarray:
        """Sweep counts ``(batches,)`` after which batch ``b`` ends: measurement ``(b + 1) n // batches`` (``n`` = ``measurements``)."""
        last = (np.arange(1, self.batches + 1) * self.measurements) // max(self.batches, 1)
        return self.burn_in + last * self.interval

    @property
    def N(self) -> int:
        return self.L * self.L

    @property
    def size(self) -> int:
        """Number of chains ``G`` over all temperatures."""
        return self.chains * len(self.temperatures)

    @property
    def betas(self) -> np.ndarray:
        """``1 / T`` per temperature, ``(T,)``."""
        return 1.0 / self.temperatures

    @property
    def chain_betas(self) -> np.ndarray:
        """``1 / T`` per chain, ``(G,)``."""
        return np.repeat(self.betas, self.chains)

    def is_measurement(self, sweeps_done: int) -> bool:
        """True if the sweep that brings the count to ``sweeps_done`` ends with a measurement."""
        return sweeps_done > self.burn_in and (sweeps_done - self.burn_in) % self.interval == 0


@dataclasses.dataclass
class ChainState:
    """Everything that evolves during a run, over chains ``g`` (first axis), and the rule that evolves it.

    ``spins`` ``(G, L, L)``: int8 +1/-1 or float64 angles. ``energy`` ``(G,)``: int64 bond sum
    ``-sum s s'`` for the compiled Ising rule, float64 energy otherwise. ``magnet`` ``(G,)``: int64
    ``sum s`` for +1/-1 spins, float64 ``|sum exp(i theta)|`` for angles. ``moments`` ``(G, 3)``: sums
    of ``E``, ``E^2`` and ``|m|`` over the measurements; ``accepted`` ``(G,)`` accepted moves;
    ``series_*`` ``(G, series)`` every measurement of ``E`` and ``m`` (or None); ``cache`` the rule's
    arrays; ``batch_moments`` ``(G, batches, 3)`` the sums of ``E``, ``E^2`` and ``|m|`` at the end of
    each batch of the ensemble (cumulative; or None). ``rule`` and ``ensemble`` are not arrays: a checkpoint stores the arrays and rebuilds
    those two from the run's parameters.
    """

    rule: Any
    ensemble: Ensemble
    sweeps_done: int
    spins: np.ndarray
    energy: np.ndarray
    magnet: np.ndarray
    moments: np.ndarray
    accepted: np.ndarray
    series_energy: np.ndarray | None = None
    series_magnet: np.ndarray | None = None
    cache: dict = dataclasses.field(default_factory=dict)
    batch_moments: np.ndarray | None = None

    ARRAYS = ("spins", "energy", "magnet", "moments", "accepted", "series_energy", "series_magnet", "batch_moments")

    def arrays(self) -> dict:
        """Every evolving array by name (the rule's cache as ``cache_<name>``), and ``sweeps_done``."""
        out = {name: getattr(self, name) for name in self.ARRAYS}
        out.update({f"cache_{k}": v for k, v in self.cache.items()})
        out["sweeps_done"] = np.array(self.sweeps_done, dtype=np.int64)
        return out

    @classmethod
    def from_arrays(cls, rule, ensemble: Ensemble, arrays: dict) -> "ChainState":
        """The state saved by :meth:`arrays` (arrays missing from ``arrays`` are None)."""
        values = {name: arrays.get(name) for name in cls.ARRAYS}
        cache = {k[len("cache_"):]: v for k, v in arrays.items() if k.startswith("cache_")}
        return cls(rule=rule, ensemble=ensemble, sweeps_done=int(arrays["sweeps_done"]), cache=cache, **values)

    def close_batch(self) -> None:
        """Keep the moment sums if ``sweeps_done`` ends a batch of the ensemble (:meth:`Ensemble.batch_ends`)."""
        if self.batch_moments is None:
            return
        for b in np.flatnonzero(self.ensemble.batch_ends() == self.sweeps_done):
            self.batch_moments[:, b] = self.moments[:, :3]

    def record(self, m: np.ndarray) -> None:
        """Add the current energies and the magnetizations per site ``m`` ``(G,)`` as one measurement."""
        energy = self.energy.astype(np.float64)
        self.moments[:, 0] += energy
        self.moments[:, 1] += energy * energy
        self.moments[:, 2] += np.abs(m)
        if self.series_energy is not None:
            ens = self.ensemble
            q = measurement_count(self.sweeps_done, ens.burn_in, ens.interval) - 1
            self.series_energy[:, q] = energy
            self.series_magnet[:, q] = m
