"""The spinless Falicov–Kimball model: heavy particles as Ising variables, fermions traced out exactly.

Heavy particles sit where ``s_i = +1`` (occupation ``w_i = (1 + s_i) / 2``) on the periodic
``L x L`` torus; spinless fermions hop between nearest neighbours (``-t``) and pay ``U`` on a site
holding a heavy particle. Tracing out the fermions at temperature ``T`` (half filling of both
species, ``mu = mu_f = U/2``) gives the Boltzmann weight ``exp(-E(s; T) / T)`` of the effective
classical energy

    E(s; T) = F(s; T) - mu_f sum_i w_i,   F(s; T) = -T sum_k log(1 + exp(-(eps_k - mu) / T)),

with ``eps_k`` the eigenvalues of the fermions' one-body matrix ``H_f(s)``. Conventions (the
``L = 2`` double bonds, particle–hole symmetry, the staggered order parameter) are in
docs/conventions.md, section "Falicov–Kimball model".
"""
from __future__ import annotations

import functools
import os
from concurrent.futures import ThreadPoolExecutor
from typing import ClassVar

import numpy as np

from .backends import resolve
from .backends.compiled import num_threads
from .backends.cupy_backend import cupy_status
from .errors import BackendUnavailableError
from .hamiltonians import Hamiltonian
from .observables import staggered_magnetization
from .validation import check_choice, check_real, check_spins, is_cupy_array

#: Backend names of :meth:`FalicovKimball.energy`: NumPy's LAPACK on the host, CuPy on a GPU.
BACKENDS = ("auto", "cpu", "numpy", "cupy", "cuda")
#: Working memory of one chunk of eigenvalue problems (matrices, LAPACK's copy, eigenvalues).
CHUNK_BYTES = 64 << 20
#: :meth:`FalicovKimball.energy` refuses a lattice whose single eigenvalue problem needs more than this.
MAX_BYTES = 8 << 30
#: Bytes per matrix element in the working-memory estimate: the matrix, LAPACK's work copy, slack.
BYTES_PER_ELEMENT = 3 * 8
#: Seconds per ``N^3`` of one ``eigvalsh`` on one thread (measured on a 2-core AMD EPYC, both threads:
#: 1e-9 to 5e-9 s N^3 at N = 64 to 1024; bench/falicov_kimball.py).
SECONDS_PER_N3 = 1e-8


class FalicovKimball(Hamiltonian):
    """Spinless Falicov–Kimball model on the ``L x L`` torus; its energy depends on the temperature.

    Parameters
    ----------
    L : int
        Linear lattice size (``>= 2``; odd ``L`` has energies but no staggered order parameter).
    U : float
        On-site repulsion between a fermion and a heavy particle (default 4, in units of ``t``).
    t : float
        Nearest-neighbour hopping (default 1).

    ``energy(configs, T)`` is the effective classical energy ``E(s; T)`` of the module docstring:
    Monte Carlo with ``exp(-E/T)`` samples the heavy particles exactly (``thermal = True``:
    :mod:`deepspin.mc` passes every chain's temperature).
    """

    name = "falicov-kimball"
    #: The energy is a function of the configuration and the temperature (:class:`deepspin.mc.Operator`).
    thermal: ClassVar[bool] = True

    def __init__(self, L: int, U: float = 4.0, t: float = 1.0) -> None:
        super().__init__(L, U=check_real("U", U), t=check_real("t", t))

    @property
    def U(self) -> float:
        return self._params["U"]

    @property
    def t(self) -> float:
        return self._params["t"]

    @property
    def mu(self) -> float:
        """Chemical potential of both species at half filling, ``U / 2``."""
        return self.U / 2

    @functools.cached_property
    def hopping(self) -> np.ndarray:
        """The configuration-independent part of ``H_f``: ``-t`` times the bond counts, ``(N, N)``, read-only.

        Built on first use (``8 N^2`` bytes), so that a lattice too large to diagonalise is refused
        by :meth:`energy` before anything is allocated.
        """
        matrix = hopping_matrix(self.L, self.t)
        matrix.setflags(write=False)
        return matrix

    @property
    def order_parameter(self):
        """The Monte Carlo order parameter ``(B, L, L) -> (B,)``: the staggered magnetization (None for odd L)."""
        return None if self.L % 2 else staggered_magnetization

    def ordered_configuration(self) -> np.ndarray:
        """The checkerboard ``s[r, c] = (-1)^(r + c)`` ``(L, L)`` int8: the heavy particles' ordered phase
        (the ``start="ordered"`` of :mod:`deepspin.mc`)."""
        r, c = np.indices((self.L, self.L))
        return np.where((r + c) % 2 == 0, 1, -1).astype(np.int8)

    def fermion_matrix(self, configs) -> np.ndarray:
        """``H_f(s)`` of each configuration: ``(B, N, N)`` float64 (``(N, N)`` for one configuration)."""
        spins, single = check_spins(configs.get() if is_cupy_array(configs) else configs, self.L)
        matrices = self._matrices(np, spins)
        return matrices[0] if single else matrices

    def energy(self, configs, T=None, backend: str = "auto"):
        """Effective classical energies ``E(s; T) = F(s; T) - mu_f sum_i w_i`` (units of ``t``).

        Parameters
        ----------
        configs : array_like or cupy.ndarray
            One ``(L, L)`` configuration or a ``(B, L, L)`` batch of +1/-1 spins.
        T : float or array_like of shape (B,)
            Temperature of every configuration (``k_B = 1``), finite and ``> 0``; required.
        backend : {"auto", "cpu", "numpy", "cupy", "cuda"}
            ``cpu``/``numpy``: batched ``numpy.linalg.eigvalsh``; ``cupy``/``cuda``: ``cupy.linalg.eigvalsh``
            on a GPU; ``auto``: CuPy when a GPU works, else NumPy.

        Returns
        -------
        numpy.ndarray of float64, shape ``(B,)`` (a CuPy array for CuPy input on a GPU backend), or a
        float for one configuration.
        """
        return self._evaluate(configs, T, backend, chemical=True)

    def free_energy(self, configs, T=None, backend: str = "auto"):
        """The fermions' grand potential alone, ``F(s; T) = -T sum_k log(1 + exp(-(eps_k - mu)/T))``.

        Same arguments and return values as :meth:`energy`; ``F(s) - F(-s) = (U/2) sum_i s_i`` for even ``L``.
        """
        return self._evaluate(configs, T, backend, chemical=False)

    def predicted_seconds(self, batch: int, method: str | None = None, threads: int = 1) -> float:
        """Rough CPU time of :meth:`energy`: one ``O(N^3)`` eigenvalue problem per configuration."""
        return batch * SECONDS_PER_N3 * float(self.N) ** 3 / threads

    def memory_bytes(self, batch: int) -> int:
        """Working memory of :meth:`energy` on ``batch`` configurations (chunked: bounded by one chunk)."""
        return max(1, min(batch, self._chunk())) * self.N * self.N * BYTES_PER_ELEMENT

    # -- internals ----------------------------------------------------------------------------
    def _chunk(self) -> int:
        return max(1, CHUNK_BYTES // (self.N * self.N * BYTES_PER_ELEMENT))

    def _evaluate(self, configs, T, backend, chemical: bool):
        xp = _array_module(check_choice("backend", backend, BACKENDS))
        if is_cupy_array(configs) and xp is np:
            configs = configs.get()
        spins, single = check_spins(configs, self.L)
        temperatures = check_temperature(T, spins.shape[0], type(self).__name__)
        batch = spins.shape[0]
        if self.memory_bytes(batch) > MAX_BYTES:
            raise ValueError(
                f"{self!r}.energy needs about {self.memory_bytes(batch) / 2**30:.3g} GiB for one {self.N} x {self.N} "
                f"eigenvalue problem (limit {MAX_BYTES / 2**30:.3g} GiB); use a smaller L")
        if xp is np:
            self._warn_if_long(resolve("numpy"), batch, None)
        temperatures = xp.asarray(temperatures)
        step = self._chunk()
        parts = [self._energies(xp, xp.asarray(spins[i : i + step]), temperatures[i : i + step], chemical)
                 for i in range(0, batch, step)]
        energies = xp.concatenate(parts) if parts else xp.zeros(0, dtype=xp.float64)
        if xp is not np and not is_cupy_array(configs):
            energies = xp.asnumpy(energies)
        return float(energies[0]) if single else energies

    def _matrices(self, xp, spins):
        """``H_f`` of a batch of int8 spins: ``(B, N, N)`` float64 in array module ``xp``."""
        occupation = (spins.reshape(spins.shape[0], self.N).astype(xp.float64) + 1.0) / 2.0
        matrices = xp.empty((spins.shape[0], self.N, self.N))
        matrices[...] = xp.asarray(self.hopping)
        matrices.reshape(spins.shape[0], self.N * self.N)[:, :: self.N + 1] += self.U * occupation  # the diagonals
        return matrices

    def _energies(self, xp, spins, temperatures, chemical: bool):
        matrices = self._matrices(xp, spins)
        eps = (host_eigvalsh(matrices) if xp is np else xp.linalg.eigvalsh(matrices)) - self.mu
        T = temperatures[:, None]
        # T * logaddexp(0, -eps/T) = max(0, -eps) + T log1p(exp(-|eps|/T)): no overflow at any T > 0.
        F = -(xp.maximum(0.0, -eps) + T * xp.log1p(xp.exp(-xp.abs(eps) / T))).sum(axis=1)
        if not chemical:
            return F
        heavy = (spins.reshape(spins.shape[0], -1).astype(xp.int64).sum(axis=1) + self.N) / 2
        return F - self.mu * heavy


def host_eigvalsh(matrices: np.ndarray) -> np.ndarray:
    """Eigenvalues ``(B, N)`` of symmetric ``(B, N, N)`` matrices: single-threaded LAPACK, threads over the batch.

    A multithreaded BLAS inside each small ``N x N`` problem gains little and, on a loaded machine,
    oversubscribes the cores: at N = 256 on a busy 2-core AMD EPYC it ran 44x slower (3.2 against
    140 matrices/s). So BLAS is held to one thread (threadpoolctl) and the batch is split over
    ``DEEPSPIN_NUM_THREADS`` threads (default: all cores; NumPy releases the GIL in LAPACK).
    """
    threads = min(num_threads() or os.cpu_count() or 1, len(matrices))
    with _blas_controller().limit(limits=1, user_api="blas"):
        if threads <= 1:
            return np.linalg.eigvalsh(matrices)
        with ThreadPoolExecutor(threads) as pool:
            return np.concatenate(list(pool.map(np.linalg.eigvalsh, np.array_split(matrices, threads))))


@functools.lru_cache(maxsize=1)
def _blas_controller():
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def hopping_matrix(L: int, t: float) -> np.ndarray:
    """``-t`` times the number of nearest-neighbour bonds joining sites ``i`` and ``j`` of the torus, ``(N, N)``.

    Sites in C order (``i = r * L + c``); each site's bonds to its right and lower neighbours are
    counted once, so at ``L = 2`` neighbours are joined by two bonds (``-2t``).
    """
    N = L * L
    site = np.arange(N).reshape(L, L)
    matrix = np.zeros((N, N))
    for neighbour in (np.roll(site, -1, axis=0), np.roll(site, -1, axis=1)):
        np.add.at(matrix, (site.ravel(), neighbour.ravel()), -t)
        np.add.at(matrix, (neighbour.ravel(), site.ravel()), -t)
    return matrix


def check_temperature(T, batch: int, who: str) -> np.ndarray:
    """``T`` (a scalar or ``(batch,)``) as ``(batch,)`` float64, finite and ``> 0``, or a ValueError saying why not."""
    if T is None:
        raise ValueError(f"{who}.energy depends on the temperature: pass T (a number > 0, or one per configuration), "
                         "e.g. H.energy(configs, T=0.15)")
    if is_cupy_array(T):
        T = T.get()
    try:
        values = np.asarray(T, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"T must be a real number or an array of {batch} real numbers, got {T!r}") from None
    if values.ndim == 0:
        values = np.full(batch, float(values))
    elif values.shape != (batch,):
        raise ValueError(f"T must be a number or one temperature per configuration, shape ({batch},); "
                         f"got shape {values.shape}")
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"T must be finite and > 0 (k_B = 1); got T={float(values[i])!r}"
                         + (f" at index {i}" if values.size > 1 else ""))
    return values


def _array_module(backend: str):
    """NumPy for ``cpu``/``numpy`` (and ``auto`` without a GPU), CuPy for ``cupy``/``cuda`` (and ``auto`` with one)."""
    if backend in ("cpu", "numpy"):
        return np
    available, reason = cupy_status()
    if backend == "auto" and not available:
        return np
    if not available:
        raise BackendUnavailableError(f"backend {backend!r} (cupy.linalg.eigvalsh) is unavailable here: {reason}")
    import cupy

    return cupy
