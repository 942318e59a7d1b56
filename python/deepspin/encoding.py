"""Byte encodings of configurations (SPEC section 4): what the split hashes and what makes two configurations equal.

Spins are the big-endian packed bits of ``s > 0``; angles the C-ordered little-endian float64 values.
It sits below both the samplers (distinct counts) and the datasets (hash split), so neither imports the other.
"""
from __future__ import annotations

import numpy as np

KINDS = ("auto", "spins", "angles")


def _batch(configs) -> np.ndarray:
    array = np.asarray(configs)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[1] != array.shape[2]:
        raise ValueError(f"configs: expected (B, L, L) or (L, L), got an array of shape {array.shape}")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"configs: expected a numeric array, got dtype {array.dtype}")
    return array


def resolve_kind(configs: np.ndarray, kind: str = "auto") -> str:
    """``"spins"`` or ``"angles"``: integer arrays are spins; float arrays are spins iff they hold only +-1."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind != "auto":
        return kind
    if configs.dtype.kind in "iu" or configs.size == 0:
        return "spins"
    return "spins" if bool(np.all((configs == 1) | (configs == -1))) else "angles"


def config_bytes(configs, kind: str = "auto") -> np.ndarray:
    """The bytes SPEC section 4 hashes, one row per configuration: ``(B, nbytes)`` uint8.

    Spins: the big-endian packed bits of ``s > 0`` (``ceil(N / 8)`` bytes); angles: the float64
    little-endian values (``8 N`` bytes).
    """
    batch = _batch(configs)
    B, N = batch.shape[0], batch.shape[1] * batch.shape[2]
    if resolve_kind(batch, kind) == "angles":
        return np.ascontiguousarray(batch, dtype="<f8").reshape(B, N).view(np.uint8)
    return np.packbits(batch.reshape(B, N) > 0, axis=1, bitorder="big")


def distinct_count(configs, kind: str = "auto") -> int:
    """Number of distinct configurations."""
    return int(len(np.unique(row_keys(config_bytes(configs, kind)))))


def row_keys(rows: np.ndarray) -> np.ndarray:
    """One opaque, comparable key per row of a ``(B, nbytes)`` uint8 array (a void view, no copy)."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
