"""Samplers of labelled configurations (SPEC section 5), each reproducible bit for bit from a seed.

- :func:`uniform`: independent uniform spins (Potts: angles in ``[0, pi)``).
- :func:`targeted`: a quota per Ising energy class, or per energy bin for continuous models.
- :func:`thermal`: Metropolis-Hastings at one or several temperatures, many independent chains.
- :func:`enumerate_all`: every configuration of a lattice with ``N <= 25`` sites, in SPEC order.
- :func:`labelled_configs`: uniform + thermal + staggered thermal configurations (surrogate training data).

Every sampler labels its configurations with the exact engine and returns a :class:`SampleSet`;
the thermal ones run on the Monte Carlo core (:mod:`deepspin.mc`).
Any :class:`~deepspin.hamiltonians.Hamiltonian` works, including a
:class:`~deepspin.hamiltonians.CallableHamiltonian` around a user energy function (whose batch
energies then replace the local updates of the walkers).
"""
from .common import SampleSet
from .labelled import labelled_configs
from .simple import enumerate_all, uniform
from .targeted import targeted
from .thermal import thermal

SAMPLERS = ("uniform", "targeted", "thermal", "enumerate")

__all__ = ["SAMPLERS", "SampleSet", "enumerate_all", "labelled_configs", "targeted", "thermal", "uniform"]
