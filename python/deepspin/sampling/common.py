"""What every sampler shares: the result type, seed streams, shard arithmetic, exact labels, progress bars."""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from numbers import Integral

import numpy as np

from ..hamiltonians import CallableHamiltonian, Hamiltonian
from ..validation import check_count, check_seed

#: Configurations labelled per call of the exact engine (also the progress-bar granularity).
LABEL_CHUNK = 1 << 16


@dataclass
class SampleSet:
    """Configurations drawn by a sampler, labelled with exact energies.

    Attributes
    ----------
    spins : numpy.ndarray
        ``(B, L, L)`` int8 +1/-1 spins, or float64 angles for angle-valued models.
    energy : numpy.ndarray
        ``(B,)`` float64 exact energies (the engine of :mod:`deepspin.hamiltonians`).
    meta : dict
        JSON-serialisable description: Hamiltonian, sampler and its parameters, seed, counts.
    extras : dict
        Further per-configuration arrays of the sampler (``temperature``, ``chain``, ``bin``).
    """

    spins: np.ndarray
    energy: np.ndarray
    meta: dict
    extras: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.energy.shape[0])


def describe_hamiltonian(H: Hamiltonian) -> dict:
    """JSON description of a Hamiltonian: registry name (or import path), ``L``, parameters."""
    if isinstance(H, CallableHamiltonian):
        return {"name": H.path, "L": H.L, "params": {"spin_kind": H.spin_kind}, "callable": H.path}
    return {"name": H.name, "L": H.L, "params": H.params}


def check_shard(shards, shard_index) -> tuple[int, int]:
    """Validate ``(shards, shard_index)``: ``shards >= 1`` and ``0 <= shard_index < shards``."""
    shards = check_count("shards", shards)
    if isinstance(shard_index, bool) or not isinstance(shard_index, Integral) or not 0 <= shard_index < shards:
        raise ValueError(f"shard_index must be an integer in [0, {shards}), got {shard_index!r}")
    return shards, int(shard_index)


def seed_entropy(seed) -> int:
    """The integer entropy of a seed (:func:`deepspin.validation.check_seed`): fresh OS entropy for ``None``."""
    return check_seed(seed)


def stream(entropy: int, key: int) -> np.random.Generator:
    """Independent generator number ``key`` of a seed (``SeedSequence(entropy, spawn_key=(key,))``).

    Key 0 is reserved for set-up work shared by every shard (e.g. the energy range of targeted
    bins); shard ``i`` draws from key ``1 + i``. The streams depend on nothing but the seed.
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy, spawn_key=(key,))))


def philox_key(entropy: int, key: int) -> int:
    """The 64-bit Philox key of Monte Carlo chains run from stream ``key`` of a seed (:func:`stream`'s twin)."""
    return int(np.random.SeedSequence(entropy, spawn_key=(key,)).generate_state(1, np.uint64)[0])


def shard_share(total: int, shards: int, index: int) -> int:
    """Shard ``index``'s part of ``total`` when split as evenly as possible (earlier shards get the rest)."""
    return total // shards + (1 if index < total % shards else 0)


def shard_range(total: int, shards: int, index: int) -> tuple[int, int]:
    """``[start, stop)`` of shard ``index`` when ``total`` items are cut into contiguous shards."""
    start = sum(shard_share(total, shards, i) for i in range(index))
    return start, start + shard_share(total, shards, index)


def progress_bar(total: int, desc: str, enabled: bool, unit: str = "cfg"):
    """A tqdm bar on stderr (rate and ETA), or a silent one."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, file=sys.stderr, dynamic_ncols=True,
                unit_scale=True, smoothing=0.1)


def label(H: Hamiltonian, configs: np.ndarray, backend: str = "auto", bar=None, temperatures=None) -> np.ndarray:
    """Exact energies of ``configs`` in chunks of :data:`LABEL_CHUNK` (advancing ``bar`` if given).

    A temperature-dependent Hamiltonian (``H.thermal``, e.g. Falicov-Kimball) is labelled with
    ``E(s; T)`` at ``temperatures`` ``(B,)``, each configuration's own; other models ignore them.
    """
    thermal = getattr(H, "thermal", False)
    if thermal and temperatures is None:
        raise ValueError(f"{H!r}'s energy depends on the temperature; only the thermal sampler, which knows each "
                         "configuration's temperature, can label it")
    energies = np.empty(configs.shape[0], dtype=np.float64)
    for start in range(0, configs.shape[0], LABEL_CHUNK):
        chunk = configs[start : start + LABEL_CHUNK]
        at = {"T": temperatures[start : start + LABEL_CHUNK]} if thermal else {}
        energies[start : start + len(chunk)] = H.energy(chunk, backend=backend, **at)
        if bar is not None:
            bar.update(len(chunk))
    return energies
