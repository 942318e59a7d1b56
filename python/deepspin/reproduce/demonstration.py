"""The paper's demonstration network (Sec. 8, Figs. 13-14): what convolution kernels learn.

One convolution of 512 kernels of 3x3 with stride 3 on 9x9 Ising configurations, a dense layer of
1024 and a linear energy output, trained on 200,000 uniform random configurations
(:mod:`deepspin.surrogate.interpret`). The stage draws all 512 kernels (Fig. 13) and the inputs that
maximise the first and the last kernel with the lower-right 3x3 block clamped to all-up spins
(Fig. 14), by ascent on the kernel's mean pre-activation with the input ``tanh(u)``: every free site
ends at the sign of the kernel weight it meets, a clean +1/-1 image (the paper's objective, the
activation in the box ``[-1, 1]``, keeps the starting noise wherever a ReLU starts inactive). The
paper gives no number for this network ("significantly more poorly than the network
used throughout this work"), so its rows are shown, not compared.
"""
from __future__ import annotations

import json
import math

import numpy as np

from ..io import write_text
from .stage import Context, Row

#: The lower-right 3x3 block of the 9x9 lattice, all up (the clamp of the paper's Fig. 14).
_CLAMP = (6, 6, np.ones((3, 3), dtype=np.int8))
#: Ascent step in tanh space (every free site saturates within about 50 steps on a 16-kernel network).
_STEP = 0.1


def demo_model(ctx: Context, p: dict):
    """Path of the cached trained demonstration network, and its training record (``.json`` beside it)."""
    def build(path):
        from ..surrogate.interpret import save_model, train_demo

        run = train_demo(samples=p["samples"], epochs=p["epochs"], seed=p["seed"], progress=ctx.progress)
        write_text(path.with_suffix(".json"), json.dumps(
            {"test_mae": run.test_mae, "train_samples": run.train_samples, "test_samples": run.test_samples,
             "epochs": run.epochs, "loss": list(run.loss)}, indent=1) + "\n")
        save_model(run.model, path)  # last: the model's presence means the record is there too

    path = ctx.artefact("demo-model", {"samples": p["samples"], "epochs": p["epochs"], "seed": p["seed"]}, build,
                        ".keras")
    return path, json.loads(path.with_suffix(".json").read_text())


def kernels_9x9(ctx: Context) -> list[Row]:
    """Train (or reuse) the demonstration network, draw its kernels and two activation maximisations."""
    from ..surrogate.interpret import load_model, maximize_activation, plot_kernels, plot_maximizations

    p = ctx.params
    path, record = demo_model(ctx, p)
    model = load_model(path)
    panels = plot_kernels(model, ctx.figure("kernels.png"))
    filters = model.get_layer("blocks").filters
    results = [maximize_activation(model, index, steps=p["steps"], step_size=_STEP, seed=p["seed"], clamp=[_CLAMP],
                                   objective="pre-activation", space="tanh") for index in (0, filters - 1)]
    plot_maximizations(results, ctx.figure("maximize.png"))
    zero_guess = math.sqrt(2 * 81) * math.sqrt(2 / math.pi)  # MAE of always predicting the mean E = 0
    where = f"{record['train_samples']:,} uniform 9x9 training, {record['test_samples']:,} test, {record['epochs']} epochs"
    return [
        Row(f"9x9 demonstration network (512 kernels 3x3, stride 3): test MAE ({where})", record["test_mae"], unit="J",
            paper="demo.performance", figure="kernels.png", key="demo.kernels", size=record["train_samples"]),
        Row("9x9 demonstration network: test MAE / MAE of always predicting E = 0 (10.16 J)",
            record["test_mae"] / zero_guess, paper="demo.performance", figure="kernels.png"),
        Row("9x9 demonstration network: kernels drawn (Fig. 13)", panels, paper="demo.kernels", figure="kernels.png"),
        *(Row(f"9x9 demonstration network: kernel {r.filter}, mean activation after {p['steps']} ascent steps "
              "(pre-activation, input tanh(u)), lower-right block clamped up (Fig. 14)", float(r.activations[-1]),
              paper="demo.maximize",
              figure="maximize.png") for r in results),
    ]
