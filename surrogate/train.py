"""Training the surrogate networks on plain arrays (the CLI feeds it a dataset's train split).

The validation set that drives early stopping is carved out of the arrays given here (the
training split), never from test data. Batches are drawn in an order that depends only on
``(seed, epoch)``, so a run resumed after a kill sees the same batches as an uninterrupted one;
:class:`AtomicBackup` restores weights, optimizer state, the epoch counter and EarlyStopping's
state, and survives a kill at any instant.

Optimizers: ``adam`` (default), ``adadelta`` (the paper's choice, learning rate 1e-3, batch 800)
and plain ``sgd`` (its update is linear in the gradient, which makes it the reference for
checking that data-parallel training equals single-device training; Adam turns rounding-level
gradient differences into learning-rate-sized steps). ``PRESETS["paper"]`` is the paper's
setting, zero padding included.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import keras
import numpy as np

from . import model_io
from .architectures import PADDINGS, paper_cnn
from .distribute import STRATEGIES, placement
from .targets import TARGETS, model_of, n_classes, network_inputs

OPTIMIZERS = ("adam", "adadelta", "sgd")
#: ``paper``: the CNN of Fig. 1 for one L; ``extensive``: per-site energies summed, any L (:mod:`.extensive`).
ARCHS = ("paper", "extensive")
BACKUP_DIR = "backup"


@dataclasses.dataclass
class TrainConfig:
    """Hyper-parameters of one training run (defaults: ours; :data:`PRESETS` has the paper's)."""

    target: str = "class"
    arch: str = "paper"
    padding: str = "periodic"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    batch_size: int = 800
    epochs: int = 100
    patience: int = 10
    validation_fraction: float = 0.1
    seed: int = 0
    strategy: str = "auto"

    def __post_init__(self):
        for name, choices in (("target", TARGETS), ("arch", ARCHS), ("padding", PADDINGS), ("optimizer", OPTIMIZERS),
                              ("strategy", STRATEGIES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"{name} must be one of {', '.join(choices)}; got {getattr(self, name)!r}")
        if self.arch == "extensive" and self.target != "energy":
            raise ValueError(f"arch 'extensive' learns energies (a sum of per-site energies); got target {self.target!r}")
        for name in ("batch_size", "epochs", "patience"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be a positive number, got {self.learning_rate!r}")
        if not 0.0 <= self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction must lie in [0, 1), got {self.validation_fraction!r}")


#: The paper's training setting (section "Deep neural network"): AdaDelta, lr 1e-3, batch 800,
#: zero ("same") padding.
PRESETS = {"paper": {"optimizer": "adadelta", "learning_rate": 1e-3, "batch_size": 800, "padding": "zero"}}


def validation_split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, validation)`` of a seeded random split of ``n`` samples."""
    order = np.random.default_rng([seed, 0x5EED]).permutation(n)
    n_val = int(round(fraction * n))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def epoch_order(n: int, seed: int, epoch: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits the ``n`` training samples (depends on nothing else)."""
    return np.random.default_rng([seed, epoch]).permutation(n)


def build_model(L: int, config: TrainConfig, targets: np.ndarray):
    """A fresh paper network for ``config.target`` (regression outputs scaled to the targets)."""
    if config.target == "class":
        return paper_cnn(L, "class", config.padding, n_classes=n_classes(L))
    std = float(np.std(targets)) or 1.0
    return paper_cnn(L, "regression", config.padding, target_scale=std, target_offset=float(np.mean(targets)))


def compile_model(model, config: TrainConfig, learning_rate=None) -> None:
    """Compile with ``config``'s optimizer and loss (``learning_rate``: a schedule replacing the constant rate)."""
    optimizer = {"adam": keras.optimizers.Adam, "adadelta": keras.optimizers.Adadelta,
                 "sgd": keras.optimizers.SGD}[config.optimizer]
    rate = config.learning_rate if learning_rate is None else learning_rate
    if config.target == "class":
        model.compile(optimizer(rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    else:
        model.compile(optimizer(rate), loss="mean_squared_error", metrics=["mean_absolute_error"])


def fit(spins, targets, config: TrainConfig, *, workdir=None, resume: bool = False, init=None,
        verbose: int | str = "auto", devices: list[str] | None = None, callbacks=(), keep_backup: bool = False):
    """Train a surrogate on ``spins`` ``(B, L, L)`` and ``targets`` ``(B,)``; returns ``(model, history)``.

    Args:
        spins: training configurations (+1/-1 spins or Potts angles).
        targets: int classes for ``config.target == "class"``, else float64 values.
        workdir: folder for the per-epoch checkpoint ``last.keras``, the resume backup and
            TensorBoard logs (``logs/``); ``None`` trains without writing anything.
        resume: continue an interrupted run from ``workdir``'s backup; without it an existing
            backup is an error (so a stale backup never silently changes a new run).
        init: a ``.keras`` file to fine-tune instead of a fresh network.
        devices: explicit device names for the ``mirrored`` strategy (default: all visible).
        callbacks: extra Keras callbacks.
        keep_backup: keep ``workdir``'s resume backup after training, for a caller that writes the
            final model itself and then calls :func:`discard_backup` (a kill before that write
            then loses nothing: ``resume`` finishes at once with the same weights).
    """
    if config.arch == "extensive":
        return fit_sizes([(spins, targets)], config, workdir=workdir, resume=resume, init=init, verbose=verbose,
                         devices=devices, callbacks=callbacks, keep_backup=keep_backup)
    x = network_inputs(spins)
    y = _check_targets(targets, len(x), config.target, x.shape[1])
    train_idx, val_idx = validation_split(len(x), config.validation_fraction, config.seed)
    if len(train_idx) < config.batch_size:
        raise ValueError(f"{len(train_idx)} training samples are fewer than one batch of {config.batch_size}; "
                         "lower --batch-size or use more data")
    where = placement(config.strategy, devices)
    keras.utils.set_random_seed(config.seed)
    workdir = _prepare_workdir(workdir, resume, where)
    with where.scope():
        if init is not None:
            model = _initial_model(init, x.shape[1], config.target)
        else:
            model = build_model(x.shape[1], config, y[train_idx])
        compile_model(model, config)
    data = EpochShuffled(x[train_idx], y[train_idx], config.batch_size, config.seed)
    if where.name == "multiworker":
        _multiworker_workarounds(model, data[0])
    validation = (x[val_idx], y[val_idx]) if len(val_idx) else None
    run = _fingerprint(config, x, y)
    callbacks = [EpochSetter(data), *_callbacks(config, workdir, where, validation is not None, run), *callbacks]
    history = model.fit(data, validation_data=validation, validation_batch_size=config.batch_size,
                        epochs=config.epochs, callbacks=callbacks, verbose=verbose,
                        shuffle=False)  # EpochShuffled orders the batches; Keras' own shuffle is not resumable
    if workdir is not None and not keep_backup:
        discard_backup(workdir, where)
    return model, history


def fit_sizes(sets, config: TrainConfig, *, layers: dict | None = None, workdir=None, resume: bool = False,
              init=None, verbose: int | str = "auto", devices: list[str] | None = None, callbacks=(),
              keep_backup: bool = False):
    """Train an extensive surrogate (:mod:`.extensive`) on one or several lattice sizes; ``(model, history)``.

    Args:
        sets: ``[(spins, energies), ...]``, each ``spins`` ``(B_k, L_k, L_k)`` with total energies
            ``(B_k,)`` in J. The loss is the squared error of the energy per site ``E / N``, so
            sizes mix; every batch holds one size, and batches of all sizes are shuffled together.
        layers: keyword arguments of :func:`.extensive.build_extensive` (default: its defaults).

    The validation share of each size is held out for early stopping; the learning rate decays
    from ``config.learning_rate`` to 1/1000 of it over ``config.epochs`` (cosine): per-site errors
    of 1e-4 J need small final steps, which a constant Adam rate never takes. The
    returned model outputs total energies; ``workdir/last.keras`` holds the per-site training
    model. Other arguments as in :func:`fit`.
    """
    from .extensive import build_extensive, is_extensive, per_site_model

    if config.arch != "extensive":
        raise ValueError(f"fit_sizes trains arch 'extensive', got config.arch = {config.arch!r}")
    if not sets:
        raise ValueError("fit_sizes: give at least one (spins, energies) pair")
    train, validation = [], []
    for i, (spins, energies) in enumerate(sets):
        x = network_inputs(spins)
        y = _check_targets(energies, len(x), "energy", x.shape[1]) / np.float32(x.shape[1] * x.shape[2])
        train_idx, val_idx = validation_split(len(x), config.validation_fraction, config.seed + i)
        train.append((x[train_idx], y[train_idx]))
        validation.append((x[val_idx], y[val_idx]))
    if max(len(x) for x, _ in train) < config.batch_size:
        raise ValueError(f"no lattice size has one batch of {config.batch_size} training samples "
                         f"({[len(x) for x, _ in train]}); lower --batch-size or use more data")
    where = placement(config.strategy, devices)
    keras.utils.set_random_seed(config.seed)
    workdir = _prepare_workdir(workdir, resume, where)
    with where.scope():
        if init is not None:
            model, _ = model_io.load(init)
            if not is_extensive(model):
                raise ValueError(f"--init {init} is not an extensive model; it cannot be fine-tuned as arch 'extensive'")
        else:
            model = build_extensive(**(layers or {}))
        trainable = per_site_model(model)
    data = MixedSizes(train, config.batch_size, config.seed)
    with where.scope():
        schedule = keras.optimizers.schedules.CosineDecay(config.learning_rate, config.epochs * len(data), alpha=1e-3)
        compile_model(trainable, config, schedule)
    held_out = [(x, y) for x, y in validation if len(x)]
    val_data = MixedSizes(held_out, config.batch_size, seed=None) if held_out else None
    run = _fingerprint(config, *[a for pair in train for a in pair])
    callbacks = [EpochSetter(data), *_callbacks(config, workdir, where, val_data is not None, run), *callbacks]
    history = trainable.fit(data, validation_data=val_data, epochs=config.epochs, callbacks=callbacks,
                            verbose=verbose, shuffle=False)
    if workdir is not None and not keep_backup:
        discard_backup(workdir, where)
    return model, history


def training_metadata(config: TrainConfig, meta: dict, n_train: int, history, source: str | None = None) -> dict:
    """The metadata saved inside a trained ``.keras`` file (see :mod:`.model_io`)."""
    epochs = len(history.epoch) if history is not None else 0
    return {
        "target": config.target,
        "arch": config.arch,
        **model_of(meta),
        "training": {**dataclasses.asdict(config), "n_train": int(n_train), "epochs_run": epochs,
                     "last_epoch": int(history.epoch[-1]) + 1 if epochs else 0, "data": source},
    }


def _multiworker_workarounds(model, batch) -> None:
    """Work around two Keras 3.15 failures of ``fit`` under MultiWorkerMirroredStrategy.

    1. Before the first step it all-reduces a whole ``(x, y)`` batch structure to build the model
       symbolically, which the collective strategy rejects ("Attempt to convert a value
       (PerReplica...)"): build from one local batch instead (only its shapes matter).
    2. It reduces each logged scalar across workers with ``reduce("MEAN", v, axis=0)``, which
       fails on a scalar ("Invalid reduction dimension 0"): log shape-``(1,)`` values instead,
       which that reduction turns into the cross-worker mean.
    """
    build = model._maybe_symbolic_build

    def build_locally(iterator=None, data_batch=None):
        return build(data_batch=batch if data_batch is None else data_batch)

    model._maybe_symbolic_build = build_locally
    for name in ("train_step", "test_step"):
        step = getattr(model, name)

        def vector_logs(data, step=step):
            return {key: keras.ops.reshape(value, (1,)) for key, value in step(data).items()}

        setattr(model, name, vector_logs)


def _check_targets(targets, n: int, target: str, L: int) -> np.ndarray:
    y = np.asarray(targets)
    if y.shape != (n,):
        raise ValueError(f"targets must have shape ({n},) to match the configurations, got {y.shape}")
    if target == "class":
        if y.dtype.kind not in "iu":
            raise ValueError(f"class targets must be integers, got dtype {y.dtype}")
        if y.size and (y.min() < 0 or y.max() >= n_classes(L)):
            raise ValueError(f"class targets must lie in [0, {n_classes(L)}) for L={L}, got [{y.min()}, {y.max()}]")
        return y.astype(np.int32)
    if not np.all(np.isfinite(y)):
        raise ValueError("targets contain NaN or inf")
    return y.astype(np.float32)


def _prepare_workdir(workdir, resume: bool, where) -> Path | None:
    if workdir is None:
        return None
    workdir = Path(workdir)
    if not where.is_chief:
        workdir = workdir / f"worker-{where.worker_index}"
    backup = workdir / BACKUP_DIR
    if backup.exists() and not resume and not AtomicBackup.is_empty(backup):
        raise ValueError(f"{backup} holds an interrupted run; pass --resume to continue it or delete it to start over")
    if resume and not backup.exists():
        raise ValueError(f"--resume: no interrupted run to continue in {workdir} (no {BACKUP_DIR}/ folder)")
    workdir.mkdir(parents=True, exist_ok=True)
    return workdir


def _initial_model(path, L: int, target: str):
    model, meta = model_io.load(path)
    if meta and (meta.get("target") != target or int(meta.get("L", L)) != L):
        raise ValueError(f"--init {path} predicts {meta.get('target')} for L={meta.get('L')}, "
                         f"but this run trains {target} for L={L}")
    if tuple(model.input_shape[1:]) != (L, L):
        raise ValueError(f"--init {path} takes inputs of shape {model.input_shape[1:]}, the data has ({L}, {L})")
    return model


def _callbacks(config: TrainConfig, workdir: Path | None, where, validate: bool, run: dict) -> list:
    monitor = "val_loss" if validate else "loss"
    stopping = keras.callbacks.EarlyStopping(monitor=monitor, patience=config.patience, restore_best_weights=True)
    callbacks = [stopping]
    if workdir is not None:
        # After EarlyStopping in the list: the backup then holds its state after each epoch.
        callbacks.append(AtomicBackup(workdir / BACKUP_DIR, stopping, run, config.epochs))
        if where.is_chief:
            callbacks.append(AtomicCheckpoint(workdir / "last.keras"))
            if _has_tensorboard():
                callbacks.append(keras.callbacks.TensorBoard(str(workdir / "logs")))
    return callbacks


def _fingerprint(config: TrainConfig, *arrays) -> dict:
    """What a resumed run must share with the interrupted one: the settings and the training data."""
    import hashlib

    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return {"config": dataclasses.asdict(config), "data": "sha256:" + digest.hexdigest(),
            "keras": keras.__version__}


def backup_dir(workdir, where=None) -> Path:
    """The resume backup folder of ``workdir`` (a worker's own subfolder for non-chief workers)."""
    workdir = Path(workdir)
    if where is not None and not where.is_chief and workdir.name != f"worker-{where.worker_index}":
        workdir = workdir / f"worker-{where.worker_index}"
    return workdir / BACKUP_DIR


def discard_backup(workdir, where=None) -> None:
    """Delete ``workdir``'s resume backup: call it once the final model is safely written.

    ``state.json`` goes first, so a kill halfway through leaves a backup that
    :meth:`AtomicBackup.is_empty` calls empty (never one whose state names deleted files).
    """
    import shutil

    backup = backup_dir(workdir, where)
    (backup / AtomicBackup.STATE).unlink(missing_ok=True)
    shutil.rmtree(backup, ignore_errors=True)


class AtomicBackup(keras.callbacks.Callback):
    """Resume backup that survives a kill at any instant (replaces Keras' ``BackupAndRestore``).

    After every epoch it writes, each file atomically (temporary file + rename): the weights and
    optimizer state as ``epoch-EEEEE.weights.h5``, EarlyStopping's best weights as
    ``best-EEEEE.npz`` when they changed, and last ``state.json`` naming both files, with the epoch
    count, EarlyStopping's counters and the run's fingerprint; the files of the previous epoch are
    deleted only after that. ``state.json`` therefore always names complete files. Resuming
    restores all of it (a run that had stopped early stays stopped), so a resumed run ends with the
    weights of an uninterrupted one; a fingerprint that differs (other settings or data) is an
    error naming the field. Nothing is deleted at the end: :func:`discard_backup` does that once
    the final model is written.
    """

    STATE = "state.json"

    def __init__(self, directory, stopping, run: dict, epochs: int):
        super().__init__()
        self.directory, self.stopping, self.run, self.epochs = Path(directory), stopping, run, epochs

    def on_train_begin(self, logs=None):
        import json

        state_path = self.directory / self.STATE
        if not self.directory.exists():
            return
        if self.is_empty(self.directory):  # killed during the first epoch's backup: nothing to resume
            import shutil

            shutil.rmtree(self.directory)
            return
        if not state_path.is_file():
            raise ValueError(f"{self.directory} holds no {self.STATE} (a backup of an older deepspin, or not a "
                             "deepspin backup); delete the folder to start over")
        try:
            state = json.loads(state_path.read_text())
            weights = self.directory / state["weights"]
            best = state["best_weights"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{state_path} is damaged ({exc}); delete {self.directory} to start over") from None
        for field in sorted(set(self.run) | set(state.get("run", {}))):
            if state.get("run", {}).get(field) != self.run.get(field):
                raise ValueError(f"--resume: the interrupted run in {self.directory} had another {field} "
                                 f"({_difference(state.get('run', {}).get(field), self.run.get(field))}); resume "
                                 "with the same settings and data, or delete the folder to start over")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        try:
            self.model.load_weights(weights)
            best_weights = None
            if best is not None:
                with np.load(self.directory / best, allow_pickle=False) as archive:
                    best_weights = [archive[f"w{i}"] for i in range(len(archive.files))]
        except (OSError, ValueError, KeyError) as exc:
            raise ValueError(f"{self.directory}: cannot read the backup ({exc}); delete the folder to start over") \
                from None
        es = state["early_stopping"]
        self.stopping.wait, self.stopping.best_epoch = es["wait"], es["best_epoch"]
        self.stopping.stopped_epoch, self.stopping.best = es["stopped_epoch"], es["best"]
        self.stopping.best_weights = best_weights
        self._files = {state["weights"], best} - {None}
        self._best_epoch_saved = es["best_epoch"] if best is not None else None
        self._remove_others()
        # A run that had stopped early (or finished) runs no further epoch.
        self.model._initial_epoch = self.epochs if state["stopped"] else state["epoch"]

    @classmethod
    def is_empty(cls, directory) -> bool:
        """True if ``directory`` holds no ``state.json`` and nothing but this class's own (partial) files."""
        directory = Path(directory)
        if (directory / cls.STATE).exists():
            return False
        return all(p.is_file() and (p.name.startswith((".", "epoch-", "best-"))) for p in directory.iterdir())

    def on_epoch_end(self, epoch, logs=None):
        import json

        from deepspin.io import atomic_path

        self.directory.mkdir(parents=True, exist_ok=True)
        files = getattr(self, "_files", set())
        weights = f"epoch-{epoch + 1:05d}.weights.h5"
        with atomic_path(self.directory / weights, suffix=".weights.h5") as tmp:
            self.model.save_weights(tmp)
        best = next((f for f in files if f.startswith("best-")), None)
        saved_epoch = getattr(self, "_best_epoch_saved", None)
        if self.stopping.best_weights is not None and self.stopping.best_epoch != saved_epoch:
            best = f"best-{epoch + 1:05d}.npz"
            with atomic_path(self.directory / best, suffix=".npz") as tmp, open(tmp, "wb") as handle:
                np.savez(handle, **{f"w{i}": w for i, w in enumerate(self.stopping.best_weights)})
            self._best_epoch_saved = self.stopping.best_epoch
        best_value = self.stopping.best
        state = {"epoch": epoch + 1, "weights": weights, "best_weights": best, "run": self.run,
                 "stopped": bool(self.model.stop_training),
                 "early_stopping": {"wait": int(self.stopping.wait), "best_epoch": int(self.stopping.best_epoch),
                                    "stopped_epoch": int(self.stopping.stopped_epoch),
                                    "best": None if best_value is None else float(best_value)}}
        with atomic_path(self.directory / self.STATE) as tmp:
            tmp.write_text(json.dumps(state, indent=1))
        self._files = {weights, best} - {None}
        self._remove_others()

    def _remove_others(self) -> None:
        """Delete files of earlier epochs (never those ``state.json`` names, nor live temporaries)."""
        from deepspin.io import remove_stale_temporaries

        for path in self.directory.iterdir():
            if path.name.startswith((".",)) or path.name == self.STATE or path.name in self._files:
                continue
            if path.name.startswith(("epoch-", "best-")):
                path.unlink(missing_ok=True)
        for name in (*self._files, self.STATE):
            remove_stale_temporaries(self.directory / name)


def _difference(before, now) -> str:
    if isinstance(before, dict) and isinstance(now, dict):
        keys = [k for k in sorted(set(before) | set(now)) if before.get(k) != now.get(k)]
        return ", ".join(f"{k}: {before.get(k)!r} then, {now.get(k)!r} now" for k in keys)
    return f"{before!r} then, {now!r} now"


class AtomicCheckpoint(keras.callbacks.Callback):
    """``last.keras`` after every epoch, written atomically (a kill never leaves half a file).

    A run resumed from :class:`AtomicBackup` (which comes before this callback, so its weights are
    restored first) rewrites ``last.keras`` at once: a kill between the backup of the last epoch and
    this write would otherwise leave the previous epoch's checkpoint, and its half-written temporary
    (which :func:`deepspin.io.atomic_path` removes on the next write), behind a resumed run that has
    no epoch left to run.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)

    def on_train_begin(self, logs=None):
        if getattr(self.model, "_initial_epoch", 0):
            self._write()

    def on_epoch_end(self, epoch, logs=None):
        self._write()

    def _write(self):
        from deepspin.io import atomic_path

        with atomic_path(self.path, suffix=".keras") as tmp:
            self.model.save(tmp)


def _has_tensorboard() -> bool:
    """Keras' TensorBoard callback writes through tf.summary, which needs both packages."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("tensorflow", "tensorboard"))


class EpochShuffled(keras.utils.PyDataset):
    """Batches of ``(x, y)`` in the order :func:`epoch_order` gives for the current epoch.

    The last partial batch is dropped, so every step has a full (global) batch.
    """

    def __init__(self, x, y, batch_size: int, seed: int):
        super().__init__()
        self.x, self.y, self.batch_size, self.seed = x, y, batch_size, seed
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        self.order = epoch_order(len(self.x), self.seed, epoch)

    def __len__(self):
        return len(self.x) // self.batch_size

    def __getitem__(self, index):
        rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
        return self.x[rows], self.y[rows]


class EpochSetter(keras.callbacks.Callback):
    """Tells an :class:`EpochShuffled` dataset which epoch starts (also the right one after a resume)."""

    def __init__(self, data: EpochShuffled):
        super().__init__()
        self.data = data

    def on_epoch_begin(self, epoch, logs=None):
        self.data.set_epoch(epoch)


class MixedSizes(keras.utils.PyDataset):
    """Batches from several lattice sizes, one size per batch, in an order fixed by ``(seed, epoch)``.

    With ``seed=None`` (validation) the batches come in order, the last partial one of each size
    included; otherwise partial batches are dropped. Whatever the order, batch 1 has another size
    than batch 0 (when there are two sizes): Keras' TensorFlow adapter fixes the input signature
    from the first two batches, and only a varying size makes it ``(None, None, None)``.
    """

    def __init__(self, sets, batch_size: int, seed: int | None):
        super().__init__()
        self.sets, self.batch_size, self.seed = sets, batch_size, seed
        counts = [len(x) // batch_size if seed is not None else -(-len(x) // batch_size) for x, _ in sets]
        self.batches = [(k, b) for k, n in enumerate(counts) for b in range(n)]
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        n = len(self.batches)
        order = np.arange(n) if self.seed is None else epoch_order(n, self.seed, epoch)
        sizes = [self.batches[i][0] for i in order]
        other = next((i for i, k in enumerate(sizes) if k != sizes[0]), None)
        if other is not None:
            order[[1, other]] = order[[other, 1]]
        self.order = order
        if self.seed is not None:
            self.rows = [epoch_order(len(x), self.seed + 1 + k, epoch) for k, (x, _) in enumerate(self.sets)]
        else:
            self.rows = [np.arange(len(x)) for x, _ in self.sets]

    def __len__(self):
        return len(self.batches)

    def __getitem__(self, index):
        k, b = self.batches[self.order[index]]
        rows = self.rows[k][b * self.batch_size:(b + 1) * self.batch_size]
        x, y = self.sets[k]
        return x[rows], y[rows]
