"""What the convolution kernels of a surrogate learn (Mills & Tamblyn, PRE 97, 032119 (2018), sec. 8).

The paper explains its network with a deliberately simple one (Figs. 13-14): a single
convolution of 512 kernels of 3x3 with stride 3 on 9x9 Ising configurations, so that each
kernel sees each lattice site exactly once and the nine 3x3 blocks of the lattice are read
independently; a dense layer of width 1024; and one linear output, the energy. Two tools then
show what it learned:

- the kernels themselves (Fig. 13): each is a 3x3 pattern of weights; :func:`plot_kernels` draws
  all of them on one diverging colour scale centred on zero (red negative, blue positive);
- the input that excites a kernel most (Fig. 14): gradient ascent on the input, from random
  noise, of the mean output of one channel of the first convolution ("activation
  maximisation", Erhan et al. 2009; the paper cites Chollet's Keras blog post), with the option
  to clamp a block of sites to chosen spins (:func:`maximize_activation`). The paper's objective
  (the activated output, stepped in the box ``[-1, 1]``) leaves noise wherever a ReLU is inactive on
  the start; the pre-activation stepped in ``tanh`` space drives every free site to the kernel's
  sign, a clean +1/-1 image (what the reproduction draws).

Both tools work on any Keras 3 model whose first ``keras.layers.Conv2D`` is reachable from the
model's input through a functional graph (the paper CNN's reshape/upsampling/periodic-padding
layers before it are fine). The gradient comes from the active Keras backend (TensorFlow, JAX
or PyTorch; :func:`value_and_grad`).
"""
from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
from keras import ops

from deepspin.hamiltonians import Ising
from deepspin.io import atomic_path
from deepspin.validation import as_generator, check_count, check_seed, check_spins

#: The paper's demonstration network and its training set (sec. 8).
DEMO_L = 9
DEMO_FILTERS = 512
DEMO_KERNEL = 3
DEMO_DENSE = 1024
DEMO_SAMPLES = 200_000

OBJECTIVES = ("activation", "pre-activation")
#: Where the ascent steps: on the input clipped to [-1, 1] (``box``), or on ``u`` with input ``tanh(u)`` (``tanh``).
SPACES = ("box", "tanh")


# --------------------------------------------------------------------------- demonstration model


def demo_model(L: int = DEMO_L, filters: int = DEMO_FILTERS, kernel: int = DEMO_KERNEL, dense: int = DEMO_DENSE,
               energy_scale: float | None = None) -> keras.Model:
    """The paper's demonstration network (uncompiled) for ``(B, L, L)`` spins.

    ``Conv2D(filters, kernel, strides=kernel, ReLU)`` -> flatten -> ``Dense(dense, ReLU)`` ->
    ``Dense(1)`` -> a fixed ``Rescaling(energy_scale)``. The stride equals the kernel size, so
    each kernel reads each of the ``(L / kernel)^2`` blocks once. The final rescaling keeps the
    raw linear unit of order one; its default ``sqrt(2 N)`` is the exact standard deviation of
    the Ising energy of uniform random spins at ``J = 1`` (the ``2N`` bond products
    ``s_i s_j`` have mean zero and are pairwise uncorrelated, so ``Var E = 2N``).
    """
    for name, value in (("L", L), ("filters", filters), ("kernel", kernel), ("dense", dense)):
        check_count(f"demo_model: {name}", value)
    if L % kernel:
        raise ValueError(f"demo_model: L={L} must be a multiple of the kernel size {kernel} (stride = kernel)")
    scale = math.sqrt(2 * L * L) if energy_scale is None else float(energy_scale)
    inputs = keras.Input(shape=(L, L), name="spins")
    x = keras.layers.Reshape((L, L, 1), name="channel")(inputs)
    x = keras.layers.Conv2D(filters, kernel, strides=kernel, padding="valid", activation="relu", name="blocks")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(dense, activation="relu", name="dense")(x)
    x = keras.layers.Dense(1, name="unit")(x)
    outputs = keras.layers.Rescaling(scale, name="energy")(x)
    return keras.Model(inputs, outputs, name="interpret_demo")


def demo_data(samples: int, seed=None, L: int = DEMO_L) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` uniform random +1/-1 configurations ``(B, L, L)`` int8 and their exact Ising energies (J = 1)."""
    check_count("samples", samples)
    rng = as_generator(seed)
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(samples, L, L))
    return spins, Ising(L).energy(spins)


@dataclass(frozen=True)
class DemoRun:
    """A trained demonstration network and how well it does on held-out configurations."""

    model: keras.Model
    test_mae: float
    train_samples: int
    test_samples: int
    epochs: int
    loss: tuple[float, ...]  # training MSE per epoch


def train_demo(samples: int = DEMO_SAMPLES, epochs: int = 20, seed: int = 0, test_samples: int | None = None,
               batch_size: int = 256, learning_rate: float = 1e-3, progress: bool = True) -> DemoRun:
    """Train :func:`demo_model` on ``samples`` uniform random 9x9 configurations (the paper: 200,000).

    Labels are exact energies from :class:`deepspin.Ising`. Training minimises the mean squared
    error with Adam; ``seed`` fixes the configurations, the initial weights and the batch order.
    The test MAE is measured on ``test_samples`` further configurations from the same generator
    (default ``samples // 10``; with ``2^81`` configurations a repeat of a training one is
    practically impossible).
    """
    check_count("samples", samples)
    check_count("epochs", epochs)
    check_seed(seed)
    test_samples = check_count("test_samples", max(1, samples // 10) if test_samples is None else test_samples)
    check_count("batch_size", batch_size)
    if not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"learning_rate must be a positive finite number, got {learning_rate!r}")
    spins, energies = demo_data(samples + test_samples, seed)
    x = spins.astype(np.float32)
    y = energies.astype(np.float32)[:, None]
    keras.utils.set_random_seed(seed)
    model = demo_model()
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="mse")
    callbacks = [_Progress(epochs, math.ceil(samples / batch_size))] if progress else []
    history = model.fit(x[:samples], y[:samples], batch_size=batch_size, epochs=epochs, shuffle=True,
                        verbose=0, callbacks=callbacks)
    predicted = model.predict(x[samples:], batch_size=4096, verbose=0)[:, 0]
    test_mae = float(np.mean(np.abs(predicted.astype(np.float64) - energies[samples:])))
    return DemoRun(model, test_mae, samples, test_samples, epochs, tuple(float(v) for v in history.history["loss"]))


class _Progress(keras.callbacks.Callback):
    """One tqdm bar over all training batches, with the latest epoch's loss."""

    def __init__(self, epochs: int, steps: int):
        super().__init__()
        self.total = epochs * steps
        self.bar = None

    def on_train_begin(self, logs=None):
        from tqdm.auto import tqdm

        self.bar = tqdm(total=self.total, unit="batch", desc="training", dynamic_ncols=True)

    def on_train_batch_end(self, batch, logs=None):
        self.bar.update(1)

    def on_epoch_end(self, epoch, logs=None):
        self.bar.set_postfix(epoch=epoch + 1, mse=f"{float(logs['loss']):.4g}")

    def on_train_end(self, logs=None):
        self.bar.close()


# --------------------------------------------------------------------------- model files


def save_model(model: keras.Model, path) -> Path:
    """Write ``model`` to ``path`` (a ``.keras`` file) atomically."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files must end in .keras, got {path}")
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
    return path


def load_model(path) -> keras.Model:
    """Load a ``.keras`` model (uncompiled); the surrogate's custom layers are registered first."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such model file: {path}")
    if path.suffix != ".keras":
        raise ValueError(f"expected a .keras model file, got {path}")
    if importlib.util.find_spec("deepspin.surrogate.layers") is not None:
        importlib.import_module("deepspin.surrogate.layers")  # registers PeriodicPad2D & co.
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as exc:  # a damaged file fails anywhere in Keras/h5py (ValueError, KeyError, OSError, ...)
        raise ValueError(f"cannot load {path} as a Keras model ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------- kernels (Fig. 13)


def first_conv(model: keras.Model) -> keras.layers.Conv2D:
    """The first ``keras.layers.Conv2D`` of ``model`` in layer order (nested models searched depth first)."""
    for layer in _walk(model):
        if isinstance(layer, keras.layers.Conv2D):
            return layer
    names = ", ".join(f"{layer.name} ({type(layer).__name__})" for layer in model.layers)
    raise ValueError(f"model {model.name!r} has no keras.layers.Conv2D layer; its layers are: {names}")


def _walk(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _walk(layer)


def kernel_panels(model: keras.Model) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """First-layer kernels as ``(panels, labels)``.

    Keras stores a Conv2D kernel channels-last, ``(kh, kw, in, out)`` (whatever the layer's
    ``data_format``). There is one ``(kh, kw)`` panel per (output kernel, input channel) pair,
    ordered by output kernel, then input channel: one panel per kernel when the layer reads a
    single channel (spins), ``out * in`` panels otherwise. ``labels[i] = (out, in)``.
    """
    weights = ops.convert_to_numpy(first_conv(model).kernel).astype(np.float64)
    kh, kw, cin, cout = weights.shape
    panels = weights.transpose(3, 2, 0, 1).reshape(cout * cin, kh, kw)
    labels = [(o, i) for o in range(cout) for i in range(cin)]
    return panels, labels


def mosaic(panels: np.ndarray, columns: int | None = None, gap: int = 1) -> np.ndarray:
    """Tile ``(n, h, w)`` panels row by row into one image, NaN in the ``gap``-wide gutters and empty slots.

    Panel ``i`` lands in grid row ``i // columns``, column ``i % columns``; the default
    ``columns = ceil(sqrt(2 n))`` gives a grid about twice as wide as tall (32 x 16 for 512).
    """
    panels = np.asarray(panels, dtype=np.float64)
    if panels.ndim != 3 or panels.shape[0] == 0:
        raise ValueError(f"panels must be a non-empty (n, h, w) array, got shape {panels.shape}")
    n, h, w = panels.shape
    columns = min(n, math.ceil(math.sqrt(2 * n))) if columns is None else columns
    check_count("columns", columns)
    rows = math.ceil(n / columns)
    image = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap), np.nan)
    for i, panel in enumerate(panels):
        r, c = divmod(i, columns)
        image[r * (h + gap) : r * (h + gap) + h, c * (w + gap) : c * (w + gap) + w] = panel
    return image


def plot_kernels(model: keras.Model, path, columns: int | None = None) -> int:
    """Draw every first-layer kernel (:func:`kernel_panels`) in one grid; returns the panel count.

    Colours: matplotlib ``RdBu`` with limits ``+-max|w|`` shared by all panels, so red is
    negative, blue positive, white zero, and intensity compares across kernels (paper Fig. 13).
    """
    layer = first_conv(model)
    panels, _ = kernel_panels(model)
    image = mosaic(panels, columns)
    limit = float(np.max(np.abs(panels))) or 1.0
    plt = _pyplot()
    height, width = image.shape
    fig, ax = plt.subplots(figsize=(min(16.0, 1.0 + 0.12 * width), min(12.0, 1.2 + 0.12 * height)))
    cmap = plt.get_cmap("RdBu").with_extremes(bad="0.8")
    shown = ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=-limit, vmax=limit, interpolation="nearest")
    ax.set_axis_off()
    kh, kw, cin, cout = layer.kernel.shape
    what = f"{cout} kernels" if cin == 1 else f"{cout} kernels x {cin} input channels"
    ax.set_title(f"{model.name} / {layer.name}: {what} of {kh}x{kw}")
    fig.colorbar(shown, ax=ax, fraction=0.025, pad=0.02, label="weight")
    _save_figure(fig, path)
    return len(panels)


# --------------------------------------------------------------------------- activation maximisation (Fig. 14)


def value_and_grad(fn):
    """``g(x) -> (value, aux, grad)``: ``fn(x) = (value, aux)`` and ``d value / d x`` under the active Keras backend.

    ``x`` is a NumPy array; ``value`` and ``aux`` are scalars returned as floats, ``grad`` a NumPy
    array of ``x``'s shape. TensorFlow records the call on a ``GradientTape``, JAX differentiates
    with ``jax.grad`` (compiled once), PyTorch with ``torch.autograd.grad``.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        def g(x):
            t = tf.convert_to_tensor(x)
            with tf.GradientTape() as tape:
                tape.watch(t)
                value, aux = fn(t)
            return float(value), float(aux), tape.gradient(value, t).numpy()

        return g
    if backend == "jax":
        import jax

        grad = jax.jit(jax.value_and_grad(fn, has_aux=True))

        def g(x):
            (value, aux), gradient = grad(x)
            return float(value), float(aux), np.asarray(gradient)

        return g
    if backend == "torch":
        import torch

        def g(x):
            t = ops.convert_to_tensor(x).detach().requires_grad_(True)
            value, aux = fn(t)
            (gradient,) = torch.autograd.grad(value, t)
            return float(value.detach().cpu()), float(aux.detach().cpu()), gradient.detach().cpu().numpy()

        return g
    raise ValueError(f"gradient ascent needs the tensorflow, jax or torch Keras backend; KERAS_BACKEND is {backend!r}")


@dataclass(frozen=True)
class Maximization:
    """Result of :func:`maximize_activation` (arrays have the model's input shape, no batch axis)."""

    layer: str
    filter: int
    objective: str
    space: str               # "box" or "tanh" (see :func:`maximize_activation`)
    start: np.ndarray        # the initial noise (clamped sites already set)
    image: np.ndarray        # the optimised input, in [-1, 1]
    clamped: np.ndarray      # bool: sites held fixed
    activations: np.ndarray  # (steps + 1,) channel mean activation before the first step and after each
    spins: np.ndarray        # int8 sign of ``image`` (0 -> +1): the nearest spin configuration
    spin_activation: float   # channel mean activation of ``spins``
    windows: tuple[int, int] | None  # strides of the layer's windows on the input (None if not on its grid)


def parse_clamp(text: str) -> tuple[int, int, np.ndarray]:
    """``"r,c,VALUES"`` -> ``(r, c, block)``: a ``k x k`` block of spins with top-left site ``(r, c)``.

    VALUES are ``k*k`` spins in row-major order, either comma separated (``1,-1,...``) or as a
    run of ``+``/``-`` characters (``++-+-+-++``). Example (the paper's Fig. 14, lower-right
    block of a 9x9 lattice, all up): ``6,6,+++++++++``.
    """
    parts = [p.strip() for p in str(text).split(",")]
    if len(parts) < 3:
        raise ValueError(f"clamp block must be 'row,col,values' (e.g. 6,6,+++++++++), got {text!r}")
    try:
        row, col = int(parts[0]), int(parts[1])
        if len(parts) == 3 and set(parts[2]) <= {"+", "-"}:
            values = [1 if ch == "+" else -1 for ch in parts[2]]
        else:
            values = [int(p) for p in parts[2:]]
    except ValueError:
        raise ValueError(f"clamp block {text!r}: row and col must be integers, values +1/-1 or a run of +/-") from None
    k = math.isqrt(len(values))
    if k * k != len(values) or k == 0:
        raise ValueError(f"clamp block {text!r}: need k*k values for a k x k block (9 for 3x3), got {len(values)}")
    block = np.asarray(values).reshape(k, k)
    check_spins(block, what="clamp block values")
    return row, col, block.astype(np.int8)


def maximize_activation(model: keras.Model, filter_index: int, steps: int = 100, step_size: float = 0.05,
                        seed=None, clamp=(), objective: str = "activation", space: str = "box") -> Maximization:
    """Gradient ascent on the input that maximises one channel of the first convolution (paper Fig. 14).

    The input starts as uniform noise in ``[-1, 1]`` (the range of the spins) with the ``clamp``
    blocks set; ``g`` is the gradient of the objective (a mean over positions of the channel's
    output) with respect to the free sites. The reported activation is always that mean of the
    channel's activated output (after the layer's nonlinearity, e.g. ReLU).

    Args:
        filter_index: channel (kernel) of the first Conv2D, ``0 .. filters - 1``.
        clamp: ``(row, col, block)`` triples (see :func:`parse_clamp`); ``block`` is a ``k x k``
            array of +1/-1 written at rows ``row .. row+k-1`` and columns ``col .. col+k-1`` of
            the input lattice (all channels) and held fixed.
        objective: ``"activation"`` (default, the paper's: the gradient of the activated output;
            a ReLU position that is inactive in the starting noise gets no gradient and keeps its
            noise) or ``"pre-activation"`` (the gradient of the output before the nonlinearity:
            every position moves towards the pattern the kernel prefers; for a monotone
            nonlinearity and non-overlapping windows, as in the demonstration network, this
            maximises the activation of every position).
        space: ``"box"`` (default): ``x <- clip(x + step_size * g / rms(g), -1, 1)``; a site whose
            weight is small moves little and keeps part of its noise. ``"tanh"``: the input is
            ``x = tanh(u)`` and ``u <- u + step_size * h / rms(h)`` with ``h = g (1 - x^2)``, the
            gradient in ``u``: a saturated site stops taking the step, so the normalised step goes
            to the sites still undecided and every site with a gradient ends near +1 or -1 (for the
            pre-activation of non-overlapping windows, at the kernel's sign: the closed-form maximum).
    """
    layer = first_conv(model)
    if not isinstance(filter_index, (int, np.integer)) or not 0 <= filter_index < layer.filters:
        raise ValueError(f"filter must be an integer in [0, {layer.filters - 1}] for layer {layer.name!r}, "
                         f"got {filter_index!r}")
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if space not in SPACES:
        raise ValueError(f"space must be one of {SPACES}, got {space!r}")
    check_count("steps", steps)
    if not (step_size > 0 and math.isfinite(step_size)):
        raise ValueError(f"step_size must be a positive finite number, got {step_size!r}")
    channel = _channel_function(model, layer, int(filter_index), objective)
    shape = _input_shape(model)
    clamped, fixed = _clamp_mask(shape, clamp)
    rng = as_generator(seed)
    start = np.where(clamped, fixed, rng.uniform(-1.0, 1.0, size=shape)).astype(np.float32)
    gradient_of = value_and_grad(channel)
    x = start.copy()
    u = np.arctanh(np.clip(start.astype(np.float64), -0.999, 0.999))  # the tanh-space coordinates
    activations = []
    for step in range(steps + 1):
        _, activation, gradient = gradient_of(x[None])
        activations.append(activation)
        if step == steps:
            break
        gradient = np.where(clamped, 0.0, gradient[0])
        if space == "tanh":
            gradient = gradient * (1.0 - x.astype(np.float64) ** 2)
        rms = float(np.sqrt(np.mean(gradient**2)))
        if rms == 0.0:
            continue
        if space == "tanh":
            u = u + step_size * gradient / rms
            x = np.where(clamped, fixed, np.tanh(u)).astype(np.float32)
        else:
            x = np.clip(x + step_size * gradient / rms, -1.0, 1.0).astype(np.float32)
    spins = np.where(x >= 0, 1, -1).astype(np.int8)
    _, spin_activation, _ = gradient_of(spins[None].astype(np.float32))
    return Maximization(layer.name, int(filter_index), objective, space, start, x, clamped, np.asarray(activations),
                        spins, spin_activation, _windows(layer, shape))


def _windows(layer, shape) -> tuple[int, int] | None:
    """The layer's strides if it reads the model input at the input's own resolution with a stride > 1."""
    spatial = layer.input.shape[1:3] if layer.data_format == "channels_last" else layer.input.shape[2:4]
    if tuple(spatial) != tuple(shape[:2]) or max(layer.strides) == 1:
        return None
    return tuple(layer.strides)


def _input_shape(model) -> tuple[int, ...]:
    if len(model.inputs) != 1:
        raise ValueError(f"activation maximisation needs a one-input model; {model.name!r} has {len(model.inputs)}")
    shape = tuple(model.inputs[0].shape[1:])
    if None in shape or len(shape) not in (2, 3):
        raise ValueError(f"model input must have a fixed shape (rows, cols) or (rows, cols, channels), got {shape}")
    return shape


def _channel_function(model, layer, index: int, objective: str):
    """``fn(x) -> (objective value, mean activation)`` of channel ``index`` of ``layer`` for a batch of one."""
    try:
        reach = keras.Model(model.inputs, layer.input)
    except (ValueError, AttributeError, TypeError) as exc:
        raise ValueError(f"cannot reach layer {layer.name!r} from the input of {model.name!r} "
                         f"(a functional or Sequential model with one path to it is needed): {exc}") from None
    axis = -1 if layer.data_format == "channels_last" else 1
    bias_shape = (1, 1, 1, layer.filters) if axis == -1 else (1, layer.filters, 1, 1)
    activate = layer.activation or (lambda z: z)

    def fn(x):
        z = layer.convolution_op(reach(x), layer.kernel)
        if layer.use_bias:
            z = z + ops.reshape(layer.bias, bias_shape)
        z = ops.take(z, index, axis=axis)
        activation = ops.mean(activate(z))
        return (activation if objective == "activation" else ops.mean(z)), activation

    return fn


def _clamp_mask(shape, clamp) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = shape[:2]
    mask = np.zeros(shape, dtype=bool)
    values = np.zeros(shape, dtype=np.float32)
    for row, col, block in clamp:
        block = np.asarray(block)
        check_spins(block, what="clamp block")
        k, kc = block.shape
        if not (0 <= row and row + k <= rows and 0 <= col and col + kc <= cols):
            raise ValueError(f"clamp block at ({row}, {col}) of size {k}x{kc} does not fit the {rows}x{cols} input")
        if len(shape) == 3:
            block = block[:, :, None]
        mask[row : row + k, col : col + kc] = True
        values[row : row + k, col : col + kc] = block
    return mask, values


_OBJECTIVE_TEXT = {"activation": "mean activation", "pre-activation": "mean pre-activation (before the ReLU)"}


def plot_maximizations(results, path) -> None:
    """One row per :class:`Maximization`: the optimised input and its activation per step.

    The input is drawn in RdBu from -1 (red) to +1 (blue), clamped sites outlined in black and,
    when the layer reads the input directly with a stride, grey lines where its windows start.
    """
    results = list(results)
    if not results:
        raise ValueError("plot_maximizations needs at least one result")
    plt = _pyplot()
    from matplotlib.patches import Rectangle

    fig, axes = plt.subplots(len(results), 2, figsize=(9.0, 3.8 * len(results)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.3]})
    for (ax_image, ax_curve), result in zip(axes, results):
        image = result.image if result.image.ndim == 2 else result.image[:, :, 0]
        clamped = result.clamped if result.clamped.ndim == 2 else result.clamped[:, :, 0]
        shown = ax_image.imshow(image, cmap="RdBu", vmin=-1, vmax=1, interpolation="nearest")
        for r, c in zip(*np.nonzero(clamped)):
            ax_image.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="k", linewidth=1.2))
        if result.windows is not None:  # where consecutive windows of the convolution start
            for r in range(result.windows[0], image.shape[0], result.windows[0]):
                ax_image.axhline(r - 0.5, color="0.5", linewidth=0.8)
            for c in range(result.windows[1], image.shape[1], result.windows[1]):
                ax_image.axvline(c - 0.5, color="0.5", linewidth=0.8)
        ax_image.set_title(f"input maximising kernel {result.filter}")
        ax_image.set_xticks([])
        ax_image.set_yticks([])
        if clamped.any():
            ax_image.set_xlabel("outlined: clamped sites", fontsize=8)
        fig.colorbar(shown, ax=ax_image, fraction=0.046, pad=0.04)
        ax_curve.plot(np.arange(len(result.activations)), result.activations, color="C0")
        ax_curve.axhline(result.spin_activation, color="C3", linestyle="--",
                         label=f"sign(input): {result.spin_activation:.4g}")
        ax_curve.set_xlabel("gradient-ascent step")
        ax_curve.set_ylabel("mean channel activation")
        ax_curve.set_title(f"ascent on the {_OBJECTIVE_TEXT[result.objective]}"
                           f"{', input = tanh(u)' if result.space == 'tanh' else ', input clipped to [-1, 1]'}",
                           fontsize=10)
        ax_curve.legend(loc="lower right")
    fig.tight_layout()
    _save_figure(fig, path)


# --------------------------------------------------------------------------- figures


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(fig, path) -> None:
    import matplotlib.pyplot as plt

    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=path.suffix.lstrip(".") or "png", dpi=150, bbox_inches="tight")
    finally:
        plt.close(fig)
