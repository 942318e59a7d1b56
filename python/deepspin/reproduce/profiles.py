"""Sizes of every stage per profile, in one place.

- ``paper``: the paper's sizes (12,500 uniform and 3 x 27,000 targeted 4x4 examples; 8x8 Ising
  100,000 train / 50,000 test; Coulomb 100,000 / 20,000; Potts 500,000; the 9x9 demonstration at
  200,000; Metropolis at 400 chains). Metropolis with a network operator costs one inference of
  ``chains x temperatures`` configurations per attempt, so on a CPU those runs keep the 400 chains
  but take fewer temperatures and sweeps than the paper (46 temperatures x 2000 sweeps would be
  ~3 x 10^9 network evaluations per curve, a GPU's work); the report prints their size in the row.
  ``bench/gpu_check.sh`` (step ``learned``) runs ``phase-8x8-learned`` on a GPU at the paper's 46
  temperatures with ``--set`` (:func:`parse_overrides`), sweeps sized to the time it has.
- ``quick``: the same studies, smaller where it costs time (fewer sweeps and temperatures), sized to
  finish on a 2-core CPU within 30 minutes with one training seed; with the 3 training seeds of every
  trained number (``seeds``) its training takes about three times that (the report states its time).
  Metropolis with a network operator costs one inference of ``chains x temperatures`` configurations per attempt (~17,000 configurations/s
  on the shared 2-core CPU), so those runs use 16 chains, 100 sweeps and 6-9 temperatures here.
- ``smoke``: toy sizes that run every stage end to end in a couple of minutes (the test suite runs it).
"""
from __future__ import annotations

import copy
import json

_ISING_MC = {"chains": 400, "seed": 0}
#: Screened Coulomb (Fig. 10) on a grid that reaches the random-spin limit of <|m|> (within 1 % at
#: T ~ 300-1000 for 8x8 k = 0.5): fine steps where C/N peaks, then logarithmic.
_COULOMB_T = ",".join(f"{t:g}" for t in [*[round(0.1 * i, 1) for i in range(1, 21)],
                                          2.5, 3, 4, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 1000])
_COULOMB_T_QUICK = "0.2,0.4,0.6,0.8,1,1.2,1.5,2,3,5,10,30,100,300,1000"
#: Learned screened Coulomb (fine-tuned on thermal samples at these temperatures).
_COULOMB_LEARNED_T = "0.25,0.5,1,2,4,8,16,32,100,300"
#: Training as the surrogate's defaults (Adam 1e-3, periodic padding, batch 800, early stopping).
#: ``seeds``: every trained number is the mean over that many training seeds (seed ``seed + i``: the
#: network's initialisation, validation split and batch order; same data), with their standard
#: deviation beside it (:func:`deepspin.reproduce.learned.seed_trainings`). Stages that use one model
#: (Metropolis with a learned operator, the AdaDelta comparison) take seed 0.
_TRAIN_PAPER = {"epochs": 100, "patience": 10, "batch_size": 800, "seed": 0, "seeds": 3}
_TRAIN_QUICK = {"epochs": 12, "patience": 4, "batch_size": 800, "seed": 0, "seeds": 3}
#: The 8x8 classifier (63 classes) with Adam 1e-3 passes 99 % test accuracy only after ~35 epochs, with
#: loss spikes on the way that a patience of 4 mistakes for the end (12 epochs gave 60 %).
_TRAIN_CLASS8_QUICK = {"epochs": 40, "patience": 10, "batch_size": 800, "seed": 0, "seeds": 3}
#: Fine-tuning a trained regressor on thermally sampled data: a lower learning rate keeps what it knows.
_FINETUNE = {"epochs": 20, "patience": 5, "batch_size": 200, "learning_rate": 3e-4, "seed": 0}
#: The 8x8 classifier (63 classes) needs more epochs than the regressions, with loss spikes on the way.
_TRAIN_CLASS8_PAPER = {"epochs": 200, "patience": 20, "batch_size": 800, "seed": 0, "seeds": 3}
#: The paper's own protocol (its "Deep neural network" section): AdaDelta at learning rate 1e-3, batch
#: 800, zero padding, trained "until the loss converges" (here: until the validation loss has not
#: improved for ``patience`` epochs, or ``epochs`` at most).
_ADADELTA_PAPER = {"optimizer": "adadelta", "learning_rate": 1e-3, "padding": "zero", "batch_size": 800,
                   "epochs": 500, "patience": 20, "seed": 0}
#: The same with Zeiler's AdaDelta, which has no learning rate (a unit rate in Keras' form).
_ADADELTA_UNIT = {**_ADADELTA_PAPER, "learning_rate": 1.0}
#: The random forest's hyperparameters, chosen by the validation MAE on 10 % of the training split
#: (:func:`deepspin.surrogate.baselines.tuned_forest`).
_RF_GRID = {"n_estimators": [100, 300], "max_features": [1.0, 0.33], "min_samples_leaf": [1, 3]}
_SAMPLING = {"uniform_n": 12_500, "per_class": 1800, "targeted_sets": 3, "extreme": 16, "seed": 1}
#: 8x8 targeted data with a 2:1 hash split (the paper's 100,000 training and 50,000 test at 2381 per class).
_ISING8_PAPER = {"per_class": 2381, "test_fraction": 1 / 3, "seed": 1}
_ISING8_QUICK = {"per_class": 500, "test_fraction": 1 / 3, "seed": 1}
_COULOMB_PAPER = {"hamiltonian": "screened-coulomb", "L": 8, "n": 120_000, "test_fraction": 1 / 6,
                  "metric": "median_abs_error", "seed": 1, "train": _TRAIN_PAPER}
_COULOMB_QUICK = {**_COULOMB_PAPER, "n": 24_000, "train": {**_TRAIN_QUICK, "epochs": 15}}

_TEST_SAMPLING = {"uniform_n": 2000, "per_class": 40, "targeted_sets": 2, "extreme": 16, "seed": 1}
#: One training seed (two in classify-4x4, so the spread over seeds runs end to end) keeps the test suite fast.
_TRAIN_TEST = {"epochs": 1, "patience": 1, "batch_size": 100, "seed": 0, "seeds": 1}
_ISING8_TEST = {"per_class": 20, "test_fraction": 1 / 3, "seed": 1}
_COULOMB_TEST = {**_COULOMB_PAPER, "n": 1200, "train": _TRAIN_TEST}

#: Extensive surrogates (issue 9): training as the shipped models (surrogate.pretrained), test sets per L.
_EXT_TRAIN = {"seed": 0}
_EXT_TRAIN_SMOKE = {"n_uniform": 400, "chains": 16, "sweeps": 20, "epochs": 1, "seed": 0}
_EXT_ISING_TEST = {"uniform": 500, "T": [2.0, 2.269, 2.6], "chains": 100, "sweeps": 200}
_EXT_COULOMB_TEST = {"uniform": 200, "T": [0.5, 1.0, 2.0], "chains": 16, "sweeps": 100}
_EXT_SMOKE_TEST = {"uniform": 20, "T": [2.0], "chains": 4, "sweeps": 5}


def _extensive(train: dict, ising_test: dict, coulomb_test: dict, mc: dict, ising_sizes=(8, 16, 32, 64, 128),
               coulomb_sizes=(8, 16, 32, 64), mc_sizes=(16, 32)) -> dict:
    """The three extensive-surrogate stages of one profile (one trained Ising model serves two)."""
    return {
        "extensive-ising": {"hamiltonian": "ising", "params": {}, "train": train, "sizes": list(ising_sizes),
                            "test": ising_test},
        "extensive-coulomb": {"hamiltonian": "screened-coulomb", "params": {"k": 0.5}, "train": train,
                              "sizes": list(coulomb_sizes), "test": coulomb_test},
        "extensive-mc": {"train": train, "sizes": list(mc_sizes), "mc": mc},
    }

PROFILES = {
    "paper": {
        "hash-uniformity": {"L": 8, "n": 1_000_000, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _SAMPLING,
        "classify-4x4": {"data": _SAMPLING, "train": _TRAIN_PAPER},
        "learning-curve-4x4": {"data": _SAMPLING, "per_class": [60, 200, 600, 1200, 1800], "sets": 3,
                               "train": _TRAIN_PAPER},
        "regression-4x4": {"data": _SAMPLING, "train": _TRAIN_PAPER},
        "phase-4x4": {"L": 4, "T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC},
        "phase-4x4-learned": {"data": _SAMPLING, "train": _TRAIN_PAPER,
                              "mc": {"T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC}},
        "ising-8x8": {**_ISING8_PAPER, "train": _TRAIN_PAPER, "train_class": _TRAIN_CLASS8_PAPER},
        "learning-curve-8x8": {**_ISING8_PAPER, "n_train": [1000, 3000, 10_000, 30_000], "train": _TRAIN_PAPER,
                               "train_class": _TRAIN_CLASS8_PAPER},
        "phase-8x8-learned": {**_ISING8_PAPER, "train": _TRAIN_PAPER, "train_class": _TRAIN_CLASS8_PAPER,
                              # 300 sweeps: about 23 min per curve on the 2-core CPU, the budget that fixes this
                              # size. (An earlier report ran 100 sweeps and raised them to 300 after the
                              # regressor's C/N peak missed by 2.1 SE; this size is no longer changed on an outcome.)
                              "mc": {"T": "1.5:3.5:0.25", "sweeps": 300, **_ISING_MC}},
        #: KRR: 20,000 training configurations, the largest whose kernel matrix (3.2 GB in float64,
        #: twice that during the solve) fits beside the other jobs in this machine's 24 GiB.
        "baselines-8x8": {"krr_max": 20_000, **_ISING8_PAPER, "train": _TRAIN_PAPER, "rf_grid": _RF_GRID},
        "coulomb-regression": _COULOMB_PAPER,
        "sinusoidal-regression": {**_COULOMB_PAPER, "hamiltonian": "sinusoidal-coulomb"},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 556_000, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": _TRAIN_PAPER},
        "phase-8x8": {"L": 8, "T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC},
        "coulomb-mc": {"L": 8, "T": _COULOMB_T, "chains": 400, "sweeps": 2000, "seed": 0},
        "coulomb-learned": {"regression": _COULOMB_PAPER,
                            "thermal": {"chains": 100, "samples": 100, "burn_in": 1000, "thin": 10, "seed": 2,
                                        "test_fraction": 1 / 6},
                            "finetune": _FINETUNE, "mc": {"T": _COULOMB_LEARNED_T, "chains": 400, "sweeps": 100,
                                                          "seed": 0}},
        "kernels-9x9": {"samples": 200_000, "epochs": 20, "seed": 0, "steps": 200},
        "adadelta-protocol": {"data": _SAMPLING, "ising8": _ISING8_PAPER, "train": _ADADELTA_PAPER,
                              "unit_rate": _ADADELTA_UNIT, "ours_4x4": _TRAIN_PAPER, "ours_8x8": _TRAIN_CLASS8_PAPER},
        **_extensive(_EXT_TRAIN, {**_EXT_ISING_TEST, "uniform": 2000, "chains": 400},
                     {**_EXT_COULOMB_TEST, "uniform": 1000, "chains": 50},
                     # L = 16 and 32 with a network operator on the 2-core CPU: ~2,900 and ~730
                     # chain-sweeps/s (400 chains x 21 T x 2000 sweeps would be ~10 h), so 100 chains x 600.
                     {"T": "1.5:3.5:0.1", "chains": 100, "sweeps": 600, "seed": 0}),
    },
    "quick": {
        "hash-uniformity": {"L": 8, "n": 1_000_000, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _SAMPLING,
        "classify-4x4": {"data": _SAMPLING, "train": _TRAIN_QUICK},
        "learning-curve-4x4": {"data": _SAMPLING, "per_class": [60, 300, 1800], "sets": 1, "train": _TRAIN_QUICK},
        "regression-4x4": {"data": _SAMPLING, "train": _TRAIN_QUICK},
        "phase-4x4": {"L": 4, "T": "1:4:0.1", "sweeps": 2000, **_ISING_MC},
        "phase-4x4-learned": {"data": _SAMPLING, "train": _TRAIN_QUICK,
                              "mc": {"T": "1:4:0.1", "sweeps": 1000, **_ISING_MC}},
        "ising-8x8": {**_ISING8_QUICK, "train": _TRAIN_QUICK, "train_class": _TRAIN_CLASS8_QUICK},
        "learning-curve-8x8": {**_ISING8_QUICK, "n_train": [2000, 6000], "train": _TRAIN_QUICK,
                               "train_class": _TRAIN_CLASS8_QUICK},
        "phase-8x8-learned": {**_ISING8_QUICK, "train": _TRAIN_QUICK, "train_class": _TRAIN_CLASS8_QUICK,
                              "mc": {"T": "1.5:3.5:0.25", "chains": 16, "sweeps": 100, "seed": 0}},
        "baselines-8x8": {"krr_max": 5000, **_ISING8_QUICK, "train": _TRAIN_QUICK, "rf_grid": _RF_GRID},
        "coulomb-regression": _COULOMB_QUICK,
        "sinusoidal-regression": {**_COULOMB_QUICK, "hamiltonian": "sinusoidal-coulomb"},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 24_000, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": {**_TRAIN_QUICK, "epochs": 15}},
        "phase-8x8": {"L": 8, "T": "1:4:0.1", "sweeps": 2000, **_ISING_MC},
        "coulomb-mc": {"L": 8, "T": _COULOMB_T_QUICK, "chains": 400, "sweeps": 500, "seed": 0},
        "coulomb-learned": {"regression": _COULOMB_QUICK,
                            "thermal": {"chains": 32, "samples": 40, "burn_in": 200, "thin": 2, "seed": 2,
                                        "test_fraction": 1 / 6},
                            "finetune": _FINETUNE, "mc": {"T": "0.5:8:1.5", "chains": 16, "sweeps": 100, "seed": 0}},
        "kernels-9x9": {"samples": 40_000, "epochs": 5, "seed": 0, "steps": 100},
        "adadelta-protocol": {"data": _SAMPLING, "ising8": _ISING8_QUICK, "train": {**_ADADELTA_PAPER, "epochs": 30,
                                                                                    "patience": 5},
                              "unit_rate": {**_ADADELTA_UNIT, "epochs": 30, "patience": 5},
                              "ours_4x4": _TRAIN_QUICK, "ours_8x8": _TRAIN_CLASS8_QUICK},
        **_extensive(_EXT_TRAIN, _EXT_ISING_TEST, _EXT_COULOMB_TEST,
                     {"T": "1.5:3.5:0.25", "chains": 16, "sweeps": 300, "seed": 0}),
    },
    "smoke": {
        "hash-uniformity": {"L": 8, "n": 8192, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _TEST_SAMPLING,
        "classify-4x4": {"data": _TEST_SAMPLING, "train": {**_TRAIN_TEST, "seeds": 2}},
        "learning-curve-4x4": {"data": _TEST_SAMPLING, "per_class": [20, 40], "sets": 2, "train": _TRAIN_TEST},
        "regression-4x4": {"data": _TEST_SAMPLING, "train": _TRAIN_TEST},
        "phase-4x4": {"L": 4, "T": "1.5:3.5:0.5", "sweeps": 200, "chains": 32, "seed": 0},
        "phase-4x4-learned": {"data": _TEST_SAMPLING, "train": _TRAIN_TEST,
                              "mc": {"T": "1.5:3.5:0.5", "sweeps": 50, "chains": 8, "seed": 0}},
        "ising-8x8": {**_ISING8_TEST, "train": _TRAIN_TEST},
        "learning-curve-8x8": {**_ISING8_TEST, "n_train": [300], "train": _TRAIN_TEST},
        "phase-8x8-learned": {**_ISING8_TEST, "train": _TRAIN_TEST,
                              "mc": {"T": "1.5:3.5:1", "chains": 2, "sweeps": 3, "seed": 0}},
        "baselines-8x8": {"krr_max": 500, **_ISING8_TEST, "train": _TRAIN_TEST,
                          "rf_grid": {"n_estimators": [10], "max_features": [1.0, 0.33], "min_samples_leaf": [1]}},
        "coulomb-regression": _COULOMB_TEST,
        "sinusoidal-regression": {**_COULOMB_TEST, "hamiltonian": "sinusoidal-coulomb"},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 1200, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": _TRAIN_TEST},
        "phase-8x8": {"L": 8, "T": "1.5:3.5:0.5", "sweeps": 200, "chains": 32, "seed": 0},
        "coulomb-mc": {"L": 4, "T": "0.5:4:0.5", "chains": 16, "sweeps": 100, "seed": 0},
        "coulomb-learned": {"regression": _COULOMB_TEST,
                            "thermal": {"chains": 8, "samples": 20, "burn_in": 10, "thin": 1, "seed": 2,
                                        "test_fraction": 1 / 6},
                            "finetune": {**_TRAIN_TEST, "batch_size": 50, "learning_rate": 3e-4},
                            "mc": {"T": "1:3:1", "chains": 2, "sweeps": 3, "seed": 0}},
        "kernels-9x9": {"samples": 300, "epochs": 1, "seed": 0, "steps": 3},
        "adadelta-protocol": {"data": _TEST_SAMPLING, "ising8": _ISING8_TEST, "train": {**_ADADELTA_PAPER, **_TRAIN_TEST},
                              "unit_rate": {**_ADADELTA_UNIT, **_TRAIN_TEST}, "ours_4x4": _TRAIN_TEST,
                              "ours_8x8": _TRAIN_TEST},
        **_extensive(_EXT_TRAIN_SMOKE, _EXT_SMOKE_TEST, _EXT_SMOKE_TEST,
                     {"T": "1.5:3.5:1.0", "chains": 2, "sweeps": 4, "seed": 0},
                     ising_sizes=(8, 16), coulomb_sizes=(8, 16), mc_sizes=(8,)),
    },
}


def params(profile: str, stage: str, overrides: dict | None = None) -> dict:
    """The parameters of ``stage`` under ``profile``, with ``overrides`` (:func:`parse_overrides`) applied."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    result = copy.deepcopy(PROFILES[profile][stage])
    for path, value in (overrides or {}).get(stage, {}).items():
        _current_value(result, path[:-1], f"stage {stage!r}")[path[-1]] = value
    return result


def parse_overrides(profile: str, assignments) -> dict:
    """``["STAGE.KEY[.SUBKEY...]=VALUE", ...]`` as ``{stage: {(KEY, SUBKEY, ...): value}}``.

    ``VALUE`` is read as JSON (``500``, ``0.25``, ``"0.5:5:0.1"``), else taken as a string. Only
    parameters the profile already has can be set (a typo is a ``ValueError``, not a silently unused
    parameter), and only to a value of the same type. A result made with an override has its own
    cache key: a later run finds it only with the same override, or once the profile carries the value.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    out: dict = {}
    for text in assignments or ():
        target, sep, raw = str(text).partition("=")
        stage, _, dotted = target.partition(".")
        if not sep or not dotted:
            raise ValueError(f"--set takes STAGE.KEY=VALUE (e.g. phase-8x8-learned.mc.sweeps=500), got {text!r}")
        if stage not in PROFILES[profile]:
            raise ValueError(f"--set {text!r}: unknown stage {stage!r}; choose from {', '.join(PROFILES[profile])}")
        path = tuple(dotted.split("."))
        current = _current_value(PROFILES[profile][stage], path, f"--set {text!r}: stage {stage!r} of profile "
                                 f"{profile!r}")
        value = _same_type(raw, current, f"--set {text!r}: {dotted}")
        check_value(path[-1], value, current, f"--set {text!r}")
        out.setdefault(stage, {})[path] = value
    return out


#: Parameters that may be 0 where the profile has them positive (no burn-in; seed 0).
MAY_BE_ZERO = ("burn_in", "seed")
#: Parameters that are fractions, in (0, 1].
FRACTIONS = ("test_fraction",)


def check_value(key: str, value, current, where: str) -> None:
    """Refuse, before any stage runs, a value the stage could not use: a count, size or rate that the
    profile has positive must stay positive (``>= 0`` for :data:`MAY_BE_ZERO`), a fraction must lie in
    (0, 1], temperatures must parse, a Hamiltonian must be known (``epochs=0`` would otherwise fail
    inside the stage, after the stages before it ran)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if current:
                check_value(key, item, current[min(i, len(current) - 1)], where)
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(current, (int, float)):
        if key in FRACTIONS and not 0 < value <= 1:
            raise ValueError(f"{where}: {key} must lie in (0, 1], got {value!r}")
        if current > 0 and (value < 0 if key in MAY_BE_ZERO else value <= 0):
            bound = ">= 0" if key in MAY_BE_ZERO else "> 0"
            raise ValueError(f"{where}: {key} must be {bound} (the profile has {current!r}), got {value!r}")
    elif key == "T" and isinstance(value, str):
        from ..mc.temperatures import parse_temperatures

        try:
            parse_temperatures(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif key == "hamiltonian" and isinstance(value, str):
        from ..hamiltonians import HAMILTONIANS

        if value not in HAMILTONIANS:
            raise ValueError(f"{where}: hamiltonian must be one of {', '.join(HAMILTONIANS)}, got {value!r}")


def _current_value(params: dict, path: tuple, where: str):
    """The profile's value at ``path`` in ``params`` (``ValueError`` naming the first missing key)."""
    node = params
    for i, part in enumerate(path):
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(node) if isinstance(node, dict) else "none (not a group)"
            raise ValueError(f"{where} has no parameter {'.'.join(path[:i + 1])!r} (known here: {known})")
        node = node[part]
    return node


def _same_type(raw: str, current, where: str):
    """``raw`` read as JSON (else as a string), as the type of ``current`` (an int also serves a float)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    widened = isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool)
    if isinstance(current, dict) or (type(value) is not type(current) and not widened):
        raise ValueError(f"{where} is {type(current).__name__} {current!r} in the profile; "
                         f"got {type(value).__name__} {value!r}")
    return float(value) if widened else value


def assignments(overrides: dict, stage: str) -> list[str]:
    """The ``STAGE.KEY=VALUE`` texts of ``stage``'s entries in ``overrides`` (:func:`parse_overrides`)."""
    return [f"{stage}.{'.'.join(path)}={json.dumps(value)}" for path, value in overrides.get(stage, {}).items()]
