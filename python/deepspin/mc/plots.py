"""Phase-diagram figure: <E>/N, C/N and <|m|> against T, exact curves overlaid, and differences.

Layout as in Fig. 9 of Mills and Tamblyn (2018): one column per observable; the top row shows the
Monte Carlo points with standard-error bars and the exact curve, the bottom row the difference
Monte Carlo minus exact (when an exact reference exists). Matplotlib is imported lazily (Agg).
"""
from __future__ import annotations

import numpy as np

from ..io import atomic_path

_PANELS = (("E_per_site", r"$\langle E\rangle / N$"), ("C_per_site", r"$C / N$"), ("absm", r"$\langle |m|\rangle$"))


def phase_diagram(records: list[dict], exact: dict | None = None, title: str = "", label: str = "Monte Carlo"):
    """Return a matplotlib Figure of ``records`` (``MCResult.records()``) against an optional ``exact`` dict.

    ``exact`` holds ``T`` and any of ``E_per_site``, ``C_per_site``, ``absm`` (arrays, or None where
    no exact value exists); it is evaluated on a fine grid for the curve and at the Monte Carlo
    temperatures for the differences, so pass a callable ``T -> dict`` to get both, or a dict
    already on the Monte Carlo grid.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    T = np.array([r["T"] for r in records])
    curve = exact(np.linspace(T.min(), T.max(), 400)) if callable(exact) else exact
    at_points = exact(T) if callable(exact) else exact
    has_diff = at_points is not None and any(at_points.get(k) is not None for k, _ in _PANELS)
    fig, axes = plt.subplots(2 if has_diff else 1, 3, figsize=(13, 6.5 if has_diff else 3.8), squeeze=False,
                             sharex=True, gridspec_kw={"height_ratios": [2, 1]} if has_diff else None)
    for col, (key, name) in enumerate(_PANELS):
        ax = axes[0, col]
        values = np.array([r[key] for r in records])
        errors = np.array([r.get(f"{key}_err", np.nan) for r in records])
        ax.errorbar(T, values, yerr=errors, fmt="o", ms=3, capsize=2, label=label)
        if curve is not None and curve.get(key) is not None:
            ax.plot(curve["T"], curve[key], "k-", lw=1, label="exact")
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        if has_diff:
            dax = axes[1, col]
            if at_points.get(key) is not None:
                dax.errorbar(T, values - np.asarray(at_points[key]), yerr=errors, fmt="o", ms=3, capsize=2)
                dax.axhline(0.0, color="k", lw=0.8)
            else:
                dax.text(0.5, 0.5, "no exact reference", ha="center", va="center", transform=dax.transAxes)
            dax.set_ylabel("MC - exact")
            dax.set_xlabel("$T$")
            dax.grid(alpha=0.3)
        else:
            ax.set_xlabel("$T$")
    axes[0, 0].legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def save_phase_diagram(path, records: list[dict], exact=None, title: str = "", label: str = "Monte Carlo") -> None:
    """Write :func:`phase_diagram` to ``path`` (PNG) atomically."""
    import matplotlib.pyplot as plt

    fig = phase_diagram(records, exact, title, label)
    try:
        with atomic_path(path, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=120, format="png")
    finally:
        plt.close(fig)
