"""Sizes of every stage per profile, in one place.

- ``paper``: the paper's sizes (400 chains; 12,500 uniform and 3 x 27,000 targeted 4x4 examples;
  Monte Carlo long enough for curves as smooth as the paper's). Meant for a GPU; runs on a CPU too.
- ``quick``: the same studies, smaller where it costs time (fewer sweeps and temperatures), to finish
  on a 2-core CPU within 30 minutes; the report lists these sizes.
- ``test``: tiny sizes for the test suite (seconds).
"""
from __future__ import annotations

_ISING_MC = {"chains": 400, "seed": 0}
#: Training as the surrogate's defaults (Adam 1e-3, periodic padding, batch 800, early stopping).
_TRAIN_PAPER = {"epochs": 100, "patience": 10, "batch_size": 800, "seed": 0}
_TRAIN_QUICK = {"epochs": 12, "patience": 4, "batch_size": 800, "seed": 0}
_SAMPLING = {"uniform_n": 12_500, "per_class": 1800, "targeted_sets": 3, "extreme": 16, "seed": 1}

_TEST_SAMPLING = {"uniform_n": 2000, "per_class": 40, "targeted_sets": 2, "extreme": 16, "seed": 1}
_TRAIN_TEST = {"epochs": 1, "patience": 1, "batch_size": 100, "seed": 0}

#: Extensive surrogates (issue 9): training as the shipped models (surrogate.pretrained), test sets per L.
_EXT_TRAIN = {"seed": 0}
_EXT_TRAIN_SMOKE = {"n_uniform": 400, "chains": 16, "sweeps": 20, "epochs": 1, "seed": 0}
_EXT_ISING_TEST = {"uniform": 500, "T": [2.0, 2.269, 2.6], "chains": 100, "sweeps": 200}
_EXT_COULOMB_TEST = {"uniform": 200, "T": [0.5, 1.0, 2.0], "chains": 16, "sweeps": 100}
_EXT_SMOKE_TEST = {"uniform": 20, "T": [2.0], "chains": 4, "sweeps": 5}

PROFILES = {
    "paper": {
        "hash-uniformity": {"L": 8, "n": 1_000_000, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _SAMPLING,
        "classify-4x4": {"data": _SAMPLING, "train": _TRAIN_PAPER},
        "learning-curve-4x4": {"data": _SAMPLING, "per_class": [60, 200, 600, 1200, 1800], "train": _TRAIN_PAPER},
        "phase-4x4": {"L": 4, "T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC},
        "phase-4x4-learned": {"data": _SAMPLING, "train": _TRAIN_PAPER,
                              "mc": {"T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC}},
        "ising-8x8": {"per_class": 2381, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_PAPER},
        "baselines-8x8": {"krr_max": 10_000, "per_class": 2381, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_PAPER},
        "coulomb-regression": {"hamiltonian": "screened-coulomb", "L": 8, "n": 120_000, "test_fraction": 1 / 6,
                               "metric": "median_abs_error", "seed": 1, "train": _TRAIN_PAPER},
        "sinusoidal-regression": {"hamiltonian": "sinusoidal-coulomb", "L": 8, "n": 120_000, "test_fraction": 1 / 6,
                                  "metric": "median_abs_error", "seed": 1, "train": _TRAIN_PAPER},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 556_000, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": _TRAIN_PAPER},
        "phase-8x8": {"L": 8, "T": "0.5:5:0.1", "sweeps": 10_000, **_ISING_MC},
        "coulomb-mc": {"L": 8, "T": "0.1:10:0.1", "chains": 400, "sweeps": 2000, "seed": 0},
        "extensive-ising": {"hamiltonian": "ising", "params": {}, "train": _EXT_TRAIN, "sizes": [8, 16, 32, 64, 128],
                            "test": {**_EXT_ISING_TEST, "uniform": 2000, "chains": 400}},
        "extensive-coulomb": {"hamiltonian": "screened-coulomb", "params": {"k": 0.5}, "train": _EXT_TRAIN,
                              "sizes": [8, 16, 32, 64], "test": {**_EXT_COULOMB_TEST, "uniform": 1000, "chains": 50}},
        "extensive-mc": {"train": _EXT_TRAIN, "sizes": [16, 32],
                         "mc": {"T": "1.5:3.5:0.1", "chains": 400, "sweeps": 2000, "seed": 0}},
    },
    "quick": {
        "hash-uniformity": {"L": 8, "n": 1_000_000, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _SAMPLING,
        "classify-4x4": {"data": _SAMPLING, "train": _TRAIN_QUICK},
        "learning-curve-4x4": {"data": _SAMPLING, "per_class": [60, 300, 1800], "train": _TRAIN_QUICK},
        "phase-4x4": {"L": 4, "T": "1:4:0.1", "sweeps": 2000, **_ISING_MC},
        "phase-4x4-learned": {"data": _SAMPLING, "train": _TRAIN_QUICK,
                              "mc": {"T": "1:4:0.1", "sweeps": 1000, **_ISING_MC}},
        "ising-8x8": {"per_class": 500, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_QUICK},
        "baselines-8x8": {"krr_max": 5000, "per_class": 500, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_QUICK},
        "coulomb-regression": {"hamiltonian": "screened-coulomb", "L": 8, "n": 24_000, "test_fraction": 1 / 6,
                               "metric": "median_abs_error", "seed": 1, "train": {**_TRAIN_QUICK, "epochs": 15}},
        "sinusoidal-regression": {"hamiltonian": "sinusoidal-coulomb", "L": 8, "n": 24_000, "test_fraction": 1 / 6,
                                  "metric": "median_abs_error", "seed": 1, "train": {**_TRAIN_QUICK, "epochs": 15}},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 24_000, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": {**_TRAIN_QUICK, "epochs": 15}},
        "phase-8x8": {"L": 8, "T": "1:4:0.1", "sweeps": 2000, **_ISING_MC},
        "coulomb-mc": {"L": 8, "T": "0.25:10:0.25", "chains": 400, "sweeps": 1000, "seed": 0},
        "extensive-ising": {"hamiltonian": "ising", "params": {}, "train": _EXT_TRAIN, "sizes": [8, 16, 32, 64, 128],
                            "test": _EXT_ISING_TEST},
        "extensive-coulomb": {"hamiltonian": "screened-coulomb", "params": {"k": 0.5}, "train": _EXT_TRAIN,
                              "sizes": [8, 16, 32, 64], "test": _EXT_COULOMB_TEST},
        "extensive-mc": {"train": _EXT_TRAIN, "sizes": [16, 32],
                         "mc": {"T": "1.5:3.5:0.25", "chains": 16, "sweeps": 300, "seed": 0}},
    },
    "test": {
        "hash-uniformity": {"L": 8, "n": 8192, "seed": 1},
        "dos-4x4": {"L": 4},
        "sampling-4x4": _TEST_SAMPLING,
        "classify-4x4": {"data": _TEST_SAMPLING, "train": _TRAIN_TEST},
        "learning-curve-4x4": {"data": _TEST_SAMPLING, "per_class": [20, 40], "train": _TRAIN_TEST},
        "phase-4x4": {"L": 4, "T": "1.5:3.5:0.5", "sweeps": 200, "chains": 32, "seed": 0},
        "phase-4x4-learned": {"data": _TEST_SAMPLING, "train": _TRAIN_TEST,
                              "mc": {"T": "1.5:3.5:0.5", "sweeps": 50, "chains": 8, "seed": 0}},
        "ising-8x8": {"per_class": 20, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_TEST},
        "baselines-8x8": {"krr_max": 500, "per_class": 20, "test_fraction": 1 / 3, "seed": 1, "train": _TRAIN_TEST},
        "coulomb-regression": {"hamiltonian": "screened-coulomb", "L": 8, "n": 1200, "test_fraction": 1 / 6,
                               "metric": "median_abs_error", "seed": 1, "train": _TRAIN_TEST},
        "sinusoidal-regression": {"hamiltonian": "sinusoidal-coulomb", "L": 8, "n": 1200, "test_fraction": 1 / 6,
                                  "metric": "median_abs_error", "seed": 1, "train": _TRAIN_TEST},
        "potts-regression": {"hamiltonian": "potts", "L": 8, "n": 1200, "test_fraction": 0.1, "metric": "mae",
                             "seed": 1, "train": _TRAIN_TEST},
        "phase-8x8": {"L": 8, "T": "1.5:3.5:0.5", "sweeps": 200, "chains": 32, "seed": 0},
        "coulomb-mc": {"L": 4, "T": "0.5:4:0.5", "chains": 16, "sweeps": 100, "seed": 0},
        "extensive-ising": {"hamiltonian": "ising", "params": {}, "train": _EXT_TRAIN_SMOKE, "sizes": [8, 16],
                            "test": _EXT_SMOKE_TEST},
        "extensive-coulomb": {"hamiltonian": "screened-coulomb", "params": {"k": 0.5}, "train": _EXT_TRAIN_SMOKE,
                              "sizes": [8, 16], "test": _EXT_SMOKE_TEST},
        "extensive-mc": {"train": _EXT_TRAIN_SMOKE, "sizes": [8],
                         "mc": {"T": "1.5:3.5:1.0", "chains": 2, "sweeps": 4, "seed": 0}},
    },
}


def params(profile: str, stage: str) -> dict:
    """The parameters of ``stage`` under ``profile``."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return dict(PROFILES[profile][stage])
