"""Multispin-coded single flips of nearest-neighbour Ising spins, 64 replicas per word (:mod:`deepspin.mc.multispin`).

Backend ``"multispin"`` asks for it (on CUDA when our kernels can run, else the CPU;
``"multispin-cpu"`` and ``"multispin-cuda"`` name the device); ``"auto"``
chooses it over the one-chain-per-thread Ising rule when there are at least
:data:`~deepspin.mc.multispin.AUTO_MIN_REPLICAS` chains in all for the device (128 on the CPU,
320,000 on CUDA: the measured crossovers). The result records it as
``rule="multispin"`` with the device as ``backend``. The rule's cache holds the packed words and the
exact integer moment sums (so checkpoints resume bit for bit); the state's ``spins``, ``energy`` (the
bond sum ``-sum s s'``), ``magnet`` and ``moments`` (``(G, 4)``: sums of ``E``, ``E^2``, ``|m|``,
``m^2``) are refreshed from them after every call.
"""
from __future__ import annotations

import numpy as np

from ...hamiltonians import Ising
from ..multispin import AUTO_MIN_REPLICAS, MultispinEngine, MultispinState, pack_spins
from .base import Rule, compiled_accepts, compiled_device, initial_magnet
from .registry import RuleSpec, register_rule


def bond_sums(spins: np.ndarray) -> np.ndarray:
    """``-sum_<ab> s_a s_b`` per configuration ``(G,)`` int64 (the Ising energy in units of ``J``)."""
    return -(spins * (np.roll(spins, -1, 1) + np.roll(spins, -1, 2))).sum(axis=(1, 2), dtype=np.int64)


#: Backend names of the rule and the device each asks for (None: CUDA when available, else the CPU;
#: "cpu" and "cuda" come from the automatic choice).
DEVICES = {"multispin": None, "multispin-cpu": "cpu", "multispin-cuda": "cuda", "cpu": "cpu", "cuda": "cuda"}


class MultispinFlip(Rule):
    name = "multispin"
    #: One kernel call does at least this many attempts: it runs ~10x faster than the Ising rule.
    min_chunk_attempts = 1_000_000_000

    def __init__(self, operator, ensemble, backend):
        device = DEVICES.get(backend) or compiled_device(operator, ensemble)
        super().__init__(operator, ensemble, device)
        self.H = operator.hamiltonian
        self.engine = MultispinEngine(ensemble.L, self.H.J, ensemble.chain_betas, ensemble.seed,
                                      burn_in=ensemble.burn_in, interval=ensemble.interval, device=device)

    def start(self, spins):
        cache = {"words": pack_spins(spins), "moments": np.zeros((4, spins.shape[0]), dtype=np.int64)}
        return {"energy": bond_sums(spins), "magnet": initial_magnet(spins), "cache": cache}

    def advance(self, state, n_sweeps):
        packed = MultispinState(state.sweeps_done, state.cache["words"], state.cache["moments"], state.accepted,
                                state.series_energy, state.series_magnet)
        self.engine.advance(packed, n_sweeps)
        state.sweeps_done = packed.sweeps_done
        state.spins = self.engine.spins(packed)
        state.energy = bond_sums(state.spins)
        state.magnet = initial_magnet(state.spins)
        state.moments = self.engine.moments(packed)


def auto_device(operator, ensemble) -> str | None:
    """``backend="auto"``: the compiled rules' device where the ensemble has at least its
    ``AUTO_MIN_REPLICAS`` chains in all, else None (the one-chain-per-thread Ising rule runs)."""
    device = compiled_device(operator, ensemble)
    return device if ensemble.size >= AUTO_MIN_REPLICAS[device] else None


register_rule(RuleSpec(name=MultispinFlip.name, backends=("multispin", "multispin-cpu", "multispin-cuda"),
                       accepts=compiled_accepts(Ising, "multispin Ising"), build=MultispinFlip, auto=auto_device,
                       priority=15))  # above the one-chain-per-thread Ising rule (10)
