"""Training and inference throughput of the paper's CNN (8x8, 63 classes) at batch 800.

Training: samples/s of ``train_on_batch`` with Adam on random +1/-1 configurations (the cost
does not depend on the labels). Inference: configurations/s of the energy operator
(``deepspin.surrogate.EnergySurrogate.energy``, batched ``predict_on_batch``) and of
``model.predict``. Both paddings; the backend's default device (a GPU when TensorFlow sees one).

    PYTHONPATH=python python bench/surrogate_throughput.py [--L 8] [--batch 800]
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
from harness import format_table, machine_info, machine_label, measure, write_results  # noqa: E402

from deepspin.surrogate import EnergySurrogate, describe, paper_cnn  # noqa: E402
from deepspin.surrogate.train import TrainConfig, compile_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--L", type=int, default=8)
    parser.add_argument("--batch", type=int, default=800)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_classes = args.L * args.L - 1
    x = rng.choice(np.array([-1, 1], np.int8), size=(8 * args.batch, args.L, args.L))
    y = rng.integers(0, n_classes, len(x))
    rows = []
    for padding in ("periodic", "zero"):
        model = paper_cnn(args.L, "class", padding)
        compile_model(model, TrainConfig(target="class", padding=padding))
        xb, yb = x[:args.batch].astype(np.float32), y[:args.batch]
        train = measure(lambda: model.train_on_batch(xb, yb), repeats=args.repeats, min_time=1.0)
        op = EnergySurrogate(model, {"target": "class", "L": args.L}, batch_size=args.batch)
        operator = measure(lambda: op.energy(x), repeats=args.repeats, min_time=1.0)
        predict = measure(lambda: model.predict(x.astype(np.float32), batch_size=args.batch, verbose=0),
                          repeats=args.repeats, min_time=1.0)
        rows.append({"padding": padding, **describe(model),
                     "train_samples_per_s": args.batch / train["median_s"],
                     "operator_configs_per_s": len(x) / operator["median_s"],
                     "predict_configs_per_s": len(x) / predict["median_s"],
                     "timings": {"train_step": train, "operator": operator, "predict": predict}})
    info = machine_info()
    print(f"{machine_label(info)}; Keras {keras.__version__}, backend {keras.backend.backend()}")
    print(format_table(["padding", "params", "MACs", "train samples/s", "operator cfg/s", "predict cfg/s"],
                       [[r["padding"], r["params"], r["macs"], round(r["train_samples_per_s"]),
                         round(r["operator_configs_per_s"]), round(r["predict_configs_per_s"])] for r in rows]))
    path = write_results("surrogate_throughput", {"machine": info, "keras": keras.__version__,
                                                  "backend": keras.backend.backend(), "L": args.L,
                                                  "batch": args.batch, "rows": rows})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
