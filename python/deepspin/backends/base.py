"""The interface every exact-energy backend implements.

A backend receives validated, C-contiguous input (``int8`` spins or ``float64`` angles of shape
``(B, L, L)``) and returns ``float64`` energies of shape ``(B,)``. It never validates physics:
that is done once, in :mod:`deepspin.hamiltonians`.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np


class Backend(ABC):
    """One way of computing exact energies (see :func:`deepspin.backends.resolve`)."""

    #: Short name used by ``backend=...``.
    name: str = ""
    #: Whether CuPy (device) arrays are accepted without a host round trip.
    accepts_device_arrays: bool = False

    @abstractmethod
    def status(self) -> tuple[bool, str]:
        """``(available, reason)``; ``reason`` says why not when unavailable."""

    @abstractmethod
    def ising(self, spins, J: float) -> np.ndarray:
        """Nearest-neighbour Ising energies."""

    @abstractmethod
    def potts(self, theta, J: float) -> np.ndarray:
        """Planar-Potts energies."""

    @abstractmethod
    def pair_kernel(self, spins, kernel: np.ndarray, J: float, fp32: bool) -> np.ndarray:
        """Pair energies from the folded periodic kernel ``K`` (L, L)."""

    @abstractmethod
    def pair_explicit(
        self, spins, vectors: np.ndarray, weights: np.ndarray, model: int, k: float, J: float, fp32: bool
    ) -> np.ndarray:
        """Pair energies by the explicit image sum over ``vectors`` (n, 2).

        ``weights[i] = f(|v_i|)``; compiled backends recompute ``f`` per term for the built-in
        ``model`` codes (as the paper does) and use ``weights`` for tabulated potentials.
        """

    def __repr__(self) -> str:
        available, reason = self.status()
        return f"<backend {self.name!r}: {'available' if available else 'unavailable: ' + reason}>"
