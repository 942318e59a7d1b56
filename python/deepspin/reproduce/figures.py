"""Figures and curve summaries of the reproduction that :mod:`deepspin.plots` does not already draw."""
from __future__ import annotations

import numpy as np

from ..plots import _pyplot, _save


def peak_temperature(T, values) -> float:
    """Temperature of the maximum of sampled ``values(T)``: the vertex of the parabola through the
    largest point and its two neighbours (the grid point itself at an end of the grid)."""
    T, values = np.asarray(T, dtype=np.float64), np.asarray(values, dtype=np.float64)
    i = int(np.argmax(values))
    if i == 0 or i == len(T) - 1:
        return float(T[i])
    a, b, c = np.polyfit(T[i - 1:i + 2], values[i - 1:i + 2], 2)
    return float(-b / (2 * a)) if a < 0 else float(T[i])


def peak_temperature_error(T, values, errors, draws: int = 1000, seed: int = 0) -> float:
    """Standard error of :func:`peak_temperature` from the standard errors of ``values``: the spread of
    the peak over ``draws`` resamplings ``values + N(0, errors)`` (NaN where errors are missing)."""
    values, errors = np.asarray(values, dtype=np.float64), np.asarray(errors, dtype=np.float64)
    if not np.all(np.isfinite(errors)):
        return float("nan")
    rng = np.random.default_rng(seed)
    peaks = [peak_temperature(T, values + errors * rng.standard_normal(len(values))) for _ in range(draws)]
    return float(np.std(peaks))


def magnetization_curves(curves: dict, path, *, random_limit: float | None = None, title: str = "") -> None:
    """``<|m|>`` against ``T`` for each ``label -> records`` (with standard errors as a band), and the
    mean ``|m|`` of uniformly random spins as a dashed line (the paper's Figs. 8 and 10)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    for label, records in curves.items():
        T = np.array([r["T"] for r in records])
        m = np.array([r["absm"] for r in records])
        err = np.array([r.get("absm_err", 0.0) for r in records])
        ax.plot(T, m, "o-", ms=3, lw=1, label=label)
        ax.fill_between(T, m - err, m + err, alpha=0.3)
    if random_limit is not None:
        ax.axhline(random_limit, color="k", ls="--", lw=1, label=f"random spins ({random_limit:.4f})")
    if T.min() > 0 and T.max() / T.min() > 50:  # a grid that reaches the random-spin limit: log T
        ax.set_xscale("log")
    ax.set_xlabel("$T$")
    ax.set_ylabel(r"$\langle |m| \rangle$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    _save(fig, path)


def coulomb_transition(curves: dict, staggered: list[dict], path, *, random_limit: float, title: str = "",
                       equilibrated_from: float | None = None) -> None:
    """Fig. 10 carried to the random-spin limit: ``<|m|>`` (each ``label -> records`` run, with the
    random-spin value dashed), the staggered ``<|m_s|>`` of ``staggered`` and ``C/N`` against ``T``, on a
    logarithmic ``T`` axis. ``equilibrated_from``: temperatures below it are shaded grey as not
    equilibrated."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharex=True)
    for label, records in curves.items():
        T = np.array([r["T"] for r in records])
        for ax, key in ((axes[0], "absm"), (axes[2], "C_per_site")):
            values = np.array([r[key] for r in records])
            errors = np.array([r.get(f"{key}_err", 0.0) for r in records])
            ax.errorbar(T, values, yerr=errors, fmt="o-", ms=3, lw=1, capsize=2, label=label)
    T = np.array([r["T"] for r in staggered])
    axes[1].errorbar(T, [r["absm"] for r in staggered], yerr=[r.get("absm_err", 0.0) for r in staggered],
                     fmt="s-", ms=3, lw=1, capsize=2, color="C3", label="staggered, exact energy")
    axes[0].axhline(random_limit, color="k", ls="--", lw=1, label=f"random spins ({random_limit:.4f})")
    if equilibrated_from is not None and equilibrated_from > T.min():
        for ax in axes:
            ax.axvspan(T.min() / 1.5, equilibrated_from, color="0.88", zorder=0,
                       label="not equilibrated" if ax is axes[1] else None)
    for ax, name in zip(axes, (r"$\langle |m| \rangle$", r"$\langle |m_s| \rangle$ (staggered)", r"$C / N$")):
        ax.set_xscale("log")
        ax.set_xlabel("$T$")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)


_PANELS = (("E_per_site", r"$\langle E\rangle / N$"), ("C_per_site", r"$C / N$"), ("absm", r"$\langle |m| \rangle$"))


def phase_curves(curves: dict, path, exact=None, *, title: str = "", random_limit: float | None = None) -> dict:
    """Several Metropolis runs against ``T`` (paper Figs. 7-9): ``<E>/N``, ``C/N`` and ``<|m|>`` above,
    each run minus the reference below.

    ``curves``: ``label -> records`` (``MCResult.records()``), all on the same temperatures; the first
    is the run with the exact operator. ``exact``: ``None`` or a callable ``T -> dict`` of exact values
    (a value ``None`` where there is none), drawn as a line. A quantity with an exact value is compared
    with it; one without (``<|m|>`` of 8x8) with the first run. Returns ``{label: {key: differences}}``
    and ``"reference": {key: "exact" | first label}``. ``random_limit``: the mean ``|m|`` of random spins,
    drawn as a dashed line on the ``<|m|>`` panel.
    """
    plt = _pyplot()
    labels = list(curves)
    T = np.array([r["T"] for r in curves[labels[0]]])
    fine = exact(np.linspace(T.min(), T.max(), 400)) if exact is not None else {}
    at_points = exact(T) if exact is not None else {}
    fig, axes = plt.subplots(2, 3, figsize=(13, 6.5), sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    result = {label: {} for label in labels}
    result["reference"] = {}
    for col, (key, name) in enumerate(_PANELS):
        has_exact = at_points.get(key) is not None
        reference = np.asarray(at_points[key]) if has_exact else np.array([r[key] for r in curves[labels[0]]])
        result["reference"][key] = "exact" if has_exact else labels[0]
        if fine.get(key) is not None:
            axes[0, col].plot(fine["T"], fine[key], "k-", lw=1, label="exact")
        for i, label in enumerate(labels):
            values = np.array([r[key] for r in curves[label]])
            errors = np.array([r.get(f"{key}_err", np.nan) for r in curves[label]])
            marker = "os^Dv"[i % 5]
            axes[0, col].errorbar(T, values, yerr=errors, fmt=marker, ms=3, capsize=2, mfc="none", label=label)
            difference = values - reference
            result[label][key] = difference.tolist()
            if has_exact or i > 0:
                axes[1, col].errorbar(T, difference, yerr=errors, fmt=marker, ms=3, capsize=2, mfc="none",
                                      color=f"C{i}")
        if key == "absm" and random_limit is not None:
            axes[0, col].axhline(random_limit, color="k", ls="--", lw=1, label=f"random spins ({random_limit:.4f})")
            axes[0, col].legend(fontsize=7)
        axes[1, col].axhline(0.0, color="k", lw=0.8)
        axes[0, col].set_ylabel(name)
        axes[1, col].set_ylabel("run - exact" if has_exact else f"run - {labels[0]}")
        axes[1, col].set_xlabel("$T$")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return result
