"""A Monte Carlo run as a campaign: blocks of (temperatures x chains), merged from per-chain sums.

The run's ``T x chains`` grid is cut into blocks of ``block_temperatures`` temperatures x
``block_chains`` chains (:func:`blocks`; chains are split as evenly as possible). Block ``b`` is one
independent :func:`deepspin.mc.run` of its chains at its temperatures with its own Philox key
``derive_seed(seed, b)`` (:func:`~deepspin.campaign.tasks.derive_seed`): it depends on the layout and
the seed, never on the worker or the order in which blocks run.

Merging (:func:`merge`) puts each block's per-chain sums (``moments``: sum E, sum E^2, sum |m| over
the same number of measurements), acceptance counts and final configurations at the block's place
in the ``(T, chains)`` grid and hands the whole to :func:`deepspin.mc.observables.thermodynamics`,
the function a single run uses. The grid does not depend on which worker finished first, so the
merged ``<E>/N``, ``C/N``, ``<|m|>`` and their errors are bit for bit those of the same blocks run
one after the other in one process (the serial campaign), for any number of workers.

A block checkpoints into ``<block>.checkpoint.npz`` beside its output (:mod:`deepspin.mc.checkpoint`),
so a block whose worker died resumes where that checkpoint left it, with the same result.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Callable

import numpy as np

from ..mc import checkpoint as ckpt
from ..mc.metropolis import MCResult, default_start
from ..mc.metropolis import run as mc_run
from ..sampling.common import shard_range
from ..validation import check_count, check_temperatures
from .engine import run as run_campaign
from .tasks import Task, derive_seed


@dataclasses.dataclass(frozen=True)
class Block:
    """Temperatures ``[t0, t1)`` x chains ``[c0, c1)`` of the run's grid; ``index`` keys its seed."""

    index: int
    temperatures: tuple[int, int]
    chains: tuple[int, int]

    @property
    def key(self) -> str:
        (t0, t1), (c0, c1) = self.temperatures, self.chains
        return f"block-{self.index:05d}-T{t0}-{t1}-c{c0}-{c1}"


def blocks(n_temperatures: int, chains: int, block_chains: int | None = None,
           block_temperatures: int | None = None) -> list[Block]:
    """The blocks of a ``n_temperatures x chains`` run, temperature-major (default: one block per temperature)."""
    chains = check_count("chains", chains)
    block_chains = chains if block_chains is None else check_count("block_chains", block_chains)
    block_temperatures = 1 if block_temperatures is None else check_count("block_temperatures", block_temperatures)
    chain_parts = math.ceil(chains / min(block_chains, chains))
    layout = []
    for t0 in range(0, n_temperatures, block_temperatures):
        for j in range(chain_parts):
            layout.append(Block(index=len(layout), temperatures=(t0, min(t0 + block_temperatures, n_temperatures)),
                                chains=shard_range(chains, chain_parts, j)))
    return layout


@dataclasses.dataclass(frozen=True)
class Loader:
    """A model each worker builds for itself, ``function(*args)`` (e.g. a surrogate loaded from its file)."""

    function: Callable
    args: tuple = ()

    def __call__(self):
        return self.function(*self.args)


def run_block(spec: dict, seed: int, model, checkpoint: str | None = None, checkpoint_every: float = 60.0) -> dict:
    """The task of one block: :func:`deepspin.mc.run` of its chains, returning per-chain sums and states."""
    if isinstance(model, Loader):
        model = model()
    temperatures = [float.fromhex(t) for t in spec["temperatures"]]
    c0, c1 = spec["chains"]
    result = mc_run(model, temperatures, L=spec["L"], chains=c1 - c0, sweeps=spec["sweeps"], burn_in=spec["burn_in"],
                    interval=spec["interval"], seed=seed, backend=spec["backend"], start=spec["start"],
                    timeseries=spec["timeseries"], checkpoint=checkpoint, checkpoint_every=checkpoint_every)
    out = {"moments": result.moments, "batch_moments": result.batch_moments, "accepted": result.accepted,
           "configs": result.configs, "rule": result.rule, "backend": result.backend, "model": result.model}
    if spec["timeseries"]:
        out.update(series_energy=result.series_energy, series_magnet=result.series_magnet)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return out


def block_tasks(model, temperatures, folder, *, L: int | None = None, chains: int = 400, sweeps: int = 2000,
                burn_in: int | None = None, interval: int = 1, seed: int = 0, backend: str = "auto",
                start: str = "auto", timeseries: bool = False, block_chains: int | None = None,
                block_temperatures: int | None = None, loader: Loader | None = None,
                checkpoint_every: float = 60.0) -> tuple[list[Task], list[Block], dict]:
    """The tasks of a block campaign, their blocks and the run's resolved parameters (see :func:`run`)."""
    temperatures = check_temperatures(temperatures)
    sweeps = check_count("sweeps", sweeps)
    burn_in = sweeps // 4 if burn_in is None else check_count("burn_in", burn_in, minimum=0)
    interval = check_count("interval", interval)
    if interval > sweeps:
        raise ValueError(f"interval={interval} exceeds sweeps={sweeps}: no measurement would be taken")
    L = getattr(model, "L", None) if L is None else L
    if L is None:
        raise ValueError("the model has no L attribute: pass L (the lattice size)")
    label = default_start(model, temperatures) if start == "auto" else start  # "auto": each block by its temperatures
    params = {"model": ckpt.operator_fingerprint(model), "L": int(L), "sweeps": sweeps, "burn_in": burn_in,
              "interval": interval, "backend": backend, "start": start, "timeseries": bool(timeseries),
              "campaign_seed": str(seed)}
    layout = blocks(len(temperatures), chains, block_chains, block_temperatures)
    folder = Path(folder).absolute()  # workers on other hosts run elsewhere; the folder must be shared with them
    tasks = []
    for block in layout:
        (t0, t1), (c0, c1) = block.temperatures, block.chains
        spec = {**params, "block": block.index, "temperatures": [float.hex(float(t)) for t in temperatures[t0:t1]],
                "chains": [c0, c1]}
        output = folder / f"{block.key}.npz"
        checkpoint = str(output.with_name(output.name + ".checkpoint.npz"))
        tasks.append(Task(key=block.key, output=output, function=run_block, spec=spec,
                          seed=derive_seed(seed, block.index),
                          args=(model if loader is None else loader, checkpoint, checkpoint_every)))
    run_params = {"temperatures": temperatures, "L": int(L), "chains": chains, "sweeps": sweeps, "burn_in": burn_in,
                  "interval": interval, "seed": seed, "start": label}
    return tasks, layout, run_params


def merge(tasks: list[Task], layout: list[Block], run_params: dict) -> MCResult:
    """The :class:`~deepspin.mc.MCResult` of the whole grid from the finished block outputs."""
    temperatures, chains, L = run_params["temperatures"], run_params["chains"], run_params["L"]
    parts = [task.load() for task in tasks]
    grid = {}
    for name in ("moments", "batch_moments", "accepted", "configs", "series_energy", "series_magnet"):
        if name not in parts[0]:
            continue
        first = parts[0][name]
        grid[name] = np.zeros((len(temperatures), chains, *first.shape[2:]), dtype=first.dtype)
        for block, part in zip(layout, parts):
            (t0, t1), (c0, c1) = block.temperatures, block.chains
            grid[name][t0:t1, c0:c1] = part[name]

    def joined(name):
        return "+".join(dict.fromkeys(str(p[name]) for p in parts))

    return MCResult(temperatures=temperatures, L=L, chains=chains, sweeps=run_params["sweeps"],
                    burn_in=run_params["burn_in"], interval=run_params["interval"], seed=run_params["seed"],
                    backend=joined("backend"), rule=joined("rule"), model=joined("model"), start=run_params["start"],
                    **grid)


def run(model, temperatures, folder, *, L: int | None = None, chains: int = 400, sweeps: int = 2000,
        burn_in: int | None = None, interval: int = 1, seed: int = 0, backend: str = "auto", start: str = "auto",
        timeseries: bool = False, block_chains: int | None = None, block_temperatures: int | None = None,
        loader: Loader | None = None, checkpoint_every: float = 60.0, client=None, retries: int = 0,
        progress: bool = False, summary=None) -> MCResult:
    """:func:`deepspin.mc.run` as a campaign of blocks written into ``folder``; returns the merged result.

    Parameters
    ----------
    model, temperatures, L, chains, sweeps, burn_in, interval, backend, start, timeseries
        As :func:`deepspin.mc.run`. ``seed`` is the campaign seed (an integer >= 0); block ``b``
        runs with the Philox key ``derive_seed(seed, b)``.
    folder : path
        Where the block outputs go (``block-*.npz``); locked while the campaign runs, and a rerun
        skips the blocks whose outputs validate.
    block_chains, block_temperatures : int, optional
        Chains and temperatures per block (default: all chains of one temperature). The layout,
        not the workers, decides the result: the same layout and seed give the same numbers
        bit for bit, embedded or on any cluster.
    loader : Loader, optional
        Build the model in each worker instead of shipping ``model`` (a surrogate read from its
        file); ``model`` is then used only for its fingerprint, default start and ``L``.
    checkpoint_every : float
        Seconds between the checkpoints of a block.
    client, retries, progress, summary
        As :func:`deepspin.campaign.run`.

    The merged result has ``seed`` = the campaign seed, and ``rule``/``backend``/``model`` joined
    with ``+`` where blocks differed (e.g. workers with and without a GPU under ``backend="auto"``).
    """
    tasks, layout, run_params = block_tasks(
        model, temperatures, folder, L=L, chains=chains, sweeps=sweeps, burn_in=burn_in, interval=interval, seed=seed,
        backend=backend, start=start, timeseries=timeseries, block_chains=block_chains,
        block_temperatures=block_temperatures, loader=loader, checkpoint_every=checkpoint_every)
    run_campaign(tasks, folder, client=client, retries=retries, progress=progress, summary=summary,
                 name=f"{Path(folder).name} blocks")
    return merge(tasks, layout, run_params)
