"""Where a campaign runs: this process, a ``LocalCluster`` of worker processes, or an existing Dask cluster.

    with connect(workers=2) as client:          # LocalCluster(n_workers=2, threads_per_worker=1, processes=True)
        deepspin.campaign.run(tasks, folder, client=client)
    with connect(scheduler="tcp://host:8786"):  # join a running cluster (dask-jobqueue, dask-scheduler, ...)
    with connect(scheduler_file="sched.json"):  # ... through its scheduler file
    with connect() as client:                   # client is None: the tasks run in this process

Dask is imported only when a cluster is asked for. A ``LocalCluster`` is closed on leaving the
block, after its client, so that no worker outlives the campaign.
"""
from __future__ import annotations

import contextlib
from numbers import Integral
from pathlib import Path


def check_choice(workers=None, scheduler=None, scheduler_file=None) -> None:
    """ValueError unless at most one of the three is given and ``workers`` is a positive integer."""
    given = [f"--{n}" for n, v in (("workers", workers), ("scheduler", scheduler), ("scheduler-file", scheduler_file))
             if v is not None]
    if len(given) > 1:
        raise ValueError(f"{' and '.join(given)} both say where to run; give one (--workers N starts a local "
                         "cluster, --scheduler/--scheduler-file join a running one)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, Integral) or workers < 1):
        raise ValueError(f"--workers must be a positive integer (worker processes), got {workers!r}")
    if scheduler_file is not None and not Path(scheduler_file).is_file():
        raise FileNotFoundError(f"--scheduler-file: no such file: {scheduler_file} (dask-scheduler "
                                "--scheduler-file writes it when the scheduler starts)")


@contextlib.contextmanager
def connect(workers: int | None = None, scheduler: str | None = None, scheduler_file=None):
    """Yield a ``distributed.Client`` for the choice made, or ``None`` for none (run in this process)."""
    check_choice(workers, scheduler, scheduler_file)
    if workers is None and scheduler is None and scheduler_file is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if workers is not None:
        # ":0": the scheduler's HTTP server (dashboard if bokeh is installed) on a free port, so that
        # two local campaigns never race for port 8787.
        with LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            yield client
    elif scheduler is not None:
        with Client(scheduler) as client:
            yield client
    else:
        with Client(scheduler_file=str(scheduler_file)) as client:
            yield client


def describe(client) -> str:
    """Where the tasks run, in words."""
    if client is None:
        return "this process"
    workers = client.scheduler_info().get("workers", {})
    threads = sum(w.get("nthreads", 0) for w in workers.values())
    return f"{client.scheduler.address} ({len(workers)} workers, {threads} threads)"
