"""Featureless baselines of the paper's section "DNN versus other methods": KRR and random forests.

Kernel ridge regression comes with two kernels: scikit-learn's default ``KernelRidge()`` (linear
kernel, alpha 1: on Ising energies, which are quadratic in the spins, it predicts about the training
mean) and an RBF kernel; :class:`MeanPredictor` is the trivial baseline beside them. The random
forest's hyperparameters are chosen on a validation split carved from the training data
(:func:`tuned_forest`), never on the test set.

Both scikit-learn estimators see the raw spins flattened to ``N`` features (the same
"featureless" input the network gets) and regress the energy (or magnetization); for the
``class`` target the predicted energy is rounded to the nearest Ising level, so the same
metrics and plots apply. Kernel ridge regression stores the ``n x n`` kernel matrix
(``8 n^2`` bytes), so its training set is capped (``krr_max``, default 10,000 = 0.8 GB).
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from deepspin.observables import ising_energy_levels

from .targets import network_inputs

#: Default cap on KRR's training set: its kernel matrix takes 8 n^2 bytes.
KRR_MAX = 10_000


def featurize(configs) -> np.ndarray:
    """Flatten ``(B, L, L)`` configurations to ``(B, L*L)`` float32 features."""
    x = network_inputs(configs)
    return x.reshape(len(x), -1)


def kernel_ridges() -> dict:
    """Kernel ridge regressions by name: ``"krr"`` is scikit-learn's default ``KernelRidge()`` (linear
    kernel, alpha 1), ``"krr_rbf"`` an RBF kernel with alpha 1e-3 (both :func:`serial_kernel_ridge`)."""
    return {"krr": serial_kernel_ridge(), "krr_rbf": serial_kernel_ridge(kernel="rbf", alpha=1e-3)}


class MeanPredictor:
    """The trivial regression baseline: predicts the mean of the training targets for every input."""

    def fit(self, x, y):
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, x) -> np.ndarray:
        return np.full(len(x), self.mean_)


#: Hyperparameter grid of :func:`tuned_forest` (each combination is fitted once on the train part).
RF_GRID = {"n_estimators": [100, 300], "max_features": [1.0, 0.33], "min_samples_leaf": [1, 3]}

#: Share of the training data that :func:`tuned_forest` holds out to choose the hyperparameters.
VALIDATION_FRACTION = 0.1

#: The baselines of :func:`fit_baselines`, by the names it returns them under, in its order.
BASELINES = ("krr", "krr_rbf", "random_forest", "mean")


def tuned_forest(x, y, grid: dict | None = None, validation_fraction: float = VALIDATION_FRACTION, seed: int = 0,
                 n_jobs: int | None = None):
    """A random forest whose hyperparameters are chosen on a validation split of the training data.

    Every combination of ``grid`` (parameter name -> list of values, default :data:`RF_GRID`) is
    fitted on ``1 - validation_fraction`` of ``(x, y)`` (a seeded random split) and scored by the mean
    absolute error on the rest; the best combination is refitted on all of ``(x, y)``. Returns
    ``(forest, chosen, scores)``: the fitted forest, its parameters, and the validation MAE of every
    combination (a list of ``(params, mae)``)."""
    from sklearn.ensemble import RandomForestRegressor

    grid = RF_GRID if grid is None else grid
    if not grid or any(not values for values in grid.values()):
        raise ValueError(f"tuned_forest: grid must map each parameter to a non-empty list, got {grid!r}")
    if not 0 < validation_fraction < 1:
        raise ValueError(f"tuned_forest: validation_fraction must lie in (0, 1), got {validation_fraction!r}")
    order = np.random.default_rng([seed, 0xF0])
    order = order.permutation(len(x))
    n_val = max(1, int(round(validation_fraction * len(x))))
    val, fit_rows = order[:n_val], order[n_val:]
    scores = []
    for values in itertools.product(*grid.values()):
        params = dict(zip(grid, values))
        forest = RandomForestRegressor(random_state=seed, n_jobs=n_jobs, **params).fit(x[fit_rows], y[fit_rows])
        scores.append((params, float(np.mean(np.abs(forest.predict(x[val]) - y[val])))))
    chosen = min(scores, key=lambda item: item[1])[0]
    return RandomForestRegressor(random_state=seed, n_jobs=n_jobs, **chosen).fit(x, y), chosen, scores


def serial_kernel_ridge(**params):
    """scikit-learn's ``KernelRidge(**params)`` whose ``fit`` runs BLAS/LAPACK on one thread.

    The fit is a Cholesky solve of the ``n x n`` kernel matrix. SciPy's bundled OpenBLAS (0.3.31,
    scipy 1.17.1) crashes with a segmentation fault in its threaded ``dpotrf`` from n ~ 16,000 on
    our 2-core Xeon (n = 12,000 passes; the paper profile fits 20,000); on one thread n = 20,000
    factors in 38 s. Threaded ``dpotrf`` crashes of this kind are a known OpenBLAS failure
    (OpenMathLib/OpenBLAS#2821, #1413)."""
    from sklearn.kernel_ridge import KernelRidge
    from threadpoolctl import threadpool_limits

    class SerialKernelRidge(KernelRidge):
        def fit(self, X, y, sample_weight=None):
            with threadpool_limits(limits=1, user_api="blas"):
                return super().fit(X, y, sample_weight=sample_weight)

    return SerialKernelRidge(**params)


def krr_subset(n: int, krr_max: int, seed: int) -> tuple[np.ndarray, str | None]:
    """Indices of at most ``krr_max`` training samples for KRR, and a message when it had to cut."""
    if n <= krr_max:
        return np.arange(n), None
    keep = np.sort(np.random.default_rng(seed).choice(n, krr_max, replace=False))
    gigabytes = 8 * n * n / 1e9
    return keep, (f"kernel ridge regression needs an n x n kernel matrix ({gigabytes:.1f} GB for n={n:,}); "
                  f"fitting it on a random {krr_max:,} of the training configurations "
                  f"(raise --krr-max to use more)")


def to_classes(energies, L: int) -> np.ndarray:
    """Round predicted energies to the nearest Ising level of ``L`` and return its class index."""
    levels = ising_energy_levels(L)
    return np.abs(np.asarray(energies)[:, None] - levels[None, :]).argmin(axis=1).astype(np.int64)


def chunked_predict(estimator, x: np.ndarray, chunk: int = 5000) -> np.ndarray:
    """``estimator.predict(x)`` ``chunk`` rows at a time (kernel ridge regression forms a ``rows x n_train``
    kernel block per call: 5,000 x 20,000 is 0.8 GB)."""
    return np.concatenate([estimator.predict(x[i:i + chunk]) for i in range(0, len(x), chunk)])


def fit_baselines(x_train, y_train, x_test, *, krr_max: int = KRR_MAX, grid: dict | None = None, seed: int = 0,
                  n_jobs: int | None = None, log=None) -> dict:
    """Every baseline fitted on ``(x_train, y_train)`` (features of :func:`featurize`) and its prediction
    for ``x_test``: ``{name: {"predicted", "n_train", "about"}}`` for ``krr`` and ``krr_rbf``
    (:func:`kernel_ridges`, on at most ``krr_max`` training rows, :func:`krr_subset`),
    ``random_forest`` (:func:`tuned_forest` over ``grid``) and ``mean`` (:class:`MeanPredictor`).
    ``about`` says what the baseline is, with the forest's chosen hyperparameters; ``log(text)``
    receives the note on a capped KRR training set and each fit's start."""
    log = log or (lambda text: None)
    y_train = np.asarray(y_train, dtype=np.float64)
    keep, message = krr_subset(len(x_train), krr_max, seed)
    if message:
        log(message)
    about = {"krr": "kernel ridge regression, scikit-learn's default KernelRidge() (linear kernel, alpha 1)",
             "krr_rbf": "kernel ridge regression, RBF kernel (alpha 1e-3)"}
    out = {}
    for name, estimator in kernel_ridges().items():
        log(f"fitting {name} on {len(keep):,} configurations")
        out[name] = {"predicted": chunked_predict(estimator.fit(x_train[keep], y_train[keep]), x_test),
                     "n_train": len(keep), "about": about[name]}
    grid = RF_GRID if grid is None else grid
    log(f"fitting random_forest on {len(x_train):,} configurations ({math.prod(len(v) for v in grid.values())} "
        f"hyperparameter combinations)")
    forest, chosen, scores = tuned_forest(x_train, y_train, grid, seed=seed, n_jobs=n_jobs)
    tried = ", ".join(f"{k} in {v}" for k, v in grid.items())
    out["random_forest"] = {
        "predicted": forest.predict(x_test), "n_train": len(x_train),
        "about": f"random forest ({', '.join(f'{k}={v}' for k, v in chosen.items())}, chosen by the validation MAE "
                 f"on {100 * VALIDATION_FRACTION:g} % of the training split over {len(scores)} combinations of "
                 f"{tried})"}
    out["mean"] = {"predicted": MeanPredictor().fit(x_train, y_train).predict(x_test), "n_train": len(x_train),
                   "about": "the training mean (a constant prediction)"}
    return out
