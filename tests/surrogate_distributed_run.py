"""Helper of test_surrogate_train.py: one small training run in a fresh process.

    python surrogate_distributed_run.py local OUT_DIR        (writes none.npy and mirrored.npy)
    python surrogate_distributed_run.py multiworker OUT.npy  (cluster from TF_CONFIG)

Trains the paper CNN with SGD on a fixed 4x4 sample and writes its class probabilities for the
first 512 configurations. ``local`` splits the CPU into two logical devices and trains once on
one device and once mirrored over both; under ``multiworker`` all workers predict (a collective
operation) and worker 0 writes.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import deepspin  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402

mode, out = sys.argv[1], sys.argv[2]
if mode == "local":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from deepspin.surrogate.distribute import tf_config_workers  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit  # noqa: E402

x = configurations(4)
rng = np.random.default_rng(7)
index = rng.choice(len(x), 1600, replace=False)


def train(strategy):
    config = TrainConfig(target="class", optimizer="sgd", learning_rate=0.05, batch_size=400, epochs=2,
                         validation_fraction=0.0, seed=3, strategy=strategy)
    model, _ = fit(x[index], deepspin.ising_class(x[index]), config, verbose=0)
    return model.predict(x[:512].astype(np.float32), verbose=0)  # collective under multiworker


if mode == "local":
    for strategy in ("none", "mirrored"):
        np.save(os.path.join(out, f"{strategy}.npy"), train(strategy))
else:
    probabilities = train("multiworker")
    if tf_config_workers()[1] == 0:
        np.save(out, probabilities)
