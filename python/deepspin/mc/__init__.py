"""Monte Carlo: Metropolis with exact or learned energy operators, and exact references.

    from deepspin import Ising
    from deepspin.mc import run, ising_torus
    result = run(Ising(8), [1.5, 2.27, 3.0], chains=400, sweeps=2000)
    result.records()          # T, E_per_site, C_per_site, absm and their standard errors

    state = init(Ising(8), [2.27], chains=64)   # the same engine one step at a time
    sweep(state, 10)

    run(exact_model, temperatures, surrogate=cheap, accept="cumulative", surrogate_sweeps=8)  # exact, faster

Layers: :mod:`.operators` (what an energy must provide), :mod:`.rules` (proposal rules and their
registry), :mod:`.acceptance` (every acceptance rule and the random-number protocol),
:mod:`.policies` (delayed acceptance and cumulative updates: a surrogate proposes, the exact energy corrects),
:mod:`.state` (ensemble and chain state), :mod:`.metropolis` (``init``/``sweep``/``run``),
:mod:`.checkpoint`, :mod:`.observables`, :mod:`.exact`. Importing it needs no compiled core: without
``deepspin._core`` the NumPy rules run on NumPy Philox streams.
"""
from .exact import (
    T_CRITICAL,
    enumerate_thermodynamics,
    exact_reference,
    exact_thermodynamics,
    ising_torus,
    specific_heat_peak,
)
from .metropolis import MCResult, default_start, init, run, sweep
from .operators import EnergyOperator, LocalEnergyOperator, Operator, as_operator, is_local
from .policies import POLICIES, timed_steps
from .rules import RuleSpec, backends, register_rule, select_rule
from .state import ChainState, Ensemble
from .temperatures import parse_temperatures

__all__ = [
    "ChainState",
    "EnergyOperator",
    "Ensemble",
    "LocalEnergyOperator",
    "MCResult",
    "Operator",
    "POLICIES",
    "RuleSpec",
    "T_CRITICAL",
    "as_operator",
    "backends",
    "default_start",
    "enumerate_thermodynamics",
    "exact_reference",
    "exact_thermodynamics",
    "init",
    "is_local",
    "ising_torus",
    "parse_temperatures",
    "register_rule",
    "run",
    "select_rule",
    "specific_heat_peak",
    "sweep",
    "timed_steps",
]
