"""The artefacts that stages share, each built once and cached (:meth:`.stage.Context.artefact`):
datasets, trained networks (one per training seed), Monte Carlo records and the extensive networks
(the demonstration network is its stage's own, :mod:`.demonstration`).

Their cache keys hash the code of this module and of everything it imports
(:func:`deepspin.provenance.code_key`), so this module imports only what computes their numbers:
the Hamiltonians, the samplers, the training loop and the Metropolis sampler. The stages' reporting
code (rows, figures, plots) lives elsewhere, and an edit there reruns a stage in seconds, never the
hours of training behind it.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from .. import datasets
from ..hamiltonians import hamiltonian
from ..io import atomic_path, write_text
from ..mc import run as mc_run
from ..mc.temperatures import parse_temperatures
from .stage import Context


def dataset(ctx: Context, hamiltonian_name: str, L: int, sampler: str, seed: int, test_fraction: float = 0.0,
            **params) -> dict:
    """A cached dataset (HDF5, all of it; ``test`` marks the hash split), loaded as arrays."""
    spec = {"hamiltonian": hamiltonian_name, "L": L, "sampler": sampler, "seed": seed, "test_fraction": test_fraction,
            **params}
    H = hamiltonian(hamiltonian_name, L)
    path = ctx.artefact("dataset", spec, lambda out: datasets.generate(
        H, sampler, out, test_fraction=test_fraction, seed=seed, progress=ctx.progress, **params), ".h5")
    return datasets.load(path, split="all")


def seed_trainings(train: dict) -> list[dict]:
    """The training parameters of each of ``train["seeds"]`` training seeds (1 where it has none): seed
    ``i`` trains with ``seed = train["seed"] + i`` and without the ``seeds`` entry, so seed 0 is the
    model a single-seed profile trains (the same cached artefact). The seed sets the network's
    initialisation, its validation split (carved from the train split) and the batch order; the data
    set and its test set are the same for every seed."""
    seeds = train.get("seeds", 1)
    if not isinstance(seeds, int) or seeds < 1:
        raise ValueError(f"training seeds must be a positive integer, got {seeds!r}")
    base = {k: v for k, v in train.items() if k != "seeds"}
    return [{**base, "seed": base.get("seed", 0) + i} for i in range(seeds)]


def first_seed(train: dict) -> dict:
    """The training parameters of seed 0 (the one model a Metropolis stage or a figure uses)."""
    return seed_trainings(train)[0]


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


def trained_model(ctx: Context, data_spec: dict, target: str, train: dict, *, n_train: int | None = None,
                  subset_seed: int | None = None, init: Path | None = None):
    """Path of a cached ``.keras`` surrogate of ``target``, trained on the train split of ``dataset(**data_spec)``.

    ``n_train``: train on a random subset of that many configurations of the train split (seeded by
    ``subset_seed``, else by ``train["seed"]``; ``None`` for all of it). ``init``: a cached model to fine-tune instead of a fresh
    network (its file name, a content key, enters this model's key). A ``train`` with ``seeds``
    (:func:`seed_trainings`) trains its seed 0; :func:`trained_models` trains them all.
    """
    train = first_seed(train)

    def build(path):
        from ..surrogate.train import TrainConfig, fit
        from ..surrogate.model_io import save
        from ..surrogate.targets import labels
        from ..surrogate.train import BACKUP_DIR, training_metadata

        data = dataset(ctx, **data_spec)
        keep = training_subset(~data["test"], n_train, train["seed"] if subset_seed is None else subset_seed)
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
    if subset_seed is not None:
        key["subset_seed"] = subset_seed
    if init is not None:
        key["init"] = init.name
    return ctx.artefact("model", key, build, ".keras")


def trained_models(ctx: Context, data_spec: dict, target: str, train: dict, *, n_train: int | None = None,
                   **options) -> list[Path]:
    """:func:`trained_model` for each training seed of ``train`` (:func:`seed_trainings`), each its own
    cached artefact. A subset of ``n_train`` configurations is drawn once, with seed 0's seed, and
    shared by every training seed (the seeds vary the network, not its data)."""
    runs = seed_trainings(train)
    subset = {} if n_train is None else {"n_train": n_train, "subset_seed": runs[0]["seed"]}
    return [trained_model(ctx, data_spec, target, run, **subset, **options) for run in runs]


def symmetric_classifiers(ctx: Context, data_spec: dict, train: dict) -> list[Path]:
    """Cached spin-flip symmetric classifiers (:func:`deepspin.surrogate.architectures.spin_flip_symmetric`:
    logits averaged over ``s`` and ``-s``), one per training seed of ``train``, trained as
    :func:`trained_model` trains the plain classifier on the train split of ``dataset(**data_spec)``."""
    def build(path, run):
        import keras

        from ..surrogate.train import TrainConfig, fit
        from ..surrogate.architectures import spin_flip_symmetric
        from ..surrogate.model_io import save
        from ..surrogate.targets import labels
        from ..surrogate.train import BACKUP_DIR, training_metadata

        data = dataset(ctx, **data_spec)
        keep = ~data["test"]
        train_data = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
        config = TrainConfig(target="class", **run)
        L = data_spec["L"]
        keras.utils.set_random_seed(config.seed)  # the fresh network's initialisation
        init = path.with_name(path.name.removesuffix(".keras") + ".init.keras")
        save(spin_flip_symmetric(L, config.padding), init, {"target": "class", "L": L})
        workdir = path.with_suffix(".training")
        model, history = fit(train_data["spins"], labels(train_data, "class"), config, init=init, workdir=workdir,
                             resume=(workdir / BACKUP_DIR).exists(), verbose=2 if ctx.progress else 0)
        save(model, path, training_metadata(config, data["meta"], int(keep.sum()), history,
                                            source="spin-flip symmetric classifier (logits averaged over s and -s)"))
        init.unlink(missing_ok=True)
        shutil.rmtree(workdir, ignore_errors=True)

    return [ctx.artefact("model", {"data": data_spec, "target": "class", "train": run, "arch": "spin-flip symmetric"},
                         lambda path, run=run: build(path, run), ".keras") for run in seed_trainings(train)]


def recorded_model(ctx: Context, data_spec: dict, target: str, train: dict) -> tuple[Path, Path]:
    """:func:`trained_model` (on the whole train split, from a fresh network) that also keeps its training
    history: ``(model, history)`` paths, the history a JSON file beside the model with the per-epoch
    ``history`` (Keras' ``History.history``: loss, val_loss, accuracy, val_accuracy), ``steps_per_epoch``
    (batches of the train part after the validation split) and ``steps`` (optimizer steps in all)."""
    def build(path):
        from ..surrogate.train import TrainConfig, fit
        from ..surrogate.model_io import save
        from ..surrogate.targets import labels
        from ..surrogate.train import BACKUP_DIR, training_metadata, validation_split

        data = dataset(ctx, **data_spec)
        keep = ~data["test"]
        train_data = {k: (v[keep] if isinstance(v, np.ndarray) else v) for k, v in data.items()}
        config = TrainConfig(target=target, **train)
        workdir = path.with_suffix(".training")
        model, history = fit(train_data["spins"], labels(train_data, target), config, workdir=workdir,
                             resume=(workdir / BACKUP_DIR).exists(), verbose=2 if ctx.progress else 0)
        n_fit = len(validation_split(int(keep.sum()), config.validation_fraction, config.seed)[0])
        steps_per_epoch = n_fit // config.batch_size
        last_epoch = int(history.epoch[-1]) + 1 if history.epoch else 0
        record = {"history": {k: [float(v) for v in values] for k, values in history.history.items()},
                  "steps_per_epoch": steps_per_epoch, "epochs": last_epoch, "steps": steps_per_epoch * last_epoch,
                  "first_epoch": int(history.epoch[0]) + 1 if history.epoch else 0}
        # the history before the model: the model's presence marks the build finished
        write_text(history_path(path), json.dumps(record, indent=1) + "\n")
        save(model, path, training_metadata(config, data["meta"], int(keep.sum()), history))
        shutil.rmtree(workdir, ignore_errors=True)

    # "history" in the key: not the file of the same training by trained_model, which keeps no history
    key = {"data": data_spec, "target": target, "train": train, "history": True}
    path = ctx.artefact("model", key, build, ".keras")
    return path, history_path(path)


def history_path(model: Path) -> Path:
    """The training history beside a :func:`recorded_model`."""
    return model.with_name(model.name.removesuffix(".keras") + ".history.json")


def mc_records(ctx: Context, model, p: dict, name: str | None = None, final: bool = False, **options):
    """Cached Metropolis records of ``model`` (a Hamiltonian, or an operator named by ``name``, which
    must also name any option that changes the run) for the profile's temperatures, chains, sweeps and
    seed; a run interrupted mid-way resumes from its checkpoint (written every 5 minutes beside the
    artefact). ``final``: return ``(records, configs)`` with the chains' final configurations
    ``(T, chains, L, L)``, kept beside the records."""
    spec = {"model": name or repr(model), "T": p["T"], "chains": p["chains"], "sweeps": p["sweeps"], "seed": p["seed"]}
    if final:
        spec["final"] = True

    def build(path):
        checkpoint = path.with_suffix(".checkpoint.npz")  # an interrupted run resumes from here, bit for bit
        result = mc_run(model, parse_temperatures(p["T"]), chains=p["chains"], sweeps=p["sweeps"], seed=p["seed"],
                        progress=ctx.progress, checkpoint=checkpoint, checkpoint_every=300.0, **options)
        if final:  # before the records: their presence marks the artefact finished
            with atomic_path(path.with_suffix(".final.npy"), suffix=".npy") as tmp:
                np.save(tmp, result.configs)
        write_text(path, json.dumps(result.records(), indent=1, allow_nan=False) + "\n")
        checkpoint.unlink(missing_ok=True)

    path = ctx.artefact("mc", spec, build, ".json")
    records = json.loads(path.read_text())
    return (records, np.load(path.with_suffix(".final.npy"))) if final else records


def extensive_model(ctx: Context, name: str, train: dict) -> str:
    """Path of a cached extensive surrogate of ``name`` trained by :func:`train_extensive_model`."""
    def build(path):
        from ..surrogate.pretrained import train_extensive_model

        train_extensive_model(name, path, verbose=2 if ctx.progress else 0, **train)

    return str(ctx.artefact("extensive-model", {"hamiltonian": name, "train": train}, build, ".keras"))
