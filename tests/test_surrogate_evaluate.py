"""Error metrics of surrogates and the scikit-learn baselines, on hand-computed cases."""
import numpy as np
import pytest

pytest.importorskip("keras", reason="the surrogate extra (keras + tensorflow) is not installed")
pytest.importorskip("sklearn", reason="scikit-learn (surrogate extra) is not installed")

import deepspin  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402
from deepspin.surrogate.baselines import featurize, kernel_ridges, krr_subset, to_classes, tuned_forest  # noqa: E402
from deepspin.surrogate.evaluate import metrics  # noqa: E402


def test_classifier_metrics_by_hand():
    truth = np.array([0, 1, 2, 7, 7, 14])
    predicted = np.array([0, 2, 2, 7, 4, 14])
    result = metrics("class", truth, predicted, L=4)
    assert result["n"] == 6
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["off_by_one"] == pytest.approx(1 / 6)
    assert result["max_class_error"] == 3
    # Levels of 4x4: class 1 = -24, class 2 = -20, class 4 = -12, class 7 = 0 (J).
    errors = np.array([0, 4, 0, 0, 12, 0], float)
    assert result["median_abs_error"] == 0.0
    assert result["mae"] == pytest.approx(errors.mean())
    assert result["rmse"] == pytest.approx(np.sqrt(np.mean(errors ** 2)))
    by_class = {row["class"]: row for row in result["per_class"]}
    assert by_class[7] == {"class": 7, "energy": 0.0, "n": 2, "accuracy": 0.5}
    assert by_class[1]["accuracy"] == 0.0 and by_class[1]["energy"] == -24.0


def test_regression_metrics_by_hand():
    result = metrics("energy", np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.5, 2.0, 1.0, 4.0]))
    assert (result["median_abs_error"], result["mae"], result["max_abs_error"]) == (0.25, 0.625, 2.0)
    assert result["rmse"] == pytest.approx(np.sqrt((0.25 + 4.0) / 4))
    assert "accuracy" not in result and result["units"] == "J"
    assert metrics("magnetization", np.zeros(2), np.ones(2))["units"] == "per site"
    with pytest.raises(ValueError, match="equal-length"):
        metrics("energy", np.zeros(3), np.zeros(4))


def test_to_classes_rounds_to_the_nearest_level():
    np.testing.assert_array_equal(to_classes(np.array([-40.0, -29.0, -27.5, 1.9, 2.1, 99.0]), 4), [0, 0, 1, 7, 8, 14])


def test_krr_subset_caps_with_a_message():
    keep, message = krr_subset(50, 100, seed=0)
    assert message is None and len(keep) == 50
    keep, message = krr_subset(20_000, 1000, seed=0)
    assert len(np.unique(keep)) == 1000 and "3.2 GB" in message and "--krr-max" in message


def test_random_forest_beats_the_mean_on_ising_energies():
    x = configurations(4)
    energies = deepspin.Ising(4).energy(x)
    order = np.random.default_rng(0).permutation(len(x))
    train, test = order[:3000], order[3000:5000]  # disjoint: the forest is scored on configurations it never saw
    assert len(np.intersect1d(train, test)) == 0
    forest = tuned_forest(featurize(x[train]), energies[train], {"n_estimators": [30]}, seed=0)[0]
    mae = np.mean(np.abs(forest.predict(featurize(x[test])) - energies[test]))
    baseline = np.mean(np.abs(energies[train].mean() - energies[test]))
    assert mae < 0.8 * baseline


def test_krr_fits_its_cholesky_on_one_blas_thread(monkeypatch):
    """Threaded OpenBLAS dpotrf crashes (segfault) from n ~ 16,000 here, so the KRR fit runs BLAS on one
    thread; its predictions are those of plain scikit-learn KernelRidge."""
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.linear_model import _ridge
    from threadpoolctl import threadpool_info

    seen = []
    solve = _ridge.linalg.solve

    def recording_solve(*args, **kwargs):
        seen.append([pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"])
        return solve(*args, **kwargs)

    monkeypatch.setattr(_ridge.linalg, "solve", recording_solve)
    rng = np.random.default_rng(0)
    x, y = rng.choice([-1.0, 1.0], size=(300, 16)), rng.standard_normal(300)
    ours = kernel_ridges()["krr_rbf"].fit(x, y)
    assert seen and all(threads == 1 for threads in seen[0])
    plain = KernelRidge(kernel="rbf", alpha=1e-3).fit(x, y)
    np.testing.assert_allclose(ours.predict(x[:50]), plain.predict(x[:50]), rtol=1e-10, atol=1e-12)
