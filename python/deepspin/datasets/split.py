"""Train/test split by SHA3-512 hash of the configuration (SPEC section 4; paper, appendix).

    bytes  = numpy.packbits((s > 0).astype(uint8).ravel(order="C"), bitorder="big").tobytes()
    bucket = int(SHA3_512(bytes).hexdigest()[:3], 16)          # the 12 most significant bits
    test   = bucket < round(test_fraction * 4096)

Angle-valued (Potts) configurations hash their C-ordered little-endian float64 bytes. The side of
the split depends on nothing but a configuration's content, so duplicates always fall on the same
side and no test configuration is ever in the training set. The runtime hash is
:func:`hashlib.sha3_512`; ``implementation="pycryptodome"`` uses ``Crypto.Hash.SHA3_512`` (the
same FIPS 202 function) for cross-checking.
"""
from __future__ import annotations

import hashlib
from numbers import Real

import numpy as np

#: Number of hash buckets (12 bits): the split resolution is 1/4096.
BUCKETS = 4096
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


def hash_buckets(configs, kind: str = "auto", implementation: str = "hashlib") -> np.ndarray:
    """The 12 most significant bits of each configuration's SHA3-512 digest, ``(B,)`` int64 in [0, 4096)."""
    rows = config_bytes(configs, kind)
    width = rows.shape[1]
    data = rows.tobytes()
    if implementation == "hashlib":
        sha3 = hashlib.sha3_512
        heads = b"".join([sha3(data[i : i + width]).digest()[:2] for i in range(0, len(data), width)])
    elif implementation == "pycryptodome":
        from Crypto.Hash import SHA3_512

        heads = b"".join([SHA3_512.new(data[i : i + width]).digest()[:2] for i in range(0, len(data), width)])
    else:
        raise ValueError(f"implementation must be 'hashlib' or 'pycryptodome', got {implementation!r}")
    pairs = np.frombuffer(heads, dtype=np.uint8).reshape(-1, 2).astype(np.int64)
    return (pairs[:, 0] << 4) | (pairs[:, 1] >> 4)


def test_threshold(test_fraction) -> int:
    """Bucket threshold ``round(test_fraction * 4096)`` (Python's round, half to even)."""
    if isinstance(test_fraction, bool) or not isinstance(test_fraction, Real) or not 0.0 <= test_fraction <= 1.0:
        raise ValueError(f"test_fraction must be a number in [0, 1], got {test_fraction!r}")
    return int(round(float(test_fraction) * BUCKETS))


def split_mask(configs, test_fraction: float, kind: str = "auto", implementation: str = "hashlib") -> np.ndarray:
    """Bool ``(B,)``: True where a configuration belongs to the test set (SPEC section 4).

    ``kind`` says whether ``configs`` are ``"spins"`` or ``"angles"`` (``"auto"``: integer arrays
    and float arrays of only +-1 are spins). About ``round(4096 f) / 4096`` of all distinct
    configurations are test ones.
    """
    threshold = test_threshold(test_fraction)
    return hash_buckets(configs, kind, implementation) < threshold


def distinct_count(configs, kind: str = "auto") -> int:
    """Number of distinct configurations."""
    return int(len(np.unique(row_keys(config_bytes(configs, kind)))))


def row_keys(rows: np.ndarray) -> np.ndarray:
    """One opaque, comparable key per row of a ``(B, nbytes)`` uint8 array (a void view, no copy)."""
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()
