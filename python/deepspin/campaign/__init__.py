"""Campaigns: many independent tasks run in this process or on a Dask cluster, merged exactly.

    from deepspin import Ising
    from deepspin import campaign
    with campaign.connect(workers=2) as client:            # or scheduler="tcp://...", or nothing
        result = campaign.mc(Ising(8), [2.0, 2.5], "run.blocks", chains=400, block_chains=100,
                             seed=1, client=client)       # an MCResult, merged from 8 blocks
        path = campaign.generate(Ising(8), "uniform", "data.h5", n=10**6, shards=16, seed=1,
                                 client=client)           # arrays = the serial sharded run's
        records = campaign.run(tasks, "folder", client=client)   # any campaign.Task (or look-alike)

- :mod:`.tasks`: :class:`Task` (a pure function of a spec and a seed writing one self-validating
  file), :func:`derive_seed` (seeds from the campaign seed and the task's identity);
- :mod:`.engine`: :func:`run` (lock, skip finished tasks, schedule, progress, JSON summary, stop on
  the first failure with :class:`CampaignError`);
- :mod:`.cluster`: :func:`connect` (this process, ``LocalCluster`` or an existing scheduler);
- :mod:`.datasets`: the shards of ``deepspin generate``; :mod:`.montecarlo`: blocks of
  (temperatures x chains) of ``deepspin mc``; :mod:`.cli`: the shared command-line options.

Dask (``dask.distributed``) is imported only when a cluster is asked for. The guide is
``docs/campaigns.md``.
"""
from .cluster import connect
from .datasets import generate
from .engine import CampaignError, run
from .montecarlo import Loader
from .montecarlo import run as mc
from .tasks import Task, derive_seed, read_result, spec_hash

__all__ = ["CampaignError", "Loader", "Task", "connect", "derive_seed", "generate", "mc", "read_result", "run",
           "spec_hash"]
