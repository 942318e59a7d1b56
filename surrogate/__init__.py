"""Neural-network surrogates of spin Hamiltonians (Keras 3), importable as ``deepspin.surrogate``.

Importing this package imports Keras (and the backend it selects, TensorFlow by default);
``import deepspin`` alone does not.

- :func:`paper_cnn`, :func:`describe`: the network of Mills & Tamblyn (2018), Fig. 1.
- :func:`fit`, :class:`TrainConfig`, :data:`PRESETS`: training on arrays.
- :func:`load`: a saved model as an energy operator (``energy(configs)``).
- :func:`train_speedup_model`, :func:`framework_versions`: the pretrained models of ``models/``
  and version records for ``bench/speedup.py``.
"""
from .architectures import describe, paper_cnn
from .layers import PeriodicPad2D
from .operator import EnergySurrogate, MagnetizationSurrogate, SurrogateOperator, load
from .pretrained import framework_versions, train_speedup_model
from .train import PRESETS, TrainConfig, fit

__all__ = [
    "PRESETS",
    "EnergySurrogate",
    "MagnetizationSurrogate",
    "PeriodicPad2D",
    "SurrogateOperator",
    "TrainConfig",
    "describe",
    "fit",
    "framework_versions",
    "load",
    "paper_cnn",
    "train_speedup_model",
]
