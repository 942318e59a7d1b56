"""``deepspin train | evaluate | learning-curve | export | baselines``: neural-network surrogates.

Keras, TensorFlow and scikit-learn are imported inside the handlers, so ``deepspin --help`` and
the other commands stay fast and work without them.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

from deepspin.io import claim_outputs

from deepspin.surrogate.distribute import STRATEGIES
from deepspin.surrogate.targets import TARGETS


#: Learning rate of the command line when neither --learning-rate nor --preset sets it, by --arch
#: (Adam; the extensive model's rate is the one docs/surrogate.md trains it with).
DEFAULT_LEARNING_RATE = {"paper": 1e-3, "extensive": 1e-2}


def keras_verbosity(quiet: bool) -> int:
    """Keras' ``verbose``: 0 with --quiet, a progress bar (1) on a terminal, else one line per epoch (2),
    so a redirected log holds no progress-bar control codes."""
    return 0 if quiet else 1 if sys.stdout.isatty() else 2


def _load_split(path, split: str):
    """The ``split`` of a dataset file; an empty one is an error (training or metrics on nothing)."""
    from deepspin import datasets

    data = datasets.load(path, split=split)
    if len(data["spins"]) == 0:
        total = data["meta"].get("size", {}).get("total", "?")
        raise ValueError(f"the {split} split of {path} is empty ({total} configurations in all, test_fraction "
                         f"{data['meta'].get('test_fraction')}); regenerate it with more configurations or another "
                         "--test-fraction" + ("" if split == "all" else ", or pick another --split where offered"))
    return data


def add_training_arguments(p: argparse.ArgumentParser) -> None:
    """Options of a training run; unset ones come from --preset, then from TrainConfig's defaults."""
    p.add_argument("--target", required=True, choices=TARGETS, help="what the network learns")
    p.add_argument("--arch", choices=("paper", "extensive"),
                   help="paper: the paper's CNN for the data's L (default); extensive: per-site energies "
                   "summed, periodic, any L at inference (energy only)")
    p.add_argument("--preset", choices=("paper",), help="paper: Adadelta, lr 1e-3, batch 800, zero padding")
    p.add_argument("--padding", choices=("periodic", "zero"), help="convolution padding (default periodic)")
    p.add_argument("--optimizer", choices=("adam", "adadelta", "sgd"), help="default adam")
    p.add_argument("--learning-rate", type=float,
                   help=f"default {DEFAULT_LEARNING_RATE['paper']:g}; {DEFAULT_LEARNING_RATE['extensive']:g} for --arch "
                   "extensive, whose summed per-site output underfits at 1e-3")
    p.add_argument("--batch-size", type=int, help="global batch (default 800, the paper's)")
    p.add_argument("--epochs", type=int, help="epoch limit (default 100)")
    p.add_argument("--patience", type=int, help="stop after this many epochs without a lower validation loss (default 10)")
    p.add_argument("--validation-fraction", type=float, help="share of the train split held out for early stopping (default 0.1)")
    p.add_argument("--seed", type=int, help="seed of initialisation, validation split and batch order (default 0)")
    p.add_argument("--strategy", choices=STRATEGIES, help="data parallelism (default auto)")


def config_from_args(args):
    from deepspin.surrogate.train import PRESETS, TrainConfig

    values = {"target": args.target, **(PRESETS[args.preset] if args.preset else {})}
    values.setdefault("learning_rate", DEFAULT_LEARNING_RATE[args.arch or "paper"])
    for field in dataclasses.fields(TrainConfig):
        value = getattr(args, field.name, None)
        if value is not None:
            values[field.name] = value
    return TrainConfig(**values)


def run_train(args) -> int:
    from deepspin.surrogate import model_io
    from deepspin.surrogate.targets import labels
    from deepspin.surrogate.distribute import tf_config_workers
    from deepspin.surrogate.train import discard_backup, fit, training_metadata

    output = Path(args.output)
    if output.suffix != ".keras":
        raise ValueError(f"-o must name a .keras file, got {output}")
    chief = tf_config_workers()[1] == 0  # only the chief writes (and locks) the outputs
    claim_outputs(inputs={"dataset": args.dataset, "init": args.init}, lock=chief, output=output,
                  workdir=Path(args.workdir) / "last.keras" if args.workdir else None)
    config = config_from_args(args)
    data = _load_split(args.dataset, "train")
    y = labels(data, config.target)
    workdir = Path(args.workdir) if args.workdir else output.with_name(output.name + ".work")
    # The chief keeps its backup until the model is written: a kill in between loses nothing.
    model, history = fit(data["spins"], y, config, workdir=workdir, resume=args.resume, init=args.init,
                         verbose=keras_verbosity(args.quiet), keep_backup=chief)
    meta = training_metadata(config, data["meta"], len(y), history, source=str(args.dataset))
    if chief:
        model_io.save(model, output, meta)
        discard_backup(workdir)
        print(f"wrote {output} ({meta['training']['epochs_run']} epochs this run; checkpoints and "
              f"TensorBoard logs in {workdir})", file=sys.stderr)
    return 0


def _truth_and_predictions(op, data):
    """Labels and predictions; an extensive model (``op.L`` None) takes any L."""
    from deepspin.surrogate.targets import labels, model_of

    data_model = model_of(data["meta"])
    if data_model["hamiltonian"] != op.hamiltonian:
        raise ValueError(f"the model was trained on {op.hamiltonian}, the dataset holds {data_model['hamiltonian']}")
    if op.L is not None and data_model["L"] != op.L:
        raise ValueError(f"the model (paper architecture) takes only its training size L={op.L}; the dataset "
                         f"holds L={data_model['L']}. Evaluate on L={op.L} data, retrain for L={data_model['L']}, "
                         "or train an --arch extensive model, which takes any L")
    return labels(data, op.target), op.predict(data["spins"])


def model_hamiltonian(op, model_path, trust_model_code: bool):
    """The Hamiltonian a model's metadata names, for exact labels.

    A name ``package.module:function`` would import and call code chosen by whoever wrote the
    model file, so (like Keras' ``safe_mode``) that needs ``trust_model_code``.
    """
    import deepspin

    name, params = op.hamiltonian, op.metadata.get("params", {})
    if not isinstance(name, str) or not isinstance(params, dict):
        raise ValueError(f"{model_path}: its metadata must name the Hamiltonian as a string with a params object; "
                         f"got {name!r} and {params!r}")
    if ":" in name and not trust_model_code:
        raise ValueError(f"{model_path} names the energy function {name!r}: labelling with it would import and run "
                         "that module. Pass --trust-model-code only if you trust where the model file came from")
    return deepspin.hamiltonian(name, op.L, **params)


def _all_configs(op, model_path, trust_model_code: bool = False):
    """Truth and predictions for every configuration of the model's lattice (N <= 25)."""
    from tqdm import tqdm

    import deepspin
    from deepspin.enumeration import chunks, count

    if not op.hamiltonian:
        raise ValueError("--all-configs needs the model's metadata to name its Hamiltonian")
    if op.L is None:
        raise ValueError("--all-configs enumerates the model's lattice, but an extensive model takes any L: "
                         "evaluate it on a DATASET of the size you want")
    if op.hamiltonian == "potts":
        raise ValueError("--all-configs enumerates +1/-1 spin configurations; the planar Potts model has "
                         "continuous angles: evaluate it on a DATASET instead")
    total = count(op.L)
    H = model_hamiltonian(op, model_path, trust_model_code)
    truth, predicted = [], []
    for configs in tqdm(chunks(op.L), total=-(-total // (1 << 16)), desc="all configurations", unit="chunk"):
        if op.target == "class":
            truth.append(deepspin.ising_class(configs))
        elif op.target == "energy":
            truth.append(H.energy(configs))
        else:
            truth.append(deepspin.magnetization(configs))
        predicted.append(op.predict(configs))
    return np.concatenate(truth), np.concatenate(predicted)


def report_metrics(op_target: str, L: int, truth, predicted, args, title: str, units: str | None = None) -> dict:
    """Print the metrics, write --json and the plots; return the metrics."""
    from deepspin.io import write_text
    from deepspin.observables import class_to_energy
    from deepspin.surrogate import evaluate

    bad = ~np.isfinite(np.asarray(predicted, dtype=np.float64))
    if bad.any():
        raise ValueError(f"{title}: the model predicts a non-finite value for {int(bad.sum()):,} of {bad.size:,} "
                         f"configurations (the first at row {int(np.flatnonzero(bad)[0])}); its weights are damaged "
                         "or it diverged in training")
    result = evaluate.metrics(op_target, truth, predicted, L, units=units)
    lines = [f"{title}: n = {result['n']:,}"]
    if op_target == "class":
        lines.append(f"  accuracy {result['accuracy']:.6f}, off by one class {result['off_by_one']:.6f}, "
                     f"worst class error {result['max_class_error']}")
    lines.append(f"  median |error| {result['median_abs_error']:.4g}, MAE {result['mae']:.4g}, "
                 f"RMSE {result['rmse']:.4g} ({result['units']})")
    print("\n".join(lines))
    if args.json:
        write_text(args.json, json.dumps(result, indent=2) + "\n")
    if args.plots:
        prefix = str(args.plots)
        values = (class_to_energy(truth, L), class_to_energy(predicted, L)) if op_target == "class" else (truth, predicted)
        evaluate.parity_plot(*values, prefix + "_parity.png", title, units=result["units"])
        if op_target == "class":
            evaluate.class_error_map(truth, predicted, L, prefix + "_classes.png", title)
        else:
            evaluate.error_map(*values, prefix + "_errors.png", title, units=result["units"])
        print(f"plots: {prefix}_parity.png, {prefix}_{'classes' if op_target == 'class' else 'errors'}.png")
    return result


def run_evaluate(args) -> int:
    from deepspin.surrogate import load

    plots = [f"{args.plots}_parity.png", f"{args.plots}_classes.png", f"{args.plots}_errors.png"] if args.plots else []
    claim_outputs(inputs={"model": args.model, "dataset": args.dataset}, json=args.json,
                  **{f"plots ({p})": p for p in plots})
    op = load(args.model, batch_size=args.batch_size)
    if args.all_configs:
        if args.dataset:
            raise ValueError("give either a DATASET or --all-configs, not both")
        truth, predicted = _all_configs(op, args.model, args.trust_model_code)
        title = f"{Path(args.model).name}: all {len(truth):,} configurations"
    else:
        if not args.dataset:
            raise ValueError("give a DATASET to evaluate on, or --all-configs")
        data = _load_split(args.dataset, args.split)
        truth, predicted = _truth_and_predictions(op, data)
        title = f"{Path(args.model).name} on {Path(args.dataset).name} ({args.split} split)"
        if op.L is None:
            return _report_per_site(op, data, truth, predicted, args, title)
    report_metrics(op.target, op.L, truth, predicted, args, title)
    return 0


def _report_per_site(op, data, truth, predicted, args, title: str) -> int:
    """Errors of an extensive model per site (``|E_pred - E| / N``), at the dataset's L."""
    from deepspin.surrogate.targets import model_of

    L = model_of(data["meta"])["L"]
    title = (f"{title}: L={L}, model trained on L={','.join(map(str, op.train_sizes))} "
             f"(receptive radius {op.receptive_radius}); errors per site")
    result = report_metrics("energy", L, truth / (L * L), predicted / (L * L), args, title, units="J per site")
    print(f"  max |error| per site {result['max_abs_error']:.4g} J")
    return 0


def run_learning_curve(args) -> int:
    from deepspin.io import write_text
    from deepspin.surrogate import evaluate
    from deepspin.surrogate.operator import operator
    from deepspin.surrogate.targets import labels, model_of
    from deepspin.surrogate.train import fit, training_metadata

    config = config_from_args(args)
    claim_outputs(inputs={"dataset": args.dataset}, output=args.output,
                  plot=args.plot or str(Path(args.output).with_suffix(".png")))
    train, test = _load_split(args.dataset, "train"), _load_split(args.dataset, "test")
    y_train, y_test = labels(train, config.target), labels(test, config.target)
    L = model_of(train["meta"])["L"]
    sizes = sorted(set(args.sizes))
    if sizes[-1] > len(y_train):
        raise ValueError(f"--sizes asks for {sizes[-1]:,} training configurations; the train split has {len(y_train):,}")
    order = np.random.default_rng(config.seed).permutation(len(y_train))
    rows = []
    for n in sizes:
        print(f"training on {n:,} configurations", file=sys.stderr)
        keep = np.sort(order[:n])
        model, history = fit(train["spins"][keep], y_train[keep], config, verbose=keras_verbosity(args.quiet))
        op = operator(model, training_metadata(config, train["meta"], n, history))
        result = evaluate.metrics(config.target, y_test, op.predict(test["spins"]), L)
        result.pop("per_class", None)
        rows.append({"n_train": n, "epochs": len(history.epoch), **result})
        print(f"  n = {n:,}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.items() if isinstance(v, float)))
    write_text(args.output, json.dumps({"target": config.target, "config": dataclasses.asdict(config),
                                        "dataset": str(args.dataset), "rows": rows}, indent=2) + "\n")
    key = "accuracy" if config.target == "class" else "median_abs_error"
    plot = args.plot or str(Path(args.output).with_suffix(".png"))
    evaluate.learning_curve_plot(rows, plot, key, f"{Path(args.dataset).name}: {config.target}")
    print(f"wrote {args.output} and {plot}")
    return 0


def run_export(args) -> int:
    from deepspin.surrogate.export import export

    claim_outputs(inputs={"model": args.model}, output=args.output)
    path = export(args.model, args.output, args.format)
    print(f"wrote {path} ({args.format})")
    return 0


def run_baselines(args) -> int:
    from deepspin.surrogate import baselines
    from deepspin.surrogate.targets import check_target, labels, model_of

    plots = [f"{args.plots}_{name}_{kind}.png" for name in baselines.BASELINES
             for kind in ("parity", "classes", "errors")] if args.plots else []
    claim_outputs(inputs={"dataset": args.dataset}, json=args.json, **{f"plots ({p})": p for p in plots})
    train, test = _load_split(args.dataset, "train"), _load_split(args.dataset, "test")
    check_target(args.target, train["meta"])
    L = model_of(train["meta"])["L"]
    value = "magnetization" if args.target == "magnetization" else "energy"
    fitted = baselines.fit_baselines(baselines.featurize(train["spins"]), train[value],
                                     baselines.featurize(test["spins"]), krr_max=args.krr_max, seed=args.seed,
                                     n_jobs=args.jobs, log=lambda text: print(text, file=sys.stderr))
    truth = labels(test, args.target)
    results = {}
    for name, fit in fitted.items():
        predicted = baselines.to_classes(fit["predicted"], L) if args.target == "class" else fit["predicted"]
        sub = argparse.Namespace(json=None, plots=f"{args.plots}_{name}" if args.plots else None)
        results[name] = {"n_train": int(fit["n_train"]), "about": fit["about"],
                         **report_metrics(args.target, L, truth, predicted, sub, f"{name} on {Path(args.dataset).name}")}
    if args.json:
        from deepspin.io import write_text

        write_text(args.json, json.dumps(results, indent=2) + "\n")
    return 0


def register(sub) -> None:
    p = sub.add_parser("train", help="train a surrogate (the paper's CNN, or the size-extensive model) on a "
                       "dataset's train split",
                       description="Train a surrogate on DATASET's train split (the test split is never "
                       "read). Example: deepspin train ising4.h5 --target class -o ising4.keras")
    p.add_argument("dataset", help="dataset file (deepspin.datasets format)")
    add_training_arguments(p)
    p.add_argument("-o", "--output", required=True, help="trained model (.keras)")
    p.add_argument("--workdir", help="checkpoints, resume backup and TensorBoard logs (default OUTPUT.work/)")
    p.add_argument("--resume", action="store_true", help="continue an interrupted run from --workdir")
    p.add_argument("--init", help="fine-tune this .keras model instead of starting from random weights")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run_train)

    p = sub.add_parser("evaluate", help="accuracy and errors of a trained surrogate, with plots",
                       description="Evaluate MODEL on DATASET's test split (or every configuration with "
                       "--all-configs, N <= 25). Example: deepspin evaluate ising4.keras --all-configs --json m.json")
    p.add_argument("model", help="trained model (.keras)")
    p.add_argument("dataset", nargs="?", help="dataset file")
    p.add_argument("--split", default="test", choices=("test", "train", "all"), help="default test")
    p.add_argument("--all-configs", action="store_true", help="evaluate on every configuration (N = L*L <= 25)")
    p.add_argument("--json", help="write the metrics to this JSON file")
    p.add_argument("--plots", help="write PREFIX_parity.png and PREFIX_classes.png / PREFIX_errors.png")
    p.add_argument("--batch-size", type=int, default=8192, help="inference batch (default 8192)")
    p.add_argument("--trust-model-code", action="store_true",
                   help="allow --all-configs to import the energy function (package.module:function) that the "
                   "model file names; off by default, as a model file from elsewhere must not run code")
    p.set_defaults(handler=run_evaluate)

    p = sub.add_parser("learning-curve", help="test accuracy against training-set size (paper Figs. 4, 6)")
    p.add_argument("dataset", help="dataset file")
    add_training_arguments(p)
    p.add_argument("--sizes", type=lambda s: [int(v) for v in s.split(",")], required=True,
                   help="comma-separated training-set sizes, e.g. 1000,3000,10000,27000")
    p.add_argument("-o", "--output", required=True, help="results (.json)")
    p.add_argument("--plot", help="figure (default: OUTPUT with .png)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=run_learning_curve)

    p = sub.add_parser("export", help="export a model as a TensorFlow SavedModel or ONNX",
                       description="Write MODEL for serving without deepspin: a TensorFlow SavedModel folder (endpoint "
                       "'serve') or one ONNX file, taking float32 (B, L, L) configurations and returning what the Keras "
                       "model returns. OUTPUT must not exist. Example: deepspin export ising4.keras --format onnx "
                       "-o ising4.onnx")
    p.add_argument("model", help="trained model (.keras)")
    p.add_argument("--format", required=True, choices=("saved_model", "onnx"))
    p.add_argument("-o", "--output", required=True, help="SavedModel folder or .onnx file")
    p.set_defaults(handler=run_export)

    p = sub.add_parser("baselines", help="kernel ridge regression, a random forest and the mean on the same split",
                       description="Fit the paper's non-neural baselines on DATASET's train split and report their "
                       "errors on its test split, as `evaluate` does for a network: kernel ridge regression with "
                       "scikit-learn's default linear kernel and with an RBF kernel (on at most --krr-max "
                       "configurations: O(n^2) memory), a random forest whose hyperparameters are chosen on a "
                       "validation split of the training data, and the training mean. Example: "
                       "deepspin baselines ising4.h5 --target energy --json baselines.json")
    p.add_argument("dataset", help="dataset file")
    p.add_argument("--target", default="energy", choices=TARGETS, help="default energy")
    p.add_argument("--krr-max", type=int, default=10_000, help="cap on KRR's training set (O(n^2) memory)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--jobs", type=int, default=None, help="random-forest worker processes (default 1)")
    p.add_argument("--json", help="write every baseline's metrics to this JSON file")
    p.add_argument("--plots", help="write PREFIX_<model>_parity.png and the error maps")
    p.set_defaults(handler=run_baselines)
