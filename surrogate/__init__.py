"""Neural-network surrogates of spin Hamiltonians (Keras 3), importable as ``deepspin.surrogate``.

Importing this package imports Keras (and the backend it selects, TensorFlow by default);
``import deepspin`` alone does not.

- :func:`paper_cnn`, :func:`describe`: the network of Mills & Tamblyn (2018), Fig. 1.
- :func:`fit`, :class:`TrainConfig`, :data:`PRESETS`: training on arrays.
- :func:`load`: a saved model as an energy operator (``energy(configs)``).
- :func:`build_extensive`, :func:`site_energies`, :func:`receptive_radius`, :func:`fit_sizes`:
  the size-extensive periodic network (per-site energies summed; any L), :mod:`.extensive`.
- :func:`train_speedup_model`, :func:`train_extensive_model`, :func:`framework_versions`: the
  pretrained models of ``models/`` and version records for the benchmarks.
"""
from .architectures import describe, paper_cnn
from .extensive import build_extensive, receptive_radius, site_energies
from .layers import PeriodicPad2D
from .operator import EnergySurrogate, ExtensiveSurrogate, MagnetizationSurrogate, SurrogateOperator, load
from .pretrained import framework_versions, train_extensive_model, train_speedup_model
from .train import PRESETS, TrainConfig, fit, fit_sizes

__all__ = [
    "PRESETS",
    "EnergySurrogate",
    "ExtensiveSurrogate",
    "MagnetizationSurrogate",
    "PeriodicPad2D",
    "SurrogateOperator",
    "TrainConfig",
    "build_extensive",
    "describe",
    "fit",
    "fit_sizes",
    "framework_versions",
    "load",
    "paper_cnn",
    "receptive_radius",
    "site_energies",
    "train_extensive_model",
    "train_speedup_model",
]
