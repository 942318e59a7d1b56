"""Train the small pretrained surrogate shipped in models/: screened Coulomb, 8x8, energy regression.

Data: uniform random +1/-1 configurations (SPEC section 5, "uniform") labelled with the exact
energy of ``deepspin.ScreenedCoulomb(8)`` (k = 0.5, rcut = 64, J = 1; kernel method); a seeded
train/test split by position (no SHA3 split: the configurations are distinct with overwhelming
probability). Network: the paper's CNN with a regression head and periodic padding, Adam 1e-3,
batch 800, early stopping on a validation share of the training data. Writes
``models/screened_coulomb_L8.keras`` and its card ``models/screened_coulomb_L8.json`` (command,
sizes, epochs, test median |error|).

    PYTHONPATH=python python bench/train_screened_coulomb_L8.py [--train 100000 --test 20000 --epochs 40]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import deepspin  # noqa: E402
from deepspin.io import write_text  # noqa: E402
from deepspin.surrogate import model_io  # noqa: E402
from deepspin.surrogate.evaluate import metrics  # noqa: E402
from deepspin.surrogate.operator import SurrogateOperator  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit, training_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=100_000)
    parser.add_argument("--test", type=int, default=20_000)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", default=str(ROOT / "models" / "screened_coulomb_L8.keras"))
    args = parser.parse_args()
    H = deepspin.ScreenedCoulomb(8)
    rng = np.random.default_rng(args.seed)
    spins = rng.choice(np.array([-1, 1], np.int8), size=(args.train + args.test, 8, 8))
    energies = H.energy(spins)
    train, test = slice(0, args.train), slice(args.train, None)
    config = TrainConfig(target="energy", epochs=args.epochs, patience=args.patience, seed=args.seed, strategy="none")
    start = time.perf_counter()
    model, history = fit(spins[train], energies[train], config, verbose=2)
    seconds = time.perf_counter() - start
    meta = {"hamiltonian": "screened-coulomb", "L": 8, "params": H.params}
    metadata = training_metadata(config, meta, args.train, history, source="uniform random, seed %d" % args.seed)
    op = SurrogateOperator(model, metadata)
    result = metrics("energy", energies[test], op.energy(spins[test]))
    output = Path(args.output)
    model_io.save(model, output, metadata)
    card = {
        "model": output.name,
        "command": "PYTHONPATH=python python " + " ".join(shlex.quote(a) for a in [
            str(Path(__file__).relative_to(ROOT)), *sys.argv[1:]]),
        "hamiltonian": {"name": "screened-coulomb", "L": 8, **H.params},
        "data": {"sampler": "uniform", "seed": args.seed, "n_train": args.train, "n_test": args.test,
                 "validation_fraction_of_train": config.validation_fraction},
        "training": {"optimizer": config.optimizer, "learning_rate": config.learning_rate, "batch": config.batch_size,
                     "padding": config.padding, "epochs_run": len(history.epoch), "seconds": round(seconds, 1),
                     "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                     "keras": keras.__version__, "backend": keras.backend.backend()},
        "test": {k: result[k] for k in ("n", "median_abs_error", "mae", "rmse", "max_abs_error")},
        "energy_std_of_test_set": float(np.std(energies[test])),
        "size_bytes": output.stat().st_size,
    }
    write_text(output.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["test"], indent=2))


if __name__ == "__main__":
    main()
