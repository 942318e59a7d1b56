"""Neural-network surrogates of spin Hamiltonians (Keras 3), importable as ``deepspin.surrogate``.

Importing this package is cheap: its names are loaded on first use (PEP 562), and only the modules
that need Keras import it (and the backend it selects, TensorFlow by default), so
``deepspin.surrogate.targets`` or ``.distribute`` load without Keras. ``import deepspin`` alone
imports none of it.

- :func:`paper_cnn`, :func:`describe`: the network of Mills & Tamblyn (2018), Fig. 1.
- :func:`fit`, :class:`TrainConfig`, :data:`PRESETS`: training on arrays.
- :func:`load`: a saved model as an energy operator (``energy(configs)``).
- :func:`build_extensive`, :func:`site_energies`, :func:`receptive_radius`, :func:`fit_sizes`:
  the size-extensive periodic network (per-site energies summed; any L), :mod:`.extensive`.
- :func:`train_speedup_model`, :func:`train_extensive_model`, :func:`framework_versions`: the
  pretrained models of ``models/`` and version records for the benchmarks.
"""
import importlib
import importlib.util

#: Where each public name lives (module of this package).
_EXPORTS = {
    "describe": "architectures", "paper_cnn": "architectures",
    "build_extensive": "extensive", "receptive_radius": "extensive", "site_energies": "extensive",
    "PeriodicPad2D": "layers",
    "EnergySurrogate": "operator", "ExtensiveSurrogate": "operator", "MagnetizationSurrogate": "operator",
    "SurrogateOperator": "operator", "load": "operator",
    "framework_versions": "pretrained", "train_extensive_model": "pretrained", "train_speedup_model": "pretrained",
    "PRESETS": "train", "TrainConfig": "train", "fit": "train", "fit_sizes": "train",
}


def __getattr__(name: str):
    """A public name (:data:`_EXPORTS`) or a submodule (``deepspin.surrogate.model_io``), imported on first use."""
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}") is not None:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))


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
