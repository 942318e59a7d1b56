"""Stages that train the paper's network (:mod:`deepspin.surrogate`, imported only when they run).

Trained models are cached artefacts keyed by their data and training parameters, so stages that
use the same model (its accuracy, then Metropolis with it) train it once.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from .. import enumeration
from ..hamiltonians import Ising
from ..observables import energy_to_class
from ..sampling import enumerate_all
from .stage import Context, Row
from .stages import dataset, sampling_specs


def trained_model(ctx: Context, data_spec: dict, target: str, train: dict, *, n_train: int | None = None,
                  init: Path | None = None):
    """Path of a cached ``.keras`` surrogate of ``target``, trained on the train split of ``dataset(**data_spec)``.

    ``n_train``: train on a random subset of that many configurations of the train split (seeded by
    ``train["seed"]``; ``None`` for all of it). ``init``: a cached model to fine-tune instead of a fresh
    network (its file name, a content key, enters this model's key).
    """
    def build(path):
        from ..surrogate import TrainConfig, fit
        from ..surrogate.model_io import save
        from ..surrogate.targets import labels
        from ..surrogate.train import BACKUP_DIR, training_metadata

        data = dataset(ctx, **data_spec)
        keep = training_subset(~data["test"], n_train, train["seed"])
        train_data = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
        config = TrainConfig(target=target, **train)
        workdir = path.with_suffix(".training")  # Keras' backup: an interrupted training resumes at its epoch
        model, history = fit(train_data["spins"], labels(train_data, target), config, init=init,
                             workdir=workdir, resume=(workdir / BACKUP_DIR).exists(), verbose=2 if ctx.progress else 0)
        save(model, path, training_metadata(config, data["meta"], int(keep.sum()), history,
                                            source=None if init is None else f"fine-tuned from {init.name}"))
        shutil.rmtree(workdir, ignore_errors=True)

    key = {"data": data_spec, "target": target, "train": train}
    if n_train is not None:
        key["n_train"] = n_train
    if init is not None:
        key["init"] = init.name
    return ctx.artefact("model", key, build, ".keras")


def training_subset(train: np.ndarray, n_train: int | None, seed: int) -> np.ndarray:
    """Mask of ``n_train`` configurations drawn without replacement from the ``True`` entries of ``train``
    (all of them for ``None``); smaller subsets of one seed are not nested, each is its own draw."""
    if n_train is None:
        return train
    rows = np.flatnonzero(train)
    if not 0 < n_train <= len(rows):
        raise ValueError(f"n_train={n_train} must lie in [1, {len(rows)}] (the size of the train split)")
    keep = np.zeros_like(train)
    keep[np.random.default_rng([seed, n_train]).choice(rows, n_train, replace=False)] = True
    return keep


def predict_all_4x4(path) -> np.ndarray:
    """What the 4x4 surrogate at ``path`` predicts (classes or values) for all 65,536 configurations,
    in enumeration order."""
    from ..surrogate import load

    return load(path).predict(enumeration.configurations(4))


def classify_4x4(ctx: Context) -> list[Row]:
    """Classifiers trained on the uniform and on each targeted set, scored on all 65,536 configurations (Figs. 2-3)."""
    p = ctx.params
    extreme = p["data"]["extreme"]
    energies = enumerate_all(Ising(4)).energy
    truth = energy_to_class(energies, 4)
    outer = np.abs(energies) > extreme
    rows, scores, sizes = [], {}, {}
    for name, spec in sampling_specs(p["data"]).items():
        sizes[name] = spec.get("n") or 15 * spec["per_class"]
        predicted = predict_all_4x4(trained_model(ctx, spec, "class", p["train"]))
        scores[name] = {"all": 100 * np.mean(predicted == truth), "outer": 100 * np.mean(predicted[outer] == truth[outer]),
                        "max_error": int(np.abs(predicted - truth).max())}
        if name in ("uniform", "targeted-1"):
            from ..surrogate.evaluate import class_error_map

            class_error_map(truth, predicted, 4, ctx.figure(f"classes_{name}.png"),
                            title="4x4 classifier trained on " + ("the uniform set" if name == "uniform" else "targeted set 1")
                            + ", all 65,536 configurations")
    targeted = [s for name, s in scores.items() if name != "uniform"]
    n = len(targeted)
    rows += [
        Row("4x4 classifier, uniform set: accuracy on all 65,536", scores["uniform"]["all"], unit="%",
            paper="ising4.uniform_accuracy", compare="difference", figure="classes_uniform.png",
            key="ising4.uniform_accuracy", size=sizes["uniform"]),
        Row(f"4x4 classifier, uniform set: accuracy for |E| > {extreme} J", scores["uniform"]["outer"], unit="%",
            paper="ising4.uniform_extremes", figure="classes_uniform.png"),
        Row(f"4x4 classifier, targeted sets ({n}): mean accuracy on all 65,536",
            float(np.mean([s["all"] for s in targeted])), unit="%", paper="ising4.targeted_accuracy",
            figure="classes_targeted-1.png"),
        Row(f"4x4 classifier, targeted sets ({n}): best accuracy", max(s["all"] for s in targeted), unit="%",
            paper="ising4.targeted_best_accuracy", compare="difference", figure="classes_targeted-1.png",
            key="ising4.targeted_best_accuracy", size=sizes["targeted-1"]),
        Row(f"4x4 classifier, targeted sets ({n}): lowest accuracy for |E| > {extreme} J",
            min(s["outer"] for s in targeted), unit="%", paper="ising4.uniform_extremes", figure="classes_targeted-1.png"),
        Row(f"4x4 classifier, targeted sets ({n}): largest class error", max(s["max_error"] for s in targeted),
            unit="levels", paper="ising4.max_class_error", compare="difference", figure="classes_targeted-1.png"),
    ]
    return rows


_METRICS = {"median_abs_error": "median |error|", "mae": "mean |error|"}


def metrics_text(stats: dict, units: str) -> str:
    """The error metrics of a parity plot, for its title: median and mean |error|."""
    return f"median |error| {stats['median_abs_error']:.4g} {units}, mean |error| {stats['mae']:.4g} {units}"


def uniform_spec(p: dict) -> dict:
    """The uniformly sampled dataset of a :func:`uniform_regression` stage with parameters ``p``."""
    return {"hamiltonian_name": p["hamiltonian"], "L": p["L"], "sampler": "uniform", "seed": p["seed"], "n": p["n"],
            "test_fraction": p["test_fraction"]}


def uniform_regression(ctx: Context) -> list[Row]:
    """Energy regression on uniformly drawn configurations, scored on the hash-split test set: screened
    Coulomb (Fig. 11a), sinusoidal screened Coulomb (Fig. 11b), planar Potts (Fig. 12). The paper key of
    each row is ``<stage>.error`` and ``<stage>.train_size``."""
    from ..surrogate import load
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = uniform_spec(p)
    model = trained_model(ctx, spec, "energy", p["train"])
    data = dataset(ctx, **spec)
    test = data["test"]
    predicted = load(model).energy(data["spins"][test])
    stats = metrics("energy", data["energy"][test], predicted)
    label = f"{p['hamiltonian']} {p['L']}x{p['L']} regression"
    fig = "parity.png"
    parity_plot(data["energy"][test], predicted, ctx.figure(fig),
                title=f"{ctx.stage.title}: {int(test.sum()):,} test configurations\n{metrics_text(stats, 'J')}")
    name = ctx.stage.name
    return [
        Row(f"{label}: {_METRICS[p['metric']]} on {int(test.sum()):,} test configurations", stats[p["metric"]],
            unit="J", paper=f"{name}.error", compare="ratio", figure=fig, key=f"{name}.error", size=int((~test).sum())),
        Row(f"{label}: training configurations", int((~test).sum()), paper=f"{name}.train_size", compare="ratio",
            figure=fig),
    ]


def ising_8x8(ctx: Context) -> list[Row]:
    """8x8 Ising on targeted data with a hash-split test set: classification (Fig. 6, at the largest
    training set), energy regression and magnetization regression (Sec. IV.B.2)."""
    from ..surrogate import load
    from ..surrogate.evaluate import class_error_map, metrics, parity_plot
    from ..surrogate.targets import labels

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    spins = data["spins"][test]
    n_train, n_test = int((~test).sum()), int(test.sum())
    results = {}
    for target in ("class", "energy", "magnetization"):
        predicted = load(trained_model(ctx, spec, target, training(p, target))).predict(spins)
        truth = labels(data, target)[test]
        results[target] = metrics(target, truth, predicted, L=8)
        if target == "class":
            distinct, distinct_wrong = distinct_configurations(spins, predicted != truth)
            class_error_map(truth, predicted, 8, ctx.figure("classes.png"),
                            title=f"8x8 classifier: {n_test:,} test configurations ({n_train:,} training)")
        else:
            units = "J" if target == "energy" else "per site"
            parity_plot(truth, predicted, ctx.figure(f"parity_{target}.png"), units=units,
                        title=f"8x8 {target} regression: {n_test:,} test configurations\n"
                              f"{metrics_text(results[target], units)}")
    where = f"{n_test:,} test, {n_train:,} training"
    misses = round(n_test * (1 - results["class"]["accuracy"]))
    return [
        Row(f"8x8 classifier: test accuracy ({where}; its {misses:,} misses are {distinct_wrong:,} distinct "
            f"configuration{'s' if distinct_wrong != 1 else ''})", 100 * results["class"]["accuracy"], unit="%",
            paper="ising8.accuracy", compare="difference", figure="classes.png", key="ising8.accuracy", size=n_train),
        Row(f"8x8 classifier: test accuracy over the {distinct:,} distinct test configurations (repeats of the "
            f"extreme classes counted once)", 100 * (1 - distinct_wrong / distinct), unit="%", figure="classes.png"),
        Row("8x8 classifier: largest class error", results["class"]["max_class_error"], unit="levels",
            paper="ising8.max_class_error", compare="difference", figure="classes.png"),
        Row(f"8x8 energy regression: median |error| ({where})", results["energy"]["median_abs_error"], unit="J",
            paper="ising8.regression_median", compare="ratio", figure="parity_energy.png",
            key="ising8.regression_median", size=n_train),
        Row(f"8x8 energy regression: mean |error| ({where})", results["energy"]["mae"], unit="J",
            figure="parity_energy.png"),
        Row(f"8x8 magnetization regression: median |error| ({where})", results["magnetization"]["median_abs_error"],
            unit="per site", paper="ising8.magnetization_median", compare="ratio", figure="parity_magnetization.png",
            key="ising8.magnetization_median", size=n_train),
    ]


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


def training(p: dict, target: str) -> dict:
    """The training parameters of ``target``: ``train_class`` for classifiers where the profile sets one
    (the 8x8 classifier needs more epochs than the regressions), else ``train``."""
    return p.get("train_class", p["train"]) if target == "class" else p["train"]


def ising_8x8_spec(p: dict) -> dict:
    """The 8x8 targeted dataset of :func:`ising_8x8` and :func:`baselines_8x8`."""
    return {"hamiltonian_name": "ising", "L": 8, "sampler": "targeted", "seed": p["seed"], "per_class": p["per_class"],
            "test_fraction": p["test_fraction"]}


def chunked_predict(estimator, x: np.ndarray, chunk: int = 5000) -> np.ndarray:
    """``estimator.predict(x)`` ``chunk`` rows at a time (kernel ridge regression forms a ``rows x n_train``
    kernel block per call: 5,000 x 20,000 is 0.8 GB)."""
    return np.concatenate([estimator.predict(x[i:i + chunk]) for i in range(0, len(x), chunk)])


def baselines_8x8(ctx: Context) -> list[Row]:
    """Kernel ridge regression and a random forest against the CNN on the 8x8 energy regression, all
    scored on the same hash-split test set with both metrics the paper uses (Sec. IV.B.7: KRR median,
    RF MAE)."""
    from ..surrogate import load
    from ..surrogate.baselines import estimators, featurize, krr_subset
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    x_train, y_train = featurize(data["spins"][~test]), data["energy"][~test]
    x_test, y_test = featurize(data["spins"][test]), data["energy"][test]
    predictions = {"cnn": load(trained_model(ctx, spec, "energy", p["train"])).energy(data["spins"][test])}
    for name, estimator in estimators(seed=p["seed"]).items():
        keep = krr_subset(len(x_train), p["krr_max"], p["seed"])[0] if name == "krr" else slice(None)
        predictions[name] = chunked_predict(estimator.fit(x_train[keep], y_train[keep]), x_test)
    n_krr = min(len(x_train), p["krr_max"])
    sizes = {"cnn": len(x_train), "krr": n_krr, "random_forest": len(x_train)}
    names = {"cnn": "CNN", "krr": "kernel ridge regression", "random_forest": "random forest"}
    stats = {name: metrics("energy", y_test, pred) for name, pred in predictions.items()}
    for name, predicted in predictions.items():
        parity_plot(y_test, predicted, ctx.figure(f"parity_{name}.png"),
                    title=f"8x8 Ising energy, {names[name]} ({sizes[name]:,} training)\n{metrics_text(stats[name], 'J')}")
    paper = {("krr", "median_abs_error"): "ising8.krr_median", ("random_forest", "mae"): "ising8.rf_mae",
             ("cnn", "median_abs_error"): "ising8.regression_median"}
    claims = {("krr", "median_abs_error"): "ising8.krr_median", ("random_forest", "mae"): "ising8.rf_mae"}
    rows = []
    for name in ("cnn", "krr", "random_forest"):
        for metric in ("median_abs_error", "mae"):
            key = paper.get((name, metric))
            rows.append(Row(f"8x8 energy, {names[name]} ({sizes[name]:,} training): {_METRICS[metric]} on "
                            f"{int(test.sum()):,} test configurations", stats[name][metric], unit="J", paper=key,
                            compare=key and "ratio", figure=f"parity_{name}.png", key=claims.get((name, metric)),
                            size=sizes[name]))
    margin = min(stats[other][metric] / stats["cnn"][metric] for other in ("krr", "random_forest")
                 for metric in ("median_abs_error", "mae"))
    rows.append(Row("8x8 energy: smallest ratio baseline |error| / CNN |error| (KRR and RF, median and mean)", margin,
                    paper="ising8.baselines_inferior", figure="parity_cnn.png", key="ising8.cnn_beats_baselines",
                    size=sizes["cnn"], verdict="met" if margin > 1 else "missed"))
    return rows


def adadelta_protocol(ctx: Context) -> list[Row]:
    """The paper's training recipe (AdaDelta, learning rate 1e-3, batch 800, zero padding, until the
    validation loss stops improving) beside ours (Adam 1e-3, periodic padding, early stopping) on the
    4x4 targeted classifier (all 65,536 configurations) and the 8x8 classifier (hash-split test set).

    A third protocol reads the paper's AdaDelta as Zeiler's (2012) algorithm, which has no learning
    rate: the step is the ratio of the running RMS of updates to that of gradients, i.e. rate 1.0
    (Keras 2's default). Keras 3 and TensorFlow 1 scale that step by the rate, 1e-3 by default."""
    from ..surrogate import load
    from ..surrogate.model_io import read_metadata
    from ..surrogate.targets import labels

    p = ctx.params
    truth4 = energy_to_class(enumerate_all(Ising(4)).energy, 4)
    spec4 = sampling_specs(p["data"])["targeted-1"]
    spec8 = ising_8x8_spec(p["ising8"])
    data8 = dataset(ctx, **spec8)
    test8 = data8["test"]
    truth8 = labels(data8, "class")[test8]
    rows = []
    protocols = (("AdaDelta 1e-3, zero padding (the paper's)", "adadelta", p["train"], p["train"]),
                 ("AdaDelta 1.0 (Zeiler's unit rate), zero padding", "adadelta_unit", p["unit_rate"], p["unit_rate"]),
                 ("Adam 1e-3, periodic padding (ours)", None, p["ours_4x4"], p["ours_8x8"]))
    for protocol, claim, train4, train8 in protocols:
        model4, model8 = trained_model(ctx, spec4, "class", train4), trained_model(ctx, spec8, "class", train8)
        accuracy4 = 100 * float(np.mean(predict_all_4x4(model4) == truth4))
        accuracy8 = 100 * float(np.mean(load(model8).predict(data8["spins"][test8]) == truth8))
        # Epochs trained in all: a training resumed after an interruption records its own run's count as
        # "epochs_run" (the 8x8 classifier: 11 of 47), the last epoch reached as "last_epoch".
        epochs4, epochs8 = (read_metadata(m)["training"]["last_epoch"] for m in (model4, model8))
        rows += [
            Row(f"4x4 classifier, targeted set 1, {protocol}: accuracy on all 65,536 ({epochs4} epochs)", accuracy4,
                unit="%", paper="ising4.targeted_best_accuracy", compare="difference",
                key=claim and f"ising4.{claim}_accuracy", size=15 * spec4["per_class"]),
            Row(f"8x8 classifier, {protocol}: test accuracy ({int(test8.sum()):,} test, {int((~test8).sum()):,} "
                f"training; {epochs8} epochs)", accuracy8, unit="%", paper="ising8.accuracy", compare="difference",
                key=claim and f"ising8.{claim}_accuracy", size=int((~test8).sum())),
        ]
    return rows


def learning_curve_4x4(ctx: Context) -> list[Row]:
    """Accuracy on all 65,536 4x4 configurations against the size of the targeted training set (Fig. 4)."""
    from ..surrogate.evaluate import learning_curve_plot

    p = ctx.params
    truth = energy_to_class(enumerate_all(Ising(4)).energy, 4)
    curve = []
    for per_class in p["per_class"]:
        spec = {**sampling_specs({**p["data"], "targeted_sets": 1})["targeted-1"], "per_class": per_class}
        predicted = predict_all_4x4(trained_model(ctx, spec, "class", p["train"]))
        curve.append({"n_train": 15 * per_class, "accuracy": float(np.mean(predicted == truth))})
    fig = "learning_curve.png"
    learning_curve_plot(curve, ctx.figure(fig), "accuracy", title="4x4 Ising, targeted sets, all 65,536 configurations")
    return [Row(f"4x4 classifier, {point['n_train']:,} targeted examples: accuracy on all 65,536",
                100 * point["accuracy"], unit="%", paper="ising4.learning_curve", figure=fig) for point in curve]


def learning_curve_8x8(ctx: Context) -> list[Row]:
    """8x8 test accuracy on the hash-split test set against the number of training configurations,
    each a random subset of the train split, the last all of it (Fig. 6)."""
    from ..surrogate import load
    from ..surrogate.evaluate import learning_curve_plot
    from ..surrogate.targets import labels

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    truth = labels(data, "class")[test]
    curve = []
    for n_train in [*p["n_train"], None]:
        model = trained_model(ctx, spec, "class", training(p, "class"), n_train=n_train)
        accuracy = float(np.mean(load(model).predict(data["spins"][test]) == truth))
        curve.append({"n_train": int((~test).sum()) if n_train is None else n_train, "accuracy": accuracy})
    fig = "learning_curve.png"
    learning_curve_plot(curve, ctx.figure(fig), "accuracy",
                        title=f"8x8 Ising classifier, {int(test.sum()):,} hash-split test configurations")
    return [Row(f"8x8 classifier, {point['n_train']:,} training configurations: test accuracy", 100 * point["accuracy"],
                unit="%", paper="ising8.learning_curve", figure=fig) for point in curve]


def regression_4x4(ctx: Context) -> list[Row]:
    """Energy and magnetization regression on the first targeted 4x4 set, scored on all 65,536
    configurations (Sec. IV.B.2; the magnetization regressor is the learned operator of Fig. 8)."""
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = sampling_specs(p["data"])["targeted-1"]
    every = enumerate_all(Ising(4))
    rows = []
    for target, paper in (("energy", None), ("magnetization", "ising4.magnetization_median")):
        predicted = predict_all_4x4(trained_model(ctx, spec, target, p["train"]))
        truth = every.energy if target == "energy" else every.spins.mean(axis=(1, 2))
        stats = metrics(target, truth, predicted)
        fig = f"parity_{target}.png"
        units = "J" if target == "energy" else "per site"
        parity_plot(truth, predicted, ctx.figure(fig), units=units,
                    title=f"4x4 {target} regression (targeted set), all 65,536 configurations\n"
                          f"{metrics_text(stats, units)}")
        rows.append(Row(f"4x4 {target} regression (targeted set): median |error| on all 65,536",
                        stats["median_abs_error"], unit=units, paper=paper, compare=paper and "ratio", figure=fig))
        rows.append(Row(f"4x4 {target} regression (targeted set): largest |error|", stats["max_abs_error"], unit=units,
                        figure=fig))
    return rows
