"""What every proposal rule provides, and the helpers the compiled and the NumPy rules share.

A rule is built once per run from the :class:`~deepspin.mc.operators.Operator`, the
:class:`~deepspin.mc.state.Ensemble` and the backend it runs on. It holds parameters only (tables,
matrices, the operator); everything that evolves is in the :class:`~deepspin.mc.state.ChainState`:

- :meth:`Rule.start` gives the energy, magnetization and cache arrays of initial configurations;
- :meth:`Rule.advance` advances a state by ``n`` sweeps in place, measuring as the ensemble says.

:class:`NumpyRule` is the base of rules written in Python: they implement one sweep
(:meth:`NumpyRule.sweep_once`) and share the measurement. Compiled rules call one ``_core`` kernel
per :meth:`Rule.advance`.
"""
from __future__ import annotations

from typing import ClassVar

import numpy as np

from ...backends.compiled import _IMPORT_ERROR, _core, cuda_status
from ...errors import BackendUnavailableError
from ...validation import check_operator_output
from ..operators import Operator
from ..state import ChainState, Ensemble

#: Compiled kernels run at least this many attempts per call (progress and checkpoints in between).
MIN_CHUNK_ATTEMPTS = 30_000_000


class Rule:
    """A proposal rule bound to an operator, an ensemble and a backend (module docstring)."""

    name: ClassVar[str] = "rule"
    #: Attempts per :meth:`advance` call worth doing at once (compiled rules: amortise the call).
    min_chunk_attempts: ClassVar[int] = 0

    def __init__(self, operator: Operator, ensemble: Ensemble, backend: str) -> None:
        self.operator, self.ensemble, self.backend = operator, ensemble, backend

    def start(self, spins: np.ndarray) -> dict:
        """``energy``, ``magnet`` and ``cache`` (dict of arrays) of the initial configurations ``spins``."""
        raise NotImplementedError

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        """Advance every chain of ``state`` by ``n_sweeps`` sweeps in place (``state.sweeps_done`` included)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.operator.label}, backend={self.backend!r})"


def evaluate(function, configs: np.ndarray, shape, what: str) -> np.ndarray:
    """Call an operator on a batch and check that it returned finite numbers of ``shape`` (int: ``(B,)``)."""
    return check_operator_output(function(configs), shape, what)


def planar_magnet(theta: np.ndarray) -> np.ndarray:
    """``|sum_a exp(i theta_a)|`` per configuration of a batch of angles ``(G, L, L)``: ``(G,)`` float64."""
    flat = theta.reshape(theta.shape[0], -1)
    return np.hypot(np.cos(flat).sum(axis=1), np.sin(flat).sum(axis=1))


class NumpyRule(Rule):
    """A rule written in NumPy: :meth:`sweep_once` per sweep, then the shared measurement."""

    def sweep_once(self, state: ChainState) -> None:
        """One sweep (``N`` attempts per chain) at sweep number ``state.sweeps_done``."""
        raise NotImplementedError

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        for _ in range(n_sweeps):
            self.sweep_once(state)
            state.sweeps_done += 1
            if self.ensemble.is_measurement(state.sweeps_done):
                state.record(self.magnetization(state))

    def magnetization(self, state: ChainState) -> np.ndarray:
        """Magnetization per site ``(G,)``: the operator's, else ``sum(s) / N`` (angles: ``|mean exp(i theta)|``)."""
        N = self.ensemble.N
        if self.operator.magnetization is not None:
            return evaluate(self.operator.magnetization, state.spins, state.spins.shape[0], "the magnetization operator")
        if self.operator.spin_kind == "angle":
            state.magnet = planar_magnet(state.spins)
        return state.magnet / N


def initial_magnet(spins: np.ndarray) -> np.ndarray:
    """``sum(s)`` (int64) of +1/-1 configurations, ``|sum exp(i theta)|`` (float64) of angles, ``(G,)``."""
    if spins.dtype.kind == "f":
        return planar_magnet(spins)
    return spins.sum(axis=(1, 2), dtype=np.int64)


class CompiledRule(Rule):
    """A rule run by a ``_core`` kernel on ``backend`` ``"cpu"`` or ``"cuda"``."""

    min_chunk_attempts = MIN_CHUNK_ATTEMPTS

    def __init__(self, operator: Operator, ensemble: Ensemble, backend: str) -> None:
        if backend == "cuda" and not cuda_status()[0]:
            raise BackendUnavailableError(f"backend 'cuda' is unavailable here: {cuda_status()[1]}")
        super().__init__(operator, ensemble, backend)
        self.H = operator.hamiltonian

    def plan(self, state: ChainState, n_sweeps: int):
        """The kernel's :class:`_core.SweepPlan` for ``n_sweeps`` sweeps from ``state.sweeps_done``."""
        ens = self.ensemble
        return _core.SweepPlan(seed=ens.seed, sweep_start=state.sweeps_done, n_sweeps=n_sweeps, burn_in=ens.burn_in,
                               interval=ens.interval)


def compiled_accepts(hamiltonian_type, what: str):
    """``accepts`` of a compiled rule for Hamiltonians of ``hamiltonian_type`` (``what`` names them)."""

    def accepts(op: Operator) -> str | None:
        if op.hamiltonian is None:
            return f"{op.label} is an energy operator, which needs 'generic' (or 'local' with per-site energies)"
        if not isinstance(op.hamiltonian, hamiltonian_type):
            return f"{op.hamiltonian!r} has no compiled Metropolis kernel; use backend 'auto' or 'generic'"
        if op.magnetization is not None:
            return f"a magnetization operator needs backend='generic' (the compiled {what} rule measures its own)"
        if _core is None:
            return _IMPORT_ERROR
        return None

    return accepts


def compiled_device(op: Operator, ensemble: Ensemble) -> str:
    """The automatic device of a compiled rule: CUDA when our kernels can run, else the CPU."""
    return "cuda" if cuda_status()[0] else "cpu"
