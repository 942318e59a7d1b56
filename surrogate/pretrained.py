"""The small pretrained surrogates of ``models/`` used by ``bench/speedup.py`` (paper Fig. 11).

``train_speedup_model`` makes an 8x8 energy regressor for a pair-kernel model (k = 0.5, rcut =
64, J = 1): uniform random +1/-1 configurations (SPEC section 5) labelled with the exact energy
(kernel method), a seeded split by position into train and test (the configurations are
distinct with overwhelming probability), the paper's CNN with periodic padding, Adam 1e-3,
batch 800 and early stopping on 10% of the training data. It writes the ``.keras`` file and a
JSON card beside it (command, data sizes, epochs, test errors).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import keras
import numpy as np

import deepspin
from deepspin.io import write_text

from . import model_io
from .evaluate import metrics
from .operator import EnergySurrogate
from .train import TrainConfig, fit, training_metadata

SPEEDUP_HAMILTONIANS = ("screened-coulomb", "sinusoidal-coulomb")


def framework_versions() -> dict:
    """Keras, its backend and the backend library's version (for benchmark records)."""
    backend = keras.backend.backend()
    versions = {"keras": keras.__version__, "backend": backend}
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module:
        versions[module] = __import__(module).__version__
    return versions


def train_speedup_model(hamiltonian: str = "screened-coulomb", path=None, n_train: int = 100_000,
                        n_test: int = 20_000, epochs: int = 40, patience: int = 5, seed: int = 0,
                        command: str | None = None, verbose: int | str = 2) -> dict:
    """Train the 8x8 energy regressor of ``hamiltonian``, save it to ``path`` with its card; return the card."""
    if hamiltonian not in SPEEDUP_HAMILTONIANS:
        raise ValueError(f"hamiltonian must be one of {SPEEDUP_HAMILTONIANS}, got {hamiltonian!r}")
    path = Path(path or Path("models") / f"{hamiltonian.replace('-', '_')}_L8.keras")
    H = deepspin.hamiltonian(hamiltonian, 8, k=0.5)
    rng = np.random.default_rng(seed)
    spins = rng.choice(np.array([-1, 1], np.int8), size=(n_train + n_test, 8, 8))
    energies = H.energy(spins)
    config = TrainConfig(target="energy", epochs=epochs, patience=patience, seed=seed, strategy="none")
    start = time.perf_counter()
    model, history = fit(spins[:n_train], energies[:n_train], config, verbose=verbose)
    seconds = time.perf_counter() - start
    meta = {"hamiltonian": hamiltonian, "L": 8, "params": H.params}
    metadata = training_metadata(config, meta, n_train, history, source=f"uniform random, seed {seed}")
    result = metrics("energy", energies[n_train:], EnergySurrogate(model, metadata).energy(spins[n_train:]))
    model_io.save(model, path, metadata)
    card = {
        "model": path.name,
        "command": command,
        "hamiltonian": {"name": hamiltonian, "L": 8, **H.params},
        "data": {"sampler": "uniform", "seed": seed, "n_train": n_train, "n_test": n_test,
                 "validation_fraction_of_train": config.validation_fraction},
        "training": {"optimizer": config.optimizer, "learning_rate": config.learning_rate, "batch": config.batch_size,
                     "padding": config.padding, "epochs_run": len(history.epoch), "seconds": round(seconds, 1),
                     "cores": os.cpu_count(), **framework_versions()},
        "test": {k: result[k] for k in ("n", "median_abs_error", "mae", "rmse", "max_abs_error")},
        "energy_std_of_test_set": float(np.std(energies[n_train:])),
        "size_bytes": path.stat().st_size,
    }
    write_text(path.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    return card
