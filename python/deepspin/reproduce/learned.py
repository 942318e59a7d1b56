"""Stages that train the paper's network (:mod:`deepspin.surrogate`, imported only when they run).

Trained models are cached artefacts keyed by their data and training parameters, so stages that
use the same model (its accuracy, then Metropolis with it) train it once.
"""
from __future__ import annotations

import numpy as np

from .. import enumeration, plots
from ..commands.mc import exact_reference
from ..hamiltonians import Ising
from ..observables import class_to_energy, energy_to_class
from ..sampling import enumerate_all
from .figures import peak_temperature
from .stage import Context, Row
from .stages import dataset, mc_records, sampling_specs


def trained_model(ctx: Context, data_spec: dict, target: str, train: dict):
    """Path of a cached ``.keras`` surrogate of ``target``, trained on the train split of ``dataset(**data_spec)``."""
    def build(path):
        from ..surrogate import TrainConfig, fit
        from ..surrogate.model_io import save
        from ..surrogate.targets import labels
        from ..surrogate.train import training_metadata

        data = dataset(ctx, **data_spec)
        keep = ~data["test"]
        train_data = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
        config = TrainConfig(target=target, **train)
        model, history = fit(train_data["spins"], labels(train_data, target), config, verbose=2 if ctx.progress else 0)
        save(model, path, training_metadata(config, data["meta"], int(keep.sum()), history))

    return ctx.artefact("model", {"data": data_spec, "target": target, "train": train}, build, ".keras")


class TabulatedOperator:
    """A learned energy operator of a lattice small enough to enumerate, evaluated once on every
    configuration and then looked up (:func:`deepspin.enumeration.index`): the same energies as the
    network, without a network call per Metropolis step."""

    def __init__(self, energies: np.ndarray, L: int):
        self.table, self.L = np.asarray(energies, dtype=np.float64), L

    def energy(self, configs):
        return self.table[enumeration.index(configs)]


def _classifier_on_all_4x4(path) -> np.ndarray:
    """Classes the classifier at ``path`` predicts for all 65,536 4x4 configurations, in enumeration order."""
    from ..surrogate import load

    return load(path).predict(enumeration.configurations(4))


def classify_4x4(ctx: Context) -> list[Row]:
    """Classifiers trained on the uniform and on each targeted set, scored on all 65,536 configurations (Figs. 2-3)."""
    p = ctx.params
    extreme = p["data"]["extreme"]
    energies = enumerate_all(Ising(4)).energy
    truth = energy_to_class(energies, 4)
    outer = np.abs(energies) > extreme
    rows, scores = [], {}
    for name, spec in sampling_specs(p["data"]).items():
        predicted = _classifier_on_all_4x4(trained_model(ctx, spec, "class", p["train"]))
        scores[name] = {"all": 100 * np.mean(predicted == truth), "outer": 100 * np.mean(predicted[outer] == truth[outer]),
                        "max_error": int(np.abs(predicted - truth).max())}
        if name in ("uniform", "targeted-1"):
            from ..surrogate.evaluate import class_error_map

            class_error_map(truth, predicted, 4, ctx.figure(f"classes_{name}.png"),
                            title=f"4x4 classifier trained on the {name} set, all 65,536 configurations")
    targeted = [s for name, s in scores.items() if name != "uniform"]
    n = len(targeted)
    rows += [
        Row("4x4 classifier, uniform set: accuracy on all 65,536", scores["uniform"]["all"], unit="%",
            paper="ising4.uniform_accuracy", compare="difference", figure="classes_uniform.png"),
        Row(f"4x4 classifier, uniform set: accuracy for |E| > {extreme} J", scores["uniform"]["outer"], unit="%",
            paper="ising4.uniform_extremes", figure="classes_uniform.png"),
        Row(f"4x4 classifier, targeted sets ({n}): mean accuracy on all 65,536",
            float(np.mean([s["all"] for s in targeted])), unit="%", paper="ising4.targeted_accuracy",
            figure="classes_targeted-1.png"),
        Row(f"4x4 classifier, targeted sets ({n}): best accuracy", max(s["all"] for s in targeted), unit="%",
            paper="ising4.targeted_best_accuracy", compare="difference", figure="classes_targeted-1.png"),
        Row(f"4x4 classifier, targeted sets ({n}): lowest accuracy for |E| > {extreme} J",
            min(s["outer"] for s in targeted), unit="%", paper="ising4.uniform_extremes", figure="classes_targeted-1.png"),
        Row(f"4x4 classifier, targeted sets ({n}): largest class error", max(s["max_error"] for s in targeted),
            unit="levels", paper="ising4.max_class_error", compare="difference", figure="classes_targeted-1.png"),
    ]
    return rows


def phase_4x4_learned(ctx: Context) -> list[Row]:
    """Metropolis with the classifier of the first targeted set as energy operator (Figs. 7-8)."""
    p = ctx.params
    spec = sampling_specs(p["data"])["targeted-1"]
    model = trained_model(ctx, spec, "class", p["train"])
    operator = TabulatedOperator(class_to_energy(_classifier_on_all_4x4(model), 4), 4)
    mc = p["mc"]
    records = mc_records(ctx, operator, mc, name=f"4x4 classifier {model.name}", backend="generic", start="ordered")
    H = Ising(4)
    reference = exact_reference(H)
    fig = "phase_diagram_learned.png"
    drawn = plots.phase_diagram(records, ctx.figure(fig), reference, label="Metropolis, learned energy (CNN)",
                                title=f"4x4 Ising, learned energy: {mc['chains']} chains x {mc['sweeps']} sweeps")
    T = [r["T"] for r in records]
    exact_fine = reference(np.linspace(min(T), max(T), 2001))
    t_exact = float(exact_fine["T"][np.argmax(exact_fine["C_per_site"])])
    t_learned = peak_temperature(T, [r["C_per_site"] for r in records])
    return [
        Row("4x4 Ising, learned energy: largest |<E>/N - exact|", float(np.max(np.abs(drawn["differences"]["E_per_site"]))),
            unit="J", paper="ising.phase_match", figure=fig),
        Row("4x4 Ising, learned energy: C/N peak temperature - exact peak", t_learned - t_exact, unit="J/k_B",
            paper="ising.phase_match", figure=fig),
        Row("4x4 Ising, learned energy: largest |<|m|> - exact|", float(np.max(np.abs(drawn["differences"]["absm"]))),
            paper="ising.phase_match", figure=fig),
    ]


_METRICS = {"median_abs_error": "median |error|", "mae": "mean |error|"}


def uniform_regression(ctx: Context) -> list[Row]:
    """Energy regression on uniformly drawn configurations, scored on the hash-split test set: screened
    Coulomb (Fig. 11a), sinusoidal screened Coulomb (Fig. 11b), planar Potts (Fig. 12). The paper key of
    each row is ``<stage>.error`` and ``<stage>.train_size``."""
    from ..surrogate import load
    from ..surrogate.evaluate import metrics, parity_plot

    p = ctx.params
    spec = {"hamiltonian_name": p["hamiltonian"], "L": p["L"], "sampler": "uniform", "seed": p["seed"], "n": p["n"],
            "test_fraction": p["test_fraction"]}
    model = trained_model(ctx, spec, "energy", p["train"])
    data = dataset(ctx, **spec)
    test = data["test"]
    predicted = load(model).energy(data["spins"][test])
    stats = metrics("energy", data["energy"][test], predicted)
    label = f"{p['hamiltonian']} {p['L']}x{p['L']} regression"
    fig = "parity.png"
    parity_plot(data["energy"][test], predicted, ctx.figure(fig), title=f"{label}: {int(test.sum()):,} test configurations")
    name = ctx.stage.name
    return [
        Row(f"{label}: {_METRICS[p['metric']]} on {int(test.sum()):,} test configurations", stats[p["metric"]],
            unit="J", paper=f"{name}.error", compare="ratio", figure=fig),
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
        predicted = load(trained_model(ctx, spec, target, p["train"])).predict(spins)
        truth = labels(data, target)[test]
        results[target] = metrics(target, truth, predicted, L=8)
        if target == "class":
            class_error_map(truth, predicted, 8, ctx.figure("classes.png"),
                            title=f"8x8 classifier: {n_test:,} test configurations ({n_train:,} training)")
        else:
            parity_plot(truth, predicted, ctx.figure(f"parity_{target}.png"), units="J" if target == "energy" else "per site",
                        title=f"8x8 {target} regression: {n_test:,} test configurations")
    where = f"{n_test:,} test, {n_train:,} training"
    return [
        Row(f"8x8 classifier: test accuracy ({where})", 100 * results["class"]["accuracy"], unit="%",
            paper="ising8.accuracy", compare="difference", figure="classes.png"),
        Row("8x8 classifier: largest class error", results["class"]["max_class_error"], unit="levels",
            paper="ising8.max_class_error", compare="difference", figure="classes.png"),
        Row(f"8x8 energy regression: median |error| ({where})", results["energy"]["median_abs_error"], unit="J",
            paper="ising8.regression_median", compare="ratio", figure="parity_energy.png"),
        Row(f"8x8 magnetization regression: median |error| ({where})", results["magnetization"]["median_abs_error"],
            unit="per site", paper="ising8.magnetization_median", compare="ratio", figure="parity_magnetization.png"),
    ]


def ising_8x8_spec(p: dict) -> dict:
    """The 8x8 targeted dataset of :func:`ising_8x8` and :func:`baselines_8x8`."""
    return {"hamiltonian_name": "ising", "L": 8, "sampler": "targeted", "seed": p["seed"], "per_class": p["per_class"],
            "test_fraction": p["test_fraction"]}


def baselines_8x8(ctx: Context) -> list[Row]:
    """Kernel ridge regression and a random forest against the CNN on the 8x8 energy regression (Sec. IV.B.7)."""
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
        predictions[name] = estimator.fit(x_train[keep], y_train[keep]).predict(x_test)
    for name, predicted in predictions.items():
        parity_plot(y_test, predicted, ctx.figure(f"parity_{name}.png"), title=f"8x8 Ising energy, {name}")
    stats = {name: metrics("energy", y_test, pred) for name, pred in predictions.items()}
    n_krr = min(len(x_train), p["krr_max"])
    return [
        Row(f"8x8 energy, kernel ridge regression ({n_krr:,} training): median |error|", stats["krr"]["median_abs_error"],
            unit="J", paper="ising8.krr_median", compare="ratio", figure="parity_krr.png"),
        Row(f"8x8 energy, random forest ({len(x_train):,} training): mean |error|", stats["random_forest"]["mae"],
            unit="J", paper="ising8.rf_mae", compare="ratio", figure="parity_random_forest.png"),
        Row(f"8x8 energy, CNN ({len(x_train):,} training): mean |error| on the same test set", stats["cnn"]["mae"],
            unit="J", figure="parity_cnn.png"),
    ]


def learning_curve_4x4(ctx: Context) -> list[Row]:
    """Accuracy on all 65,536 4x4 configurations against the size of the targeted training set (Fig. 4)."""
    from ..surrogate.evaluate import learning_curve_plot

    p = ctx.params
    truth = energy_to_class(enumerate_all(Ising(4)).energy, 4)
    curve = []
    for per_class in p["per_class"]:
        spec = {**sampling_specs({**p["data"], "targeted_sets": 1})["targeted-1"], "per_class": per_class}
        predicted = _classifier_on_all_4x4(trained_model(ctx, spec, "class", p["train"]))
        curve.append({"n_train": 15 * per_class, "accuracy": float(np.mean(predicted == truth))})
    fig = "learning_curve.png"
    learning_curve_plot(curve, ctx.figure(fig), "accuracy", title="4x4 Ising, targeted sets, all 65,536 configurations")
    return [Row(f"4x4 classifier, {point['n_train']:,} targeted examples: accuracy on all 65,536",
                100 * point["accuracy"], unit="%", paper="ising4.learning_curve", figure=fig) for point in curve]
