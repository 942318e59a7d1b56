"""Input checks shared by every public entry point (SPEC section 1).

Every function raises :class:`ValueError` with a message that says what was expected, what arrived
and, for bad values, the first offending index ``(config, row, col)``.
"""
from __future__ import annotations

import functools
import math
from numbers import Integral, Real

import numpy as np

try:
    from . import _core
except ImportError:  # pragma: no cover - extension not built: the NumPy scan below does the work
    _core = None

#: Configurations validated and converted per step: bounds the temporary memory of a huge batch.
CHUNK = 1 << 18


def is_cupy_array(x) -> bool:
    """True for a ``cupy.ndarray`` (checked without importing CuPy)."""
    return type(x).__module__.split(".")[0] == "cupy"


def _as_batch(configs, L: int | None, what: str):
    """Return (array of shape (B, L, L), single) with shape checks only."""
    xp_array = configs if is_cupy_array(configs) else np.asarray(configs)
    if xp_array.dtype == bool:
        raise ValueError(f"{what}: got a bool array; spins must be +1/-1 (e.g. np.where(mask, 1, -1).astype(np.int8))")
    if xp_array.dtype.kind not in "iuf":
        raise ValueError(f"{what}: expected a numeric array, got dtype {xp_array.dtype}")
    single = xp_array.ndim == 2
    if xp_array.ndim not in (2, 3):
        raise ValueError(
            f"{what}: expected one (L, L) configuration or a (B, L, L) batch, got an array of shape {xp_array.shape}"
        )
    batch = xp_array[None] if single else xp_array
    if batch.shape[1] != batch.shape[2]:
        raise ValueError(f"{what}: configurations must be square (L, L), got {batch.shape[1:]}")
    if batch.shape[1] == 0:
        raise ValueError(f"{what}: configurations must have at least one site, got shape {xp_array.shape}")
    if L is not None and batch.shape[1] != L:
        raise ValueError(f"{what}: this Hamiltonian has L={L}, got configurations with L={batch.shape[1]}")
    return batch, single


@functools.cache
def _cuda_scan() -> bool:
    """True when the extension has CUDA and sees a device (device arrays are then scanned there)."""
    return _core is not None and _core.cuda_device_count()[0] > 0


def _first_index(bad_mask, offset: int) -> tuple[int, ...]:
    index = np.argwhere(np.asarray(bad_mask.get() if is_cupy_array(bad_mask) else bad_mask))[0]
    index[0] += offset
    return tuple(int(i) for i in index)


def check_spins(configs, L: int | None = None, what: str = "configs"):
    """Validate Ising-like configurations and return ``(spins, single)``.

    ``spins`` is a C-contiguous ``int8`` array of shape ``(B, L, L)`` holding only +1/-1 (a NumPy
    array, or a CuPy array when a CuPy array came in); ``single`` is True when one ``(L, L)``
    configuration was given. Any integer or float dtype holding exactly +1/-1 is accepted.
    """
    batch, single = _as_batch(configs, L, what)
    xp = _xp(batch)
    if batch.dtype == np.int8 and batch.flags.c_contiguous and (xp is np or _cuda_scan()) and _core is not None:
        # One pass in compiled code, no temporaries: OpenMP on the host, one kernel on the device.
        if xp is np:
            flat = _core.first_invalid_spin_cpu(batch, 0)
        else:
            flat = _core.first_invalid_spin_cuda_ptr(batch.data.ptr, batch.size, xp.cuda.get_current_stream().ptr)
        if flat >= 0:
            index = np.unravel_index(flat, batch.shape)
            raise ValueError(f"{what}: spins must be exactly +1 or -1; found {batch[index].item()!r} "
                             f"at index {tuple(int(i) for i in index)}")
        return batch, single
    if batch.dtype == np.int8 and batch.flags.c_contiguous:
        out = batch
    else:
        out = xp.empty(batch.shape, dtype=np.int8)
    for start in range(0, batch.shape[0], CHUNK):
        chunk = batch[start : start + CHUNK]
        bad = (chunk != 1) & (chunk != -1)
        if bool(bad.any()):
            index = _first_index(bad, start)
            raise ValueError(
                f"{what}: spins must be exactly +1 or -1; found {chunk[(index[0] - start,) + index[1:]].item()!r} "
                f"at index {index}"
            )
        if out is not batch:
            out[start : start + CHUNK] = chunk
    return out, single


def check_angles(configs, L: int | None = None, what: str = "configs"):
    """Validate planar-Potts angles (finite reals) and return ``(theta float64 (B, L, L), single)``.

    SPEC: angles live in ``[0, pi)``; any finite value is accepted since the energy depends only on
    angle differences through ``cos``, but NaN and inf are rejected.
    """
    batch, single = _as_batch(configs, L, what)
    xp = _xp(batch)
    theta = xp.ascontiguousarray(batch, dtype=np.float64)
    for start in range(0, theta.shape[0], CHUNK):
        bad = ~xp.isfinite(theta[start : start + CHUNK])
        if bool(bad.any()):
            index = _first_index(bad, start)
            raise ValueError(f"{what}: angles must be finite; found {theta[index].item()!r} at index {index}")
    return theta, single


def _xp(array):
    if is_cupy_array(array):
        import cupy

        return cupy
    return np


def check_lattice_size(L, minimum: int = 2) -> int:
    """Return ``L`` as an int, rejecting non-integers and sizes below ``minimum``."""
    return check_count("L", L, minimum)


def check_real(name: str, value, *, minimum: float | None = None, inclusive: bool = True) -> float:
    """Return ``value`` as a finite float, optionally bounded below."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    value = float(value)
    if minimum is not None and (value < minimum if inclusive else value <= minimum):
        relation = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {relation} {minimum}, got {value!r}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_temperatures(temperatures) -> np.ndarray:
    """Return temperatures as a 1-D float64 array, rejecting empty input, NaN, inf and ``T <= 0``."""
    try:
        t = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"temperatures must be real numbers, got {temperatures!r}") from None
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"temperatures must be a non-empty 1-D sequence, got shape {t.shape}")
    bad = ~np.isfinite(t) | (t <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"temperatures must be finite and > 0 (k_B = 1); got T={float(t[i])!r} at index {i}. "
            "T = 0 is the ground state, not a Metropolis temperature"
        )
    return t


def check_operator_output(out, shape, what: str) -> np.ndarray:
    """Return an operator's output as finite float64 values of ``shape``.

    Only integer and real float arrays are accepted: complex, bool, object or string output is
    an error, never a silent cast.

    ``shape``: an int ``B`` for one value per configuration, ``(B,)`` (energies, magnetizations), or
    a tuple (e.g. per-site energies ``(B, L, L)``). ``what`` names the operator in the error message.
    CuPy output is brought to the host.
    """
    if is_cupy_array(out):
        out = out.get()
    per_config = isinstance(shape, Integral)
    shape = (int(shape),) if per_config else tuple(shape)
    expected = "(B,) real numbers" if per_config else f"real numbers of shape {shape}"
    try:
        raw = np.asarray(out)
    except (TypeError, ValueError):
        raw = None
    if raw is None or raw.dtype.kind not in "iuf":
        kind = type(out).__name__ if raw is None else f"{type(out).__name__} of dtype {raw.dtype}"
        hint = " (complex values are not energies: return the real part explicitly if that is meant)" \
            if raw is not None and raw.dtype.kind == "c" else ""
        raise ValueError(f"{what} must return {expected}; it returned {kind}{hint}")
    values = raw.astype(np.float64, copy=False)
    if values.shape != shape:
        if per_config:
            raise ValueError(
                f"{what} returned shape {values.shape} for a batch of {shape[0]} configurations; "
                f"it must return one value per configuration, shape ({shape[0]},) (flatten a (B, 1) output)"
            )
        raise ValueError(f"{what} returned shape {values.shape}; expected shape {shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what} returned non-finite values (NaN or inf)")
    return values


def check_count(name: str, value, minimum: int = 1) -> int:
    """``value`` as an int ``>= minimum``: the one integer check of every public entry point (bool rejected)."""
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_seed(seed, bits: int | None = None) -> int:
    """The one seed policy: an int ``>= 0`` (below ``2^bits`` if given) is itself; ``None`` draws fresh OS entropy.

    The integer is what results record, so a run with ``seed=None`` can be repeated from its record.
    """
    if seed is None:
        entropy = int(np.random.SeedSequence().entropy)
        return entropy if bits is None else entropy % (1 << bits)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0 or (bits is not None and seed >= 1 << bits):
        bound = "" if bits is None else f" below 2^{bits}"
        raise ValueError(f"seed must be None or a non-negative int{bound}, got {seed!r}")
    return int(seed)


def as_generator(seed) -> np.random.Generator:
    """Turn ``None``, an int (:func:`check_seed`) or a :class:`numpy.random.Generator` into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    try:
        return np.random.default_rng(check_seed(seed))
    except ValueError:
        raise ValueError(f"seed must be None, a non-negative int or a numpy Generator, got {seed!r}") from None
