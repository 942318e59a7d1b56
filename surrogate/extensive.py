"""A size-extensive, periodic surrogate: per-site energies from a local window, summed.

The network maps an ``H x W`` configuration on a torus to a map of per-site energies
``e[r, c]`` and returns their sum ``E = sum_{r,c} e[r, c]``, so the energy is extensive by
construction and one set of weights takes any lattice size. Every convolution wraps the map
circularly (:class:`~.layers.PeriodicPad2D`, then ``padding="valid"``), there is no upscaling,
pooling or dense layer, so ``e[r, c]`` depends only on the spins within Chebyshev distance
:func:`receptive_radius` of ``(r, c)`` on the torus and translating the input translates the map.

Head: ``e[r, c] = s[r, c] * phi[r, c]``. For +1/-1 spins this loses nothing (any local function
``f`` is ``s * (s f)`` since ``s^2 = 1``), and it makes every pair Hamiltonian linear in the
window: ``E = (1/2) sum_i s_i sum_j K(j - i) s_j`` is ``phi_i = (1/2) sum_j K(j - i) s_j``, e.g.
``phi = -J (s_right + s_down)`` for the Ising model (radius 1). So ``phi`` is a linear
convolution of the spins over the first layer's window (the pair term, layer ``"pair"``) plus the
output of the nonlinear convolutions (many-body corrections, and whatever the window truncates):
a pair model is then fitted by a convex least-squares problem, to float32 precision, where a
purely ReLU network stalls at per-site errors of ~3e-3 J.

Only total energies are labels: the per-site decomposition is learned. Training fits the energy
per site ``E / N`` (:func:`per_site_model`), so lattices of different sizes share one loss; a
model trained on small lattices then predicts larger ones, up to the interactions beyond its
window (for the Ising model there are none).
"""
from __future__ import annotations

import weakref

import keras
import numpy as np

from .layers import ChannelAxis, LatticeSum, PeriodicPad2D

_SITE_MODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
SITE_LAYER = "site_energy"
PAIR_LAYER = "pair"

#: Defaults of the shipped models: (kernel, filters, dilation) per convolution, then 1x1 widths.
ISING_LAYERS = {"convs": ((3, 16, 1),), "head": (16,)}
COULOMB_LAYERS = {"convs": ((11, 32, 1),), "head": (32,)}


def build_extensive(convs=((3, 16, 1),), head=(16,), activation: str = "relu",
                    name: str = "extensive") -> keras.Model:
    """The extensive network (uncompiled): ``(B, H, W)`` spins, any ``H, W``, to total energy ``(B, 1)``.

    Args:
        convs: ``(kernel, filters, dilation)`` of each circularly padded convolution (odd
            kernels); they set the receptive radius ``sum (kernel - 1) / 2 * dilation``.
        head: widths of the 1x1 convolutions (per-site dense layers) before the linear ``phi``.
        activation: of every layer but the last.

    The per-site energies are the output of the layer named ``"site_energy"``
    (``(B, H, W, 1)``); :func:`site_energies` evaluates them.
    """
    convs = [tuple(int(v) for v in c) for c in convs]
    if not convs:
        raise ValueError("build_extensive: give at least one convolution (kernel, filters, dilation)")
    for kernel, filters, dilation in convs:
        if kernel < 1 or kernel % 2 == 0 or filters < 1 or dilation < 1:
            raise ValueError(f"build_extensive: each convolution needs an odd kernel >= 1, filters >= 1 and "
                             f"dilation >= 1; got (kernel, filters, dilation) = {(kernel, filters, dilation)}")
    if any(int(u) < 1 for u in head):
        raise ValueError(f"build_extensive: head widths must be >= 1, got {tuple(head)}")
    inputs = keras.Input(shape=(None, None), name="spins")
    spins = ChannelAxis(name="channel")(inputs)
    x = spins
    for i, (kernel, filters, dilation) in enumerate(convs):
        pad = (kernel - 1) // 2 * dilation
        if pad:
            x = PeriodicPad2D(((pad, pad), (pad, pad)), name=f"wrap{i}")(x)
        if i == 0:
            pair = keras.layers.Conv2D(1, kernel, dilation_rate=dilation, padding="valid", use_bias=False,
                                       kernel_initializer="zeros", name=PAIR_LAYER)(x)
        x = keras.layers.Conv2D(filters, kernel, dilation_rate=dilation, padding="valid", activation=activation,
                                name=f"conv{i}")(x)
    for j, units in enumerate(head):
        x = keras.layers.Conv2D(int(units), 1, activation=activation, name=f"site_dense{j}")(x)
    correction = keras.layers.Conv2D(1, 1, kernel_initializer="zeros", name="field")(x)
    phi = keras.layers.Add(name="field_sum")([pair, correction])
    sites = keras.layers.Multiply(name=SITE_LAYER)([spins, phi])
    outputs = LatticeSum(name="energy")(sites)
    return keras.Model(inputs, outputs, name=name)


def is_extensive(model) -> bool:
    """Whether ``model`` is an extensive network (has the per-site energy layer)."""
    return any(layer.name == SITE_LAYER for layer in model.layers)


def per_site_model(model) -> keras.Model:
    """The same weights with output ``E / N`` ``(B, 1)``: the training target of mixed sizes."""
    sites = _site_layer(model).output
    return keras.Model(model.inputs, LatticeSum(mean=True, name="energy_per_site")(sites),
                       name=f"{model.name}_per_site")


def receptive_radius(model) -> int:
    """Chebyshev radius ``R`` of the window that one site's energy depends on (on the torus).

    Summed over the model's stacked convolutions: ``(kernel - 1) / 2 * dilation`` each (1x1
    layers add 0); the linear pair convolution reads the first layer's window, so adds nothing.
    """
    radius = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D) and layer.name != PAIR_LAYER:
            (kh, kw), (dh, dw) = layer.kernel_size, layer.dilation_rate
            if kh != kw or dh != dw:
                raise ValueError(f"receptive_radius: layer {layer.name} is not square ({layer.kernel_size}, "
                                 f"dilation {layer.dilation_rate})")
            radius += (kh - 1) // 2 * dh
    return radius


def min_lattice(model) -> int:
    """Smallest lattice the circular padding can wrap (the widest padding of one layer, at least 1)."""
    widths = [max(max(p) for p in layer.padding) for layer in model.layers if isinstance(layer, PeriodicPad2D)]
    return max([1, *widths])


def site_energies(model, spins, batch_size: int = 8192) -> np.ndarray:
    """Per-site energies ``(B, L, L)`` float64 of ``spins`` ``(B, L, L)`` (or ``(L, L)``: ``(L, L)``).

    Their sum over sites is the model's total energy. ``batch_size`` is in units of 8x8
    lattices: larger lattices go through in proportionally smaller batches.
    """
    from .targets import network_inputs

    x = network_inputs(spins)
    L = x.shape[1]
    check_size(model, L)
    sub = site_model(model)
    step = max(1, int(batch_size) * 64 // (L * L))
    out = np.empty(x.shape, dtype=np.float64)
    for start in range(0, len(x), step):
        out[start:start + step] = np.asarray(sub.predict_on_batch(x[start:start + step]))[..., 0]
    return out[0] if np.ndim(spins) == 2 else out


def site_model(model) -> keras.Model:
    """The sub-model from the spins to the per-site map ``(B, H, W, 1)`` (built once per model).

    Cached, so repeated calls (a Monte Carlo loop) reuse one traced predict function.
    """
    sub = _SITE_MODELS.get(model)
    if sub is None:
        sub = _SITE_MODELS[model] = keras.Model(model.inputs, _site_layer(model).output)
    return sub


def check_size(model, L: int) -> None:
    """Reject a lattice smaller than the circular padding can wrap."""
    smallest = min_lattice(model)
    if L < smallest:
        raise ValueError(f"this extensive surrogate pads {smallest} sites circularly per layer and needs "
                         f"L >= {smallest}; got L = {L}")


def _site_layer(model):
    try:
        return model.get_layer(SITE_LAYER)
    except ValueError:
        raise ValueError(f"model {model.name!r} has no {SITE_LAYER!r} layer: it is not an extensive surrogate "
                         "(build it with build_extensive)") from None
