"""A dataset as a campaign: one task per shard of :func:`deepspin.datasets.generate`, merged in shard order.

Shard ``i`` of a run is made by :func:`deepspin.datasets.shards.make_shard`, the function that the
serial ``generate --shards`` calls: it draws from stream ``1 + i`` of the seed alone, so a shard is the
same file content on any worker, and the merged arrays are byte for byte those of the serial run.
A shard file validates by its run metadata (model, sampler, parameters, seed, shard count, version)
and its content checksum (:mod:`deepspin.datasets.store`), so a rerun skips the finished shards.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from ..datasets.shards import describe_run, make_shard, merge, shard_finished, shard_path
from ..hamiltonians import Hamiltonian
from ..sampling.common import check_shard
from .engine import run as run_campaign


@dataclasses.dataclass(frozen=True)
class ShardTask:
    """Shard ``index`` of ``shards`` of the dataset run ``run`` (:func:`~deepspin.datasets.shards.describe_run`)."""

    H: Hamiltonian
    sampler: str
    dataset: Path  # the merged dataset of the run
    index: int
    shards: int
    run: dict
    seed: int | None
    test_fraction: float
    backend: str
    params: dict

    @property
    def key(self) -> str:
        return f"shard-{self.index:05d}-of-{self.shards:05d}"

    @property
    def output(self) -> Path:
        """The shard's file, ``<dataset>.shards/shard-IIIII-of-NNNNN.h5``."""
        return shard_path(self.dataset, self.index, self.shards)

    def compute(self) -> Path:
        return make_shard(self.H, self.sampler, self.dataset, self.index, self.shards, self.run, seed=self.seed,
                          test_fraction=self.test_fraction, backend=self.backend, **self.params)

    def done(self) -> bool:
        return shard_finished(self.dataset, self.index, self.shards, self.run)


def shard_tasks(H: Hamiltonian, sampler: str, output, *, seed, shards: int, test_fraction: float = 0.1,
                backend: str = "auto", **params) -> list[ShardTask]:
    """The tasks of a sharded dataset run, in shard order (parameters as for :func:`generate`).

    Paths are made absolute: a worker on another host runs in another folder (the outputs must be
    on a file system that the workers and the client share).
    """
    check_shard(shards, 0)
    if seed is None and sampler != "enumerate":
        raise ValueError("a dataset campaign needs an explicit seed (--seed): every shard, on any worker, draws "
                         "from its stream of that one seed")
    run = describe_run(H, sampler, params, seed, shards, test_fraction)
    return [ShardTask(H=H, sampler=sampler, dataset=Path(output).absolute(), index=i, shards=shards, run=run, seed=seed,
                      test_fraction=test_fraction, backend=backend, params=params) for i in range(shards)]


def generate(H: Hamiltonian, sampler: str, output, *, seed, shards: int, test_fraction: float = 0.1,
             backend: str = "auto", client=None, retries: int = 0, progress: bool = False, summary=None,
             **params) -> Path:
    """Make every shard of a dataset run as a campaign task and merge them into ``output``; returns it.

    The merged file's arrays equal those of ``deepspin.datasets.generate(..., shards=shards)``
    (run serially) byte for byte, whatever ``client`` runs the shards. The shards stay in
    ``<output>.shards/`` (the campaign's folder, locked while it runs): a rerun skips those that
    validate. ``client``, ``retries``, ``progress``, ``summary``: as :func:`deepspin.campaign.run`.
    """
    tasks = shard_tasks(H, sampler, output, seed=seed, shards=shards, test_fraction=test_fraction, backend=backend,
                        **params)
    run_campaign(tasks, tasks[0].output.parent, client=client, retries=retries, progress=progress,
                 summary=summary, name=f"{Path(output).name} shards")
    return merge([t.output for t in tasks], output)
