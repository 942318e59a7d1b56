"""Figures (matplotlib, Agg backend, PNG), imported lazily so that ``import deepspin`` stays light.

- :func:`energy_histogram`: energies of a dataset, per Ising class or binned (paper, Figs. 2-3).
- :func:`density_of_states`: number of configurations per energy level of a small Ising lattice,
  by full enumeration (paper, Fig. 5 for 4x4).
- :func:`hash_buckets`: occupancy of the 4096 buckets of the 12-bit SHA3 split (paper, Fig. 15b).
- :func:`phase_diagram`: Monte Carlo ``<E>/N``, ``C/N`` and ``<|m|>`` against ``T`` with the exact
  curves and the differences (paper, Figs. 7-10).
- :func:`training_curves`: loss and accuracy against epoch of several trainings (Keras histories),
  e.g. one per optimiser protocol.
- :func:`phase_curves`, :func:`magnetization_curves`, :func:`coulomb_transition`: several Monte Carlo
  runs (e.g. a learned operator and its exact-operator twin) against T with standard-error bands, the
  exact curves and the differences (paper, Figs. 7-10).
Each function writes the PNG atomically and returns the numbers it drew.
"""
from __future__ import annotations

import textwrap

import numpy as np

from .io import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format="png")
    _pyplot().close(fig)


def energy_histogram(energies, path, *, levels=None, bins=50, title: str = "", log: bool = False) -> dict:
    """Histogram of ``energies``: one bar per exact level if ``levels`` is given, else ``bins`` (a count or edges).
    ``log``: a logarithmic count axis, so that levels with a handful of configurations show."""
    plt = _pyplot()
    energies = np.asarray(energies, dtype=np.float64)
    fig, ax = plt.subplots(figsize=(6, 4))
    if levels is not None:
        levels = np.asarray(levels, dtype=np.float64)
        counts = np.array([(energies == level).sum() for level in levels])
        step = np.min(np.diff(levels)) if len(levels) > 1 else 1.0
        ax.bar(levels, counts, width=0.8 * step)
        result = {"levels": levels.tolist(), "counts": counts.tolist()}
    else:
        counts, edges = np.histogram(energies, bins=bins)
        ax.stairs(counts, edges, fill=True)
        result = {"edges": edges.tolist(), "counts": counts.tolist()}
    ax.set_xlabel("energy E (units of J)")
    ax.set_ylabel("configurations")
    if log:
        ax.set_yscale("log")
        ax.set_ylim(bottom=0.5)
    ax.set_title(title or f"{len(energies):,} configurations")
    _save(fig, path)
    return result


def density_of_states(L: int, path) -> dict:
    """Configurations per nearest-neighbour Ising energy level of the ``L x L`` torus (enumeration, N <= 25)."""
    from .hamiltonians import Ising
    from .sampling import enumerate_all

    energies = enumerate_all(Ising(L)).energy
    levels, counts = np.unique(energies, return_counts=True)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.bar(levels, counts, width=0.8 * (np.min(np.diff(levels)) if len(levels) > 1 else 1.0))
    ax.set_yscale("log")
    ax.set_xlabel("energy E (units of J)")
    ax.set_ylabel("number of configurations g(E)")
    ax.set_title(f"Density of states, {L}x{L} Ising ({int(counts.sum()):,} configurations)")
    _save(fig, path)
    return {"levels": levels.tolist(), "counts": counts.tolist()}


def hash_buckets(buckets, path, *, title: str = "") -> dict:
    """Occupancy of the 4096 12-bit hash buckets, with the uniform expectation and its +-2 sigma band."""
    from .datasets.split import BUCKETS

    counts = np.bincount(np.asarray(buckets, dtype=np.int64), minlength=BUCKETS)
    expected = counts.sum() / BUCKETS
    sigma = np.sqrt(expected * (1 - 1 / BUCKETS))
    plt = _pyplot()
    fig, (ax, ax_hist) = plt.subplots(1, 2, figsize=(10, 4), gridspec_kw={"width_ratios": [3, 1]})
    ax.plot(np.arange(BUCKETS), counts, ".", markersize=1.5)
    ax.axhline(expected, color="k", linewidth=1, label="uniform expectation")
    ax.axhspan(expected - 2 * sigma, expected + 2 * sigma, color="0.85", label=r"$\pm 2\sigma$")
    ax.set_xlabel("bucket (12 most significant bits of SHA3-512)")
    ax.set_ylabel("configurations")
    ax.legend(loc="upper right")
    ax_hist.hist(counts, bins=np.arange(counts.min(), counts.max() + 2) - 0.5, orientation="horizontal")
    ax_hist.set_xlabel("buckets")
    fig.suptitle(title or f"{int(counts.sum()):,} configurations in {BUCKETS} buckets")
    _save(fig, path)
    chi2 = float(((counts - expected) ** 2 / expected).sum()) if expected > 0 else float("nan")
    return {"counts": counts.tolist(), "expected": expected, "chi2": chi2, "dof": BUCKETS - 1}


_PHASE_PANELS = (("E_per_site", r"$\langle E\rangle / N$"), ("C_per_site", r"$C / N$"),
                 ("absm", r"$\langle |m|\rangle$"))


def phase_diagram(records: list[dict], path, exact=None, *, title: str = "", label: str = "Monte Carlo") -> dict:
    """Monte Carlo observables against ``T`` (error bars), the exact curves, and MC minus exact (as Fig. 9).

    ``records``: ``MCResult.records()`` (keys ``T``, ``E_per_site``, ``C_per_site``, ``absm`` and their
    ``_err``). ``exact``: ``None``, or a callable ``T -> dict`` with any of those keys (a value may be
    ``None`` where no exact reference exists); it is drawn as a curve on a fine grid and subtracted at the
    Monte Carlo temperatures. Returns the differences drawn (``None`` where there is no reference).
    """
    plt = _pyplot()
    T = np.array([r["T"] for r in records])
    curve = exact(np.linspace(T.min(), T.max(), 400)) if exact is not None else None
    at_points = exact(T) if exact is not None else None
    rows = 2 if at_points is not None else 1
    fig, axes = plt.subplots(rows, 3, figsize=(13, 6.5 if rows == 2 else 3.8), squeeze=False, sharex=True,
                             gridspec_kw={"height_ratios": [2, 1]} if rows == 2 else None)
    differences = {}
    for col, (key, name) in enumerate(_PHASE_PANELS):
        ax = axes[0, col]
        values = np.array([r[key] for r in records], dtype=np.float64)  # a null (None) becomes NaN
        errors = np.array([r.get(f"{key}_err", np.nan) for r in records], dtype=np.float64)
        ax.errorbar(T, values, yerr=errors, fmt="o", ms=3, capsize=2, label=label)
        if curve is not None and curve.get(key) is not None:
            ax.plot(curve["T"], curve[key], "k-", lw=1, label="exact")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if rows == 1:
            ax.set_xlabel("$T$")
        else:
            dax = axes[1, col]
            if at_points.get(key) is not None:
                differences[key] = values - np.asarray(at_points[key])
                dax.errorbar(T, differences[key], yerr=errors, fmt="o", ms=3, capsize=2)
                dax.axhline(0.0, color="k", lw=0.8)
            else:
                differences[key] = None
                dax.text(0.5, 0.5, "no exact reference", ha="center", va="center", transform=dax.transAxes)
            dax.set_ylabel("MC - exact")
            dax.set_xlabel("$T$")
            dax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save(fig, path)
    return {"T": T.tolist(), "differences": {k: None if v is None else v.tolist() for k, v in differences.items()}}


#: Keras history keys of a classifier's accuracy (``metrics=["accuracy"]``), then of a regressor's error.
_SCORES = ("accuracy", "mean_absolute_error")


def training_curves(histories: dict[str, dict], path, *, title: str = "") -> dict:
    """Loss (log scale) and accuracy against epoch for several trainings, one colour per training.

    ``histories``: ``label -> history``, each a Keras-style dict of equal-length lists, one value per
    epoch (``keras.callbacks.History.history``): ``loss`` and ``val_loss``, and ``accuracy`` /
    ``val_accuracy`` for a classifier (``mean_absolute_error`` / ``val_mean_absolute_error`` for a
    regressor). Validation curves are solid, training curves dashed; a history without a key leaves
    that line out. Returns, per label, ``epochs`` and the best ``val_loss`` with its epoch (1-based)
    where there is one.
    """
    if not isinstance(histories, dict) or not histories:
        raise ValueError(f"histories must be a non-empty dict label -> Keras history dict, got {histories!r}")
    clean = {}
    for label, history in histories.items():
        if not isinstance(history, dict) or not ({"loss", "val_loss"} & set(history)):
            keys = sorted(history) if isinstance(history, dict) else []
            raise ValueError(f"history {label!r} must be a dict with at least 'loss' or 'val_loss' (lists per epoch), "
                             f"got {type(history).__name__} with keys {keys}")
        series = {key: np.asarray(values, dtype=np.float64) for key, values in history.items()}
        lengths = {key: v.shape for key, v in series.items()}
        if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1:
            raise ValueError(f"history {label!r}: every key must hold a list of one value per epoch, "
                             f"got shapes {lengths}")
        clean[label] = series
    score = next((key for key in _SCORES if any(key in h or f"val_{key}" in h for h in clean.values())), None)
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2 if score else 1, figsize=(11 if score else 6, 4), squeeze=False,
                             layout="constrained")
    axes = axes[0]
    result = {}
    for i, (label, h) in enumerate(clean.items()):
        color = f"C{i}"
        for ax, key in ((axes[0], "loss"), *(((axes[1], score),) if score else ())):
            for name, style, tag in ((f"val_{key}", "-", "validation"), (key, "--", "training")):
                if name in h:
                    epochs = np.arange(1, len(h[name]) + 1)
                    ax.plot(epochs, h[name] * (100 if key == "accuracy" else 1), style, color=color, lw=1.2,
                            label=f"{label}, {tag}")
        epochs = len(next(iter(h.values())))
        result[label] = {"epochs": epochs}
        if "val_loss" in h and np.isfinite(h["val_loss"]).any():
            best = int(np.nanargmin(h["val_loss"]))
            result[label].update(best_val_loss=float(h["val_loss"][best]), best_epoch=best + 1)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("loss")
    if score:
        axes[1].set_ylabel("accuracy (%)" if score == "accuracy" else score.replace("_", " "))
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3, which="both")
    axes[-1].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    _save(fig, path)
    return result


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


def per_site_error_plot(errors: dict, path, goal=None, *, title: str = "") -> None:
    """A size-extensive surrogate's per-site error ``|E_pred - E| / N`` against the lattice size, log-log.

    ``errors``: ``L -> {"uniform": {"mae", "max"}, "thermal": {"mae", "max"}}`` (uniformly drawn and
    Metropolis configurations); ``goal``: ``(L, per-site MAE)`` drawn as a dashed line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    sizes = sorted(errors)
    for kind, marker in (("uniform", "o"), ("thermal", "s")):
        ax.plot(sizes, [errors[L][kind]["mae"] for L in sizes], marker + "-", label=f"{kind}: mean")
        ax.plot(sizes, [errors[L][kind]["max"] for L in sizes], marker + ":", alpha=0.6, label=f"{kind}: max")
    if goal is not None:
        ax.axhline(goal[1], color="k", ls="--", lw=1, label=f"goal at L = {goal[0]}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(sizes, [str(L) for L in sizes])
    ax.set_xlabel("L")
    ax.set_ylabel("|E_pred - E| / N  (J per site)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax.set_title(title, fontsize=9)
    _save(fig, path)
