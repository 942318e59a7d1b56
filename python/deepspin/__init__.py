"""deepspin: exact energies of 2-D lattice spin models and neural-network surrogates.

Exact energies run on compiled CUDA and C++/OpenMP kernels, CuPy, or a NumPy reference::

    import deepspin
    H = deepspin.ScreenedCoulomb(8)              # k = 0.5, rcut = 64, J = 1
    E = H.energy(configs)                         # (B,) float64, backend="auto", method="kernel"

Conventions (signs, image sums, cutoff rule, classes) are in docs/conventions.md.
Importing deepspin never imports TensorFlow, Keras, CuPy or scikit-learn.
"""
from . import enumeration
from ._version import __version__
from .backends import backends, resolve as resolve_backend
from .errors import BackendUnavailableError, DatasetError
from .falicov_kimball import FalicovKimball
from .hamiltonians import (
    HAMILTONIANS,
    CallableHamiltonian,
    Hamiltonian,
    Ising,
    PairPotential,
    PlanarPotts,
    ScreenedCoulomb,
    SinusoidalCoulomb,
    hamiltonian,
)
from .observables import (
    class_to_energy,
    energy_to_class,
    ising_class,
    ising_energy_levels,
    magnetization,
    staggered_magnetization,
)
from . import datasets, sampling  # numpy only: h5py, tqdm and matplotlib load lazily

__all__ = [
    "__version__",
    "HAMILTONIANS",
    "BackendUnavailableError",
    "CallableHamiltonian",
    "DatasetError",
    "FalicovKimball",
    "Hamiltonian",
    "Ising",
    "PairPotential",
    "PlanarPotts",
    "ScreenedCoulomb",
    "SinusoidalCoulomb",
    "backends",
    "class_to_energy",
    "datasets",
    "enumeration",
    "energy_to_class",
    "hamiltonian",
    "ising_class",
    "ising_energy_levels",
    "magnetization",
    "resolve_backend",
    "sampling",
    "staggered_magnetization",
]
