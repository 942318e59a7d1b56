"""Accuracy and error statistics of a surrogate, and the paper's figures of them.

Classifiers (paper Figs. 2-3): accuracy, the fraction off by exactly one class, the largest
class error, per-class accuracy, and the energy errors of the predicted class levels.
Regressors (Figs. 11-12): median absolute error, MAE and RMSE. Energies are in units of J,
magnetization per site.
"""
from __future__ import annotations

import numpy as np

from deepspin.observables import class_to_energy, ising_energy_levels

from .targets import TARGETS


def metrics(target: str, truth, predicted, L: int | None = None, units: str | None = None) -> dict:
    """Error statistics of ``predicted`` against ``truth`` (classes for ``class``, else values).

    Keys: ``n``, ``median_abs_error``, ``mae``, ``rmse``, ``max_abs_error``, ``units``; for
    classifiers also ``accuracy``, ``off_by_one``, ``max_class_error`` and ``per_class``
    (``class``, ``energy``, ``n``, ``accuracy`` of each class present in ``truth``), with the
    value errors computed on the classes' energy levels (needs ``L``). ``units`` overrides the
    default label (``"J"``, or ``"per site"`` for magnetization), e.g. ``"J per site"``.
    """
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}")
    truth, predicted = np.asarray(truth), np.asarray(predicted)
    if truth.shape != predicted.shape or truth.ndim != 1:
        raise ValueError(f"truth and predictions must be equal-length 1-D arrays, got {truth.shape} and {predicted.shape}")
    result = {"n": int(truth.size), "units": units or ("per site" if target == "magnetization" else "J")}
    if target == "class":
        if L is None:
            raise ValueError("class metrics need L to turn classes into energies")
        off = np.abs(truth.astype(np.int64) - predicted.astype(np.int64))
        result.update(accuracy=_mean(off == 0), off_by_one=_mean(off == 1),
                      max_class_error=int(off.max()) if off.size else 0,
                      per_class=per_class_accuracy(truth, predicted, L))
        truth, predicted = class_to_energy(truth, L), class_to_energy(predicted, L)
    error = np.abs(predicted.astype(np.float64) - truth.astype(np.float64))
    result.update(median_abs_error=float(np.median(error)) if error.size else float("nan"),
                  mae=_mean(error), rmse=float(np.sqrt(np.mean(error ** 2))) if error.size else float("nan"),
                  max_abs_error=float(error.max()) if error.size else float("nan"))
    return result


def per_class_accuracy(truth, predicted, L: int) -> list[dict]:
    """Accuracy of each class present in ``truth`` with its energy level and sample count."""
    rows = []
    for c in np.unique(truth):
        mask = truth == c
        rows.append({"class": int(c), "energy": float(class_to_energy(c, L)), "n": int(mask.sum()),
                     "accuracy": _mean(predicted[mask] == c)})
    return rows


def _mean(values) -> float:
    return float(np.mean(values)) if np.size(values) else float("nan")


def parity_plot(truth, predicted, path, title: str = "", units: str = "J") -> None:
    """Predicted against true values (paper Figs. 11-12): a log-count 2-D histogram and y = x."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    truth, predicted = np.asarray(truth, float), np.asarray(predicted, float)
    lo, hi = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
    pad = 0.02 * (hi - lo or 1.0)
    fig, ax = plt.subplots(figsize=(5, 4.5))
    bins = np.linspace(lo - pad, hi + pad, 120)
    *_, image = ax.hist2d(truth, predicted, bins=bins, norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax, label="configurations")
    ax.plot([lo, hi], [lo, hi], "r-", lw=0.8, label="exact")
    ax.set_xlabel(f"true ({units})")
    ax.set_ylabel(f"predicted ({units})")
    ax.set_title(title)
    ax.legend(loc="upper left")
    _save(fig, path)


def class_error_map(truth, predicted, L: int, path, title: str = "") -> None:
    """A classifier's errors by energy level (paper Figs. 2-3 style), in two panels.

    Left: the confusion matrix (log counts), both axes labelled with the classes' energies in J.
    Right: per class, on one log axis, its configurations (grey) and the misclassified ones (red),
    so a class that is all wrong shows a red bar as tall as its grey one.
    """
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    truth, predicted = np.asarray(truth), np.asarray(predicted)
    levels = np.asarray(ising_energy_levels(L), float)
    n = levels.size
    counts = np.zeros((n, n))
    np.add.at(counts, (truth, predicted), 1)
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 4.8))
    fig.subplots_adjust(wspace=0.35)
    image = ax0.imshow(np.where(counts > 0, counts, np.nan), origin="lower", norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax0, label="configurations")
    ticks = np.unique(np.linspace(0, n - 1, min(n, 9)).round().astype(int))
    labels = [f"{levels[t]:.0f}" for t in ticks]
    ax0.set_xticks(ticks, labels)
    ax0.set_yticks(ticks, labels)
    ax0.set_xlabel("predicted class energy (J)")
    ax0.set_ylabel("true class energy (J)")
    wrong = int(np.sum(truth != predicted))
    ax0.set_title(f"confusion matrix\n{wrong:,} of {truth.size:,} off the diagonal "
                  f"(accuracy {100 * (1 - wrong / max(truth.size, 1)):.3f} %)", fontsize=10)

    rows = per_class_accuracy(truth, predicted, L)
    energies = np.array([r["energy"] for r in rows])
    sizes = np.array([r["n"] for r in rows])
    misses = np.array([r["n"] - round(r["n"] * r["accuracy"]) for r in rows])
    width = 0.8 * float(np.min(np.diff(levels)))
    ax1.bar(energies, sizes, width=width, color="0.8", label="configurations in the class")
    ax1.bar(energies[misses > 0], misses[misses > 0], width=width, color="tab:red", label="misclassified")
    ax1.set_yscale("log")
    ax1.set_ylim(0.5, 3 * max(int(sizes.max()), 1))
    ax1.set_xlabel("true class energy (J)")
    ax1.set_ylabel("configurations")
    ax1.legend(loc="upper right", fontsize=8)
    ax1.set_title(f"per class: {int(np.sum(misses > 0))} of {len(rows)} classes have misses", fontsize=10)
    fig.suptitle(title)
    _save(fig, path)


def error_map(truth, predicted, path, title: str = "", units: str = "J") -> None:
    """Error against true value for a regressor: a log-count 2-D histogram."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    truth, error = np.asarray(truth, float), np.asarray(predicted, float) - np.asarray(truth, float)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    *_, image = ax.hist2d(truth, error, bins=(100, 100), norm=LogNorm(), cmap="viridis")
    fig.colorbar(image, ax=ax, label="configurations")
    ax.axhline(0.0, color="r", lw=0.8)
    ax.set_xlabel(f"true ({units})")
    ax.set_ylabel(f"predicted - true ({units})")
    ax.set_title(title)
    _save(fig, path)


def learning_curve_plot(rows: list[dict], path, key: str, title: str = "") -> None:
    """Test ``key`` (accuracy or median error) against training-set size (paper Figs. 4 and 6).

    A row with ``f"{key}_std"`` (e.g. the standard deviation over training seeds) gets that error bar."""
    plt = _pyplot()

    fig, ax = plt.subplots(figsize=(5, 4))
    sizes = [r["n_train"] for r in rows]
    scale = 100 if key == "accuracy" else 1
    values = [r[key] * scale for r in rows]
    errors = [r[f"{key}_std"] * scale for r in rows] if all(f"{key}_std" in r for r in rows) else None
    ax.errorbar(sizes, values, yerr=errors, fmt="o-", capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("training configurations")
    ax.set_ylabel("test accuracy (%)" if key == "accuracy" else f"test {key.replace('_', ' ')}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    _save(fig, path)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path) -> None:
    from deepspin.io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, bbox_inches="tight", format=str(path).rsplit(".", 1)[-1])
    fig.clf()
    _pyplot().close(fig)
