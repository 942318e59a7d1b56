"""Uniform sampling and full enumeration (SPEC section 5), labelled with the exact engine."""
from __future__ import annotations

import numpy as np

from .. import enumeration
from ..hamiltonians import Hamiltonian
from .common import (
    LABEL_CHUNK,
    SampleSet,
    check_count,
    check_shard,
    describe_hamiltonian,
    label,
    progress_bar,
    seed_entropy,
    shard_range,
    shard_share,
    stream,
)
from .walkers import draw_uniform


def uniform(H: Hamiltonian, n: int, *, seed=None, backend: str = "auto", shards: int = 1, shard_index: int = 0,
            progress: bool = False) -> SampleSet:
    """``n`` independent uniform configurations: spins +1/-1 with probability 1/2 each, or Potts angles
    uniform in ``[0, pi)``.

    The draws come from stream ``1 + shard_index`` of ``seed`` in fixed chunks of
    :data:`~deepspin.sampling.common.LABEL_CHUNK` configurations, so the result depends on the
    seed only (not on threads or the backend that labels it). With ``shards > 1`` this call makes
    shard ``shard_index``'s share of ``n``.

    For Ising spins ``<E> = 0``, ``Var E = 2 N J^2`` and ``<|m|> = C(N, N/2) / 2^N`` (even N).
    """
    n = check_count("n", n, minimum=0)
    shards, shard_index = check_shard(shards, shard_index)
    entropy = seed_entropy(seed)
    count = shard_share(n, shards, shard_index)
    rng = stream(entropy, 1 + shard_index)
    dtype = np.float64 if H.spin_kind == "angle" else np.int8
    spins = np.empty((count, H.L, H.L), dtype=dtype)
    with progress_bar(2 * count, f"uniform {H.name}", progress) as bar:
        for start in range(0, count, LABEL_CHUNK):
            stop = min(count, start + LABEL_CHUNK)
            spins[start:stop] = draw_uniform(H.spin_kind, (stop - start, H.L, H.L), rng)
            bar.update(stop - start)
        energy = label(H, spins, backend, bar)
    meta = {
        "hamiltonian": describe_hamiltonian(H),
        "sampler": "uniform",
        "sampler_params": {"n": n},
        "seed": entropy,
        "shards": shards,
        "shard_index": shard_index,
    }
    return SampleSet(spins, energy, meta)


def enumerate_all(H: Hamiltonian, *, backend: str = "auto", shards: int = 1, shard_index: int = 0,
                  progress: bool = False) -> SampleSet:
    """All ``2^N`` configurations of a +1/-1 model (``N = L*L <= 25``) in SPEC section 5 order.

    Configuration ``i`` has spin +1 at site ``j`` (C order) iff bit ``N - 1 - j`` of ``i`` is set
    (:mod:`deepspin.enumeration`). L = 4 gives 65,536 configurations. With ``shards > 1`` this
    call makes the ``shard_index``-th contiguous block. Deterministic: no seed.
    """
    if H.spin_kind == "angle":
        raise ValueError(f"enumeration needs +1/-1 spins; {H.name} takes continuous angles (use uniform or targeted)")
    total = enumeration.count(H.L)
    shards, shard_index = check_shard(shards, shard_index)
    start, stop = shard_range(total, shards, shard_index)
    spins = np.empty((stop - start, H.L, H.L), dtype=np.int8)
    energy = np.empty(stop - start, dtype=np.float64)
    with progress_bar(stop - start, f"enumerate {H.name}", progress) as bar:
        for first in range(start, stop, LABEL_CHUNK):
            last = min(stop, first + LABEL_CHUNK)
            chunk = spins[first - start : last - start]
            chunk[:] = enumeration.configurations(H.L, first, last)
            energy[first - start : last - start] = label(H, chunk, backend, bar)
    meta = {
        "hamiltonian": describe_hamiltonian(H),
        "sampler": "enumerate",
        "sampler_params": {},
        "range": [start, stop],
        "seed": None,
        "shards": shards,
        "shard_index": shard_index,
    }
    return SampleSet(spins, energy, meta)
