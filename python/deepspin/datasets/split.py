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

from ..encoding import KINDS, config_bytes, distinct_count, resolve_kind, row_keys  # noqa: F401  (part of this API)

#: Number of hash buckets (12 bits): the split resolution is 1/4096.
BUCKETS = 4096


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
