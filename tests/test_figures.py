"""The referee's figure list: what each figure draws, read back from the matplotlib figure before it is
saved, and the clean activation maximisation (Fig. 14) against its closed form."""
import os

import numpy as np
import pytest

import deepspin
from deepspin import plots
from deepspin import plots as figures

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture
def drawn(monkeypatch):
    """Figures handed to ``_save`` (``module -> [figure]``), not written."""
    caught = []

    def capture(fig, path):
        caught.append(fig)

    def patch(module):
        monkeypatch.setattr(module, "_save", capture)
        return caught

    return patch


def _records(T, curve, err):
    return [{"T": t, "E_per_site": -c, "E_per_site_err": e, "C_per_site": c, "C_per_site_err": e, "absm": c / 2,
             "absm_err": e} for t, c, e in zip(T, curve, err)]


def test_phase_curves_draw_one_error_band_per_run_and_panel(drawn):
    caught = drawn(figures)
    T = np.linspace(1.0, 3.0, 9)
    curve = np.exp(-(T - 2.0) ** 2)
    curves = {"exact operator": _records(T, curve, np.full(9, 0.01)),
              "learned": _records(T, curve + 0.02, np.full(9, 0.02)),
              "no errors": _records(T, curve, np.full(9, np.nan))}
    result = figures.phase_curves(curves, "unused.png", title="4x4 Ising, learned operators")
    fig = caught[0]
    top, bottom = fig.axes[:3], fig.axes[3:6]
    # bands: top row one per run with errors (2), bottom row one per difference drawn with errors (the learned run)
    assert [len(ax.collections) for ax in top] == [2, 2, 2]
    assert [len(ax.collections) for ax in bottom] == [1, 1, 1]
    band = top[1].collections[1].get_paths()[0].vertices
    assert band[:, 1].max() == pytest.approx((curve + 0.02 + 0.02).max())  # learned C/N + one standard error
    np.testing.assert_allclose(result["learned"]["C_per_site"], 0.02)


def test_magnetization_curves_band_in_the_line_colour(drawn):
    caught = drawn(figures)
    T = np.linspace(1.0, 3.0, 5)
    figures.magnetization_curves({"exact": _records(T, np.ones(5), np.full(5, 0.1)),
                                  "learned": _records(T, np.ones(5), np.full(5, 0.1))}, "unused.png")
    ax = caught[0].axes[0]
    assert len(ax.collections) == 2
    for line, band in zip(ax.lines, ax.collections):
        np.testing.assert_allclose(band.get_facecolor()[0][:3], plt_rgb(line.get_color()))


def plt_rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_training_curves(drawn, tmp_path):
    caught = drawn(plots)
    histories = {"AdaDelta 1e-3": {"loss": [3.0, 2.0, 1.5], "val_loss": [3.1, 2.2, 2.3], "accuracy": [0.1, 0.3, 0.4],
                                   "val_accuracy": [0.1, 0.25, 0.3]},
                 "Adam 1e-3": {"loss": [1.0, 0.1], "val_loss": [1.2, 0.2], "accuracy": [0.8, 0.99],
                               "val_accuracy": [0.7, 0.98]}}
    result = plots.training_curves(histories, tmp_path / "t.png", title="three protocols")
    assert result["AdaDelta 1e-3"] == {"epochs": 3, "best_val_loss": 2.2, "best_epoch": 2}
    assert result["Adam 1e-3"]["best_epoch"] == 2
    loss, accuracy = caught[0].axes
    assert loss.get_yscale() == "log" and len(loss.lines) == 4 and len(accuracy.lines) == 4
    assert max(max(line.get_ydata()) for line in accuracy.lines) == pytest.approx(99.0)  # percent
    with pytest.raises(ValueError, match="one value per epoch"):
        plots.training_curves({"x": {"loss": [1.0, 2.0], "val_loss": [1.0]}}, tmp_path / "t.png")
    with pytest.raises(ValueError, match="at least 'loss' or 'val_loss'"):
        plots.training_curves({"x": {"accuracy": [1.0]}}, tmp_path / "t.png")


keras = pytest.importorskip("keras")
from deepspin.surrogate import evaluate, interpret  # noqa: E402


def test_per_site_error_plot_draws_mean_and_max_per_kind_and_the_goal(drawn):
    caught = drawn(figures)
    errors = {L: {kind: {"mae": 1e-3 * L / (1 + k), "max": 4e-3 * L / (1 + k)}
                  for k, kind in enumerate(("uniform", "thermal"))} for L in (8, 16, 32)}
    figures.per_site_error_plot(errors, "unused.png", (32, 1e-2), title="extensive")
    ax = caught[0].axes[0]
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert set(lines) >= {"uniform: mean", "uniform: max", "thermal: mean", "thermal: max", "goal at L = 32"}
    np.testing.assert_allclose(lines["thermal: max"].get_ydata(), [4e-3 * L / 2 for L in (8, 16, 32)])
    assert lines["goal at L = 32"].get_ydata()[0] == 1e-2
    assert ax.get_xscale() == ax.get_yscale() == "log"


def test_parity_plot_has_a_residual_panel_on_the_error_scale(drawn):
    caught = drawn(evaluate)
    rng = np.random.default_rng(0)
    truth = rng.integers(-32, 33, 5000) * 4.0
    predicted = truth + 0.1 * rng.standard_normal(truth.size)
    predicted[0] += 5.0  # one outlier: drawn at the edge, counted
    evaluate.parity_plot(truth, predicted, "unused.png", title="8x8 energy regression")
    parity, residual = [ax for ax in caught[0].axes if ax.get_ylabel() != "configurations"]
    assert residual.get_ylabel() == "predicted - true (J)"
    low, high = residual.get_ylim()
    edge = 4 * np.quantile(np.abs(predicted - truth), 0.99) * 1.05  # ~1.1 J for errors of 0.1 J, not 128 J
    assert low == pytest.approx(-edge) and high == pytest.approx(edge) and edge < 1.5
    assert parity.get_ylim()[1] > 100
    assert any("1 beyond" in text.get_text() for text in residual.get_legend().get_texts())


def test_class_caption_counts_the_levels_that_exist():
    energies = deepspin.sampling.enumerate_all(deepspin.Ising(4)).energy
    exact_levels = np.unique(energies)  # independent: every 4x4 configuration
    text = evaluate.class_caption(4, exact_levels[:-1])
    assert f"has {exact_levels.size} energy classes" in text and "absent: E = 32 J." in text
    assert "14 of the 15 classes occur" in text
    text = evaluate.class_caption(8, deepspin.observables.ising_energy_levels(8))
    assert "has 63 energy classes" in text and text.endswith("63 of the 63 classes occur among these configurations.")


def test_class_error_map_title_and_caption_fit(drawn):
    caught = drawn(evaluate)
    truth = np.arange(62).repeat(3)
    evaluate.class_error_map(truth, truth, 8, "unused.png", title="8x8 classifier: " + "long words " * 20)
    fig = caught[0]
    assert "\n" in fig._suptitle.get_text()  # wrapped, not clipped
    assert "absent: E = 128 J" in fig._supxlabel.get_text().replace("\n", " ")


def _small_demo(filters=8, seed=0):
    keras.utils.set_random_seed(seed)
    model = interpret.demo_model(filters=filters, dense=16)
    layer = model.get_layer("blocks")
    layer.bias.assign(np.random.default_rng(seed).normal(0.0, 0.3, size=filters).astype(np.float32))
    return model


def test_tanh_space_ascent_gives_a_clean_image_at_the_closed_form_maximum():
    model = _small_demo()
    layer = interpret.first_conv(model)
    index = 2
    w = keras.ops.convert_to_numpy(layer.kernel)[:, :, 0, index].astype(np.float64)
    b = float(keras.ops.convert_to_numpy(layer.bias)[index])
    clamp = [(6, 6, np.ones((3, 3), np.int8))]
    result = interpret.maximize_activation(model, index, steps=100, step_size=0.1, seed=1, clamp=clamp,
                                           objective="pre-activation", space="tanh")
    assert np.abs(result.image).max() <= 1.0
    np.testing.assert_array_equal(result.image[6:, 6:], 1.0)  # the clamped block stays clamped
    free = ~result.clamped
    assert np.abs(result.image[free]).min() > 0.99  # every free site saturated: a clean +1/-1 image
    for p in range(8):  # each free block at the kernel's sign pattern
        r, c = divmod(p, 3)
        np.testing.assert_array_equal(result.spins[3 * r:3 * r + 3, 3 * c:3 * c + 3], np.sign(w))
    a = result.activations
    assert a[-1] > a[0] and a[len(a) // 2:].mean() > a[:len(a) // 2].mean()
    # relu(w . x_p + b) per block: 8 free blocks at sign(w), the clamped one all up
    expected = (8 * max(np.abs(w).sum() + b, 0.0) + max(w.sum() + b, 0.0)) / 9
    assert a[-1] == pytest.approx(expected, rel=1e-3)
    with pytest.raises(ValueError, match="space must be one of"):
        interpret.maximize_activation(model, index, steps=1, space="sphere")


def test_plot_maximizations_names_the_kernel_not_the_layer(drawn, monkeypatch):
    caught = []
    monkeypatch.setattr(interpret, "_save_figure", lambda fig, path: caught.append(fig))
    model = _small_demo()
    result = interpret.maximize_activation(model, 0, steps=3, seed=0, objective="pre-activation", space="tanh")
    interpret.plot_maximizations([result], "unused.png")
    titles = [ax.get_title() for ax in caught[0].axes]
    assert "input maximising kernel 0" in titles and not any("blocks" in t for t in titles)
