"""Save and load ``.keras`` models together with their deepspin metadata.

The metadata (target, L, Hamiltonian and its parameters, training data and settings) travels
inside the ``.keras`` zip archive as ``deepspin.json``; Keras ignores the extra member, so the
file still loads with plain ``keras.saving.load_model``.
"""
from __future__ import annotations

import json
import shutil
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


#: Members every Keras 3 ``.keras`` archive holds.
KERAS_MEMBERS = ("config.json", "metadata.json", "model.weights.h5")


def read_metadata(path) -> dict:
    """The deepspin metadata stored in a ``.keras`` file (``{}`` for a plain Keras file).

    Raises :class:`ValueError` naming the file when it is not a zip archive, is truncated, lacks
    the members of a Keras model, or holds metadata that is not a JSON object.
    """
    path = _existing_model(path)
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            missing = [m for m in KERAS_MEMBERS if m not in names]
            if missing:
                raise ValueError(f"{path} is a zip archive but not a Keras model (no {', '.join(missing)}); "
                                 "give a .keras file written by `deepspin train` or keras' model.save")
            if METADATA_MEMBER not in names:
                return {}
            text = archive.read(METADATA_MEMBER)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise ValueError(f"{path} is not a readable .keras archive (truncated or another format?): {exc}") from None
    try:
        metadata = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"{path}: its {METADATA_MEMBER} is not valid JSON ({exc})") from None
    if not isinstance(metadata, dict):
        raise ValueError(f"{path}: its {METADATA_MEMBER} must be a JSON object, got {type(metadata).__name__}")
    return metadata


def load(path, compile: bool = False):
    """``(keras model, metadata)`` from a ``.keras`` file.

    Keras' ``safe_mode`` stays on: a model file cannot run code (lambda layers) when it is loaded.
    """
    import keras

    from . import layers  # noqa: F401  (registers the custom layers)

    path = _existing_model(path)
    metadata = read_metadata(path)
    try:
        model = keras.saving.load_model(path, compile=compile, safe_mode=True)
    except Exception as exc:  # a damaged file fails anywhere in Keras/h5py (ValueError, KeyError, OSError, ...)
        raise ValueError(f"{path}: Keras cannot load this model ({type(exc).__name__}: {exc})") from None
    return model, metadata


def _existing_model(path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such model file: {path}")
    return path


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in model metadata")


def without_optimizer(source, target) -> None:
    """Copy the ``.keras`` archive ``source`` to ``target`` without the optimizer's state.

    Every member but ``model.weights.h5`` is copied byte for byte; that one is rewritten without
    its ``optimizer`` group, so the layer weights, the model config and deepspin's metadata are
    unchanged and an uncompiled load (:func:`deepspin.surrogate.model_io.load`) gives the same network.
    """
    import zipfile

    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w") as copy:
        for member in archive.infolist():
            data = archive.read(member)
            copy.writestr(member, _without_group(data, "optimizer") if member.filename == "model.weights.h5" else data)
    shutil.copystat(source, target)


def _without_group(h5_bytes: bytes, group: str) -> bytes:
    """An HDF5 file's bytes without its top-level ``group`` (root attributes and every other member kept)."""
    import io

    import h5py

    kept = io.BytesIO()
    with h5py.File(io.BytesIO(h5_bytes), "r") as full, h5py.File(kept, "w") as lean:
        lean.attrs.update(full.attrs)
        for name in full:
            if name != group:
                full.copy(full[name], lean, name=name)
    return kept.getvalue()
