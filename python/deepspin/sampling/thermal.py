"""Thermal sampling: single-site Metropolis-Hastings at temperatures ``T`` (SPEC section 5, k_B = 1).

For every temperature, ``chains`` independent chains start from uniform random configurations
("hot starts") and are advanced together (:mod:`deepspin.sampling.walkers`). A sweep is ``N``
single-site proposals per chain; a proposal with energy change ``dE`` is accepted with probability
``min(1, exp(-dE / T))``, which leaves the Boltzmann distribution ``exp(-E / T) / Z`` invariant
(the proposals are symmetric). After ``burn_in`` sweeps, each chain records its configuration
every ``thin`` sweeps, ``samples`` times. This is the paper's "thermally sampled" data.
"""
from __future__ import annotations

import numpy as np

from ..hamiltonians import Hamiltonian
from ..validation import check_temperatures
from .common import (
    SampleSet,
    check_count,
    check_shard,
    describe_hamiltonian,
    label,
    progress_bar,
    seed_entropy,
    shard_share,
    stream,
)
from .walkers import RESYNC_STEPS, draw_uniform, walkers_for


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
    rng = stream(entropy, 1 + shard_index)

    temperature = np.repeat(T, mine)
    chain = (np.arange(len(T))[:, None] * chains + first_chain + np.arange(mine)[None, :]).ravel()
    W = len(temperature)
    walk = walkers_for(H, draw_uniform(H.spin_kind, (W, H.L, H.L), rng), backend)
    records = np.empty((samples, W, H.N), dtype=walk.states.dtype)
    sweeps = burn_in + samples * thin
    step = 0
    with progress_bar(sweeps, f"thermal {H.name}", progress, unit="sweep") as bar:
        for sweep in range(1, sweeps + 1):
            for _ in range(H.N):
                move = walk.propose(rng)
                dE = walk.delta(move)
                u = rng.random(W)
                accepted = (dE <= 0) | (u < np.exp(-np.maximum(dE, 0.0) / temperature))
                walk.accept(move, accepted, dE)
                step += 1
                if step % RESYNC_STEPS == 0:
                    walk.resync()
            if sweep > burn_in and (sweep - burn_in) % thin == 0:
                records[(sweep - burn_in) // thin - 1] = walk.states
            bar.update(1)
    spins = records.reshape(-1, H.L, H.L)
    meta = {
        "hamiltonian": describe_hamiltonian(H),
        "sampler": "thermal",
        "sampler_params": {"temperatures": T.tolist(), "chains": chains, "samples": samples, "burn_in": burn_in,
                           "thin": thin},
        "seed": entropy,
        "shards": shards,
        "shard_index": shard_index,
    }
    extras = {"temperature": np.tile(temperature, samples), "chain": np.tile(chain, samples).astype(np.int64)}
    return SampleSet(spins, label(H, spins, backend), meta, extras)
