"""Train the shipped Falicov–Kimball surrogate: an extensive network of ``E(s; T)`` near T_c.

    python bench/train_falicov_kimball.py [--epochs 100] [--seed 0] [--work bench/out/fk-train] [-o models/...]

The self-learning loop of Liu et al. (PRB 95, 041101 (2017)), each stage cached in ``--work``
(written atomically, skipped when present, so a killed run resumes where it stopped):

1. ``seed``: short exact single-flip Metropolis at L = 8 (:mod:`deepspin.mc`, the batch rule with
   the exact energy) at each temperature of :data:`TEMPERATURES`; a linear pair model
   (:func:`deepspin.effective.fit_pair_model`, 4 shells) fitted per temperature to its states.
2. ``samples``: thermal samples at L = 8 and 16 from *exact* cumulative updates (the linear model
   proposes :data:`INNER_SWEEPS` sweeps on the compiled pair kernel, the Falicov–Kimball energy
   corrects), so the samples follow ``exp(-E(s;T)/T)`` exactly; plus copies with 1-4 random flips
   (the neighbourhood that Monte Carlo moves visit).
3. ``labels``: ``E(s; T)`` of every sample at its own temperature, in chunks with progress (the
   expensive step: O(N^3) per configuration), each chunk saved as it finishes.
4. ``train``: the extensive network (:func:`deepspin.surrogate.extensive.build_extensive`,
   :data:`LAYERS`, receptive radius 3) fitted to the energy per site of both sizes at once
   (:func:`deepspin.surrogate.train.fit_sizes`). One network serves every temperature of the grid:
   the configuration-dependent part of ``E(s; T)`` moves by about 0.006 t between T = 0.13 and
   0.15 at L = 8. Its constant part does not: every label is taken relative to the intercept
   ``E0`` of the linear model of its size and temperature, so the network learns
   ``E(s; T) - E0(L, T)``, whose differences are those of ``E``.

Writes the model and a JSON card (its residuals on held-out samples beside the linear model's,
at each size and temperature) to ``-o`` (default ``models/falicov_kimball_extensive.keras``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))
import harness  # noqa: E402

import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

import deepspin  # noqa: E402
from deepspin.effective import ShellFunction, fit_pair_model  # noqa: E402
from deepspin.io import atomic_path, write_text  # noqa: E402
from deepspin.mc import init, sweep  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
#: The temperature grid around T_c ~ 0.14 (U = 4, t = 1).
TEMPERATURES = (0.12, 0.14, 0.16, 0.18)
SIZES = (8, 16)
#: Per size: chains per temperature, cumulative steps of burn-in, records per chain, steps between records.
SAMPLING = {8: (128, 60, 20, 4), 16: (32, 60, 20, 4)}
INNER_SWEEPS = 8
LAYERS = {"convs": ((3, 32, 1), (3, 32, 1), (3, 32, 1)), "head": (32,)}
U, HOP = 4.0, 1.0
CHUNK = 512


def cached(path: Path, make):
    """``np.load(path)`` if it exists, else ``make()`` (a dict of arrays) saved atomically first."""
    if path.exists():
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    arrays = make()
    with atomic_path(path, suffix=".npz.tmp") as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)
    return arrays


def seed_models(work: Path, seed: int) -> dict:
    """Stage 1: linear pair models per temperature from short exact Metropolis at L = 8."""
    def make():
        H = deepspin.FalicovKimball(8, U=U, t=HOP)
        state = init(H, TEMPERATURES, chains=32, seed=seed, start="random", backend="generic")
        configs = []
        for _ in tqdm(range(40), desc="seed: exact Metropolis, L = 8", unit="sweep"):
            sweep(state, 1)
            configs.append(state.spins.copy())
        # the last 20 sweeps, every other one, of every chain
        spins = np.stack(configs[20::2], axis=1).reshape(len(TEMPERATURES), -1, 8, 8)
        return {"spins": spins}

    spins = cached(work / "seed.npz", make)["spins"]
    H = deepspin.FalicovKimball(8, U=U, t=HOP)
    return {T: fit_pair_model(spins[i], H.energy(spins[i], T), 8, shells=4) for i, T in enumerate(TEMPERATURES)}


def pair_model_at(model, L: int) -> deepspin.PairPotential:
    """The pair part of a fitted linear model (shells with ``d <= 2``, fitted at any size) on the ``L x L`` torus."""
    f = ShellFunction(tuple(int(n) for n in model.norms), tuple(float(j) for j in model.couplings))
    return deepspin.PairPotential(L, f, rcut=float(np.sqrt(model.norms[-1] + 0.5)), name="effective-pairs")


def thermal_samples(work: Path, L: int, models: dict, seed: int) -> dict:
    """Stage 2: exact cumulative-update samples at ``L`` (records of every chain), and flipped copies."""
    def make():
        chains, burn_in, records, every = SAMPLING[L]
        H = deepspin.FalicovKimball(L, U=U, t=HOP)
        spins, temps = [], []
        for i, T in enumerate(TEMPERATURES):
            surrogate = pair_model_at(models[T], L)
            state = init(H, [T], chains=chains, seed=seed + 100 * L + i, start="random", surrogate=surrogate,
                         accept="cumulative", surrogate_sweeps=INNER_SWEEPS)
            for _ in tqdm(range(burn_in // every + records), desc=f"samples: L = {L}, T = {T}", unit="record"):
                sweep(state, every)
                spins.append(state.spins.copy())
                temps.append(np.full(chains, T))
        spins, temps = np.concatenate(spins), np.concatenate(temps)
        keep = np.ones(len(spins), bool)
        per_T = (burn_in // every + records) * chains
        for i in range(len(TEMPERATURES)):  # drop the burn-in records
            keep[i * per_T: i * per_T + (burn_in // every) * chains] = False
        spins, temps = spins[keep], temps[keep]
        rng = np.random.default_rng(seed + L)
        flipped = spins.reshape(len(spins), -1).copy()
        for row in flipped:
            row[rng.choice(L * L, rng.integers(1, 5), replace=False)] *= -1
        return {"spins": np.concatenate([spins, flipped.reshape(spins.shape)]).astype(np.int8),
                "T": np.concatenate([temps, temps])}

    return cached(work / f"samples_L{L}.npz", make)


def labels(work: Path, L: int, samples: dict) -> np.ndarray:
    """Stage 3: ``E(s; T)`` of every sample at its temperature, in saved chunks (resumable)."""
    H = deepspin.FalicovKimball(L, U=U, t=HOP)
    spins, temps = samples["spins"], samples["T"]
    parts = []
    for start in tqdm(range(0, len(spins), CHUNK), desc=f"labels: L = {L}", unit="chunk"):
        path = work / f"labels_L{L}_{start:07d}.npy"
        if not path.exists():
            with atomic_path(path, suffix=".npy.tmp") as tmp, open(tmp, "wb") as handle:
                np.save(handle, H.energy(spins[start:start + CHUNK], temps[start:start + CHUNK]))
        parts.append(np.load(path))
    return np.concatenate(parts)


def split(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training and held-out (10 %) samples."""
    order = np.random.default_rng(seed).permutation(n)
    return order[n // 10:], order[: n // 10]


def residuals(model, sets: dict, models_by_L: dict) -> dict:
    """Residual spread of the network and of the linear pair model on the held-out samples, per size and temperature.

    The spread is the standard deviation of ``E - Ê`` over the samples of one temperature: a
    constant offset never changes a Monte Carlo decision, and the network has none of the
    temperature's constant (module docstring).
    """
    out = {}
    for L, (spins, energies, temps) in sets.items():
        predicted = np.asarray(model.predict(spins.astype(np.float32), batch_size=256, verbose=0)).ravel()
        for T in TEMPERATURES:
            at = temps == T
            linear = models_by_L[L][T].energy(spins[at])
            out[f"L{L}_T{T}"] = {"n": int(at.sum()),
                                 "network_std": float(np.std(predicted[at] - energies[at])),
                                 "linear_std": float(np.std(linear - energies[at])),
                                 "energy_std": float(energies[at].std())}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", default=str(ROOT / "bench" / "out" / "fk-train"), help="stage cache (resumable)")
    parser.add_argument("-o", "--output", default=str(ROOT / "models" / "falicov_kimball_extensive.keras"))
    args = parser.parse_args()
    work, output = Path(args.work), Path(args.output)
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    seeds = seed_models(work, args.seed)
    models_by_L, train_sets, held_out = {}, [], {}
    for L in SIZES:
        samples = thermal_samples(work, L, seeds, args.seed)
        energies = labels(work, L, samples)
        train, test = split(len(energies), args.seed + L)
        spins, temps = samples["spins"], samples["T"]
        models_by_L[L] = {T: fit_pair_model(spins[train][temps[train] == T], energies[train][temps[train] == T], L, 4)
                          for T in TEMPERATURES}
        shifted = energies - np.array([models_by_L[L][T].E0 for T in temps])
        train_sets.append((spins[train], shifted[train]))
        held_out[L] = (spins[test], energies[test], temps[test])
    data_seconds = time.perf_counter() - started

    from deepspin.surrogate import model_io
    from deepspin.surrogate.extensive import receptive_radius
    from deepspin.surrogate.pretrained import framework_versions
    from deepspin.surrogate.train import TrainConfig, fit_sizes, training_metadata

    config = TrainConfig(target="energy", arch="extensive", epochs=args.epochs, patience=25, seed=args.seed,
                         batch_size=128, learning_rate=3e-3, strategy="none")
    begin = time.perf_counter()
    model, history = fit_sizes(train_sets, config, layers=LAYERS, verbose=2)
    train_seconds = time.perf_counter() - begin
    H = deepspin.FalicovKimball(8, U=U, t=HOP)
    meta = {"hamiltonian": H.name, "L": 8, "params": H.params}
    metadata = training_metadata(config, meta, sum(len(e) for _, e in train_sets), history,
                                 source=f"exact cumulative-update samples at T in {TEMPERATURES}, seed {args.seed}")
    metadata.update(arch="extensive", train_sizes=list(SIZES), receptive_radius=receptive_radius(model),
                    temperatures=list(TEMPERATURES))
    model_io.save(model, output, metadata)
    card = {
        "model": output.name,
        "command": harness.rerun_command(__file__, sys.argv[1:]),
        "arch": "extensive",
        "hamiltonian": {"name": H.name, **H.params},
        "thermal": "no: one network for every temperature of the grid, energies relative to a constant E0(L, T) "
                   "(differences equal those of E(s; T); see bench/train_falicov_kimball.py)",
        "receptive_radius": receptive_radius(model),
        "layers": LAYERS,
        "params": int(model.count_params()),
        "data": {"sizes": list(SIZES), "temperatures": list(TEMPERATURES), "sampling": {str(k): v for k, v in SAMPLING.items()},
                 "inner_sweeps": INNER_SWEEPS, "n_train": int(sum(len(e) for _, e in train_sets)),
                 "seconds": round(data_seconds, 1)},
        "training": {"optimizer": config.optimizer, "learning_rate": config.learning_rate, "batch": config.batch_size,
                     "epochs_run": len(history.epoch), "seconds": round(train_seconds, 1), "cores": os.cpu_count(),
                     "machine": harness.machine_label(harness.machine_info()),
                     **framework_versions()},
        "held_out_residual_std": residuals(model, held_out, models_by_L),
        "size_bytes": output.stat().st_size,
    }
    write_text(output.with_suffix(".json"), json.dumps(card, indent=2) + "\n")
    print(json.dumps(card["held_out_residual_std"], indent=1))


if __name__ == "__main__":
    main()
