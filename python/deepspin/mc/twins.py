"""Two Metropolis runs that share their random numbers (a learned operator and its exact-operator twin):
how far apart their curves are, in their standard errors.

Twins are two runs of :func:`deepspin.mc.run` on the same rule (a learned operator runs on the batch
rule, ``backend="generic"``, so its exact twin must too), temperatures, chains, sweeps, start and seed:
they then draw the same random words, see the same proposals and acceptance numbers, and differ only
where their operators disagree. The multispin rule, which ``backend="auto"`` takes for Ising from
:data:`~deepspin.mc.multispin.AUTO_MIN_REPLICAS` chains in all (128 on the CPU), draws other words: a
run on it is independent, not a twin. Records are the per-temperature dicts of
:meth:`deepspin.mc.MCResult.records` (``<key>`` and ``<key>_err``).
"""
from __future__ import annotations

import numpy as np


def twin_differences(learned: list[dict], twin: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    """``learned - twin`` of ``key`` per temperature (signed) and the combined standard error
    ``sqrt(se_l^2 + se_t^2)`` (NaN where a run has none)."""
    a = np.array([r[key] for r in learned])
    b = np.array([r[key] for r in twin])
    se = np.hypot([r.get(f"{key}_err", np.nan) for r in learned], [r.get(f"{key}_err", np.nan) for r in twin])
    return a - b, se


def twin_deviation(learned: list[dict], twin: list[dict], key: str) -> float | None:
    """Largest ``|learned - twin| / sqrt(se_learned^2 + se_twin^2)`` of ``key`` over the temperatures where
    the chains move (the twins share random numbers, so their difference fluctuates less than this
    combined error says: the test is conservative in the learned operator's favour by at most a factor
    sqrt(2)). Frozen temperatures, where both standard errors are zero (every chain in one state at every
    measurement: an ordered start far below T_c), carry no statistics and are left out
    (:func:`frozen_difference` reports them). ``None`` where a standard error is missing or no
    temperature has one (a run too short)."""
    difference, se = twin_differences(learned, twin, key)
    moving = se > 0
    if not np.all(np.isfinite(se)) or not moving.any():
        return None
    return float(np.max(np.abs(difference[moving]) / se[moving]))


def frozen_difference(learned: list[dict], twin: list[dict], key: str) -> tuple[int, float]:
    """How many temperatures are frozen in both runs (zero standard errors), and the largest ``|learned -
    twin|`` of ``key`` there (a learned energy operator's own offset at the ground state, say)."""
    difference, se = twin_differences(learned, twin, key)
    frozen = se == 0
    return int(frozen.sum()), float(np.abs(difference[frozen]).max()) if frozen.any() else 0.0


def reference_deviation(records: list[dict], reference) -> float | None:
    """:func:`twin_deviation` of ``<E>/N`` against the exact curve ``reference`` itself (a twin without
    error), for a run with exact statistics that shares no random numbers with any twin."""
    T = np.array([r["T"] for r in records])
    exact = [{"E_per_site": e, "E_per_site_err": 0.0} for e in reference(T)["E_per_site"]]
    return twin_deviation(records, exact, "E_per_site")


def failing_temperatures(learned: list[dict], twin: list[dict], key: str, limit: float = 3.0) -> list[dict]:
    """The temperatures where ``key`` of ``learned`` lies more than ``limit`` combined standard errors from
    its ``twin``: ``index``, ``T``, the signed ``difference`` and the combined ``se``."""
    difference, se = twin_differences(learned, twin, key)
    return [{"index": int(i), "T": learned[i]["T"], "difference": float(difference[i]), "se": float(se[i])}
            for i in np.flatnonzero((se > 0) & (np.abs(difference) > limit * se))]


def same_final_share(configs: np.ndarray, twin: np.ndarray) -> float:
    """The share of chains, over all temperatures, whose final configuration (``(T, chains, L, L)``) is
    exactly their twin's: the chains that never met a disagreement of the two operators."""
    return float(np.mean(np.all(np.asarray(configs) == np.asarray(twin), axis=(2, 3))))
