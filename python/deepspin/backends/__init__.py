"""Exact-energy backends, fastest first: ``cuda`` > ``cupy`` > ``cpu`` > ``numpy``.

``resolve("auto")`` returns the first that works here; :func:`backends` lists all of them with the
reason any is unavailable. Every backend gives the same numbers (float64: 1e-9 relative).
"""
from __future__ import annotations

from ..errors import BackendUnavailableError
from .base import Backend
from .compiled import CpuBackend, CudaBackend
from .cupy_backend import CupyBackend
from .numpy_backend import NumpyBackend

__all__ = ["Backend", "NAMES", "backends", "resolve", "available_backends"]

_BACKENDS: dict[str, Backend] = {b.name: b for b in (CudaBackend(), CupyBackend(), CpuBackend(), NumpyBackend())}
#: Backend names in order of preference.
NAMES = tuple(_BACKENDS)


def backends() -> dict[str, tuple[bool, str]]:
    """``{name: (available, reason)}`` for every backend, fastest first."""
    return {name: backend.status() for name, backend in _BACKENDS.items()}


def available_backends() -> list[str]:
    """Names of the backends that work here, fastest first."""
    return [name for name, (ok, _) in backends().items() if ok]


def resolve(name: str = "auto") -> Backend:
    """Return the backend called ``name``, or the fastest available one for ``"auto"``."""
    if name == "auto":
        for backend in _BACKENDS.values():
            if backend.status()[0]:
                return backend
    if name not in _BACKENDS:
        raise ValueError(f"backend must be 'auto' or one of {', '.join(map(repr, NAMES))}; got {name!r}")
    backend = _BACKENDS[name]
    available, reason = backend.status()
    if not available:
        raise BackendUnavailableError(f"backend {name!r} is unavailable here: {reason}")
    return backend
