"""Atomic checkpoints of a Monte Carlo run: its parameters and its whole state.

The state is :meth:`deepspin.mc.state.ChainState.arrays`: every chain's configuration, energy and
magnetization, the accumulated moments and acceptance counts, the time series so far, the proposal
rule's cache (local fields, per-site energies) and the number of sweeps done. The random streams are
counter-based (Philox, keyed by seed and chain, counted by sweep), so the sweep count *is* their
state: a run resumed from a checkpoint equals an uninterrupted one bit for bit.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..io import atomic_path

FORMAT = "deepspin-mc-checkpoint-2"  # 2: ChainState arrays with the rule cache as cache_<name>


def save(path, config: dict, arrays: dict) -> None:
    """Write ``config`` (JSON-serialisable) and ``arrays`` (name -> ndarray or None) to ``path`` atomically."""
    payload = {f"state_{k}": v for k, v in arrays.items() if v is not None}
    payload["config"] = np.array(json.dumps({"format": FORMAT, **config}, sort_keys=True))
    with atomic_path(path, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **payload)


def load(path) -> tuple[dict, dict]:
    """Return ``(config, arrays)`` from a checkpoint written by :func:`save`."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            config = json.loads(str(data["config"]))
            arrays = {k[len("state_"):]: data[k] for k in data.files if k.startswith("state_")}
    except (OSError, ValueError, KeyError) as exc:
        raise ValueError(
            f"{path} is not a deepspin Monte Carlo checkpoint ({exc}); delete it to start afresh"
        ) from None
    if config.pop("format", None) != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} file; delete it to start afresh")
    return config, arrays


def check_matches(path, saved: dict, wanted: dict) -> None:
    """Raise a ValueError naming every parameter in which a checkpoint differs from the requested run."""
    differ = sorted(k for k in set(saved) | set(wanted) if saved.get(k) != wanted.get(k))
    if differ:
        details = "; ".join(f"{k}: checkpoint {saved.get(k)!r}, now {wanted.get(k)!r}" for k in differ)
        raise ValueError(
            f"checkpoint {path} belongs to a different run ({details}). "
            "Pass the same parameters to resume it, or delete it to start afresh"
        )
