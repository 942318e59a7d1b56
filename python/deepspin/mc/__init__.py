"""Monte Carlo: Metropolis with exact or learned energy operators, and exact references.

    from deepspin import Ising
    from deepspin.mc import run, ising_torus
    result = run(Ising(8), [1.5, 2.27, 3.0], chains=400, sweeps=2000)
    result.records()          # T, E_per_site, C_per_site, absm and their standard errors
"""
from .exact import T_CRITICAL, enumerate_thermodynamics, exact_thermodynamics, ising_torus, specific_heat_peak
from .metropolis import BACKENDS, MCResult, run
from .temperatures import parse_temperatures

__all__ = [
    "BACKENDS",
    "MCResult",
    "T_CRITICAL",
    "enumerate_thermodynamics",
    "exact_thermodynamics",
    "ising_torus",
    "parse_temperatures",
    "run",
    "specific_heat_peak",
]
