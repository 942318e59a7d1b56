"""The paper's CNN, its custom layer, saving/loading, the operator, export and cross-backend loading."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras", reason="the surrogate extra (keras + tensorflow) is not installed")
pytest.importorskip("tensorflow", reason="the surrogate extra (tensorflow) is not installed")

import deepspin  # noqa: E402
from deepspin import cli  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402
from deepspin.surrogate import PeriodicPad2D, describe, load, model_io, paper_cnn  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit, training_metadata  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def paper_counts(n_classes, head_units=None):
    """Parameters and multiply-adds of the paper's layout, written out layer by layer."""
    # (H_out, C_in, C_out, k) of the 7 convolutions on a 16x16 input.
    convs = [(8, 1, 32, 3), (8, 32, 16, 4), (8, 16, 16, 4), (4, 16, 32, 3), (4, 32, 16, 4), (4, 16, 16, 4),
             (2, 16, 32, 3)]
    params = sum(k * k * cin * cout + cout for _, cin, cout, k in convs)
    macs = sum(h * h * cout * k * k * cin for h, cin, cout, k in convs)
    units = head_units or n_classes
    params += (2 * 2 * 32 + 1) * 1024 + (1024 + 1) * units
    macs += 2 * 2 * 32 * 1024 + 1024 * units
    return params, macs


@pytest.mark.parametrize("padding", ["zero", "periodic"])
def test_paper_cnn_8x8_has_the_papers_size(padding):
    model = paper_cnn(8, "class", padding)
    assert model.output_shape == (None, 63)
    assert describe(model) == {"params": 230_911, "macs": 1_289_216}
    assert (230_911, 1_289_216) == paper_counts(63)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [(c.kernel_size, c.filters, c.strides) for c in convs] == [
        ((3, 3), 32, (2, 2)), ((4, 4), 16, (1, 1)), ((4, 4), 16, (1, 1)), ((3, 3), 32, (2, 2)),
        ((4, 4), 16, (1, 1)), ((4, 4), 16, (1, 1)), ((3, 3), 32, (2, 2))]
    assert [tuple(c.output.shape[1:3]) for c in convs] == [(8, 8)] * 3 + [(4, 4)] * 3 + [(2, 2)]
    assert all(layer.activation.__name__ == "relu" for layer in convs)


def test_paper_cnn_4x4_upscales_by_four_and_regression_head():
    model = paper_cnn(4, "class")
    assert model.get_layer("upscale").output.shape[1:] == (16, 16, 1)
    assert (model.output_shape, describe(model)["params"]) == ((None, 15), paper_counts(15)[0])
    regressor = paper_cnn(8, "regression", target_scale=3.0, target_offset=-5.0)
    assert regressor.output_shape == (None, 1)
    assert describe(regressor)["params"] == paper_counts(None, head_units=1)[0]


def test_upscaling_repeats_rows_and_columns():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    model = paper_cnn(4, "class")
    up = keras.Model(model.input, model.get_layer("upscale").output)(x)
    np.testing.assert_array_equal(np.asarray(up)[0, :, :, 0], np.repeat(np.repeat(x[0], 4, axis=0), 4, axis=1))


@pytest.mark.parametrize("pad", [((1, 1), (1, 1)), ((0, 1), (0, 1)), ((1, 2), (2, 0))])
def test_periodic_pad_equals_numpy_wrap(pad):
    x = np.random.default_rng(0).normal(size=(2, 5, 6, 3)).astype(np.float32)
    expected = np.pad(x, ((0, 0), pad[0], pad[1], (0, 0)), mode="wrap")
    np.testing.assert_array_equal(np.asarray(PeriodicPad2D(pad)(x)), expected)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="odd L=5 has no Ising class"):
        paper_cnn(5, "class")
    with pytest.raises(ValueError, match="padding must be one of"):
        paper_cnn(4, "class", padding="reflect")
    with pytest.raises(ValueError, match="exceeds the feature-map size"):
        PeriodicPad2D(((3, 3), (0, 0)))(np.zeros((1, 2, 2, 1), np.float32))


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    """A 4x4 Ising classifier trained briefly on a class-balanced sample (600 per class)."""
    x = configurations(4)
    y = deepspin.ising_class(x)
    rng = np.random.default_rng(1)
    index = np.concatenate([rng.choice(np.flatnonzero(y == c), 600) for c in range(15)])
    config = TrainConfig(target="class", batch_size=400, epochs=6, seed=1, strategy="none")
    model, history = fit(x[index], y[index], config, verbose=0)
    path = tmp_path_factory.mktemp("model") / "ising4.keras"
    meta = {"L": 4, "hamiltonian": "ising", "params": {"J": 1.0}}
    model_io.save(model, path, training_metadata(config, meta, len(index), history, source="test"))
    return path, model, x, y


def test_short_training_beats_the_trivial_predictor(classifier):
    _, model, x, y = classifier
    predicted = model.predict(x.astype(np.float32), batch_size=4096, verbose=0).argmax(axis=1)
    trivial = np.bincount(y).max() / len(y)  # always the most common class: 20524 / 65536
    assert trivial == pytest.approx(0.3132, abs=1e-4)
    assert np.mean(predicted == y) > 0.85


def test_save_load_predict_identical_with_metadata(classifier):
    path, model, x, _ = classifier
    loaded, meta = model_io.load(path)
    batch = x[::97].astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(batch, verbose=0), model.predict(batch, verbose=0))
    assert (meta["target"], meta["L"], meta["hamiltonian"]) == ("class", 4, "ising")
    assert meta["training"]["n_train"] == 9000 and meta["training"]["padding"] == "periodic"
    # A plain Keras loader ignores the metadata member.
    plain = keras.saving.load_model(path)
    np.testing.assert_array_equal(plain.predict(batch, verbose=0), model.predict(batch, verbose=0))


def test_operator_energy_is_the_predicted_class_level(classifier):
    path, model, x, _ = classifier
    op = load(path, batch_size=1000)
    batch = x[::13]
    classes = model.predict(batch.astype(np.float32), verbose=0).argmax(axis=1)
    energies = op.energy(batch)
    assert energies.dtype == np.float64 and energies.shape == (len(batch),)
    np.testing.assert_array_equal(energies, -32.0 + 4.0 * np.array([0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
                                                                     16])[classes])
    np.testing.assert_array_equal(op(batch[:5]), energies[:5])
    assert op.energy(batch[0]) == energies[0]
    assert op.energy(np.zeros((0, 4, 4), np.int8)).shape == (0,)
    with pytest.raises(ValueError, match="this surrogate has L=4"):
        op.energy(np.ones((2, 8, 8), np.int8))
    with pytest.raises(ValueError, match="spins must be exactly"):
        op.energy(np.zeros((2, 4, 4), np.int8))
    assert not hasattr(op, "magnetization")  # the Monte Carlo engine then measures |m| from the spins


def test_tensorflow_model_predicts_the_same_under_jax(classifier, tmp_path):
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed (pip install jax) so the cross-backend check cannot run")
    path, model, x, _ = classifier
    batch = x[::16].astype(np.float32)
    np.save(tmp_path / "x.npy", batch)
    script = ("import sys, numpy as np, keras; import deepspin.surrogate as s; "
              "assert keras.backend.backend() == 'jax'; m, _ = s.model_io.load(sys.argv[1]); "
              "np.save(sys.argv[3], np.asarray(m.predict(np.load(sys.argv[2]), verbose=0)))")
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT / "python")}
    subprocess.run([sys.executable, "-c", script, str(path), str(tmp_path / "x.npy"), str(tmp_path / "y.npy")],
                   env=env, check=True, capture_output=True)
    expected = model.predict(batch, verbose=0)
    np.testing.assert_allclose(np.load(tmp_path / "y.npy"), expected, atol=2e-5)  # float32 rounding
    np.testing.assert_array_equal(np.load(tmp_path / "y.npy").argmax(axis=1), expected.argmax(axis=1))


def test_saved_model_export_predicts_like_keras(classifier, tmp_path):
    import tensorflow as tf

    path, model, x, _ = classifier
    out = tmp_path / "exported"
    assert cli.main(["export", str(path), "--format", "saved_model", "-o", str(out)]) == 0
    batch = x[::41].astype(np.float32)
    exported = tf.saved_model.load(str(out))  # keep a reference: its variables die with it
    served = exported.serve(tf.constant(batch)).numpy()
    np.testing.assert_allclose(served, model.predict(batch, verbose=0), atol=1e-6)
    assert cli.main(["export", str(path), "--format", "saved_model", "-o", str(out)]) == 2  # exists


def test_onnx_export_predicts_like_keras(classifier, tmp_path):
    missing = [m for m in ("tf2onnx", "onnx", "onnxruntime") if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"ONNX export check needs {', '.join(missing)} (not installed here)")
    import onnxruntime

    path, model, x, _ = classifier
    out = tmp_path / "model.onnx"
    assert cli.main(["export", str(path), "--format", "onnx", "-o", str(out)]) == 0
    batch = x[::41].astype(np.float32)
    session = onnxruntime.InferenceSession(str(out))
    served = session.run(None, {session.get_inputs()[0].name: batch})[0]
    np.testing.assert_allclose(served, model.predict(batch, verbose=0), atol=1e-5)


def test_cli_evaluate_all_configs(classifier, tmp_path, capsys):
    path, model, x, y = classifier
    report = tmp_path / "metrics.json"
    assert cli.main(["evaluate", str(path), "--all-configs", "--json", str(report),
                     "--plots", str(tmp_path / "fig")]) == 0
    result = json.loads(report.read_text())
    predicted = model.predict(x.astype(np.float32), batch_size=4096, verbose=0).argmax(axis=1)
    assert result["n"] == 65536
    assert result["accuracy"] == pytest.approx(np.mean(predicted == y))
    assert result["off_by_one"] == pytest.approx(np.mean(np.abs(predicted - y) == 1))
    assert result["max_class_error"] == np.abs(predicted - y).max()
    assert {"median_abs_error", "mae", "rmse", "per_class"} <= set(result)
    assert (tmp_path / "fig_parity.png").stat().st_size > 0 and (tmp_path / "fig_classes.png").stat().st_size > 0
    assert "accuracy" in capsys.readouterr().out


def test_importing_deepspin_and_its_cli_loads_no_ml_framework():
    script = ("import sys, deepspin, deepspin.cli; deepspin.cli.build_parser(); "
              "print(sorted(m for m in ('keras', 'tensorflow', 'sklearn', 'jax') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "python")}).stdout
    assert out.strip() == "[]"


def test_magnetization_surrogate_is_not_an_energy_operator():
    from deepspin.surrogate.operator import MagnetizationSurrogate, operator

    model = paper_cnn(4, "regression", target_scale=0.5, target_offset=0.0)
    op = operator(model, {"target": "magnetization", "L": 4})
    assert isinstance(op, MagnetizationSurrogate)
    x = configurations(4)[:10]
    m = op.magnetization(x)
    np.testing.assert_allclose(m, model.predict(x.astype(np.float32), verbose=0)[:, 0], rtol=1e-6)
    assert m.dtype == np.float64 and isinstance(op.magnetization(x[0]), float)
    assert not hasattr(op, "energy") and not callable(op)
    with pytest.raises(ValueError, match="carries no deepspin metadata"):
        operator(model, {})
