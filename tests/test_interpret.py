"""``deepspin.surrogate.interpret`` and ``deepspin interpret``: demonstration CNN, kernel grid, activation maximisation.

Closed forms used: for a convolution whose stride equals its kernel size (the paper's
demonstration network) every position sees its own block ``x_p``, so the channel's output
``relu(w . x_p + b)`` over ``x_p in [-1, 1]^9`` is largest at ``x_p = sign(w)`` with value
``relu(|w|_1 + b)``; a position whose ReLU is inactive has zero gradient.
"""
import importlib.util
import json
import math
import os
import re
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras")

from deepspin.cli import main  # noqa: E402
from deepspin.surrogate import interpret  # noqa: E402


def small_demo(filters=8, dense=16, seed=0):
    keras.utils.set_random_seed(seed)
    model = interpret.demo_model(filters=filters, dense=dense)
    layer = model.get_layer("blocks")
    rng = np.random.default_rng(seed)  # biases of both signs, so some positions start inactive
    layer.bias.assign(rng.normal(0.0, 0.3, size=filters).astype(np.float32))
    return model


def conv_weights(model, index):
    layer = interpret.first_conv(model)
    w = keras.ops.convert_to_numpy(layer.kernel)[:, :, 0, index].astype(np.float64)
    return w, float(keras.ops.convert_to_numpy(layer.bias)[index])


def block_preactivations(w, b, image):
    """``w . x_p + b`` for the nine 3x3 blocks of a 9x9 image (independent NumPy evaluation)."""
    blocks = image.reshape(3, 3, 3, 3).transpose(0, 2, 1, 3).reshape(9, 3, 3)
    return np.einsum("pij,ij->p", blocks.astype(np.float64), w) + b


def rises(activations):
    a = np.asarray(activations)
    half = len(a) // 2
    return a[half:].mean() > a[:half].mean() and a[-1] > a[0]


def paper_like_cnn(L=8):
    """The paper CNN's first layers in plain Keras: (L, L) -> channel -> upscale to 16 -> two convolutions."""
    keras.utils.set_random_seed(1)
    inputs = keras.Input(shape=(L, L), name="spins")
    x = keras.layers.Reshape((L, L, 1), name="channel")(inputs)
    x = keras.layers.UpSampling2D(size=16 // L, interpolation="nearest", name="upscale")(x)
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="reduce0")(x)
    x = keras.layers.Conv2D(16, 4, strides=1, padding="same", activation="relu", name="conv1")(x)
    x = keras.layers.Flatten()(x)
    x = keras.layers.Dense(16, activation="relu")(x)
    return keras.Model(inputs, keras.layers.Dense(1)(x), name="paper_like")


# --------------------------------------------------------------------------- demonstration model and data


def test_demo_model_has_the_papers_layout():
    model = interpret.demo_model()
    conv = interpret.first_conv(model)
    assert (conv.filters, conv.kernel_size, conv.strides) == (512, (3, 3), (3, 3))
    assert tuple(conv.output.shape[1:]) == (3, 3, 512)  # each kernel reads each of the 9 blocks once
    assert model.get_layer("dense").units == 1024
    assert tuple(model.output.shape) == (None, 1)
    assert model.count_params() == (9 * 512 + 512) + (3 * 3 * 512 * 1024 + 1024) + (1024 + 1)
    assert model.get_layer("energy").scale == pytest.approx(math.sqrt(2 * 81))


def test_demo_data_are_exact_ising_energies_of_uniform_spins():
    spins, energies = interpret.demo_data(20_000, seed=7)
    s = spins.astype(np.int64)
    expected = -(s * np.roll(s, 1, axis=1) + s * np.roll(s, 1, axis=2)).sum(axis=(1, 2))
    np.testing.assert_array_equal(energies, expected)
    assert spins.dtype == np.int8 and abs(spins.mean()) < 0.01
    assert energies.std() == pytest.approx(math.sqrt(162), rel=0.03)  # Var E = 2N for uniform spins
    np.testing.assert_array_equal(interpret.demo_data(5, seed=7)[0], spins[:5])  # seeded


def test_train_command_saves_model_and_reports_held_out_mae(tmp_path, capsys):
    path = tmp_path / "demo.keras"
    assert main(["interpret", "train", "--samples", "3000", "--epochs", "3", "--seed", "3", "--quiet",
                 "-o", str(path)]) == 0
    reported = float(re.search(r"test MAE ([0-9.]+) J on 300 held-out", capsys.readouterr().out).group(1))
    spins, energies = interpret.demo_data(3300, seed=3)
    model = interpret.load_model(path)
    predicted = model.predict(spins[3000:].astype(np.float32), verbose=0)[:, 0]
    mae = np.mean(np.abs(predicted - energies[3000:]))
    assert reported == pytest.approx(mae, rel=1e-3)
    assert mae < math.sqrt(162) * math.sqrt(2 / math.pi)  # beats the best constant guess (E = 0)
    assert [p.name for p in tmp_path.iterdir()] == ["demo.keras"]  # atomic write left no temporary


# --------------------------------------------------------------------------- kernels


def test_kernel_panels_follow_the_channels_last_layout():
    inputs = keras.Input(shape=(5, 5, 2))
    model = keras.Model(inputs, keras.layers.Conv2D(4, (2, 3), name="c")(inputs))
    weights = np.arange(2 * 3 * 2 * 4, dtype=np.float32).reshape(2, 3, 2, 4)
    model.get_layer("c").kernel.assign(weights)
    panels, labels = interpret.kernel_panels(model)
    assert panels.shape == (8, 2, 3)
    assert labels == [(o, i) for o in range(4) for i in range(2)]
    for panel, (o, i) in zip(panels, labels):
        np.testing.assert_array_equal(panel, weights[:, :, i, o])


def test_mosaic_has_one_panel_per_kernel_in_row_major_slots():
    panels = np.random.default_rng(0).normal(size=(7, 3, 3))
    image = interpret.mosaic(panels, columns=3)
    assert image.shape == (3 * 4 - 1, 3 * 4 - 1)
    for i, panel in enumerate(panels):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(image[4 * r : 4 * r + 3, 4 * c : 4 * c + 3], panel)
    assert np.count_nonzero(~np.isnan(image)) == panels.size  # gutters and the two empty slots are NaN
    assert interpret.mosaic(np.zeros((512, 3, 3))).shape == (16 * 4 - 1, 32 * 4 - 1)  # 32 x 16 grid


def test_plot_kernels_writes_one_panel_per_kernel(tmp_path):
    path = tmp_path / "kernels.png"
    assert interpret.plot_kernels(small_demo(filters=12), path) == 12
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="no keras.layers.Conv2D"):
        inputs = keras.Input(shape=(9, 9))
        interpret.plot_kernels(keras.Model(inputs, keras.layers.Flatten()(inputs)), tmp_path / "x.png")


# --------------------------------------------------------------------------- activation maximisation


def test_pre_activation_ascent_reaches_the_closed_form_maximum():
    model = small_demo()
    index = 2
    w, b = conv_weights(model, index)
    best = max(np.abs(w).sum() + b, 0.0)
    result = interpret.maximize_activation(model, index, steps=60, step_size=0.2, seed=1, objective="pre-activation")
    assert rises(result.activations)
    assert result.activations[-1] <= best + 1e-5  # no input in [-1, 1]^81 does better
    assert result.activations[-1] >= 0.97 * best
    assert np.abs(result.image).max() <= 1.0
    strong = np.abs(w) > 0.3 * np.abs(w).max()
    for p in range(9):  # every block turned into the kernel's sign pattern
        r, c = divmod(p, 3)
        block = result.spins[3 * r : 3 * r + 3, 3 * c : 3 * c + 3]
        np.testing.assert_array_equal(block[strong], np.sign(w)[strong])
    assert result.spin_activation == pytest.approx(best, rel=1e-4, abs=1e-6)
    assert result.windows == (3, 3)  # the figure marks the nine blocks


def test_activation_ascent_moves_only_active_positions():
    model = small_demo()
    index = 2
    w, b = conv_weights(model, index)
    result = interpret.maximize_activation(model, index, steps=60, step_size=0.2, seed=1)
    live = block_preactivations(w, b, result.start) > 0
    assert 0 < live.sum() < 9  # the case the paper's objective cannot fix
    assert rises(result.activations)
    expected = live.mean() * (np.abs(w).sum() + b)
    assert result.activations[-1] == pytest.approx(expected, rel=0.03)
    dead_sites = np.kron(~live.reshape(3, 3), np.ones((3, 3), bool))
    np.testing.assert_array_equal(result.image[dead_sites], result.start[dead_sites])  # zero gradient there


def test_clamped_block_is_held_and_lowers_the_maximum():
    model = small_demo()
    index = 2
    w, b = conv_weights(model, index)
    clamp = [interpret.parse_clamp("6,6,+++++++++")]
    result = interpret.maximize_activation(model, index, steps=60, step_size=0.2, seed=1, clamp=clamp,
                                           objective="pre-activation")
    np.testing.assert_array_equal(result.image[6:, 6:], 1.0)
    assert result.clamped.sum() == 9 and result.clamped[6:, 6:].all()
    expected = (8 * max(np.abs(w).sum() + b, 0.0) + max(w.sum() + b, 0.0)) / 9
    assert result.activations[-1] == pytest.approx(expected, rel=0.03)
    assert rises(result.activations)


def test_parse_clamp_accepts_both_spellings_and_rejects_bad_blocks():
    row, col, block = interpret.parse_clamp("0,3,+-+-+-+-+")
    assert (row, col) == (0, 3)
    np.testing.assert_array_equal(interpret.parse_clamp("0,3,1,-1,1,-1,1,-1,1,-1,1")[2], block)
    np.testing.assert_array_equal(block, [[1, -1, 1], [-1, 1, -1], [1, -1, 1]])
    for text, message in [("1,2", "row,col,values"), ("1,2,+++++", r"need k\*k values"),
                          ("1,2,1,0,1,1,1,1,1,1,1", r"\+1 or -1"), ("a,2,+", "must be integers")]:
        with pytest.raises(ValueError, match=message):
            interpret.parse_clamp(text)
    with pytest.raises(ValueError, match="does not fit the 9x9 input"):
        interpret.maximize_activation(small_demo(), 0, steps=1, clamp=[interpret.parse_clamp("7,0,+++++++++")])


def test_kernels_and_maximize_on_a_saved_paper_like_cnn(tmp_path, capsys):
    path = tmp_path / "cnn.keras"
    paper_like_cnn().save(path)
    assert main(["interpret", "kernels", str(path), "-o", str(tmp_path / "k.png")]) == 0
    assert "wrote 32 kernel panels of layer 'reduce0'" in capsys.readouterr().err
    csv = tmp_path / "a.csv"
    assert main(["interpret", "maximize", str(path), "--filter", "0", "31", "--steps", "30",
                 "--clamp-block", "0,0,++++", "--activations", str(csv), "-o", str(tmp_path / "m.png")]) == 0
    table = np.loadtxt(csv, delimiter=",", skiprows=1)
    assert table.shape == (31, 3)
    assert rises(table[:, 1]) and rises(table[:, 2])
    result = interpret.maximize_activation(interpret.load_model(path), 5, steps=30)
    assert result.image.shape == (8, 8) and rises(result.activations)
    assert result.windows is None  # the convolution reads the upscaled 16x16 map, not the lattice


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_other_backends_follow_the_same_ascent(tmp_path, backend):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed")
    path = tmp_path / "demo.keras"
    model = small_demo()
    model.save(path)
    here = interpret.maximize_activation(model, 2, steps=20, step_size=0.2, seed=1).activations
    code = ("import json, sys; from deepspin.surrogate import interpret; "
            "m = interpret.load_model(sys.argv[1]); "
            "r = interpret.maximize_activation(m, 2, steps=20, step_size=0.2, seed=1); "
            "print(json.dumps(r.activations.tolist()))")
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=env, check=True)
    there = np.array(json.loads(out.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(there, here, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("args,message", [
    (["maximize", "{model}", "--filter", "8", "-o", "{tmp}/m.png"], r"filter must be an integer in \[0, 7\]"),
    (["maximize", "{model}", "--filter", "0", "--clamp-block", "1,1", "-o", "{tmp}/m.png"], "row,col,values"),
    (["maximize", "{model}", "--filter", "0", "--steps", "0", "-o", "{tmp}/m.png"], "steps must be an integer >= 1"),
    (["kernels", "{tmp}/missing.keras", "-o", "{tmp}/k.png"], "no such model file"),
    (["kernels", "{tmp}/dense.keras", "-o", "{tmp}/k.png"], "has no keras.layers.Conv2D"),
    (["train", "--samples", "0", "-o", "{tmp}/d.keras"], "samples must be an integer >= 1"),
    (["train", "--learning-rate", "-1", "-o", "{tmp}/d.keras"], "learning_rate must be a positive"),
    (["kernels", "{model}", "-o", "{tmp}/k.xyz"], "Format 'xyz' is not supported"),
])
def test_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    small_demo().save(tmp_path / "demo.keras")
    inputs = keras.Input(shape=(9, 9))
    keras.Model(inputs, keras.layers.Dense(1)(keras.layers.Flatten()(inputs))).save(tmp_path / "dense.keras")
    args = [a.format(model=tmp_path / "demo.keras", tmp=tmp_path) for a in args]
    assert main(["interpret", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err)
