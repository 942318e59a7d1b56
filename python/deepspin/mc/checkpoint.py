"""Atomic checkpoints of a Monte Carlo run: its parameters and its whole state.

The state is :meth:`deepspin.mc.state.ChainState.arrays`: every chain's configuration, energy and
magnetization, the accumulated moments and acceptance counts, the time series so far, the proposal
rule's cache (local fields, per-site energies) and the number of sweeps done. The random streams are
counter-based (Philox, keyed by seed and chain, counted by sweep), so the sweep count *is* their
state: a run resumed from a checkpoint equals an uninterrupted one bit for bit.

A checkpoint resumes only the run it belongs to: its header holds the run's fingerprint (the
operator's :func:`operator_fingerprint`, e.g. a hash of a surrogate's weights, the Hamiltonian and
its parameters, seed, chains, temperatures, sweeps, the deepspin version) and a SHA-256 checksum of
the state arrays; any mismatch, or a state of the wrong shape, is a ValueError naming what differs.
"""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np

from .._version import __version__
from ..io import atomic_path

FORMAT = "deepspin-mc-checkpoint-3"  # 3: a fingerprint of the run and a checksum of the state


def state_checksum(arrays: dict) -> str:
    """``sha256:<hex>`` over each array's name, dtype, shape and bytes, in name order (None arrays skipped)."""
    digest = hashlib.sha256()
    for name in sorted(k for k, v in arrays.items() if v is not None):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return "sha256:" + digest.hexdigest()


def operator_fingerprint(model) -> str:
    """What identifies the energy a run samples, stable across processes.

    A deepspin Hamiltonian: its class, L and parameters, plus a hash of the pair weights of a
    user-defined :class:`~deepspin.hamiltonians.PairPotential` (its ``f`` has no stable name) or the
    import path of an energy function. A trained surrogate (an object with ``.model.get_weights()``):
    a hash of its weights and metadata, so another model file never resumes a run. Anything else:
    its type and ``path``/``L`` attributes.
    """
    from ..hamiltonians import CallableHamiltonian, Hamiltonian, PairPotential

    digest = hashlib.sha256()
    if isinstance(model, Hamiltonian):
        digest.update(f"{type(model).__name__}|{model.L}|{sorted(model.params.items())}".encode())
        if isinstance(model, PairPotential):
            digest.update(np.ascontiguousarray(model.weights).tobytes())
        if isinstance(model, CallableHamiltonian):
            digest.update(f"{model.path}|{model.spin_kind}".encode())
        return f"{type(model).__name__}:sha256:{digest.hexdigest()[:32]}"
    network = getattr(model, "model", None)
    if network is not None and callable(getattr(network, "get_weights", None)):
        for weights in network.get_weights():
            weights = np.ascontiguousarray(weights)
            digest.update(f"{weights.dtype.str}|{weights.shape}|".encode())
            digest.update(weights.tobytes())
        digest.update(json.dumps(getattr(model, "metadata", {}), sort_keys=True, default=repr).encode())
        return f"{type(model).__name__}:sha256:{digest.hexdigest()[:32]}"
    return f"{type(model).__name__}:{getattr(model, 'path', '')}:{getattr(model, 'L', '')}"


def save(path, config: dict, arrays: dict) -> None:
    """Write ``config`` (JSON-serialisable) and ``arrays`` (name -> ndarray or None) to ``path`` atomically.

    The header also records the format, the deepspin version and :func:`state_checksum` of ``arrays``.
    """
    payload = {f"state_{k}": v for k, v in arrays.items() if v is not None}
    header = {"format": FORMAT, "deepspin_version": __version__, "state_checksum": state_checksum(arrays), **config}
    payload["config"] = np.array(json.dumps(header, sort_keys=True))
    with atomic_path(path, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **payload)


def load(path) -> tuple[dict, dict]:
    """Return ``(config, arrays)`` from a checkpoint written by :func:`save`, its state checksum verified.

    ``config`` keeps ``deepspin_version`` (compare it with :func:`check_matches`).
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            arrays = {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        raise ValueError(
            f"{path} is not a readable deepspin Monte Carlo checkpoint (truncated or foreign: {exc}); "
            "delete it to start afresh"
        ) from None
    if not isinstance(config, dict) or config.pop("format", None) != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file (another deepspin version?); delete it to start afresh")
    if config.pop("state_checksum", None) != state_checksum(arrays):
        raise ValueError(f"{path}: the state checksum does not match its arrays (modified or damaged after it was "
                         "written); delete it to start afresh")
    return config, arrays


def check_state(path, arrays: dict, fresh: dict, total_sweeps: int) -> None:
    """Raise a ValueError unless ``arrays`` have the names of a ``fresh`` state of the same run, each with
    its dtype kind, number of axes and first axis (the chains; a rule may change trailing axes as it
    runs, e.g. the multispin rule's moments), the configurations their exact shape, a sweep count
    in ``[0, total_sweeps]`` and valid spins."""
    for name in sorted(set(arrays) | {k for k, v in fresh.items() if v is not None}):
        mine, want = arrays.get(name), fresh.get(name)
        if (mine is None or want is None or mine.dtype.kind != want.dtype.kind or mine.ndim != want.ndim
                or mine.shape[:1] != want.shape[:1] or (name == "spins" and mine.shape != want.shape)):
            raise ValueError(f"{path}: state array {name!r} is {_describe(mine)}, this run needs {_describe(want)}; "
                             "delete the checkpoint to start afresh")
    done = int(arrays["sweeps_done"])
    if not 0 <= done <= total_sweeps:
        raise ValueError(f"{path}: sweeps_done = {done} lies outside [0, {total_sweeps}] for this run; "
                         "delete the checkpoint to start afresh")
    spins = arrays["spins"]
    bad = ~np.isfinite(spins) if spins.dtype.kind == "f" else (spins != 1) & (spins != -1)
    if bad.any():
        raise ValueError(f"{path}: the saved configurations hold invalid spins (first at "
                         f"{tuple(int(i) for i in np.argwhere(bad)[0])}); delete the checkpoint to start afresh")


def _describe(array) -> str:
    return "missing" if array is None else f"{array.dtype} of shape {array.shape}"


def check_matches(path, saved: dict, wanted: dict) -> None:
    """Raise a ValueError naming every parameter in which a checkpoint differs from the requested run."""
    differ = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    if differ:
        details = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {wanted.get(k)!r}" for k in differ)
        raise ValueError(
            f"checkpoint {path} belongs to a different run ({details}). "
            "Pass the same parameters to resume it, or delete it to start afresh"
        )
