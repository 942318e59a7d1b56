"""Proposal rules of the Monte Carlo core: rules propose, one acceptance decides (:mod:`..acceptance`).

Built in, in registration order (:mod:`.registry` says how a rule is chosen; each file registers one):

========================  ==================  ========================================================
rule (file)               backends            proposes
========================  ==================  ========================================================
``ising`` (ising.py)      cpu, cuda           single flips, nearest-neighbour Ising, acceptance table
``pair`` (pair.py)        cpu, cuda           single flips, pair kernels, local fields ``h = M s``
``potts`` (potts.py)      cpu, cuda           a new uniform angle at one site, planar Potts
``batch`` (batch.py)      generic             a flip or a new angle; any operator, batched energies
``sublattice``            local               whole sublattices of a local operator at once
``multispin``             multispin           single flips, Ising, 64 replicas per word (bit-sliced)
========================  ==================  ========================================================

``backend="auto"`` takes a compiled rule (CUDA when available) for deepspin Hamiltonians that
have one (for Ising from the measured crossover in chains, the multispin rule), the sublattice rule for local operators, and the batch rule otherwise. Adding a rule is
one new file here that subclasses :class:`~.base.Rule` and calls :func:`~.registry.register_rule`,
plus its import below (docs/monte-carlo.md).
"""
from . import ising, pair, potts, batch, sublattice, multispin  # noqa: F401  (each registers its rule)
from .base import MIN_CHUNK_ATTEMPTS, CompiledRule, NumpyRule, Rule
from .registry import RuleSpec, backends, register_rule, rule_specs, select_rule

__all__ = ["MIN_CHUNK_ATTEMPTS", "CompiledRule", "NumpyRule", "Rule", "RuleSpec", "backends", "register_rule",
           "rule_specs", "select_rule"]
