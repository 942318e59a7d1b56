"""Zero vs periodic padding and Adam vs Adadelta for the paper's CNN on 4x4 Ising classification.

Training data: 27,000 configurations, 1,800 per energy class drawn with replacement from the
exact enumeration (class-balanced like the paper's targeted sampling; the rare extreme classes
are repeats, as in the paper). After every epoch the network classifies all 65,536
configurations; the table gives the first epoch (and training seconds) at which it got all of
them right, or the best accuracy reached within the epoch budget.

    PYTHONPATH=python python bench/surrogate_padding.py [--epochs-zero 80] [--epochs 30]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from harness import format_table, machine_info, machine_label, write_results  # noqa: E402

import deepspin  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402
from deepspin.surrogate.train import TrainConfig, fit  # noqa: E402


class AllConfigsAccuracy(keras.callbacks.Callback):
    """Accuracy on every 4x4 configuration after each epoch; stops training at 100%."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.curve, self.start, self.train_s = x, y, [], 0.0, 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.train_s += time.perf_counter() - self.start
        predicted = self.model.predict(self.x, batch_size=4096, verbose=0).argmax(axis=1)
        accuracy = float(np.mean(predicted == self.y))
        self.curve.append({"epoch": epoch + 1, "train_s": round(self.train_s, 2), "accuracy": accuracy,
                           "max_class_error": int(np.abs(predicted - self.y).max())})
        print(f"  epoch {epoch + 1}: {accuracy:.5f} of all configurations ({self.train_s:.0f} s)", flush=True)
        if accuracy == 1.0:
            self.model.stop_training = True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30, help="epoch budget of the periodic and Adadelta runs")
    parser.add_argument("--epochs-zero", type=int, default=80, help="epoch budget of zero padding with Adam")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    x_all = configurations(4)
    y_all = deepspin.ising_class(x_all)
    rng = np.random.default_rng(args.seed)
    index = np.concatenate([rng.choice(np.flatnonzero(y_all == c), 1800) for c in range(15)])
    runs = [("periodic", "adam", args.epochs), ("zero", "adam", args.epochs_zero),
            ("periodic", "adadelta", args.epochs), ("zero", "adadelta", args.epochs)]
    results = []
    for padding, optimizer, epochs in runs:
        print(f"{padding} padding, {optimizer}:", flush=True)
        probe = AllConfigsAccuracy(x_all.astype(np.float32), y_all)
        config = TrainConfig(target="class", padding=padding, optimizer=optimizer, epochs=epochs,
                             patience=epochs, seed=args.seed, strategy="none")
        fit(x_all[index], y_all[index], config, verbose=0, callbacks=[probe])
        best = max(probe.curve, key=lambda r: r["accuracy"])
        solved = next((r for r in probe.curve if r["accuracy"] == 1.0), None)
        results.append({"padding": padding, "optimizer": optimizer, "epochs_run": len(probe.curve),
                        "solved_epoch": solved and solved["epoch"], "solved_train_s": solved and solved["train_s"],
                        "best_accuracy": best["accuracy"], "best_epoch": best["epoch"],
                        "final_accuracy": probe.curve[-1]["accuracy"], "curve": probe.curve})
    info = machine_info()
    rows = [[r["padding"], r["optimizer"], r["epochs_run"], r["solved_epoch"] or "-", r["solved_train_s"] or "-",
             f"{r['best_accuracy']:.5f}", r["best_epoch"]] for r in results]
    print(machine_label(info))
    print(format_table(["padding", "optimizer", "epochs", "100% at epoch", "train s", "best acc", "best epoch"], rows))
    path = write_results("surrogate_padding", {"machine": info, "samples": len(index), "batch": 800,
                                               "learning_rate": 1e-3, "runs": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
