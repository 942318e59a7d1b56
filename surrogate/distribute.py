"""Data-parallel training scopes: tf.distribute on TensorFlow, keras.distribution on JAX.

Data parallelism keeps a full copy of the network on each device; every device computes the
gradient of its share of a global batch and the gradients are summed before the optimizer step
(the paper's multi-GPU scheme, section "Deep neural network"). Keras scales each replica's loss
by ``1 / replicas``, so the summed gradient equals the single-device gradient of the global batch.

Strategies (``--strategy``):

- ``none``: the backend's default device.
- ``mirrored``: TensorFlow ``MirroredStrategy`` over all visible GPUs (or all logical CPU devices
  when there is no GPU); JAX ``keras.distribution.DataParallel`` over all devices.
- ``multiworker``: TensorFlow ``MultiWorkerMirroredStrategy`` across the hosts listed in
  ``TF_CONFIG`` (TensorFlow backend only).
- ``auto``: ``multiworker`` when ``TF_CONFIG`` lists more than one worker, ``mirrored`` when more
  than one accelerator is visible, else ``none``.
"""
from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field

STRATEGIES = ("auto", "mirrored", "multiworker", "none")


@dataclass
class Placement:
    """Where training runs: the strategy's name, its scope, replica count and this worker's role."""

    name: str
    replicas: int = 1
    worker_index: int = 0
    workers: int = 1
    scope_factory: object = field(default=contextlib.nullcontext, repr=False)

    @property
    def is_chief(self) -> bool:
        """Worker 0 writes checkpoints, logs and the final model; the others only compute."""
        return self.worker_index == 0

    def scope(self):
        return self.scope_factory()


def tf_config_workers() -> tuple[int, int]:
    """``(workers, this worker's index)`` from the ``TF_CONFIG`` environment variable, (1, 0) if unset."""
    text = os.environ.get("TF_CONFIG")
    if not text:
        return 1, 0
    try:
        config = json.loads(text)
        workers = len(config["cluster"].get("worker", [])) + len(config["cluster"].get("chief", []))
        task = config.get("task", {})
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"TF_CONFIG is not valid JSON with a 'cluster' mapping ({exc}): {text!r}") from None
    index = int(task.get("index", 0))
    if task.get("type") == "worker" and "chief" in config["cluster"]:
        index += 1
    return max(workers, 1), index


def placement(name: str = "auto", devices: list[str] | None = None) -> Placement:
    """Resolve a strategy name for the current Keras backend (see the module docstring)."""
    import keras  # here, not at the top: STRATEGIES and tf_config_workers load without Keras

    if name not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}; got {name!r}")
    backend = keras.backend.backend()
    if backend == "tensorflow":
        return _tensorflow_placement(name, devices)
    if backend == "jax":
        return _jax_placement(name, devices)
    if name in ("mirrored", "multiworker"):
        raise ValueError(f"strategy {name!r} needs the tensorflow or jax backend; KERAS_BACKEND is {backend}")
    return Placement("none")


def _tensorflow_placement(name: str, devices) -> Placement:
    import tensorflow as tf

    workers, index = tf_config_workers()
    if name == "multiworker" or (name == "auto" and workers > 1):
        # Must come before anything initialises TensorFlow's runtime (listing devices does).
        if workers < 2:
            raise ValueError("strategy 'multiworker' needs TF_CONFIG describing at least two workers "
                             "(see docs/surrogate.md); use --strategy mirrored on one host")
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        return Placement("multiworker", strategy.num_replicas_in_sync, index, workers, strategy.scope)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "none" or (name == "auto" and len(gpus) < 2):
        return Placement("none")
    if devices is None:
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    return Placement("mirrored", strategy.num_replicas_in_sync, scope_factory=strategy.scope)


def _jax_placement(name: str, devices) -> Placement:
    if name == "multiworker":
        raise ValueError("strategy 'multiworker' is implemented on the tensorflow backend only "
                         "(unset KERAS_BACKEND); on JAX use 'mirrored' (keras.distribution.DataParallel)")
    import keras

    available = devices or keras.distribution.list_devices()
    if name == "none" or (name == "auto" and len(available) < 2):
        return Placement("none")
    distribution = keras.distribution.DataParallel(devices=available)
    return Placement("mirrored", len(available), scope_factory=distribution.scope)
