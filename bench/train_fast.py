"""Train the fast surrogate shipped in models/: a small extensive model of 8x8 screened Coulomb.

    PYTHONPATH=python python bench/train_fast.py [--filters 2] [--head 2] [--kernel 9] [--epochs 60]
                                                 [--uniform 20000] [--chains 400] [-o PATH]

The network is :func:`deepspin.surrogate.build_extensive` (per-site energies ``e = s * phi``
summed over the torus; one circularly padded ``kernel x kernel`` convolution with ``filters``
ReLU channels, one 1x1 layer of width ``head``, and the linear pair convolution over the same
window), sized for throughput rather than generality: trained on 8x8 only (k = 0.5, rcut = 64,
J = 1). A 9x9 window on the 8x8 torus covers every lattice offset, so the pair layer can
represent the folded image sum exactly. Trained from total energies alone, the shipped model
(2 ReLU channels, head 2, 254 parameters) reaches a median |error| of 2.4e-6 J (its card): it has
learned the pair kernel to float32 precision, and for this pure pair Hamiltonian the ReLU
channels add next to nothing. It is therefore a learned folded kernel, and runs slower than the
folded-kernel exact method itself (bench/speedup.py shows both).
:class:`deepspin.surrogate.inference.Predictor` lowers it to matrix products for 8x8.

Data: ``--uniform`` uniform configurations plus the final states of ``--chains`` Metropolis
chains at T = 0.25, 0.5, 1, 2 and their staggered images (``labelled_configs``), exact labels
(folded kernel). Adam with cosine decay, batch 128, early stopping on 10 % of the data. The card
(``<output>.json``) records the command, data, settings, the median |error| on 20,000 fresh
uniform configurations (seed 7, disjoint from the training seed) and the multiply-adds per
configuration of the lowered form.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "models" / "screened_coulomb_fast.keras"
TEMPERATURES = (0.25, 0.5, 1.0, 2.0)


def lowered_macs(kernel_channels: int, head: int, L: int = 8) -> int:
    """Multiply-adds per configuration of the lowered model: ``N x N*F`` + per-site head + field + pair."""
    N = L * L
    return N * N * kernel_channels + N * kernel_channels * head + N * head + N * N


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernel", type=int, default=9)
    parser.add_argument("--filters", type=int, default=2)
    parser.add_argument("--head", type=int, default=2)
    parser.add_argument("--uniform", type=int, default=20_000)
    parser.add_argument("--chains", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--learning-rate", type=float, default=1e-2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT)
    args = parser.parse_args(argv)

    import deepspin
    from deepspin.io import write_text
    from deepspin.surrogate import model_io
    from deepspin.sampling import labelled_configs
    from deepspin.surrogate.pretrained import framework_versions
    from deepspin.surrogate.train import TrainConfig, fit_sizes, training_metadata

    H = deepspin.ScreenedCoulomb(8, k=0.5)  # rcut = 8L = 64, the paper's cutoff
    layers = {"convs": ((args.kernel, args.filters, 1),), "head": (args.head,)}
    start = time.perf_counter()
    spins, energies = labelled_configs(H, args.uniform, TEMPERATURES, args.chains, 200, args.seed)
    data_seconds = time.perf_counter() - start
    config = TrainConfig(target="energy", arch="extensive", epochs=args.epochs, patience=10, seed=args.seed,
                         batch_size=128, learning_rate=args.learning_rate, strategy="none")
    start = time.perf_counter()
    model, history = fit_sizes([(spins, energies)], config, layers=layers, verbose=2)
    seconds = time.perf_counter() - start
    from deepspin.surrogate.extensive import receptive_radius

    meta = {"hamiltonian": "screened-coulomb", "L": 8, "params": H.params}
    metadata = training_metadata(config, meta, len(energies), history,
                                 source=f"uniform + Metropolis final configurations, seed {args.seed}")
    metadata.update(arch="extensive", train_sizes=[8], receptive_radius=receptive_radius(model))
    model_io.save(model, args.output, metadata)

    from deepspin.surrogate import load

    test = np.random.default_rng(7).choice(np.array([-1, 1], np.int8), size=(20_000, 8, 8))
    errors = np.abs(load(args.output).energy(test) - H.energy(test))
    card = {
        "model": args.output.name,
        "command": harness.rerun_command(__file__, list(sys.argv[1:] if argv is None else argv)),
        "arch": "extensive",
        "purpose": "throughput at the paper's accuracy on 8x8 (bench/speedup.py); trained on 8x8 only",
        "hamiltonian": {"name": "screened-coulomb", "L": 8, **H.params},
        "receptive_radius": receptive_radius(model),
        "layers": layers,
        "params": int(model.count_params()),
        "lowered_macs_per_config_L8": lowered_macs(args.filters, args.head),
        "data": {"train_sizes": [8], "uniform": args.uniform,
                 "thermal": {"temperatures": list(TEMPERATURES), "chains_per_T": args.chains, "sweeps": 200,
                             "sampler": "deepspin.mc.run, random start, final configurations, and staggered images"},
                 "n_total": int(len(energies)), "seed": args.seed,
                 "validation_fraction_of_train": config.validation_fraction, "seconds": round(data_seconds, 1)},
        "training": {"optimizer": config.optimizer, "learning_rate": config.learning_rate, "batch": config.batch_size,
                     "schedule": "cosine decay to 1/1000", "loss": "MSE of the energy per site",
                     "epochs_run": len(history.epoch),
                     "final_val_loss": float(history.history.get("val_loss", [float("nan")])[-1]),
                     "seconds": round(seconds, 1), "cores": os.cpu_count(), **framework_versions()},
        "test": {"n": int(len(test)), "sampler": "uniform, seed 7", "median_abs_error": float(np.median(errors)),
                 "mae": float(errors.mean()), "max_abs_error": float(errors.max())},
        "size_bytes": args.output.stat().st_size,
    }
    write_text(args.output.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["test"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
