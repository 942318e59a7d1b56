"""The extensive surrogate: equivariance, receptive radius, size transfer, save/load, evaluate CLI."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("keras", reason="the surrogate extra (keras + a backend) is not installed")

import deepspin  # noqa: E402
from deepspin import cli  # noqa: E402
from deepspin.surrogate import load, model_io  # noqa: E402
from deepspin.surrogate.architectures import paper_cnn  # noqa: E402
from deepspin.surrogate.extensive import build_extensive, receptive_radius, site_energies  # noqa: E402
from deepspin.sampling.labelled import labelled_configs  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit_sizes  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def random_weights(model, seed=0):
    """Every weight drawn at random (the shipped initialisers zero the pair and field layers)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def spins(rng, B, L):
    return rng.choice(np.array([-1, 1], np.int8), size=(B, L, L))


def test_translation_equivariance_of_site_energies(rng):
    model = random_weights(build_extensive(convs=((3, 6, 1), (3, 6, 2)), head=(5,)))
    x = spins(rng, 3, 12)
    e = site_energies(model, x)
    shifted = site_energies(model, np.roll(x, (3, -5), axis=(1, 2)))
    np.testing.assert_allclose(shifted, np.roll(e, (3, -5), axis=(1, 2)), atol=1e-5)
    total = np.asarray(model.predict(x.astype(np.float32), verbose=0)).ravel()
    np.testing.assert_allclose(e.sum(axis=(1, 2)), total, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(shifted.sum(axis=(1, 2)), total, rtol=1e-5, atol=1e-4)


def test_receptive_radius_matches_a_flipped_spin(rng):
    model = random_weights(build_extensive(convs=((3, 4, 1), (5, 4, 2)), head=()), seed=1)
    R = receptive_radius(model)
    assert R == 1 + 2 * 2
    x = spins(rng, 1, 16)
    base = site_energies(model, x)[0]
    for distance, changes in ((R, True), (R + 1, False)):
        flipped = x.copy()
        flipped[0, (0 + distance) % 16, 3] *= -1  # Chebyshev distance `distance` from site (0, 3)
        delta = abs(site_energies(model, flipped)[0][0, 3] - base[0, 3])
        assert (delta > 1e-6) == changes, (distance, delta)


@pytest.fixture(scope="module")
def ising8(tmp_path_factory):
    """A small extensive model trained on 8x8 Ising only (uniform + Metropolis data), saved."""
    H = deepspin.hamiltonian("ising", 8)
    data = labelled_configs(H, 4000, (1.5, 2.27, 3.5), 200, 100, seed=3)
    config = TrainConfig(target="energy", arch="extensive", epochs=15, batch_size=32, learning_rate=3e-2,
                         strategy="none", seed=0)
    model, history = fit_sizes([data], config, layers={"convs": ((3, 4, 1),), "head": ()}, verbose=0)
    path = tmp_path_factory.mktemp("ext") / "ising8.keras"
    model_io.save(model, path, {"target": "energy", "arch": "extensive", "hamiltonian": "ising", "L": 8,
                                "params": {"J": 1.0}, "train_sizes": [8]})
    return model, path


def test_trained_on_8x8_predicts_ordered_32x32(ising8):
    model, _ = ising8
    up = np.ones((32, 32), np.int8)
    checkerboard = np.where(np.indices((32, 32)).sum(axis=0) % 2 == 0, 1, -1).astype(np.int8)
    H = deepspin.hamiltonian("ising", 32)
    exact = H.energy(np.stack([up, checkerboard])) / 1024
    np.testing.assert_allclose(exact, [-2.0, 2.0])
    predicted = np.asarray(model.predict(np.stack([up, checkerboard]).astype(np.float32), verbose=0)).ravel() / 1024
    np.testing.assert_allclose(predicted, exact, atol=1e-2)


def test_save_load_predicts_any_L_the_same(ising8, rng):
    model, path = ising8
    x12 = spins(rng, 5, 12)
    before = np.asarray(model.predict(x12.astype(np.float32), verbose=0)).ravel()
    op = load(path)
    assert op.L is None and op.receptive_radius == 1 and op.train_sizes == [8]
    np.testing.assert_allclose(op.energy(x12), before, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(op.site_energies(x12).sum(axis=(1, 2)), before, rtol=1e-5, atol=1e-4)
    assert isinstance(op.energy(x12[0]), float)
    truth = deepspin.hamiltonian("ising", 12).energy(x12)
    assert np.abs(op.energy(x12) - truth).max() / 144 < 2e-2


def test_jax_backend_loads_and_predicts_the_same(ising8, rng, tmp_path):
    pytest.importorskip("jax", reason="JAX is not installed")
    _, path = ising8
    x = spins(rng, 4, 10)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np; from deepspin.surrogate import load; op = load(sys.argv[1]); "
            "np.save(sys.argv[3], op.energy(np.load(sys.argv[2])))")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT / "python")}
    subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "x.npy"), str(tmp_path / "e.npy")],
                   check=True, env=env, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "e.npy"), load(path).energy(x), rtol=1e-5, atol=1e-4)


def test_evaluate_cli_reports_per_site_errors_at_another_L(ising8, tmp_path, capsys):
    from deepspin.datasets import generate

    _, path = ising8
    data = generate(deepspin.hamiltonian("ising", 16), "uniform", tmp_path / "ising16.h5", seed=5, n=200,
                    test_fraction=0.5)
    assert cli.main(["evaluate", str(path), str(data), "--json", str(tmp_path / "m.json")]) == 0
    out = capsys.readouterr().out
    assert "L=16" in out and "trained on L=8" in out and "J per site" in out and "max |error| per site" in out
    import json

    result = json.loads((tmp_path / "m.json").read_text())
    assert result["units"] == "J per site" and result["mae"] < 1e-2


def test_paper_architecture_rejects_another_L(tmp_path, rng):
    model = paper_cnn(8, "regression")
    path = model_io.save(model, tmp_path / "paper8.keras", {"target": "energy", "hamiltonian": "ising", "L": 8,
                                                            "params": {}})
    op = load(path)
    with pytest.raises(ValueError, match="has L=8 and takes only its training size.*L=16.*extensive"):
        op.energy(spins(rng, 2, 16))
    with pytest.raises(ValueError, match="arch 'extensive' learns energies"):
        TrainConfig(target="class", arch="extensive")


def test_train_cli_arch_extensive(tmp_path):
    from deepspin.datasets import generate

    data = generate(deepspin.hamiltonian("ising", 8), "uniform", tmp_path / "ising8.h5", seed=2, n=400)
    out = tmp_path / "m.keras"
    assert cli.main(["train", str(data), "--target", "energy", "--arch", "extensive", "--epochs", "2",
                     "--batch-size", "64", "--quiet", "-o", str(out)]) == 0
    op = load(out)
    assert op.metadata["arch"] == "extensive" and op.train_sizes == [8] and op.receptive_radius == 1
    assert op.energy(np.ones((6, 6), np.int8)) == pytest.approx(float(op.site_energies(np.ones((6, 6), np.int8)).sum()),
                                                                rel=1e-5)
