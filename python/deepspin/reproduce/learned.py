"""Stages that train the paper's network (:mod:`deepspin.surrogate`, imported only when they run).

Trained models are cached artefacts keyed by their data and training parameters, so stages that
use the same model (its accuracy, then Metropolis with it) train it once.
"""
from __future__ import annotations

import json

import numpy as np

from ..hamiltonians import Ising
from ..io import write_text
from ..observables import energy_to_class
from ..sampling import enumerate_all
from ..surrogate.diagnostics import predict_enumerated
from ..surrogate.evaluate import converged, distinct_configurations, misses_text
from .artefacts import (dataset, first_seed, recorded_model, seed_trainings, symmetric_classifiers,
                        trained_model, trained_models)
from .stage import Context, Row
from .stages import sampling_specs


def short_seeds_text(n: int) -> str:
    """How a number was averaged over ``n`` training seeds, for a figure title."""
    return "1 training seed" if n == 1 else f"mean +- std over {n} training seeds"


def seeds_text(n: int) -> str:
    """How a row's number was averaged over training seeds (for its study text)."""
    return short_seeds_text(n) + ("" if n == 1 else ": same data, seeds vary initialisation, validation split, "
                                                    "batch order")


def stopping_text(models) -> str:
    """How the training of each network in ``models`` ended (:func:`deepspin.surrogate.diagnostics.training_ends`)."""
    from ..surrogate.diagnostics import training_ends

    ends = training_ends(models)
    if ends is None:
        return "training end not recorded"
    early, caps = ends["early"], ends["caps"]
    parts = [f"stopped early at epoch{'s' if len(early) > 1 else ''} {', '.join(map(str, early))}"] if early else []
    if caps:
        parts.append(f"{len(caps)} of {ends['runs']} ran to the {'/'.join(map(str, sorted(set(caps))))}-epoch cap")
    return "training " + "; ".join(parts)


def seeded_row(study: str, values, models=None, **fields) -> Row:
    """A :class:`Row` whose number is the mean of ``values`` (one per training seed), with their
    standard deviation (ddof=1; ``None`` for one seed) as ``spread`` and their count as ``seeds``;
    ``models``, the networks behind ``values``, adds how their training ended (:func:`stopping_text`)."""
    values = np.asarray(values, dtype=np.float64)
    spread = float(np.std(values, ddof=1)) if len(values) > 1 else None
    ended = f"; {stopping_text(models)}" if models is not None else ""
    return Row(f"{study} ({seeds_text(len(values))}{ended})", float(np.mean(values)), spread=spread,
               seeds=len(values), **fields)


def classify_4x4(ctx: Context) -> list[Row]:
    """Classifiers trained on the uniform and on each targeted set, scored on all 65,536 configurations
    (Figs. 2-3), each trained with every training seed; the figures show seed 0."""
    p = ctx.params
    extreme = p["data"]["extreme"]
    energies = enumerate_all(Ising(4)).energy
    truth = energy_to_class(energies, 4)
    outer = np.abs(energies) > extreme
    scores, sizes, models = {}, {}, {}  # scores[set] = one dict per seed
    for name, spec in sampling_specs(p["data"]).items():
        sizes[name] = spec.get("n") or 15 * spec["per_class"]
        scores[name] = []
        models[name] = trained_models(ctx, spec, "class", p["train"])
        for seed, model in enumerate(models[name]):
            predicted = predict_enumerated(model)
            scores[name].append({"all": 100 * np.mean(predicted == truth),
                                 "outer": 100 * np.mean(predicted[outer] == truth[outer]),
                                 "max_error": int(np.abs(predicted - truth).max())})
            if seed == 0 and name in ("uniform", "targeted-1"):
                from ..surrogate.evaluate import class_error_map

                class_error_map(truth, predicted, 4, ctx.figure(f"classes_{name}.png"),
                                title="4x4 classifier trained on "
                                + ("the uniform set" if name == "uniform" else "targeted set 1")
                                + " (training seed 0), all 65,536 configurations")
    targeted = [per_seed for name, per_seed in scores.items() if name != "uniform"]
    n = len(targeted)
    seeds = len(scores["uniform"])

    def over_sets(stat, reduce):  # per seed, reduced over the targeted sets
        return [reduce([per_seed[i][stat] for per_seed in targeted]) for i in range(seeds)]

    uniform = scores["uniform"]
    targeted_models = [model for name, per_seed in models.items() if name != "uniform" for model in per_seed]
    return [
        seeded_row("4x4 classifier, uniform set: accuracy on all 65,536", [s["all"] for s in uniform],
                   models["uniform"], unit="%", paper="ising4.uniform_accuracy", compare="difference",
                   figure="classes_uniform.png", key="ising4.uniform_accuracy", size=sizes["uniform"]),
        seeded_row(f"4x4 classifier, uniform set: accuracy for |E| > {extreme} J", [s["outer"] for s in uniform],
                   unit="%", paper="ising4.uniform_extremes", figure="classes_uniform.png"),
        seeded_row(f"4x4 classifier, targeted sets ({n}): mean accuracy on all 65,536", over_sets("all", np.mean),
                   unit="%", paper="ising4.targeted_accuracy", figure="classes_targeted-1.png"),
        seeded_row(f"4x4 classifier, targeted sets ({n}): best accuracy (of the sets, per seed)",
                   over_sets("all", max), targeted_models, unit="%", paper="ising4.targeted_best_accuracy",
                   compare="difference", figure="classes_targeted-1.png", key="ising4.targeted_best_accuracy",
                   size=sizes["targeted-1"]),
        seeded_row(f"4x4 classifier, targeted sets ({n}): lowest accuracy for |E| > {extreme} J "
                   f"(of the sets, per seed)",
                   over_sets("outer", min), unit="%", paper="ising4.uniform_extremes", figure="classes_targeted-1.png"),
        seeded_row(f"4x4 classifier, targeted sets ({n}): largest class error (of the sets, per seed)",
                   over_sets("max_error", max), unit="levels", paper="ising4.max_class_error", compare="difference",
                   figure="classes_targeted-1.png"),
    ]


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
    each row is ``<stage>.error`` and ``<stage>.train_size``. Beside the error in J, the error relative
    to the spread (standard deviation) of the test energies, ``<stage>.relative_error``: the paper does
    not state the screening length k of its Coulomb models, so its J values are not comparable to ours,
    while the relative error does not depend on the energy scale."""
    from ..surrogate import load
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = uniform_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    truth = data["energy"][test]
    scale = float(np.std(truth))
    errors = []
    label = f"{p['hamiltonian']} {p['L']}x{p['L']} regression"
    fig = "parity.png"
    models = trained_models(ctx, spec, "energy", p["train"])
    for seed, model in enumerate(models):
        predicted = load(model).energy(data["spins"][test])
        stats = metrics("energy", truth, predicted)
        errors.append(stats[p["metric"]])
        if seed == 0:
            parity_plot(truth, predicted, ctx.figure(fig),
                        title=f"{ctx.stage.title} (training seed 0): {int(test.sum()):,} test configurations\n"
                              f"{metrics_text(stats, 'J')}")
    name = ctx.stage.name
    n_test, n_train = int(test.sum()), int((~test).sum())
    return [
        seeded_row(f"{label}: {_METRICS[p['metric']]} on {n_test:,} test configurations", errors, models,
                   unit="J", paper=f"{name}.error", compare="ratio", figure=fig, key=f"{name}.error", size=n_train),
        seeded_row(f"{label}: {_METRICS[p['metric']]} / standard deviation of the {n_test:,} test energies "
                   f"({scale:.4g} J)", np.asarray(errors) / scale, figure=fig, key=f"{name}.relative_error",
                   size=n_train),
        Row(f"{label}: training configurations", n_train, paper=f"{name}.train_size", compare="ratio",
            figure=fig),
    ]


def ising_8x8(ctx: Context) -> list[Row]:
    """8x8 Ising on targeted data with a hash-split test set: classification (Fig. 6, at the largest
    training set), energy regression and magnetization regression (Sec. IV.B.2), each trained with
    every training seed; the figures show seed 0."""
    from ..surrogate import load
    from ..surrogate.evaluate import class_error_map, metrics, parity_plot
    from ..surrogate.targets import labels

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    spins = data["spins"][test]
    n_train, n_test = int((~test).sum()), int(test.sum())
    results, models = {}, {}  # target -> one metrics dict per seed, the networks
    wrong = []  # the classifier's wrong test predictions, per seed
    for target in ("class", "energy", "magnetization"):
        truth = labels(data, target)[test]
        results[target] = []
        models[target] = trained_models(ctx, spec, target, training(p, target))
        for seed, model in enumerate(models[target]):
            predicted = load(model).predict(spins)
            results[target].append(metrics(target, truth, predicted, L=8))
            if target == "class":
                wrong.append(predicted != truth)
            if seed:
                continue
            if target == "class":
                class_error_map(truth, predicted, 8, ctx.figure("classes.png"),
                                title=f"8x8 classifier (training seed 0): {n_test:,} test configurations "
                                      f"({n_train:,} training)")
            else:
                units = "J" if target == "energy" else "per site"
                parity_plot(truth, predicted, ctx.figure(f"parity_{target}.png"), units=units,
                            title=f"8x8 {target} regression (training seed 0): {n_test:,} test configurations\n"
                                  f"{metrics_text(results[target][0], units)}")
    truth = labels(data, "class")[test]
    models["symmetric"] = symmetric_classifiers(ctx, spec, training(p, "class"))
    symmetric = [load(model).predict(spins) != truth for model in models["symmetric"]]
    where = f"{n_test:,} test, {n_train:,} training"
    distinct = [distinct_configurations(spins, w) for w in wrong]
    distinct_symmetric = [distinct_configurations(spins, w) for w in symmetric]

    def per_seed(target, metric, scale=1.0):
        return [scale * r[metric] for r in results[target]]

    return [
        seeded_row(f"8x8 classifier: test accuracy ({where}; {misses_text(spins, wrong, data['spins'][~test])})",
                   per_seed("class", "accuracy", 100), models["class"], unit="%", paper="ising8.accuracy",
                   compare="difference", figure="classes.png", key="ising8.accuracy", size=n_train),
        seeded_row(f"8x8 classifier: test accuracy over the {distinct[0][0]:,} distinct test configurations "
                   f"(repeats of the extreme classes counted once)",
                   [100 * (1 - bad / total) for total, bad in distinct], unit="%", figure="classes.png"),
        seeded_row(f"8x8 classifier, spin-flip symmetric (not the paper's: logits averaged over s and -s, as "
                   f"E(s) = E(-s)), same split: test accuracy ({where}; "
                   f"{misses_text(spins, symmetric, data['spins'][~test])})",
                   [100 * (1 - w.mean()) for w in symmetric], models["symmetric"], unit="%", paper="ising8.accuracy",
                   compare="difference", figure="classes.png", key="ising8.accuracy_symmetric", size=n_train),
        seeded_row(f"8x8 classifier, spin-flip symmetric: test accuracy over the {distinct_symmetric[0][0]:,} "
                   f"distinct test configurations", [100 * (1 - bad / total) for total, bad in distinct_symmetric],
                   unit="%", figure="classes.png"),
        seeded_row("8x8 classifier: largest class error", per_seed("class", "max_class_error"), unit="levels",
                   paper="ising8.max_class_error", compare="difference", figure="classes.png"),
        seeded_row(f"8x8 energy regression: median |error| ({where})", per_seed("energy", "median_abs_error"),
                   models["energy"], unit="J", paper="ising8.regression_median", compare="ratio",
                   figure="parity_energy.png", key="ising8.regression_median", size=n_train),
        seeded_row(f"8x8 energy regression: mean |error| ({where})", per_seed("energy", "mae"), unit="J",
                   figure="parity_energy.png"),
        seeded_row(f"8x8 magnetization regression: median |error| ({where})",
                   per_seed("magnetization", "median_abs_error"), models["magnetization"], unit="per site",
                   paper="ising8.magnetization_median", compare="ratio", figure="parity_magnetization.png",
                   key="ising8.magnetization_median", size=n_train),
    ]


def training(p: dict, target: str) -> dict:
    """The training parameters of ``target``: ``train_class`` for classifiers where the profile sets one
    (the 8x8 classifier needs more epochs than the regressions), else ``train``."""
    return p.get("train_class", p["train"]) if target == "class" else p["train"]


def ising_8x8_spec(p: dict) -> dict:
    """The 8x8 targeted dataset of :func:`ising_8x8` and :func:`baselines_8x8`."""
    return {"hamiltonian_name": "ising", "L": 8, "sampler": "targeted", "seed": p["seed"], "per_class": p["per_class"],
            "test_fraction": p["test_fraction"]}


def baselines_8x8(ctx: Context) -> list[Row]:
    """Kernel ridge regression, a random forest and the training mean against the CNN on the 8x8 energy
    regression, all scored on the same hash-split test set with both metrics the paper uses (Sec.
    IV.B.7: KRR median, RF MAE). KRR with scikit-learn's default ``KernelRidge()`` (linear kernel, the
    paper's likely choice: it names no kernel) and with an RBF kernel; the random forest's
    hyperparameters chosen on a validation split of the training data (``rf_grid``); the CNN over its
    training seeds."""
    from ..surrogate import load
    from ..surrogate.baselines import featurize, fit_baselines
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    y_test = data["energy"][test]
    cnn_models = trained_models(ctx, spec, "energy", p["train"])
    cnn_predictions = [load(model).energy(data["spins"][test]) for model in cnn_models]
    cnn = [metrics("energy", y_test, predicted) for predicted in cnn_predictions]
    fits = {"cnn": {"predicted": cnn_predictions[0], "n_train": int((~test).sum()), "about": "CNN"},
            **fit_baselines(featurize(data["spins"][~test]), data["energy"][~test], featurize(data["spins"][test]),
                            krr_max=p["krr_max"], grid=p["rf_grid"], seed=p["seed"])}
    short = {"cnn": "CNN", "krr": "KRR, linear kernel", "krr_rbf": "KRR, RBF kernel", "random_forest": "random forest",
             "mean": "training mean"}
    stats = {name: metrics("energy", y_test, fit["predicted"]) for name, fit in fits.items()}
    for name, fit in fits.items():
        seed = " (training seed 0)" if name == "cnn" else ""
        parity_plot(y_test, fit["predicted"], ctx.figure(f"parity_{name}.png"),
                    title=f"8x8 Ising energy, {short[name]}{seed} ({fit['n_train']:,} training)\n"
                          f"{metrics_text(stats[name], 'J')}")
    paper = {("krr", "median_abs_error"): "ising8.krr_median", ("random_forest", "mae"): "ising8.rf_mae",
             ("cnn", "median_abs_error"): "ising8.regression_median"}
    claims = {("krr", "median_abs_error"): "ising8.krr_median", ("random_forest", "mae"): "ising8.rf_mae",
              ("krr_rbf", "median_abs_error"): "ising8.krr_rbf_median",
              ("mean", "median_abs_error"): "ising8.mean_predictor_median"}
    n_test = int(test.sum())
    rows = []
    for name in ("cnn", "krr", "krr_rbf", "random_forest", "mean"):
        for metric in ("median_abs_error", "mae"):
            key = paper.get((name, metric))
            study = f"8x8 energy, {fits[name]['about']} ({fits[name]['n_train']:,} training): {_METRICS[metric]} " \
                    f"on {n_test:,} test configurations"
            fields = dict(unit="J", paper=key, compare=key and "ratio", figure=f"parity_{name}.png",
                          key=claims.get((name, metric)), size=fits[name]["n_train"])
            rows.append(seeded_row(study, [s[metric] for s in cnn], cnn_models, **fields) if name == "cnn"
                        else Row(study, stats[name][metric], **fields))
    cnn_mean = {metric: float(np.mean([s[metric] for s in cnn])) for metric in ("median_abs_error", "mae")}
    ratios = {(other, metric): stats[other][metric] / cnn_mean[metric]
              for other in ("krr", "krr_rbf", "random_forest") for metric in ("median_abs_error", "mae")}
    (weakest, metric), margin = min(ratios.items(), key=lambda item: item[1])
    rows.append(Row(f"8x8 energy: smallest ratio baseline |error| / CNN |error| (KRR linear and RBF, RF; median and "
                    f"mean; CNN: mean over {len(cnn)} training seeds): {short[weakest]}, {_METRICS[metric]}", margin,
                    paper="ising8.baselines_inferior", figure="parity_cnn.png", key="ising8.cnn_beats_baselines",
                    size=fits["cnn"]["n_train"], verdict="met" if margin > 1 else "missed"))
    return rows


def adadelta_protocol(ctx: Context) -> list[Row]:
    """The paper's training recipe (AdaDelta, learning rate 1e-3, batch 800, zero padding, until the
    validation loss stops improving) beside ours (Adam 1e-3, periodic padding, early stopping) on the
    4x4 targeted classifier (all 65,536 configurations) and the 8x8 classifier (hash-split test set).

    A third protocol reads the paper's AdaDelta as Zeiler's (2012) algorithm, which has no learning
    rate: the step is the ratio of the running RMS of updates to that of gradients, i.e. rate 1.0
    (Keras 2's default). Keras 3 and TensorFlow 1 scale that step by the rate, 1e-3 by default.

    Each AdaDelta run keeps its training history (``histories.json`` in the stage folder, drawn in
    ``training_4x4.png`` and ``training_8x8.png``); its rows are *inconclusive* unless it converged
    (:func:`converged`: at least 10^6 steps and a flat loss), since the paper trained "until the loss
    converges". Ours is seed 0 of the training-seed models of the other stages."""
    from ..plots import training_curves
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
    histories: dict[str, dict] = {"4x4": {}, "8x8": {}}
    protocols = (("AdaDelta 1e-3, zero padding (the paper's)", "adadelta", p["train"], p["train"]),
                 ("AdaDelta 1.0 (Zeiler's unit rate), zero padding", "adadelta_unit", p["unit_rate"], p["unit_rate"]),
                 ("Adam 1e-3, periodic padding (ours)", None, p["ours_4x4"], p["ours_8x8"]))
    for protocol, claim, train4, train8 in protocols:
        decided = {}
        if claim:  # AdaDelta: the runs keep their histories
            (model4, record4), (model8, record8) = (recorded_model(ctx, spec4, "class", first_seed(train4)),
                                                    recorded_model(ctx, spec8, "class", first_seed(train8)))
            for lattice, record in (("4x4", record4), ("8x8", record8)):
                run = json.loads(record.read_text())
                histories[lattice][protocol] = run
                decided[lattice] = converged(run["history"].get("loss", []), run["steps"])
        else:
            model4, model8 = trained_model(ctx, spec4, "class", train4), trained_model(ctx, spec8, "class", train8)
        accuracy4 = 100 * float(np.mean(predict_enumerated(model4) == truth4))
        accuracy8 = 100 * float(np.mean(load(model8).predict(data8["spins"][test8]) == truth8))
        # Epochs trained in all: a training resumed after an interruption records its own run's count as
        # "epochs_run" (the 8x8 classifier: 11 of 47), the last epoch reached as "last_epoch".
        epochs4, epochs8 = (read_metadata(m)["training"]["last_epoch"] for m in (model4, model8))

        def state(lattice):
            if lattice not in decided:
                return "", None
            done, text = decided[lattice]
            return f"; {text}", None if done else "inconclusive"

        (text4, verdict4), (text8, verdict8) = state("4x4"), state("8x8")
        rows += [
            Row(f"4x4 classifier, targeted set 1, {protocol}: accuracy on all 65,536 ({epochs4} epochs{text4})",
                accuracy4, unit="%", paper="ising4.targeted_best_accuracy", compare="difference",
                key=claim and f"ising4.{claim}_accuracy", size=15 * spec4["per_class"], verdict=verdict4,
                figure="training_4x4.png" if claim else None),
            Row(f"8x8 classifier, {protocol}: test accuracy ({int(test8.sum()):,} test, {int((~test8).sum()):,} "
                f"training; {epochs8} epochs{text8})", accuracy8, unit="%", paper="ising8.accuracy",
                compare="difference", key=claim and f"ising8.{claim}_accuracy", size=int((~test8).sum()),
                verdict=verdict8, figure="training_8x8.png" if claim else None),
        ]
    write_text(ctx.figure("histories.json"), json.dumps(histories, indent=1) + "\n")
    for lattice, runs in histories.items():
        training_curves({label: run["history"] for label, run in runs.items()}, ctx.figure(f"training_{lattice}.png"),
                        title=f"{lattice} classifier, AdaDelta protocols (training seed 0): "
                              + ", ".join(f"{run['steps']:,} steps" for run in runs.values()))
    return rows


def learning_curve_4x4(ctx: Context) -> list[Row]:
    """Accuracy on all 65,536 4x4 configurations against the size of the targeted training set (Fig. 4),
    over the first ``sets`` targeted data sets (the paper's Fig. 4 shows three), each drawn afresh at
    every size: mean and standard deviation over sets x training seeds at each size."""
    from ..surrogate.evaluate import learning_curve_plot

    p = ctx.params
    truth = energy_to_class(enumerate_all(Ising(4)).energy, 4)
    sets = p["sets"]
    curve, per_size, ended = [], [], []
    for per_class in p["per_class"]:
        specs = sampling_specs({**p["data"], "targeted_sets": sets, "per_class": per_class})
        models = [model for i in range(sets)
                  for model in trained_models(ctx, specs[f"targeted-{i + 1}"], "class", p["train"])]
        accuracies = [float(np.mean(predict_enumerated(model) == truth)) for model in models]
        per_size.append(accuracies)
        ended.append(stopping_text(models))
        curve.append(curve_point(15 * per_class, accuracies))
    fig = "learning_curve.png"
    seeds = len(seed_trainings(p["train"]))
    over = f"{sets} targeted set{'s' if sets != 1 else ''} x {seeds} training seed{'s' if seeds != 1 else ''}"
    learning_curve_plot(curve, ctx.figure(fig), "accuracy",
                        title=f"4x4 Ising, targeted sets, all 65,536 configurations\n(mean +- std over {over})")
    return [Row(f"4x4 classifier, {point['n_train']:,} targeted examples: accuracy on all 65,536 (mean +- std over "
                f"{over}; seeds vary initialisation, validation split, batch order; {end})", 100 * point["accuracy"],
                unit="%", paper="ising4.learning_curve", figure=fig,
                spread=100 * point["accuracy_std"] if len(accuracies) > 1 else None, seeds=len(accuracies))
            for point, accuracies, end in zip(curve, per_size, ended)]


def curve_point(n_train: int, values) -> dict:
    """A point of :func:`~deepspin.surrogate.evaluate.learning_curve_plot`: mean accuracy over the seeds
    and its standard deviation (ddof=1; 0 for one seed) as the error bar."""
    values = np.asarray(values, dtype=np.float64)
    return {"n_train": int(n_train), "accuracy": float(values.mean()),
            "accuracy_std": float(values.std(ddof=1)) if len(values) > 1 else 0.0}


def learning_curve_8x8(ctx: Context) -> list[Row]:
    """8x8 test accuracy on the hash-split test set against the number of training configurations,
    each a random subset of the train split, the last all of it (Fig. 6); mean and standard deviation
    over the training seeds at each size, all seeds of a size training on the same subset."""
    from ..surrogate import load
    from ..surrogate.evaluate import learning_curve_plot
    from ..surrogate.targets import labels

    p = ctx.params
    spec = ising_8x8_spec(p)
    data = dataset(ctx, **spec)
    test = data["test"]
    truth = labels(data, "class")[test]
    curve, per_size, per_size_models = [], [], []
    for n_train in [*p["n_train"], None]:
        models = trained_models(ctx, spec, "class", training(p, "class"), n_train=n_train)
        accuracies = [float(np.mean(load(model).predict(data["spins"][test]) == truth)) for model in models]
        per_size.append(accuracies)
        per_size_models.append(models)
        curve.append(curve_point(int((~test).sum()) if n_train is None else n_train, accuracies))
    fig = "learning_curve.png"
    learning_curve_plot(curve, ctx.figure(fig), "accuracy",
                        title=f"8x8 Ising classifier, {int(test.sum()):,} hash-split test configurations\n"
                              f"({short_seeds_text(len(per_size[0]))})")
    full = int((~test).sum())
    return [seeded_row(f"8x8 classifier, {point['n_train']:,} training configurations"
                       f"{'' if point['n_train'] == full else ' (one random subset of the train split)'}: "
                       f"test accuracy",
                       100 * np.asarray(accuracies), models, unit="%", paper="ising8.learning_curve", figure=fig)
            for point, accuracies, models in zip(curve, per_size, per_size_models)]


def regression_4x4(ctx: Context) -> list[Row]:
    """Energy and magnetization regression on the first targeted 4x4 set, scored on all 65,536
    configurations (Sec. IV.B.2; the magnetization regressor of seed 0 is the learned operator of
    Fig. 8); the figures show seed 0."""
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = sampling_specs(p["data"])["targeted-1"]
    every = enumerate_all(Ising(4))
    rows = []
    for target, paper in (("energy", None), ("magnetization", "ising4.magnetization_median")):
        truth = every.energy if target == "energy" else every.spins.mean(axis=(1, 2))
        fig = f"parity_{target}.png"
        units = "J" if target == "energy" else "per site"
        stats = []
        models = trained_models(ctx, spec, target, p["train"])
        for seed, model in enumerate(models):
            predicted = predict_enumerated(model)
            stats.append(metrics(target, truth, predicted))
            if seed == 0:
                parity_plot(truth, predicted, ctx.figure(fig), units=units,
                            title=f"4x4 {target} regression (targeted set, training seed 0), all 65,536 "
                                  f"configurations\n{metrics_text(stats[0], units)}")
        rows.append(seeded_row(f"4x4 {target} regression (targeted set): median |error| on all 65,536",
                               [s["median_abs_error"] for s in stats], models, unit=units, paper=paper,
                               compare=paper and "ratio", figure=fig, key=paper, size=paper and 15 * spec["per_class"]))
        rows.append(seeded_row(f"4x4 {target} regression (targeted set): largest |error|",
                               [s["max_abs_error"] for s in stats], unit=units, figure=fig))
    return rows
