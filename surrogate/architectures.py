"""The convolutional network of Mills & Tamblyn, PRE 97, 032119 (2018), Fig. 1, in Keras 3.

Layout (paper, section "Deep neural network"): the ``L x L`` configuration is upscaled to
16 x 16 by repeating every row and column ``16 / L`` times (x4 for 4x4, x2 for 8x8); then seven
convolutions with ReLU: reducing (3x3, 32 filters, stride 2), two non-reducing (4x4, 16
filters, stride 1), reducing, two non-reducing, reducing; a dense layer of width 1024 with
ReLU; and a head. The classifier head is a softmax over the ``N - 1`` Ising energy classes
(15 for 4x4, 63 for 8x8); the regression head is one linear unit (energy or magnetization),
followed by a fixed affine rescaling so the network's raw output is of order one while the
model predicts in physical units.

``padding="zero"`` is the paper's (Keras ``"same"``); ``padding="periodic"`` wraps the map
circularly before each convolution, which respects the lattice's periodic boundary (a 16 x 16
map upscaled from an ``L x L`` torus is itself a torus, and so is every map after a stride-2
convolution of an even-sized torus).

:func:`spin_flip_symmetric` (not the paper's) makes a classifier exactly even under the global spin
flip ``s -> -s``, as the Ising energy is: one network, evaluated on ``s`` and on ``-s``, whose logits
are averaged before the softmax.
"""
from __future__ import annotations

import math

import keras

from .layers import PeriodicPad2D, same_padding

#: Input resolution of the paper's convolutions.
PAPER_RESOLUTION = 16
PADDINGS = ("periodic", "zero")
HEADS = ("class", "regression")

# (kernel, filters, stride) of the seven convolutions, in order.
_PAPER_CONVS = [(3, 32, 2), (4, 16, 1), (4, 16, 1), (3, 32, 2), (4, 16, 1), (4, 16, 1), (3, 32, 2)]


def upscale_factor(L: int) -> int:
    """Repeat factor that brings an ``L x L`` lattice to at least 16 x 16 (4 for L=4, 2 for L=8)."""
    return max(1, math.ceil(PAPER_RESOLUTION / L))


def paper_cnn(L: int, head: str, padding: str = "periodic", n_classes: int | None = None,
              target_scale: float = 1.0, target_offset: float = 0.0, name: str | None = None) -> keras.Model:
    """Build the paper's network (uncompiled) for ``L x L`` inputs of shape ``(B, L, L)``.

    Args:
        L: linear lattice size.
        head: ``"class"`` (softmax over ``n_classes``, default ``L*L - 1``, the Ising classes of
            an even ``L``) or ``"regression"`` (one linear output of shape ``(B, 1)``).
        padding: ``"periodic"`` (default) or ``"zero"`` (the paper's).
        target_scale, target_offset: regression only; the output is
            ``target_scale * dense(x) + target_offset`` (set them to the training targets' std
            and mean).
    """
    if not isinstance(L, int) or L < 2:
        raise ValueError(f"paper_cnn: L must be an integer >= 2, got {L!r}")
    if head not in HEADS:
        raise ValueError(f"paper_cnn: head must be one of {HEADS}, got {head!r}")
    if padding not in PADDINGS:
        raise ValueError(f"paper_cnn: padding must be one of {PADDINGS}, got {padding!r}")
    if head == "class":
        if n_classes is None:
            if L % 2:
                raise ValueError(f"paper_cnn: odd L={L} has no Ising class scheme; use head='regression'")
            n_classes = L * L - 1
    inputs = keras.Input(shape=(L, L), name="spins")
    x = keras.layers.Reshape((L, L, 1), name="channel")(inputs)
    factor = upscale_factor(L)
    if factor > 1:
        x = keras.layers.UpSampling2D(size=factor, interpolation="nearest", name="upscale")(x)
    size = L * factor
    for i, (kernel, filters, stride) in enumerate(_PAPER_CONVS):
        kind = "reduce" if stride > 1 else "conv"
        if padding == "periodic":
            pad = same_padding(kernel, stride, size)
            x = PeriodicPad2D((pad, pad), name=f"wrap{i}")(x)
            x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="valid", activation="relu",
                                    name=f"{kind}{i}")(x)
        else:
            x = keras.layers.Conv2D(filters, kernel, strides=stride, padding="same", activation="relu",
                                    name=f"{kind}{i}")(x)
        size = -(-size // stride)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(1024, activation="relu", name="dense")(x)
    if head == "class":
        outputs = keras.layers.Dense(n_classes, activation="softmax", name="classes")(x)
    else:
        x = keras.layers.Dense(1, name="linear")(x)
        outputs = keras.layers.Rescaling(scale=float(target_scale), offset=float(target_offset), name="units")(x)
    return keras.Model(inputs, outputs, name=name or f"paper_cnn_L{L}_{head}_{padding}")


def spin_flip_symmetric(L: int, padding: str = "periodic", n_classes: int | None = None,
                        name: str | None = None) -> keras.Model:
    """The paper's classifier made even under the global spin flip: ``softmax((z(s) + z(-s)) / 2)``, where
    ``z`` are the logits of one :func:`paper_cnn` classifier body (shared weights, evaluated twice).

    The Ising energy satisfies ``E(s) = E(-s)``, so this constraint loses nothing; it makes the
    prediction for a configuration and its flipped image the same (a network that saw the all-up state
    in training then also classifies the all-down state). Inputs ``(B, L, L)``, outputs the class
    probabilities ``(B, n_classes)``.
    """
    body = paper_cnn(L, "class", padding, n_classes=n_classes, name="classifier_body")
    head = body.get_layer("classes")  # Dense with softmax: the logits are its input times its kernel
    features = keras.Model(body.input, head.input, name="features")
    linear = keras.layers.Dense(head.units, name="class_logits")
    inputs = keras.Input(shape=(L, L), name="spins")
    flipped = keras.layers.Rescaling(-1.0, name="flip")(inputs)
    averaged = keras.layers.Average(name="even_logits")([linear(features(x)) for x in (inputs, flipped)])
    outputs = keras.layers.Softmax(name="classes")(averaged)
    return keras.Model(inputs, outputs, name=name or f"paper_cnn_L{L}_class_{padding}_spin_flip")


def describe(model: keras.Model) -> dict:
    """Trainable parameters and multiply-adds per sample of a model built from Conv2D/Dense layers.

    A convolution costs ``H_out * W_out * C_out * k_h * k_w * C_in`` multiply-adds, a dense layer
    ``n_in * n_out``; padding, pooling, activations and biases are not counted.
    """
    macs = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            _, h, w, c_out = layer.output.shape
            kh, kw = layer.kernel_size
            macs += h * w * c_out * kh * kw * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Dense):
            macs += layer.input.shape[-1] * layer.units
    return {"params": int(model.count_params()), "macs": int(macs)}
