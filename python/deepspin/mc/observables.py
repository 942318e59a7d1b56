"""Thermodynamic estimators over independent chains (SPEC section 6, k_B = 1).

Each chain ``c`` at temperature ``T`` contributes ``n`` measurements through its sums
``S1_c = sum E``, ``S2_c = sum E^2`` and ``A_c = sum |m|``.

- ``<E>/N``: the mean of the chain means ``S1_c / n``, divided by ``N``; its standard error is the
  standard deviation of the chain means over ``sqrt(chains)``.
- ``<|m|>``: likewise from ``A_c / n``.
- ``C/N = (<E^2> - <E>^2) / (N T^2)`` with both moments pooled over all chains (the pooled variance
  contains the spread of the chain means, so it is not biased low by the finite length of a chain as
  a per-chain variance is); its standard error is the jackknife over chains (leave one chain out).

The standard errors treat the chains as independent, which they are given independent starts: the
multispin replicas share their site sequence, but each single-site update at a site chosen
independently of the state preserves the Boltzmann distribution, so given the sites the replicas
are independent and each is in equilibrium once its start is forgotten. Whether it is, the
diagnostics say (:func:`diagnostics`), from the sums of ``E``, ``E^2`` and ``|m|`` at the ends of
``B`` consecutive batches of each chain's measurements (``b`` measurements each on average):

- ``tau_int_E``: the integrated autocorrelation time of ``E`` in sweeps, ``interval * b * V_b / (2 s^2)``
  with ``V_b`` the variance of a chain's batch means of ``E`` and ``s^2`` that of its single
  measurements (pooled over the chains); it saturates near ``b / 2`` when the batches are too short;
- ``rhat_E``, ``rhat_absm``: the split-R-hat of Gelman and Rubin over the batch means, the first and
  second half of every chain as separate sequences (1 in equilibrium; larger when the chains, or
  the two halves of a chain, still differ).

A temperature fails the diagnostics (:func:`warn_if_unequilibrated`, :class:`~deepspin.errors.EquilibrationWarning`)
when ``tau_int_E > sweeps / 50`` or an R-hat exceeds ``1.05`` by more than four times its standard
deviation for independent equilibrated chains, ``sqrt(2 / (m - 1)) / h`` in ``R-hat^2`` (``m`` sequences
of ``h`` batch means).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..errors import EquilibrationWarning

#: Batches of the measurements that :func:`deepspin.mc.run` keeps per chain for the diagnostics.
BATCHES = 16
#: The largest R-hat taken for equilibrium, and the largest ``tau_int_E`` as a fraction of the sweeps.
RHAT_MAX = 1.05
TAU_MAX_FRACTION = 1 / 50


def chain_means(sums: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean over chains of ``sums / n`` (shape ``(T, chains)``) and its standard error (``NaN`` for one chain)."""
    means = sums / n
    chains = means.shape[-1]
    err = means.std(axis=-1, ddof=1) / np.sqrt(chains) if chains > 1 else np.full(means.shape[:-1], np.nan)
    return means.mean(axis=-1), err


def pooled_specific_heat(s1: np.ndarray, s2: np.ndarray, n: int, temperatures: np.ndarray, N: int):
    """``C/N`` from pooled moments and its jackknife standard error over chains.

    ``s1``, ``s2``: ``(T, chains)`` per-chain sums of ``E`` and ``E^2`` over ``n`` measurements each.
    """
    chains = s1.shape[-1]

    def scale(variance, T):  # variance / (N T^2), divided step by step: T^2 underflows for T < 1e-154
        with np.errstate(over="ignore", invalid="ignore"):  # beyond the float range: NaN/inf, a null record
            return variance / N / T / T
    # Centre on each temperature's grand mean: no cancellation in <E^2> - <E>^2.
    centre = s1.sum(-1, keepdims=True) / (chains * n)
    c1 = s1 - n * centre
    c2 = s2 - 2 * centre * s1 + n * centre**2
    heat = scale(c2.sum(-1) / (chains * n) - (c1.sum(-1) / (chains * n)) ** 2, temperatures)
    if chains < 2:
        return heat, np.full_like(heat, np.nan)
    m1 = (c1.sum(-1, keepdims=True) - c1) / ((chains - 1) * n)
    m2 = (c2.sum(-1, keepdims=True) - c2) / ((chains - 1) * n)
    leave_one_out = scale(m2 - m1**2, temperatures[:, None])
    with np.errstate(invalid="ignore"):  # inf - inf where C itself is beyond the float range
        spread = ((leave_one_out - leave_one_out.mean(-1, keepdims=True)) ** 2).sum(-1)
    return heat, np.sqrt((chains - 1) / chains * spread)


def ensemble_batch_error(batch_moments: np.ndarray, n: int, column: int) -> np.ndarray:
    """Standard error of the mean over chains from the batch means of the chain average, ``(T,)``.

    ``batch_moments`` ``(T, chains, B, 3)`` cumulative per-batch sums. Averaging the chains first keeps
    whatever they share (one site sequence, a common start), so this error counts correlated chains
    as correlated, and it exists for one chain; it needs batches longer than the autocorrelation
    time (``tau_int_E`` of :func:`diagnostics`). ``NaN`` for fewer than 4 batches.
    """
    B = batch_moments.shape[2]
    if B < 4:
        return np.full(batch_moments.shape[0], np.nan)
    counts = np.diff(np.concatenate([[0], (np.arange(1, B + 1) * n) // B])).astype(np.float64)
    means = np.diff(batch_moments[..., column], axis=2, prepend=0.0).mean(axis=1) / counts  # (T, B)
    weights = counts / counts.sum()
    centre = (means * weights).sum(-1, keepdims=True)
    # weighted batch means: Var(mean) = sum w_b^2 Var(batch b), Var(batch b) ~ s^2 / counts_b
    return np.sqrt(((means - centre) ** 2 * counts).sum(-1) / (B - 1) / counts.sum())


def batch_jackknife_heat(batch_moments: np.ndarray, n: int, temperatures: np.ndarray, N: int) -> np.ndarray:
    """Jackknife standard error of the pooled ``C/N`` over batches (all chains together), ``(T,)``.

    Leaving out one batch of every chain at once keeps correlations between chains, as
    :func:`ensemble_batch_error` does. ``NaN`` for fewer than 4 batches.
    """
    B = batch_moments.shape[2]
    if B < 4:
        return np.full(batch_moments.shape[0], np.nan)
    counts = np.diff(np.concatenate([[0], (np.arange(1, B + 1) * n) // B])).astype(np.float64)
    sums = np.diff(batch_moments, axis=2, prepend=0.0).sum(axis=1)  # (T, B, 3) over all chains
    weight = counts * batch_moments.shape[1]
    centre = sums[..., 0].sum(-1, keepdims=True) / weight.sum()
    c1 = sums[..., 0] - weight * centre
    c2 = sums[..., 1] - 2 * centre * sums[..., 0] + weight * centre**2
    left = weight.sum() - weight
    m1 = (c1.sum(-1, keepdims=True) - c1) / left
    m2 = (c2.sum(-1, keepdims=True) - c2) / left
    with np.errstate(over="ignore", invalid="ignore"):  # beyond the float range: NaN/inf, a null record
        heat = (m2 - m1**2) / N / temperatures[:, None] / temperatures[:, None]
        return np.sqrt((B - 1) / B * ((heat - heat.mean(-1, keepdims=True)) ** 2).sum(-1))


#: How much larger the batch-means error must be to replace the error over chains: four standard
#: deviations of the ratio of two variance estimates with 15 degrees of freedom (16 batches).
_CORRELATED_RATIO = 1.0 + 4.0 * math.sqrt(2.0 / 15.0)


def thermodynamics(moments: np.ndarray, n: int, temperatures: np.ndarray, N: int,
                   batch_moments: np.ndarray | None = None) -> dict:
    """All observables of SPEC section 6 from per-chain moments ``(T, chains, 3)`` (sum E, E^2, |m|).

    With ``batch_moments`` (``(T, chains, B, 3)``, :func:`ensemble_batch_error`) the errors of
    ``E_per_site`` and ``absm`` become the batch-means errors where those exceed the errors over
    chains significantly (variance ratio above :data:`_CORRELATED_RATIO`: the chains are
    correlated), or where there is one chain; ``E_per_site_err_source``/``absm_err_source`` say
    which (``"chains"`` or ``"batches"``).
    """
    if n < 1:
        raise ValueError("no measurements were taken: increase sweeps or lower interval")
    energy, energy_err = chain_means(moments[..., 0], n)
    heat, heat_err = pooled_specific_heat(moments[..., 0], moments[..., 1], n, temperatures, N)
    absm, absm_err = chain_means(moments[..., 2], n)
    sources = {}
    if batch_moments is not None:
        for name, column, err in (("E_per_site", 0, energy_err), ("absm", 2, absm_err)):
            batch = ensemble_batch_error(batch_moments, n, column)
            with np.errstate(invalid="ignore"):
                use = np.isfinite(batch) & (~np.isfinite(err) | (batch**2 > _CORRELATED_RATIO * err**2))
            err[use] = batch[use]
            sources[f"{name}_err_source"] = np.where(use, "batches", "chains")
        correlated = (sources["E_per_site_err_source"] == "batches") | (sources["absm_err_source"] == "batches")
        batch = batch_jackknife_heat(batch_moments, n, temperatures, N)
        use = correlated & np.isfinite(batch) & (~np.isfinite(heat_err) | (batch > heat_err))
        heat_err[use] = batch[use]
        sources["C_per_site_err_source"] = np.where(use, "batches", "chains")
    return {
        "T": temperatures,
        "E_per_site": energy / N,
        "E_per_site_err": energy_err / N,
        "C_per_site": heat,
        "C_per_site_err": heat_err,
        "absm": absm,
        "absm_err": absm_err,
        **sources,
    }


def _split_rhat(means: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split-R-hat and its alarm level over batch means ``(T, chains, B)`` (``NaN`` where undefined).

    Returns ``(rhat, level)``: ``level`` is the largest R-hat taken for equilibrium, ``RHAT_MAX`` or
    four standard deviations of the equilibrium fluctuation, whichever is larger.
    """
    h = means.shape[-1] // 2
    halves = np.concatenate([means[..., :h], means[..., means.shape[-1] - h:]], axis=1)  # (T, 2 chains, h)
    m = halves.shape[1]
    within = halves.var(axis=-1, ddof=1).mean(axis=-1)
    between = halves.mean(axis=-1).var(axis=-1, ddof=1)  # B / h
    with np.errstate(divide="ignore", invalid="ignore"):
        rhat = np.sqrt(((h - 1) / h * within + between) / within)
    level = math.sqrt(1 + max(RHAT_MAX**2 - 1, 4 * math.sqrt(2 / (m - 1)) / h))
    return rhat, np.full(rhat.shape, level)


def diagnostics(moments: np.ndarray, batch_moments: np.ndarray | None, n: int, interval: int, sweeps: int) -> dict:
    """Equilibration diagnostics per temperature from per-chain sums (module docstring).

    ``moments`` ``(T, chains, >= 3)``: sums of ``E``, ``E^2``, ``|m|`` over the ``n`` measurements;
    ``batch_moments`` ``(T, chains, B, 3)``: the same sums at the end of each of ``B`` batches
    (cumulative). Returns ``(T,)`` arrays ``tau_int_E`` (sweeps), ``rhat_E``, ``rhat_absm`` (``NaN``
    where undefined), ``equilibrated`` (bool) and lists of strings ``tau_int_E_reason``,
    ``rhat_E_reason``, ``rhat_absm_reason`` (``""`` where the value is defined) and ``failures``
    (why the temperature fails, ``""`` where it passes).
    """
    T = moments.shape[0]
    out = {key: np.full(T, np.nan) for key in ("tau_int_E", "rhat_E", "rhat_absm")}
    reasons = {key: [""] * T for key in out}
    failures = [""] * T
    B = 0 if batch_moments is None else batch_moments.shape[2]
    if B < 4:
        why = (f"only {n} measurement(s) per chain: the diagnostics need at least 4 batches" if batch_moments is not None
               else "no batch sums were kept (the state was not made by deepspin.mc.run)")
        for key in out:
            reasons[key] = [why] * T
        return {**out, **{f"{k}_reason": v for k, v in reasons.items()}, "failures": failures,
                "equilibrated": np.ones(T, dtype=bool)}
    sums = np.diff(batch_moments, axis=2, prepend=0.0)  # (T, chains, B, 3)
    ends = np.concatenate([[0], (np.arange(1, B + 1) * n) // B])
    counts = np.diff(ends).astype(np.float64)  # measurements per batch, (B,)
    batch_means = sums / counts[:, None]
    # Variance of single measurements of E within each chain, pooled over chains.
    mean_e = moments[..., 0] / n
    s2 = np.maximum(moments[..., 1] / n - mean_e**2, 0.0).mean(-1)
    spread = np.ptp(mean_e, axis=-1)
    v_b = batch_means[..., 0].var(axis=-1, ddof=1).mean(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["tau_int_E"] = interval * counts.mean() * v_b / (2 * s2)
    for key, column in (("rhat_E", 0), ("rhat_absm", 2)):
        rhat, level = _split_rhat(batch_means[..., column])
        out[key] = rhat
        for t in range(T):
            if not np.isfinite(rhat[t]):
                frozen = np.ptp(batch_means[t, ..., column]) > 0
                reasons[key][t] = ("every chain is frozen, in different states" if frozen else
                                   "the batch means do not change (every chain is frozen in one state)")
                if frozen:
                    failures[t] += f"{key.replace('rhat_', '')}: chains frozen in different states; "
            elif rhat[t] > level[t]:
                failures[t] += f"R-hat of {key.replace('rhat_', '')} = {rhat[t]:.3g} > {level[t]:.3g}; "
    for t in range(T):
        if not s2[t] > 0:
            out["tau_int_E"][t] = np.nan
            reasons["tau_int_E"][t] = ("E never changed within a chain" + (", and the chains differ" if spread[t] > 0
                                                                             else ""))
            if spread[t] > 0 and "frozen" not in failures[t]:
                failures[t] += "E: chains frozen in different states; "
        elif out["tau_int_E"][t] > TAU_MAX_FRACTION * sweeps:
            failures[t] += f"tau_int of E = {out['tau_int_E'][t]:.3g} sweeps > sweeps / 50; "
    failures = [f.rstrip("; ") for f in failures]
    return {**out, **{f"{k}_reason": v for k, v in reasons.items()}, "failures": failures,
            "equilibrated": np.array([not f for f in failures])}


def warn_if_unequilibrated(temperatures: np.ndarray, diag: dict) -> None:
    """Issue one :class:`~deepspin.errors.EquilibrationWarning` naming every temperature that fails the diagnostics."""
    bad = [f"T = {temperatures[t]:.6g} ({diag['failures'][t]})" for t in np.flatnonzero(~diag["equilibrated"])]
    if bad:
        warnings.warn("the chains may not have equilibrated at " + "; ".join(bad) + ". Their records may be wrong "
                      "beyond their error bars: run more sweeps (a longer burn-in) or another start (--start)",
                      EquilibrationWarning, stacklevel=3)


#: Why each standard error is missing for one chain per temperature.
_ONE_CHAIN = ("one chain per temperature (no spread over chains) and fewer than 4 measurements (no batch means): "
              "run 2 or more chains, or more sweeps")


def records(obs: dict, diag: dict, chains: int) -> list[dict]:
    """One JSON-ready dict per temperature: the observables and diagnostics, ``None`` plus a ``<key>_reason``
    for every value that is not a finite number."""
    out = []
    for t in range(len(obs["T"])):
        record = {}
        for key, values in obs.items():
            if key.endswith("_source"):
                record[key] = str(values[t])
                continue
            value = float(values[t])
            record[key] = value if math.isfinite(value) else None
            if record[key] is None:
                record[f"{key}_reason"] = _ONE_CHAIN if chains < 2 and key.endswith("_err") else \
                    "beyond the float range (an energy variance over T^2 at T -> 0: chains in different states?)"
        for key in ("tau_int_E", "rhat_E", "rhat_absm"):
            value = float(diag[key][t])
            record[key] = value if math.isfinite(value) else None
            if record[key] is None:
                record[f"{key}_reason"] = diag[f"{key}_reason"][t] or "not a finite number"
        record["equilibrated"] = bool(diag["equilibrated"][t])
        if diag["failures"][t]:
            record["equilibration_failures"] = diag["failures"][t]
        out.append(record)
    return out
