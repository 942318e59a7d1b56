"""Custom Keras layers of the surrogate networks (pure Keras 3: ``keras.layers`` + ``keras.ops``).

Every layer here is registered serializable, so a saved ``.keras`` file loads under the
TensorFlow, JAX and PyTorch backends without extra ``custom_objects``.
"""
from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="deepspin")
class PeriodicPad2D(keras.layers.Layer):
    """Circular ("wrap") padding of a ``(B, H, W, C)`` feature map.

    Rows ``H - top .. H - 1`` are copied above row 0 and rows ``0 .. bottom - 1`` below row
    ``H - 1`` (columns likewise), so a following ``padding="valid"`` convolution sees the
    lattice's periodic boundary instead of zeros. Padding widths may not exceed the map size.
    """

    def __init__(self, padding=((1, 1), (1, 1)), **kwargs):
        super().__init__(**kwargs)
        (top, bottom), (left, right) = padding
        widths = (int(top), int(bottom), int(left), int(right))
        if min(widths) < 0:
            raise ValueError(f"PeriodicPad2D: padding widths must be >= 0, got {padding}")
        self.padding = ((widths[0], widths[1]), (widths[2], widths[3]))

    def build(self, input_shape):
        for axis, (before, after) in zip((1, 2), self.padding):
            size = input_shape[axis]
            if size is not None and max(before, after) > size:
                raise ValueError(
                    f"PeriodicPad2D: padding {before, after} exceeds the feature-map size {size} on axis {axis}"
                )

    def call(self, x):
        for axis, (before, after) in zip((1, 2), self.padding):
            parts = []
            if before:
                parts.append(_slice(x, axis, -before, None))
            parts.append(x)
            if after:
                parts.append(_slice(x, axis, 0, after))
            if len(parts) > 1:
                x = ops.concatenate(parts, axis=axis)
        return x

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for axis, (before, after) in zip((1, 2), self.padding):
            if shape[axis] is not None:
                shape[axis] += before + after
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _slice(x, axis: int, start, stop):
    index = [slice(None)] * 4
    index[axis] = slice(start, stop)
    return x[tuple(index)]


def same_padding(kernel: int, stride: int, size: int) -> tuple[int, int]:
    """Padding ``(before, after)`` that Keras' ``padding="same"`` applies on one axis.

    Output size ``ceil(size / stride)``; total padding ``max(kernel - stride, 0)`` when ``size``
    is divisible by ``stride`` (else ``max(kernel - size % stride, 0)``), split with the extra
    row/column after, as TensorFlow does.
    """
    remainder = size % stride
    total = max(kernel - (stride if remainder == 0 else remainder), 0)
    return total // 2, total - total // 2


@keras.saving.register_keras_serializable(package="deepspin")
class ChannelAxis(keras.layers.Layer):
    """``(B, H, W)`` spins to a one-channel ``(B, H, W, 1)`` map, for any ``H`` and ``W``.

    (``keras.layers.Reshape`` needs all but one dimension known; a size-agnostic network has none.)
    """

    def call(self, x):
        return ops.expand_dims(x, -1)

    def compute_output_shape(self, input_shape):
        return (*input_shape, 1)


@keras.saving.register_keras_serializable(package="deepspin")
class LatticeSum(keras.layers.Layer):
    """Sum (or mean, with ``mean=True``) of a ``(B, H, W, C)`` map over the lattice: ``(B, C)``.

    The sum of per-site energies is the total energy, extensive by construction; the mean is the
    energy per site, the training target that lets lattices of different sizes share a loss.
    """

    def __init__(self, mean: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.mean = bool(mean)

    def call(self, x):
        return ops.mean(x, axis=(1, 2)) if self.mean else ops.sum(x, axis=(1, 2))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "mean": self.mean}
