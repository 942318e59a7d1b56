"""Accuracy and error statistics of a surrogate, and the paper's figures of them.

Classifiers (paper Figs. 2-3): accuracy, the fraction off by exactly one class, the largest
class error, per-class accuracy, and the energy errors of the predicted class levels.
Regressors (Figs. 11-12): median absolute error, MAE and RMSE. Energies are in units of J,
magnetization per site.
"""
from __future__ import annotations

import textwrap

import numpy as np

from deepspin.hamiltonians import Ising
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
    """Predicted against true values (paper Figs. 11-12), and below it the residual against the truth.

    Top: a log-count 2-D histogram of (true, predicted) with ``y = x``. Bottom, on the same true-value
    axis: ``predicted - true`` on its own vertical scale (up to four times the 99th percentile of
    ``|error|``; rarer, larger errors are drawn at the edge and counted in the legend), so errors far
    below the range of the values (0.1 J against energies of +-100 J) are visible; the dashed lines
    are the median absolute error either side of zero.
    """
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    truth, predicted = np.asarray(truth, float), np.asarray(predicted, float)
    residual = predicted - truth
    lo, hi = float(min(truth.min(), predicted.min())), float(max(truth.max(), predicted.max()))
    pad = 0.02 * (hi - lo or 1.0)
    fig, (ax, ax_res) = plt.subplots(2, 1, figsize=(5.4, 6.4), sharex=True, layout="constrained",
                                     gridspec_kw={"height_ratios": [3, 1.5]})
    bins = np.linspace(lo - pad, hi + pad, 120)
    *_, image = ax.hist2d(truth, predicted, bins=bins, norm=LogNorm(), cmap="viridis")
    ax.plot([lo, hi], [lo, hi], "r-", lw=0.8, label="exact")
    ax.set_ylabel(f"predicted ({units})")
    ax.set_title(title, fontsize=10)
    ax.legend(loc="upper left")
    size = np.abs(residual)
    top = float(min(size.max(), 4 * np.quantile(size, 0.99))) * 1.05 or 1.0
    outside = int(np.sum(size > top))
    res_bins = (bins, np.linspace(-top, top, 81))
    *_, res_image = ax_res.hist2d(truth, np.clip(residual, -top, top), bins=res_bins, norm=LogNorm(), cmap="viridis")
    median = float(np.median(size))
    ax_res.axhline(0.0, color="r", lw=0.8)
    for sign in (1, -1):
        ax_res.axhline(sign * median, color="k", ls="--", lw=0.7,
                       label=f"± median |error| ({median:.3g} {units})" if sign > 0 else None)
    if outside:
        ax_res.plot([], [], " ", label=f"{outside:,} beyond ±{top:.2g} drawn at the edge (largest {size.max():.3g})")
    ax_res.set_xlabel(f"true ({units})")
    ax_res.set_ylabel(f"predicted - true ({units})")
    ax_res.legend(loc="upper left", fontsize=7, framealpha=0.9)
    fig.colorbar(image, ax=ax, label="configurations")
    fig.colorbar(res_image, ax=ax_res, label="configurations")
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
    fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 5.4), layout="constrained")
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
    ax1.set_title(f"per class: {int(np.sum(misses > 0))} of the {len(rows)} classes present have misses", fontsize=10)
    if title:
        fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=11)
    fig.supxlabel("\n".join(textwrap.wrap(class_caption(L, energies), 190)), fontsize=8, ha="left", x=0.01)
    _save(fig, path)


def class_caption(L: int, present) -> str:
    """Which Ising energy classes of the ``L x L`` torus exist, why, and which of them ``present`` (energies, J) holds.

    A configuration with ``b`` unsatisfied bonds has ``E = -2N + 2b`` (``J = 1``, ``2N`` bonds). On the
    torus every domain wall is closed, so ``b`` is even, and it is at least 4 (one flipped spin);
    flipping one sublattice of an even torus maps ``b`` to ``2N - b``, so ``b = 2N - 2`` cannot occur
    either: ``N - 1`` levels (:func:`deepspin.observables.ising_energy_levels`).
    """
    levels = np.asarray(ising_energy_levels(L), float)
    N = L * L
    present = np.unique(np.asarray(present, float))
    absent = [f"{e:.0f}" for e in levels if e not in present]
    text = (f"The {L}x{L} Ising torus has {levels.size} energy classes E = -2N + 2b = {levels[0]:.0f}, "
            f"{levels[1]:.0f}, {levels[2]:.0f}, ..., {levels[-2]:.0f}, {levels[-1]:.0f} J (N = {N} sites, b "
            f"unsatisfied bonds): b is even because every domain wall on the torus closes, b = 2 is impossible "
            f"(one flipped spin breaks 4 bonds) and so, by flipping one sublattice, is b = 2N - 2. "
            f"{present.size} of the {levels.size} classes occur among these configurations")
    return text + (f"; absent: E = {', '.join(absent)} J." if absent else ".")


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


def _codes(spins: np.ndarray) -> np.ndarray:
    """One row of packed bits per configuration of ``spins`` ``(B, L, L)`` (equal rows: equal configurations)."""
    return np.packbits(spins.reshape(len(spins), -1) > 0, axis=1)


def configuration_name(config: np.ndarray) -> str | None:
    """``"all-up"``, ``"all-down"`` or ``"a checkerboard"`` for those Ising configurations, else ``None``."""
    L = config.shape[-1]
    checker = np.where(np.add.outer(np.arange(L), np.arange(L)) % 2 == 0, 1, -1)
    if np.all(config > 0):
        return "all-up"
    if np.all(config < 0):
        return "all-down"
    if np.array_equal(np.sign(config), checker) or np.array_equal(np.sign(config), -checker):
        return "a checkerboard"
    return None


def misses_text(spins: np.ndarray, wrong: list[np.ndarray], train_spins: np.ndarray, listed: int = 3) -> str:
    """Which distinct test configurations the classifier gets wrong over its seeds (``wrong``: one mask
    over ``spins`` per seed), how many copies of each the test and the training split hold: the hash
    split keeps every copy of a configuration on one side, so a configuration absent from training
    can fill a thousand test rows. The ``listed`` most frequent are named, the rest counted."""
    misses = [int(w.sum()) for w in wrong]
    seeds = len(wrong)
    if not any(misses):
        return "no misses" if seeds == 1 else f"no misses in any of {seeds} seeds"
    codes, train_codes = _codes(spins), _codes(train_spins)
    unique, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.ravel()
    missed_by = np.zeros(len(unique), dtype=int)
    for w in wrong:
        missed_by[np.unique(inverse[w])] += 1
    bad = np.flatnonzero(missed_by)
    bad = bad[np.argsort(-counts[bad], kind="stable")]
    train_unique, train_counts = np.unique(train_codes, axis=0, return_counts=True)
    in_train = {row.tobytes(): int(c) for row, c in zip(train_unique, train_counts)}
    parts = []
    for u in bad[:listed]:
        config = spins[np.flatnonzero(inverse == u)[0]]
        energy = int(Ising(config.shape[-1]).energy(config))
        name = configuration_name(config) or f"a configuration of E = {energy} J"
        parts.append(f"{name} ({counts[u]:,} test copies, {in_train.get(unique[u].tobytes(), 0):,} in training; "
                     f"missed by {missed_by[u]} of {seeds} seeds)")
    rest = len(bad) - len(parts)
    absent = sum(unique[u].tobytes() not in in_train for u in bad)
    count = "misses" if seeds == 1 else "misses per seed"
    return (f"its {', '.join(f'{m:,}' for m in misses)} {count} are {len(bad):,} distinct configuration"
            f"{'s' if len(bad) != 1 else ''} over the seeds, {absent:,} of them absent from training: "
            f"{'; '.join(parts)}{f'; and {rest:,} more' if rest else ''}")


def distinct_configurations(spins: np.ndarray, wrong: np.ndarray) -> tuple[int, int]:
    """How many distinct configurations ``spins`` holds, and how many of them are ``wrong``.

    The targeted sampler fills the extreme classes with repeats (8x8: two ground states and two
    checkerboards against 2,381 per class), and the hash split keeps every repeat of a configuration
    on one side, so a single configuration missing from training can appear a thousand times in the
    test set: this counts each configuration once (repeats share one prediction)."""
    if not len(spins):
        return 0, 0
    codes = np.packbits(spins.reshape(len(spins), -1) > 0, axis=1)
    _, inverse = np.unique(codes, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return int(inverse.max()) + 1, int(np.unique(inverse[wrong]).size)


def level_offsets(exact: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """Per exact energy level of ``exact`` ``(B,)``: how many configurations, and the mean and standard
    deviation (ddof=1; ``None`` for one configuration) of ``predicted - exact`` over them, by level."""
    exact, difference = np.asarray(exact, dtype=np.float64), np.asarray(predicted, dtype=np.float64) - exact
    out = []
    for level in np.unique(exact):
        d = difference[exact == level]
        out.append({"E": float(level), "n": int(len(d)), "mean": float(d.mean()),
                    "std": float(d.std(ddof=1)) if len(d) > 1 else None})
    return out


#: Convergence of a training (:func:`converged`): at least this many optimizer steps, and the mean
#: training loss over the first and the second half of the last ``CONVERGED_WINDOW`` of the epochs
#: within ``CONVERGED_TOLERANCE`` (relative) of each other.
CONVERGED_STEPS = 10**6
CONVERGED_WINDOW = 0.1
CONVERGED_TOLERANCE = 0.01


def converged(loss, steps: int) -> tuple[bool, str]:
    """Whether a training with per-epoch training ``loss`` and ``steps`` optimizer steps in all has
    converged: ``steps >= CONVERGED_STEPS`` and the loss flat over the last 10 % of the epochs (the
    relative change of the mean loss between the first and the second half of that stretch below 1 %).
    Returns the decision and a text that says why."""
    loss = np.asarray(loss, dtype=np.float64)
    window = max(2, int(np.ceil(CONVERGED_WINDOW * len(loss))))
    if len(loss) < 2:
        return False, f"inconclusive: {steps:,} steps, {len(loss)} epoch recorded"
    tail = loss[-window:]
    first, second = tail[:len(tail) // 2].mean(), tail[len(tail) // 2:].mean()
    change = abs(second - first) / abs(first) if first else float("inf")
    flat = f"loss change {100 * change:.2g} % over the last {window} epochs"
    if steps < CONVERGED_STEPS:
        return False, f"inconclusive: {steps:,} steps (< {CONVERGED_STEPS:,}); {flat}"
    if change >= CONVERGED_TOLERANCE:
        return False, f"inconclusive: {steps:,} steps; {flat} (>= {100 * CONVERGED_TOLERANCE:g} %)"
    return True, f"converged: {steps:,} steps; {flat}"
