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


def angles_in_domain(theta) -> np.ndarray:
    """Planar-Potts angles ``(B, L, L)`` brought into a surrogate's training domain ``[0, pi)``, or a ValueError.

    The exact energy ``J sum cos(theta_a - theta_b)`` (SPEC section 2) takes any finite angle and is
    unchanged by a 2 pi turn of any angle and by one rotation of all angles of a configuration;
    a network trained on ``[0, pi)`` is not (``theta + pi`` or ``theta + 1e6`` gave other, even
    unphysical, energies). So a configuration already in ``[0, pi)`` is kept as it is; another is
    reduced mod 2 pi and, where that is not enough, rotated as a whole (by pi, else so that its
    angles start at 0), which leaves its exact energy unchanged. A configuration whose angles span
    more than pi once reduced has no such image in the domain and is refused, naming it. (A single
    angle shifted by pi is *not* an equivalent input: it flips the sign of that site's bonds.)
    """
    theta = np.asarray(theta, dtype=np.float64)
    flat = theta.reshape(theta.shape[0], -1)
    inside = ((flat >= 0) & (flat < np.pi)).all(axis=1)
    if inside.all():
        return theta
    out = flat.copy()
    for i in np.flatnonzero(~inside):
        turned = np.mod(flat[i], 2 * np.pi)
        if (turned < np.pi).all():
            out[i] = turned
            continue
        if (turned >= np.pi).all():
            out[i] = turned - np.pi
            continue
        ordered = np.sort(turned)
        gaps = np.diff(ordered, append=ordered[0] + 2 * np.pi)
        widest = int(gaps.argmax())
        rotated = np.mod(turned - ordered[(widest + 1) % len(ordered)], 2 * np.pi)
        if gaps[widest] <= np.pi or not (rotated < np.pi).all():
            raise ValueError(
                f"configs: a planar-Potts surrogate takes angles in [0, pi), its training domain (SPEC section 1); "
                f"configuration {i} has angles outside it that no energy-preserving change (a 2 pi turn of an angle, "
                f"one rotation of all angles) brings inside: reduced mod 2 pi they span {2 * np.pi - gaps[widest]:.4g} "
                "> pi. Give angles in [0, pi), or use the exact model (deepspin.PlanarPotts), which takes any angle")
        out[i] = rotated
    return out.reshape(theta.shape)


def network_inputs(configs) -> np.ndarray:
    """Configurations as the network's float32 ``(B, L, L)`` input (spins +1/-1, or Potts angles brought
    into ``[0, pi)`` by :func:`angles_in_domain`)."""
    array = np.asarray(configs)
    if array.dtype.kind == "f" and not np.isin(array, (-1.0, 1.0)).all():
        values, _ = check_angles(array)
        values = angles_in_domain(values)
    else:
        values, _ = check_spins(array)
    return values.astype(np.float32)
