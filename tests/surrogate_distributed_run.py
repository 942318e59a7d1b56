"""Helper of test_surrogate_train.py: one small training run in a fresh process.

    python surrogate_distributed_run.py MODE OUT.npy   (MODE: none | mirrored | multiworker)

Splits the CPU into two logical devices (so ``mirrored`` has two replicas), trains the paper CNN
on a fixed 4x4 sample and writes its class probabilities for the first 512 configurations.
Under ``multiworker`` the cluster comes from TF_CONFIG; all workers predict, worker 0 writes.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import deepspin  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402

mode, out = sys.argv[1], sys.argv[2]
if mode != "multiworker":
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)

from deepspin.surrogate.distribute import tf_config_workers  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit  # noqa: E402

x = configurations(4)
rng = np.random.default_rng(7)
index = rng.choice(len(x), 1600, replace=False)
config = TrainConfig(target="class", optimizer="sgd", learning_rate=0.05, batch_size=400, epochs=2,
                     validation_fraction=0.0, seed=3, strategy=mode)
model, _ = fit(x[index], deepspin.ising_class(x[index]), config, verbose=0)
probabilities = model.predict(x[:512].astype(np.float32), verbose=0)  # collective: every worker predicts
if tf_config_workers()[1] == 0:
    np.save(out, probabilities)
