"""Figures and curve summaries of the reproduction that :mod:`deepspin.plots` does not already draw."""
from __future__ import annotations

import textwrap

import numpy as np

from ..plots import _pyplot, _save


def _band(ax, T, values, errors, *, color, fmt: str = "o-", label: str | None = None, **style) -> None:
    """``values`` against ``T`` with a shaded band ``values +- errors`` (one standard error) in the line's
    colour; no band where an error is missing (NaN)."""
    T, values, errors = (np.asarray(a, dtype=np.float64) for a in (T, values, errors))
    ax.plot(T, values, fmt, color=color, ms=3, lw=1, label=label, **style)
    known = np.isfinite(errors)
    if known.any():
        ax.fill_between(T, values - errors, values + errors, where=known, color=color, alpha=0.25, lw=0,
                        interpolate=False)


def magnetization_curves(curves: dict, path, *, random_limit: float | None = None, title: str = "") -> None:
    """``<|m|>`` against ``T`` for each ``label -> records`` with a band of one standard error (``absm_err``)
    in the curve's colour, and the mean ``|m|`` of uniformly random spins as a dashed line (the paper's
    Figs. 8 and 10). With two or more runs on the same temperatures a lower panel draws each run minus
    the first, with the band of their combined standard error ``sqrt(se^2 + se_first^2)``, where the
    differences (far smaller than ``<|m|>``) can be seen."""
    plt = _pyplot()
    labels = list(curves)
    T = np.array([r["T"] for r in curves[labels[0]]])
    compare = len(labels) > 1 and all(len(curves[label]) == len(T) for label in labels)
    if compare:
        fig, (ax, dax) = plt.subplots(2, 1, figsize=(6.5, 5.8), sharex=True, gridspec_kw={"height_ratios": [2, 1]},
                                      layout="constrained")
    else:
        fig, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    first = np.array([r["absm"] for r in curves[labels[0]]])
    first_err = np.array([r.get("absm_err", np.nan) for r in curves[labels[0]]], dtype=np.float64)
    for i, label in enumerate(labels):
        records = curves[label]
        values = np.array([r["absm"] for r in records])
        errors = np.array([r.get("absm_err", np.nan) for r in records], dtype=np.float64)
        style = {"color": f"C{i}", "fmt": "os^Dv"[i % 5] + "-", "mfc": "none"}
        _band(ax, [r["T"] for r in records], values, errors, label=label, **style)
        if compare and i > 0:
            _band(dax, T, values - first, np.hypot(errors, first_err), **style)
    if random_limit is not None:
        ax.axhline(random_limit, color="k", ls="--", lw=1, label=f"random spins ({random_limit:.4f})")
    log_T = T.min() > 0 and T.max() / T.min() > 50  # a grid that reaches the random-spin limit: log T
    for axis in (ax, dax) if compare else (ax,):
        if log_T:
            axis.set_xscale("log")
        axis.grid(alpha=0.3)
    (dax if compare else ax).set_xlabel("$T$")
    ax.set_ylabel(r"$\langle |m| \rangle$")
    ax.legend(fontsize=8, title="bands: ± 1 standard error", title_fontsize=7)
    if compare:
        dax.axhline(0.0, color="k", lw=0.8)
        dax.set_ylabel("\n".join(textwrap.wrap(f"run minus {labels[0]}", 24)), fontsize=8)
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
    for i, (label, records) in enumerate(curves.items()):
        T = np.array([r["T"] for r in records])
        for ax, key in ((axes[0], "absm"), (axes[2], "C_per_site")):
            _band(ax, T, [r[key] for r in records], [r.get(f"{key}_err", np.nan) for r in records], color=f"C{i}",
                  label=f"{label} (band: ± 1 standard error)")
    T = np.array([r["T"] for r in staggered])
    _band(axes[1], T, [r["absm"] for r in staggered], [r.get("absm_err", np.nan) for r in staggered], color="C3",
          fmt="s-", label="staggered, exact energy")
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
    each run minus the reference below; every run's curve carries a band of one standard error (the
    records' ``<key>_err``; none where they are missing).

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
            _band(axes[0, col], T, values, errors, color=f"C{i}", fmt=marker + "-", label=label, mfc="none")
            difference = values - reference
            result[label][key] = difference.tolist()
            if has_exact or i > 0:
                _band(axes[1, col], T, difference, errors, color=f"C{i}", fmt=marker + "-", mfc="none")
        if key == "absm" and random_limit is not None:
            axes[0, col].axhline(random_limit, color="k", ls="--", lw=1, label=f"random spins ({random_limit:.4f})")
            axes[0, col].legend(fontsize=7)
        axes[1, col].axhline(0.0, color="k", lw=0.8)
        axes[0, col].set_ylabel(name)
        axes[1, col].set_ylabel("run - exact" if has_exact else f"run - {labels[0]}")
        axes[1, col].set_xlabel("$T$")
        for ax in axes[:, col]:
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8, title="bands: ± 1 standard error", title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return result
