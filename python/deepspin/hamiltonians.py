"""Hamiltonians of 2-D periodic lattice spin models (SPEC section 2).

Each Hamiltonian is an immutable object holding validated parameters; the backend and the method
are arguments of :meth:`Hamiltonian.energy`, not subclasses. Energies are float64 in units of J.

- :class:`Ising`: ``E = -J sum s[r,c] (s[r+1,c] + s[r,c+1])``.
- :class:`PairPotential` (and :class:`ScreenedCoulomb`, :class:`SinusoidalCoulomb`):
  ``E = (J/2) sum_{a,b} sum_n s_a s_b f(|r_b - r_a + L n|)`` over ``0 < |v| <= rcut``.
- :class:`PlanarPotts`: ``E = J sum [cos(t[r,c] - t[r+1,c]) + cos(t[r,c] - t[r,c+1])]``.
- :class:`~deepspin.falicov_kimball.FalicovKimball`: the effective energy ``E(s; T)`` of heavy
  particles after tracing out the fermions (temperature-dependent, :mod:`deepspin.falicov_kimball`).

Reference: K. Mills and I. Tamblyn, Phys. Rev. E 97, 032119 (2018).
"""
from __future__ import annotations

import os
import warnings
from typing import Callable, ClassVar

import numpy as np

from . import lattice
from .backends import resolve
from .backends.compiled import _core
from .errors import LongComputationWarning
from .validation import (
    CHUNK,
    check_angles,
    check_choice,
    check_operator_output,
    check_lattice_size,
    check_real,
    check_spins,
    is_cupy_array,
)

PRECISIONS = ("float64", "float32")
METHODS = ("kernel", "explicit")


class Hamiltonian:
    """Base class: parameter storage, printing, equality and the batched, chunked ``energy``."""

    #: Registry name (``deepspin.hamiltonian(name, L, ...)``).
    name: ClassVar[str] = ""
    #: ``"ising"`` for +1/-1 spins, ``"angle"`` for real angles.
    spin_kind: ClassVar[str] = "ising"

    def __init__(self, L: int, **params: float) -> None:
        self._L = check_lattice_size(L)
        self._params = params

    @property
    def L(self) -> int:
        """Linear lattice size; a configuration is ``(L, L)``."""
        return self._L

    @property
    def N(self) -> int:
        """Number of sites ``L * L``."""
        return self._L * self._L

    @property
    def params(self) -> dict:
        """Parameters other than ``L``, as given to the constructor (after validation)."""
        return dict(self._params)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in {"L": self._L, **self._params}.items())
        return f"{type(self).__name__}({args})"

    def _key(self) -> tuple:
        return (type(self), self._L, tuple(sorted(self._params.items())))

    def __eq__(self, other) -> bool:
        return isinstance(other, Hamiltonian) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    # -- energies -----------------------------------------------------------------------------
    def check(self, configs):
        """Validate configurations for this Hamiltonian: ``(batch, single)`` (SPEC section 1)."""
        if self.spin_kind == "angle":
            return check_angles(configs, self._L)
        return check_spins(configs, self._L)

    def energy(self, configs, backend: str = "auto", method: str | None = None, precision: str = "float64"):
        """Exact energies of one ``(L, L)`` configuration (a float) or a ``(B, L, L)`` batch.

        Parameters
        ----------
        configs : array_like or cupy.ndarray
            +1/-1 spins (any integer or float dtype) or, for Potts, finite angles.
        backend : {"auto", "cuda", "cupy", "cpu", "numpy"}
            Where to compute; ``"auto"`` picks the fastest available one.
        method : {"kernel", "explicit"}, optional
            Pair-kernel models only: folded-kernel quadratic form (default) or the paper's
            term-by-term image sum.
        precision : {"float64", "float32"}
            Arithmetic of pair-kernel sums (float32 errors are documented in docs/conventions.md);
            Ising energies are exact integers and Potts is always float64.

        Returns
        -------
        numpy.ndarray of float64, shape ``(B,)`` (a CuPy array when CuPy input ran on a GPU
        backend), or a float for a single configuration.
        """
        engine = resolve(backend)
        method = self._check_method(method)
        check_choice("precision", precision, PRECISIONS)
        if is_cupy_array(configs) and not engine.accepts_device_arrays:
            configs = configs.get()
        batch, single = self.check(configs)
        self._warn_if_long(engine, batch.shape[0], method)
        step = max(1, CHUNK * 64 // self.N)
        parts = [
            self._compute(engine, batch[i : i + step], method, precision == "float32")
            for i in range(0, batch.shape[0], step)
        ]
        xp = _array_module(parts[0] if parts else batch)
        energies = xp.concatenate(parts) if parts else xp.zeros(0, dtype=xp.float64)
        return float(energies[0]) if single else energies

    def predicted_seconds(self, batch: int, method: str | None = None, threads: int = 1) -> float:
        """Rough CPU time of :meth:`energy` on ``batch`` configurations (nearest-neighbour models: ``~N`` each)."""
        return batch * self.N / (1e9 * threads)

    def _warn_if_long(self, engine, batch: int, method) -> None:
        """Warn, before starting, when a host backend is predicted to need more than an hour."""
        if engine.name not in ("cpu", "numpy"):
            return
        from .backends.compiled import num_threads

        threads = num_threads() or os.cpu_count() or 1
        seconds = self.predicted_seconds(batch, method, threads)
        if seconds > 3600:
            warnings.warn(
                f"{self!r}.energy on {batch:,} configurations ({method or 'exact'} method, {engine.name} backend, "
                f"{threads} threads) is predicted to take about {seconds:.2g} s ({seconds / 3600:.2g} hours); "
                "Ctrl-C stops it" + ("" if method != "explicit" else "; the kernel method is much faster"),
                LongComputationWarning, stacklevel=3)

    def _check_method(self, method):
        if method is not None:
            raise ValueError(f"{type(self).__name__} has a single exact method; pass method=None, got {method!r}")
        return None

    def _compute(self, engine, batch, method, fp32):
        raise NotImplementedError


def _array_module(array):
    if is_cupy_array(array):
        import cupy

        return cupy
    return np


class _NearestNeighbour(Hamiltonian):
    """A nearest-neighbour model with a single coupling ``J``."""

    def __init__(self, L: int, J: float = 1.0) -> None:
        super().__init__(L, J=check_real("J", J))

    @property
    def J(self) -> float:
        return self._params["J"]


class Ising(_NearestNeighbour):
    """Nearest-neighbour Ising model, ``E = -J sum_<ij> s_i s_j`` on the ``L x L`` torus."""

    name = "ising"

    def _compute(self, engine, batch, method, fp32):
        return engine.ising(batch, self.J)


class PlanarPotts(_NearestNeighbour):
    """Planar ("modified") Potts model of continuous angles in ``[0, pi)``.

    ``E = J sum_{r,c} [cos(t[r,c] - t[r+1,c]) + cos(t[r,c] - t[r,c+1])]``; all angles equal give
    ``2 N J``.
    """

    name = "potts"
    spin_kind = "angle"

    def _compute(self, engine, batch, method, fp32):
        return engine.potts(batch, self.J)


class PairPotential(Hamiltonian):
    """A user-defined radial pair interaction ``f(d)`` summed over periodic images.

    ``E = (J/2) sum_{a,b in cell} sum_{n in Z^2} s_a s_b f(|r_b - r_a + L n|)``, terms with
    ``0 < d <= rcut`` (SPEC section 2). ``f`` must be vectorised (NumPy array in, array out) and
    finite on ``(0, rcut]``; it is evaluated once per image vector when the object is built, so
    the folded-kernel method is as fast as for the built-in models on every backend.
    """

    name = "pair"
    #: The compiled engine's code of f(d) (csrc/lattice.hpp; None where the core is not built, never used then).
    _radial_code: ClassVar[int | None] = getattr(_core, "RADIAL_TABULATED", None)

    def __init__(self, L: int, f: Callable[[np.ndarray], np.ndarray], rcut: float, J: float = 1.0,
                 name: str = "custom", *, _params: dict | None = None) -> None:
        if not callable(f):
            raise ValueError(f"f must be a vectorised callable f(d) -> array, got {f!r}")
        L = check_lattice_size(L)
        rcut = check_real("rcut", rcut, minimum=1.0)
        super().__init__(L, **(_params or {}), rcut=rcut, J=check_real("J", J))
        self._f = f
        self._label = str(name)
        self._vectors = lattice.image_vectors(rcut)
        arrays_hint = (f"f is called once with the array of all {len(self._vectors)} image distances and must return "
                       "an array of the same shape: write it with NumPy functions (np.exp, not math.exp; "
                       "np.where, not if), or pass np.vectorize(f)")
        with np.errstate(all="ignore"):  # a non-finite value is reported below, by name
            try:
                raw = call_user_function(f, lattice.vector_norms(self._vectors), f"the pair interaction f={f!r}")
            except ValueError as exc:
                raise ValueError(f"{exc}; {arrays_hint}") from exc.__cause__
        if np.ndim(raw) == 0:
            raise ValueError(f"the pair interaction f={f!r} returned the scalar {raw!r}: returned shape (); "
                             f"expected shape ({len(self._vectors)},): {arrays_hint}")
        weights = check_operator_output(raw, (len(self._vectors),),
                                        f"f (the pair interaction, on {len(self._vectors)} distances)")
        weights = weights.copy()
        weights.setflags(write=False)
        self._weights = weights
        self._kernel = lattice.folded_kernel(L, weights, self._vectors)
        self._kernel.setflags(write=False)

    def __repr__(self) -> str:
        text = super().__repr__()
        return text if type(self) is not PairPotential else f"{text[:-1]}, f={self._f!r}, name={self._label!r})"

    def _key(self) -> tuple:
        return super()._key() + ((self._f, self._label) if type(self) is PairPotential else ())

    @property
    def label(self) -> str:
        """Name of a user-defined potential (the class's registry name for built-in models)."""
        return self._label

    @property
    def rcut(self) -> float:
        return self._params["rcut"]

    @property
    def J(self) -> float:
        return self._params["J"]

    @property
    def kernel(self) -> np.ndarray:
        """Folded periodic kernel ``K`` (L, L), read-only: ``K[dx mod L, dy mod L] = sum_n f(|(dx,dy) + L n|)``."""
        return self._kernel

    @property
    def image_vectors(self) -> np.ndarray:
        """Image vectors ``(n, 2)`` of the explicit sum (``0 < |v| <= rcut``), read-only."""
        return self._vectors

    @property
    def weights(self) -> np.ndarray:
        """``f(|v|)`` for every image vector, read-only."""
        return self._weights

    @property
    def term_count(self) -> int:
        """Ordered (site, image) terms of the explicit sum per configuration."""
        return self.N * len(self._vectors)

    def predicted_seconds(self, batch: int, method: str | None = "kernel", threads: int = 1) -> float:
        """Rough CPU time of :meth:`energy`: the kernel method costs ``N L`` (``L <= 64``) or ``N^2``
        multiply-adds per configuration at ~1e9 per second and thread; the explicit method
        ``N * len(image_vectors)`` terms at ~1e8 per second and thread (measured on a 2-core Xeon)."""
        if method == "explicit":
            return batch * self.term_count / (1e8 * threads)
        per_config = self.N * self.L if self.L <= 64 else self.N * self.N
        return batch * per_config / (1e9 * threads)

    def radial(self, d):
        """The pair interaction ``f(d)``."""
        return self._f(np.asarray(d, dtype=np.float64))

    def _check_method(self, method):
        return "kernel" if method is None else check_choice("method", method, METHODS)

    def _compute(self, engine, batch, method, fp32):
        if method == "kernel":
            return engine.pair_kernel(batch, self._kernel, self.J, fp32)
        k = self._params.get("k", 0.0)
        return engine.pair_explicit(batch, self._vectors, self._weights, self._radial_code, k, self.J, fp32)


class ScreenedCoulomb(PairPotential):
    """Screened Coulomb (Yukawa) interaction ``f(d) = exp(-k d) / d`` (antiferromagnetic for J > 0).

    ``rcut=None`` means ``8 * L`` (64 for the paper's 8x8 lattice).
    """

    name = "screened-coulomb"
    _radial_code = getattr(_core, "RADIAL_SCREENED_COULOMB", None)

    def __init__(self, L: int, k: float = 0.5, rcut: float | None = None, J: float = 1.0) -> None:
        k = check_real("k", k, minimum=0.0)
        L = check_lattice_size(L)
        super().__init__(L, self._radial_function(k), 8.0 * L if rcut is None else rcut, J=J,
                         name=self.name, _params={"k": k})

    @property
    def k(self) -> float:
        return self._params["k"]

    @staticmethod
    def _radial_function(k):
        return lambda d: np.exp(-k * d) / d


class SinusoidalCoulomb(ScreenedCoulomb):
    """Sinusoidally attenuated screened Coulomb interaction ``f(d) = exp(-k d) sin(d) / d``."""

    name = "sinusoidal-coulomb"
    _radial_code = getattr(_core, "RADIAL_SINUSOIDAL_COULOMB", None)

    @staticmethod
    def _radial_function(k):
        return lambda d: np.exp(-k * d) * np.sin(d) / d


class CallableHamiltonian(Hamiltonian):
    """Any energy function: a Python callable ``f(batch) -> (B,)`` on whole batches of configurations.

    ``f`` receives a validated, read-only, C-contiguous batch (``int8`` +1/-1 spins, or float64
    angles when ``spin_kind="angle"``) of shape ``(B, L, L)``, never the caller's own array, and
    returns ``B`` finite real energies (integer or float; complex or bool output is an error). It runs in
    Python on NumPy arrays, so the ``backend`` argument of :meth:`energy` does not apply (only
    ``"auto"`` and ``"numpy"`` are accepted). Built from the command line as
    ``--hamiltonian package.module:function`` (see :func:`load_callable`); ``path`` records that
    import path in dataset metadata.
    """

    name = "callable"

    def __init__(self, L: int, f: Callable[[np.ndarray], np.ndarray], spin_kind: str = "ising",
                 path: str | None = None) -> None:
        if not callable(f):
            raise ValueError(f"f must be a callable on a (B, L, L) batch returning (B,) energies, got {f!r}")
        super().__init__(L)
        self.spin_kind = check_choice("spin_kind", spin_kind, ("ising", "angle"))
        self._f = f
        self._path = path or f"{getattr(f, '__module__', '?')}:{getattr(f, '__qualname__', repr(f))}"

    @property
    def path(self) -> str:
        """Import path ``package.module:function`` of the energy function."""
        return self._path

    def __repr__(self) -> str:
        return f"CallableHamiltonian(L={self.L}, f={self._path}, spin_kind={self.spin_kind!r})"

    def _key(self) -> tuple:
        return super()._key() + (self._f, self.spin_kind)

    def energy(self, configs, backend: str = "auto", method: str | None = None, precision: str = "float64"):
        check_choice("backend", backend, ("auto", "numpy"))
        self._check_method(method)
        check_choice("precision", precision, ("float64",))
        if is_cupy_array(configs):
            configs = configs.get()
        batch, single = self.check(configs)
        if np.may_share_memory(batch, configs):
            batch = batch.copy()  # the energy function must not be able to change the caller's array
        batch.setflags(write=False)
        out = call_user_function(self._f, batch, f"energy function {self._path}")
        energies = check_operator_output(out, batch.shape[0], f"energy function {self._path}")
        return float(energies[0]) if single else energies


def call_user_function(f, argument, what: str):
    """``f(argument)``; an exception raised inside becomes a :class:`ValueError` naming ``what``.

    The original exception stays attached as ``__cause__`` (its traceback shows where in the
    user's code it happened).
    """
    try:
        return f(argument)
    except (KeyboardInterrupt, SystemExit, MemoryError):
        raise
    except Exception as exc:
        raise ValueError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def load_callable(path: str):
    """Import ``package.module:function`` and return the object (a ValueError says what failed)."""
    import importlib

    module_name, sep, attr = str(path).partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"an energy function is named 'package.module:function', got {path!r}")
    if not all(part.isidentifier() for part in module_name.split(".")):
        raise ValueError(f"{path!r}: {module_name!r} is not an importable module name (a file path or a relative "
                         "name is not); name the module as Python imports it, e.g. mymodule:energy for "
                         "mymodule.py, and put its folder on PYTHONPATH (PYTHONPATH=/path/to/folder deepspin ...)")
    try:
        obj = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for {path!r}: {exc} (is its folder on PYTHONPATH? "
                         "e.g. PYTHONPATH=/path/to/folder deepspin ...)") from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ValueError(f"{path!r} is not callable")
    return obj


_REGISTRY = {cls.name: cls for cls in (Ising, ScreenedCoulomb, SinusoidalCoulomb, PlanarPotts)}
#: Models in their own modules, which build on :class:`Hamiltonian`: imported when first asked for.
_OWN_MODULES = ("falicov-kimball",)
#: Names accepted by :func:`hamiltonian`.
HAMILTONIANS = tuple(_REGISTRY) + _OWN_MODULES


def _registered(name: str):
    """The class registered as ``name``, or None."""
    if name == "falicov-kimball":
        from .falicov_kimball import FalicovKimball

        return FalicovKimball
    return _REGISTRY.get(name)


def hamiltonian(name: str, L: int, **params) -> Hamiltonian:
    """Build a Hamiltonian by registry name: ``ising``, ``screened-coulomb``, ``sinusoidal-coulomb``, ``potts``,
    ``falicov-kimball``.

    A name ``package.module:function`` builds a :class:`CallableHamiltonian` around that energy
    function; its ``spin_kind`` is ``params["spin_kind"]``, else the function's own ``spin_kind``
    attribute (``"angle"`` for angle-valued models), else ``"ising"``.
    """
    if ":" in str(name):
        unknown = sorted(set(params) - {"spin_kind"})
        if unknown:
            raise ValueError(f"an energy function takes no parameters but spin_kind; got {unknown}")
        f = load_callable(name)
        return CallableHamiltonian(L, f, path=name, spin_kind=params.get("spin_kind", getattr(f, "spin_kind", "ising")))
    cls = _registered(name)
    if cls is None:
        raise ValueError(
            f"unknown Hamiltonian {name!r}; choose one of {', '.join(HAMILTONIANS)} "
            "or name an energy function as 'package.module:function'"
        )
    try:
        return cls(L, **params)
    except TypeError as exc:  # an unknown keyword: say which ones exist
        import inspect

        allowed = [p for p in inspect.signature(cls).parameters if p != "L"]
        raise ValueError(f"{name}: unexpected parameters {sorted(params)}; allowed: {allowed}") from exc
