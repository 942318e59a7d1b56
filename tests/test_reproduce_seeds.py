"""Training seeds, baselines and convergence criteria of ``deepspin reproduce`` (no network training)."""
from __future__ import annotations

import numpy as np
import pytest

from deepspin.hamiltonians import Ising
from deepspin.reproduce.artefacts import seed_trainings
from deepspin.reproduce.learned import seeded_row
from deepspin.surrogate.evaluate import (CONVERGED_STEPS, configuration_name, converged, level_offsets,
                                       misses_text)
from deepspin.reproduce.profiles import PROFILES


def test_seed_trainings_offset_the_seed_and_drop_the_count():
    runs = seed_trainings({"epochs": 5, "seed": 7, "seeds": 3})
    assert runs == [{"epochs": 5, "seed": 7}, {"epochs": 5, "seed": 8}, {"epochs": 5, "seed": 9}]
    # without "seeds": one run, the dict itself (seed 0 of a seeded profile is the same model)
    assert seed_trainings({"epochs": 5, "seed": 7}) == [{"epochs": 5, "seed": 7}]
    with pytest.raises(ValueError, match="positive integer"):
        seed_trainings({"seed": 0, "seeds": 0})


def test_seeded_row_holds_mean_sample_std_and_count():
    row = seeded_row("x", [1.0, 2.0, 6.0], unit="%")
    assert row.ours == pytest.approx(3.0)
    assert row.spread == pytest.approx(np.sqrt(((1 - 3) ** 2 + (2 - 3) ** 2 + (6 - 3) ** 2) / 2))  # ddof = 1
    assert row.seeds == 3 and "3 training seeds" in row.study
    single = seeded_row("x", [4.0])
    assert single.spread is None and single.seeds == 1


def test_profiles_train_every_network_with_several_seeds():
    for profile, expected in (("paper", 3), ("quick", 3), ("smoke", 1)):  # smoke: one seed (two in coulomb-regression)
        for stage in ("classify-4x4", "learning-curve-4x4", "regression-4x4", "ising-8x8", "learning-curve-8x8",
                      "baselines-8x8", "coulomb-regression", "sinusoidal-regression", "potts-regression"):
            params = PROFILES[profile][stage]
            for train in (params["train"], params.get("train_class", params["train"])):
                assert train["seeds"] == (2 if (profile, stage) == ("smoke", "coulomb-regression") else expected)


def test_converged_needs_a_million_steps_and_a_flat_loss():
    flat = np.full(100, 0.5)
    assert converged(flat, CONVERGED_STEPS)[0]
    done, text = converged(flat, CONVERGED_STEPS - 1)
    assert not done and text.startswith(f"inconclusive: {CONVERGED_STEPS - 1:,} steps")
    # 1/epoch decay: the last 10 epochs of 100 change by ~5 % between their halves
    falling = 1.0 / np.arange(1, 101)
    assert not converged(falling, 10 * CONVERGED_STEPS)[0]
    # within 1 %: 0.5 and 0.504 differ by 0.8 %
    assert converged(np.r_[np.ones(90), np.full(5, 0.5), np.full(5, 0.504)], CONVERGED_STEPS)[0]


def test_level_offsets_by_level():
    exact = np.array([-8.0, -8.0, 0.0, 0.0, 0.0, 8.0])
    predicted = exact + np.array([1.0, 3.0, -1.0, 0.0, 1.0, 0.5])
    out = level_offsets(exact, predicted)
    assert [o["E"] for o in out] == [-8.0, 0.0, 8.0]
    assert [o["n"] for o in out] == [2, 3, 1]
    assert [o["mean"] for o in out] == pytest.approx([2.0, 0.0, 0.5])
    assert out[0]["std"] == pytest.approx(np.sqrt(2.0)) and out[1]["std"] == pytest.approx(1.0)
    assert out[2]["std"] is None


def test_misses_name_the_configuration_and_count_its_training_copies():
    L = 4
    down, up = -np.ones((L, L), np.int8), np.ones((L, L), np.int8)
    checker = np.where(np.add.outer(np.arange(L), np.arange(L)) % 2 == 0, 1, -1).astype(np.int8)
    assert (configuration_name(down), configuration_name(up), configuration_name(-checker)) == \
        ("all-down", "all-up", "a checkerboard")
    other = up.copy()
    other[0, 0] = -1
    assert configuration_name(other) is None
    test = np.stack([down] * 5 + [other, up])
    train = np.stack([up, up, other])
    wrong = [np.r_[np.ones(5, bool), False, False], np.r_[np.ones(5, bool), True, False]]
    text = misses_text(test, wrong, train)
    assert "5, 6 misses per seed are 2 distinct configurations" in text
    assert "1 of them absent from training" in text
    assert "all-down (5 test copies, 0 in training; missed by 2 of 2 seeds)" in text
    energy = int(Ising(L).energy(other))
    assert f"E = {energy} J (1 test copies, 1 in training; missed by 1 of 2 seeds)" in text
    assert misses_text(test, [np.zeros(7, bool)], train) == "no misses"


def test_linear_kernel_ridge_predicts_about_the_mean_of_ising_energies():
    """The Ising energy is even in the spins, so its best linear fit in the spins is a constant: scikit-learn's
    default (linear) KernelRidge does no better than the training mean, the RBF kernel much better."""
    pytest.importorskip("sklearn")
    from deepspin.surrogate.baselines import MeanPredictor, kernel_ridges

    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], np.int8), size=(1500, 4, 4))
    energy = Ising(4).energy(spins)
    x = spins.reshape(len(spins), -1).astype(np.float64)
    train, test = slice(0, 1000), slice(1000, None)
    errors = {name: np.median(np.abs(model.fit(x[train], energy[train]).predict(x[test]) - energy[test]))
              for name, model in {**kernel_ridges(), "mean": MeanPredictor()}.items()}
    assert errors["krr"] == pytest.approx(errors["mean"], rel=0.15)
    assert errors["krr_rbf"] < 0.5 * errors["mean"]


def test_tuned_forest_chooses_on_the_validation_split():
    pytest.importorskip("sklearn")
    from deepspin.surrogate.baselines import tuned_forest

    rng = np.random.default_rng(1)
    x = rng.normal(size=(400, 3))
    y = np.sign(x[:, 0])  # a step: leaves of 150 samples cannot resolve it, leaves of 1 can
    forest, chosen, scores = tuned_forest(x, y, {"n_estimators": [10], "min_samples_leaf": [1, 150]}, seed=0)
    assert chosen == {"n_estimators": 10, "min_samples_leaf": 1}
    assert len(scores) == 2 and scores[0][1] < scores[1][1]
    assert forest.min_samples_leaf == 1
    with pytest.raises(ValueError, match="non-empty"):
        tuned_forest(x, y, {"n_estimators": []})


def test_spin_flip_symmetric_classifier_is_even_and_round_trips(tmp_path):
    pytest.importorskip("keras")
    from deepspin.surrogate.architectures import paper_cnn, spin_flip_symmetric
    from deepspin.surrogate.model_io import load, save

    model = spin_flip_symmetric(4, n_classes=15)
    spins = np.random.default_rng(2).choice(np.array([-1.0, 1.0], np.float32), size=(6, 4, 4))
    up, down = model.predict(spins, verbose=0), model.predict(-spins, verbose=0)
    assert up.shape == (6, 15)
    np.testing.assert_allclose(up, down, atol=1e-6)
    np.testing.assert_allclose(up.sum(axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(up[0], up[1])  # not a constant: the two evaluations share one trainable body
    # one body: the parameters of the paper's classifier, not twice them
    assert model.count_params() == paper_cnn(4, "class", n_classes=15).count_params()
    save(model, tmp_path / "m.keras", {"target": "class", "L": 4})
    loaded, meta = load(tmp_path / "m.keras")
    assert meta["L"] == 4
    np.testing.assert_allclose(loaded.predict(spins, verbose=0), up, atol=1e-6)


def test_training_seeds_share_one_subset_of_the_train_split():
    from deepspin.reproduce.artefacts import trained_models

    class Keys:  # records what each model's artefact would be keyed by, builds nothing
        def __init__(self):
            self.keys = []

        def artefact(self, kind, params, build, suffix):
            self.keys.append(params)
            return params

    ctx = Keys()
    trained_models(ctx, {"L": 8}, "class", {"seed": 4, "seeds": 3}, n_train=300)
    assert [k["train"]["seed"] for k in ctx.keys] == [4, 5, 6]
    assert {k["subset_seed"] for k in ctx.keys} == {4} and {k["n_train"] for k in ctx.keys} == {300}
    ctx = Keys()
    trained_models(ctx, {"L": 8}, "class", {"seed": 4, "seeds": 2})
    assert all("subset_seed" not in k and "n_train" not in k for k in ctx.keys)
