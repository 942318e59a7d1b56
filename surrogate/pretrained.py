"""The small pretrained surrogates of ``models/`` used by ``bench/speedup.py`` (paper Fig. 11).

``train_speedup_model`` makes an 8x8 energy regressor for a pair-kernel model (k = 0.5, rcut =
64, J = 1): uniform random +1/-1 configurations (SPEC section 5) labelled with the exact energy
(kernel method), a seeded split by position into train and test (the configurations are
distinct with overwhelming probability), the paper's CNN with periodic padding, Adam 1e-3,
batch 800 and early stopping on 10% of the training data. It writes the ``.keras`` file and a
JSON card beside it (command, data sizes, epochs, test errors).

``train_extensive_model`` makes the extensive models (:mod:`.extensive`) of
:data:`EXTENSIVE_MODELS`: Ising trained on 8x8, screened Coulomb (k = 0.5) on 8x8 and 16x16,
from uniform, Metropolis and staggered Metropolis configurations
(:func:`deepspin.sampling.labelled.labelled_configs`).
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
from deepspin.sampling.labelled import labelled_configs

from . import model_io
from .evaluate import metrics
from .operator import EnergySurrogate
from .train import TrainConfig, fit, fit_sizes, training_metadata

SPEEDUP_HAMILTONIANS = ("screened-coulomb", "sinusoidal-coulomb")

#: The shipped extensive models (models/<name>_extensive.keras): training sizes, Metropolis
#: temperatures of the thermal share of the data, network layers (see :mod:`.extensive`), and
#: the data and epoch counts they were trained with.
EXTENSIVE_MODELS = {
    "ising": {"params": {}, "sizes": (8,), "temperatures": (1.5, 2.0, 2.27, 2.6, 3.5),
              "layers": {"convs": ((3, 16, 1),), "head": (16,)}, "n_uniform": 16_000, "chains": 800, "epochs": 40},
    "screened-coulomb": {"params": {"k": 0.5}, "sizes": (8, 16), "temperatures": (0.25, 0.5, 1.0, 2.0),
                         "layers": {"convs": ((11, 8, 1),), "head": (16,)}, "n_uniform": 10_000, "chains": 400,
                         "epochs": 30},
}


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


def train_extensive_model(hamiltonian: str = "ising", path=None, n_uniform: int | None = None,
                          chains: int | None = None, sweeps: int = 200, epochs: int | None = None,
                          patience: int = 10, batch_size: int = 128,
                          learning_rate: float = 1e-2, seed: int = 0, command: str | None = None,
                          verbose: int | str = 2) -> dict:
    """Train the shipped extensive model of ``hamiltonian`` (:data:`EXTENSIVE_MODELS`); return its card.

    Data per training size L (:func:`deepspin.sampling.labelled.labelled_configs`): ``n_uniform`` uniform configurations,
    the final states of ``chains`` Metropolis chains at each temperature and their staggered
    images, exact labels; ``None`` takes the shipped model's setting from :data:`EXTENSIVE_MODELS`. Adam, batch
    ``batch_size``, early stopping on 10% of each size. Writes ``path`` (default
    ``models/<hamiltonian>_extensive.keras``) and a JSON card beside it with the per-site errors
    on fresh configurations of the training sizes.
    """
    from .extensive import receptive_radius

    if hamiltonian not in EXTENSIVE_MODELS:
        raise ValueError(f"hamiltonian must be one of {tuple(EXTENSIVE_MODELS)}, got {hamiltonian!r}")
    spec = EXTENSIVE_MODELS[hamiltonian]
    n_uniform = spec["n_uniform"] if n_uniform is None else n_uniform
    chains = spec["chains"] if chains is None else chains
    epochs = spec["epochs"] if epochs is None else epochs
    path = Path(path or Path("models") / f"{hamiltonian.replace('-', '_')}_extensive.keras")
    start = time.perf_counter()
    sets = [labelled_configs(deepspin.hamiltonian(hamiltonian, L, **spec["params"]), n_uniform,
                             spec["temperatures"], chains, sweeps, seed) for L in spec["sizes"]]
    data_seconds = time.perf_counter() - start
    config = TrainConfig(target="energy", arch="extensive", epochs=epochs, patience=patience, seed=seed,
                         batch_size=batch_size, learning_rate=learning_rate, strategy="none")
    start = time.perf_counter()
    model, history = fit_sizes(sets, config, layers=spec["layers"], verbose=verbose)
    seconds = time.perf_counter() - start
    H = deepspin.hamiltonian(hamiltonian, spec["sizes"][0], **spec["params"])
    meta = {"hamiltonian": hamiltonian, "L": spec["sizes"][0], "params": H.params}
    metadata = training_metadata(config, meta, sum(len(e) for _, e in sets), history,
                                 source=f"uniform + Metropolis final configurations, seed {seed}")
    metadata.update(arch="extensive", train_sizes=list(spec["sizes"]), receptive_radius=receptive_radius(model))
    model_io.save(model, path, metadata)
    test = {}
    for L in spec["sizes"]:
        spins, energies = labelled_configs(deepspin.hamiltonian(hamiltonian, L, **spec["params"]), 2000,
                                           spec["temperatures"], 100, sweeps, seed + 1)
        error = np.abs(np.asarray(model.predict(spins.astype(np.float32), batch_size=1024, verbose=0)).ravel()
                       - energies) / (L * L)
        test[f"L{L}"] = {"n": int(len(spins)), "mae_per_site": float(error.mean()),
                         "max_per_site": float(error.max())}
    card = {
        "model": path.name,
        "command": command,
        "arch": "extensive",
        "hamiltonian": {"name": hamiltonian, **H.params},
        "receptive_radius": receptive_radius(model),
        "layers": spec["layers"],
        "params": int(model.count_params()),
        "data": {"train_sizes": list(spec["sizes"]), "per_size": {"uniform": n_uniform,
                 "thermal": {"temperatures": list(spec["temperatures"]), "chains_per_T": chains,
                             "sweeps": sweeps, "sampler": "deepspin.mc.run, random start, final configurations"}},
                 "n_total": int(sum(len(e) for _, e in sets)), "seed": seed,
                 "validation_fraction_of_train": config.validation_fraction, "seconds": round(data_seconds, 1)},
        "training": {"optimizer": config.optimizer, "learning_rate": config.learning_rate, "batch": config.batch_size,
                     "loss": "MSE of the energy per site", "epochs_run": len(history.epoch),
                     "final_val_loss": float(history.history.get("val_loss", [float("nan")])[-1]),
                     "seconds": round(seconds, 1), "cores": os.cpu_count(), **framework_versions()},
        "test_fresh_configs": test,
        "size_bytes": path.stat().st_size,
    }
    write_text(path.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    return card
