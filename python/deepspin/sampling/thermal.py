"""Thermal sampling: Metropolis-Hastings at temperatures ``T`` (SPEC section 5, k_B = 1) on the Monte Carlo core.

For every temperature, ``chains`` independent chains start from random configurations ("hot
starts") and run on the proposal rule :func:`deepspin.mc.init` chooses for ``H`` (compiled single
flips or angle moves for the built-in models, batched energies for user functions). A sweep is
``N`` single-site proposals per chain; a proposal with energy change ``dE`` is accepted with
probability ``min(1, exp(-dE / T))`` (:mod:`deepspin.mc.acceptance`), which leaves the Boltzmann
distribution ``exp(-E / T) / Z`` invariant. After ``burn_in`` sweeps, each chain records its
configuration every ``thin`` sweeps, ``samples`` times. This is the paper's "thermally sampled" data.

Random numbers: shard ``i`` runs its chains on the Philox key
:func:`~deepspin.sampling.common.philox_key` ``(seed, 1 + i)``, so the shards are independent and the
result depends on the seed only (since dataset schema 2; schema-1 files used NumPy walkers).
"""
from __future__ import annotations

import numpy as np

from ..hamiltonians import Hamiltonian
from ..mc import init, sweep
from ..validation import check_temperatures
from .common import (
    SampleSet,
    check_count,
    check_shard,
    describe_hamiltonian,
    label,
    philox_key,
    progress_bar,
    seed_entropy,
    shard_share,
)


def thermal(H: Hamiltonian, temperatures, *, chains: int = 16, samples: int = 100, burn_in: int = 1000,
            thin: int = 10, seed=None, backend: str = "auto", shards: int = 1, shard_index: int = 0,
            progress: bool = False) -> SampleSet:
    """Boltzmann samples of ``H`` at each temperature.

    Parameters
    ----------
    temperatures : float or sequence of float
        Temperatures ``T > 0`` in units of J (k_B = 1).
    chains : int
        Independent chains per temperature (over all shards: shard ``i`` runs its share).
    samples : int
        Records per chain, every ``thin`` sweeps after ``burn_in`` sweeps.
    backend : str
        Energy backend of the exact labels (the chains run on the automatic Monte Carlo rule).

    Returns
    -------
    SampleSet
        ``len(temperatures) * chains * samples`` configurations (this shard's share of the chains),
        in recording order; ``extras["temperature"]`` and ``extras["chain"]`` (the global chain
        index, unique across temperatures and shards) say where each came from.
    """
    T = check_temperatures(temperatures)
    chains = check_count("chains", chains)
    samples = check_count("samples", samples)
    burn_in = check_count("burn_in", burn_in, minimum=0)
    thin = check_count("thin", thin)
    shards, shard_index = check_shard(shards, shard_index)
    entropy = seed_entropy(seed)
    mine = shard_share(chains, shards, shard_index)
    first_chain = sum(shard_share(chains, shards, i) for i in range(shard_index))
    temperature = np.repeat(T, mine)
    chain = (np.arange(len(T))[:, None] * chains + first_chain + np.arange(mine)[None, :]).ravel()
    dtype = np.float64 if H.spin_kind == "angle" else np.int8
    records = np.empty((samples, len(temperature), H.L, H.L), dtype=dtype)
    rule = None
    if mine:
        state = init(H, T, chains=mine, seed=philox_key(entropy, 1 + shard_index), start="random",
                     burn_in=burn_in, interval=thin)
        rule = state.rule.name
        with progress_bar(burn_in + samples * thin, f"thermal {H.name}", progress, unit="sweep") as bar:
            sweep(state, burn_in)
            bar.update(burn_in)
            for k in range(samples):
                sweep(state, thin)
                records[k] = state.spins
                bar.update(thin)
    spins = records.reshape(-1, H.L, H.L)
    meta = {
        "hamiltonian": describe_hamiltonian(H),
        "sampler": "thermal",
        "sampler_params": {"temperatures": T.tolist(), "chains": chains, "samples": samples, "burn_in": burn_in,
                           "thin": thin},
        "mc_rule": rule,
        "seed": entropy,
        "shards": shards,
        "shard_index": shard_index,
    }
    if getattr(H, "thermal", False):
        meta["energy_label"] = "E(s; T) at each configuration's sampling temperature (extras 'temperature')"
    extras = {"temperature": np.tile(temperature, samples), "chain": np.tile(chain, samples).astype(np.int64)}
    return SampleSet(spins, label(H, spins, backend, temperatures=extras["temperature"]), meta, extras)
