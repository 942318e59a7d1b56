"""Export a surrogate for serving without deepspin: TensorFlow SavedModel or ONNX (Keras 3's exporter)."""
from __future__ import annotations

import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np

from . import model_io

FORMATS = {"saved_model": "tf_saved_model", "onnx": "onnx"}


def export(model_path, output, format: str = "saved_model") -> Path:
    """Write the model at ``model_path`` to ``output`` in ``format`` (``saved_model`` or ``onnx``).

    The exported graph takes float32 ``(B, L, L)`` configurations and returns class
    probabilities ``(B, n_classes)`` or values ``(B, 1)``, exactly like the Keras model. A
    SavedModel is a folder (serving endpoint ``serve``); ONNX is one file and needs the
    ``tf2onnx`` and ``onnx`` packages on the TensorFlow backend (the test extras install them;
    ``tests/test_surrogate_model.py`` runs the file in ONNX Runtime against the Keras model).
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    model, metadata = model_io.load(model_path)
    output = Path(output)
    if output.exists():
        raise ValueError(f"{output} exists; remove it or choose another output path")
    output.parent.mkdir(parents=True, exist_ok=True)
    # Export into a temporary sibling, then rename: an interrupted export leaves nothing behind.
    staging = Path(tempfile.mkdtemp(prefix=f".{output.name}.", dir=output.parent))
    target = staging / output.name
    try:
        try:
            _call_once(model, metadata)  # Keras exports only a model that has been called
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # tf2onnx's own NumPy 2 deprecation notes
                model.export(str(target), format=FORMATS[format], verbose=False)
        except ImportError as exc:
            raise ValueError(f"exporting to {format} needs a package that is not installed: {exc}") from None
        target.rename(output)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output


def _call_once(model, metadata: dict) -> None:
    """Run ``model`` on one all-up configuration (its own size, or the metadata's ``L`` for a size-agnostic model)."""
    L = model.input_shape[1] or int(metadata.get("L") or 8)
    model.predict_on_batch(np.ones((1, L, L), np.float32))
