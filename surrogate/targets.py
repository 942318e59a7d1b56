"""What a surrogate learns: the target quantity of each configuration, and inputs in network form.

Targets: ``class`` (Ising energy class, SPEC section 3; even L, J = 1), ``energy`` (units of
J) and ``magnetization`` (per site). A dataset is a mapping with ``spins``, ``energy``,
``magnetization``, optionally ``class``, and ``meta`` (``hamiltonian``, ``L``, ``params``).
"""
from __future__ import annotations

import numpy as np

from deepspin.observables import energy_to_class, ising_energy_levels
from deepspin.validation import check_angles, check_choice, check_spins

TARGETS = ("class", "energy", "magnetization")


def model_of(meta: dict) -> dict:
    """``{"hamiltonian": name, "L": L, "params": {...}}`` from a dataset's metadata.

    Accepts the flat form (``hamiltonian`` a name, ``L`` and ``params`` beside it) and the nested
    form that deepspin.datasets writes (``hamiltonian = {"name", "L", "params"}``).
    """
    model = meta.get("hamiltonian")
    if isinstance(model, dict):
        return {"hamiltonian": model.get("name"), "L": int(model.get("L", 0)), "params": dict(model.get("params") or {})}
    return {"hamiltonian": model, "L": int(meta.get("L", 0)), "params": dict(meta.get("params") or {})}


def check_target(target: str, meta: dict) -> str:
    """Reject a target the data cannot provide (e.g. ``class`` on Potts or odd-L data)."""
    check_choice("target", target, TARGETS)
    if target != "class":
        return target
    model = model_of(meta)
    name, L = model["hamiltonian"], model["L"]
    J = float(model["params"].get("J", 1.0))
    if name != "ising" or L % 2 or J != 1.0:
        raise ValueError(
            f"target 'class' needs nearest-neighbour Ising data with even L and J = 1 (SPEC section 3); "
            f"this dataset holds {name} with L={L}, J={J}. Use --target energy or --target magnetization"
        )
    return target


def labels(data, target: str) -> np.ndarray:
    """The target of every configuration of ``data``: int64 classes or float64 values."""
    meta = data.get("meta", {})
    check_target(target, meta)
    if target == "class":
        if "class" in data:
            return np.asarray(data["class"], dtype=np.int64)
        return energy_to_class(data["energy"], model_of(meta)["L"])
    return np.asarray(data[target], dtype=np.float64)


def n_classes(L: int) -> int:
    return len(ising_energy_levels(L))


def network_inputs(configs) -> np.ndarray:
    """Configurations as the network's float32 ``(B, L, L)`` input (spins +1/-1 or Potts angles)."""
    array = np.asarray(configs)
    if array.dtype.kind == "f" and not np.isin(array, (-1.0, 1.0)).all():
        values, _ = check_angles(array)
    else:
        values, _ = check_spins(array)
    return values.astype(np.float32)
