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
        ax.axhline(random_limit, color="k", ls="--", lw=1, label="random spins")
    ax.set_xlabel("$T$")
    ax.set_ylabel(r"$\langle |m| \rangle$")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title)
    _save(fig, path)
