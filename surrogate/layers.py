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
