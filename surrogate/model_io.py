"""Save and load ``.keras`` models together with their deepspin metadata.

The metadata (target, L, Hamiltonian and its parameters, training data and settings) travels
inside the ``.keras`` zip archive as ``deepspin.json``; Keras ignores the extra member, so the
file still loads with plain ``keras.saving.load_model``.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

from deepspin.io import atomic_path

METADATA_MEMBER = "deepspin.json"


def save(model, path, metadata: dict) -> Path:
    """Write ``model`` to ``path`` (must end in ``.keras``) atomically with ``metadata`` inside."""
    path = Path(path)
    if path.suffix != ".keras":
        raise ValueError(f"model files must end in .keras, got {path}")
    with atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)
        with zipfile.ZipFile(tmp, "a") as archive:
            archive.writestr(METADATA_MEMBER, json.dumps(metadata, indent=2, sort_keys=True, default=_jsonable))
    return path


def read_metadata(path) -> dict:
    """The deepspin metadata stored in a ``.keras`` file (``{}`` for a plain Keras file)."""
    path = _existing_model(path)
    try:
        with zipfile.ZipFile(path) as archive:
            if METADATA_MEMBER not in archive.namelist():
                return {}
            return json.loads(archive.read(METADATA_MEMBER))
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not a .keras archive") from None


def load(path, compile: bool = False):
    """``(keras model, metadata)`` from a ``.keras`` file."""
    import keras

    from . import layers  # noqa: F401  (registers the custom layers)

    path = _existing_model(path)
    metadata = read_metadata(path)
    return keras.saving.load_model(path, compile=compile), metadata


def _existing_model(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return path


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")
