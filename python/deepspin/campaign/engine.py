"""Run the tasks of a campaign in this process or on a Dask cluster: skip, schedule, report, stop on failure.

:func:`run` takes tasks (anything with ``key``, ``output``, ``compute() -> path`` and ``done() ->
bool``, e.g. :class:`~deepspin.campaign.tasks.Task`) and:

1. locks the campaign's folder (:func:`deepspin.io.folder_lock`): a second campaign writing there
   is refused at once;
2. skips every task whose output already validates (``done()``): rerunning an interrupted
   campaign computes only what is missing;
3. computes the rest, in this process (``client=None``, in task order) or as futures of a
   ``distributed.Client`` (``pure=False``; ``retries`` re-runs a task that raised; a task whose worker
   died is rescheduled on another worker by the scheduler itself, up to its ``allowed-failures``);
4. shows a progress bar over tasks (done, running, failed; rate and ETA) and writes a JSON
   summary with each task's time and the worker that ran it;
5. on the first task that fails, cancels the others and raises :class:`CampaignError` naming the
   task and its error. Every output written so far stays: they are finished, valid files.
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
import traceback
import uuid
from pathlib import Path

from ..io import folder_lock, write_text
from .cluster import describe


class CampaignError(RuntimeError):
    """A task of a campaign failed; the message names it and its error."""


def execute(task) -> dict:
    """Compute ``task`` where this runs; returns its record (output, wall and CPU seconds, worker, host, pid)."""
    started = time.time()
    clock, cpu = time.perf_counter(), time.process_time()
    output = task.compute()
    return {"key": task.key, "output": str(output), "started": started, "seconds": time.perf_counter() - clock,
            "cpu_seconds": time.process_time() - cpu, "worker": _worker_name(), "host": platform.node(),
            "pid": os.getpid()}


def _worker_name() -> str:
    try:
        from distributed import get_worker

        return get_worker().address
    except (ImportError, ValueError):
        return "local"


def _check_tasks(tasks) -> list:
    tasks = list(tasks)
    for name, values in (("key", [t.key for t in tasks]), ("output", [str(Path(t.output)) for t in tasks])):
        seen = set()
        for value in values:
            if value in seen:
                raise ValueError(f"two tasks of the campaign share the {name} {value!r}; every task needs its own")
            seen.add(value)
    return tasks


def run(tasks, folder, *, client=None, retries: int = 0, progress: bool = True, summary=None,
        name: str = "campaign") -> list[dict]:
    """Run a campaign's ``tasks`` writing into ``folder``; returns one record per task, in task order.

    Parameters
    ----------
    tasks : iterable
        Objects with ``key`` (unique), ``output`` (unique path), ``compute()`` and ``done()``.
    folder : path
        The campaign's folder, locked for the run (its ``.lock`` file).
    client : distributed.Client, optional
        Where to run; ``None`` runs the tasks here, one after the other (no Dask).
    retries : int
        Dask re-runs of a task that raised (``client.submit(..., retries=)``); a lost worker is the
        scheduler's business (``distributed.scheduler.allowed-failures``), not a retry.
    progress : bool
        A progress bar on stderr.
    summary : path, optional
        Write the JSON summary there (also when a task fails).
    name : str
        Label of the bar and the summary.

    Each record has ``key``, ``status`` (``computed`` or ``skipped``), ``output`` and, for computed
    tasks, ``seconds`` (wall), ``cpu_seconds`` (of the process that ran it), ``worker``, ``host``,
    ``pid`` and ``started`` (Unix time).
    """
    tasks = _check_tasks(tasks)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ValueError(f"retries must be a non-negative integer, got {retries!r}")
    with folder_lock(folder, "another campaign"):
        records = {t.key: {"key": t.key, "status": "skipped", "output": str(t.output)} for t in tasks if t.done()}
        todo = [t for t in tasks if t.key not in records]
        start = time.perf_counter()
        failure = None
        bar = _bar(len(tasks), len(records), name, progress)
        try:
            if client is None:
                failure = _run_here(todo, records, bar)
            else:
                failure = _run_dask(todo, records, bar, client, retries)
        finally:
            bar.close()
            if summary is not None:
                _write_summary(summary, name, tasks, records, failure, time.perf_counter() - start, client)
        if failure is not None:
            key, exc = failure
            finished = sum(r["status"] == "computed" for r in records.values())
            raise CampaignError(f"{name}: task {key} failed: {type(exc).__name__}: {exc}. The {finished} tasks "
                                f"finished in this run and {len(tasks) - len(todo)} earlier ones are kept in "
                                f"{folder}; fix the cause and rerun the same command to compute the rest") from exc
    return [records[t.key] for t in tasks]


def _bar(total: int, initial: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    bar = tqdm(total=total, initial=initial, desc=name, unit="task", disable=not enabled, file=sys.stderr,
               dynamic_ncols=True, smoothing=0.1)
    bar.set_postfix(done=initial, running=0, failed=0, refresh=False)
    return bar


def _run_here(todo, records: dict, bar):
    for task in todo:
        bar.set_postfix(done=bar.n, running=1, failed=0)
        try:
            record = execute(task)
        except Exception as exc:  # noqa: BLE001 - any error of a task ends the campaign, named
            bar.set_postfix(done=bar.n, running=0, failed=1)
            return task.key, exc
        records[task.key] = {**record, "status": "computed"}
        bar.update(1)
        bar.set_postfix(done=bar.n, running=0, failed=0)
    bar.set_postfix(done=bar.n, running=0, failed=0)
    return None


def _run_dask(todo, records: dict, bar, client, retries: int, poll: float = 0.02, refresh: float = 0.5):
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]  # a fresh Dask key per run: never the cached result of an earlier submission
    futures = {client.submit(execute, task, key=f"{task.key}-{token}", pure=False, retries=retries): task
               for task in todo}
    pending = set(futures)
    threads = sum(client.nthreads().values())
    arrivals = as_completed(futures, with_results=True, raise_errors=False)  # results fetched as they arrive
    failure, shown = None, 0.0
    try:
        while pending:
            batch = arrivals.next_batch(block=False) if arrivals.has_ready() else []
            for future, result in batch:
                pending.discard(future)
                task = futures[future]
                if future.status == "finished":
                    records[task.key] = {**result, "status": "computed"}
                    bar.update(1)
                elif failure is None and future.status == "error":
                    failure = (task.key, future.exception())  # (result is an exc_info tuple here)
                elif failure is None:  # cancelled or lost by the scheduler (e.g. the cluster went away)
                    failure = (task.key, RuntimeError(f"its Dask future ended {future.status}"))
            if failure is not None:
                break
            if time.monotonic() - shown > refresh:  # one scheduler call per refresh, not per poll
                bar.set_postfix(done=bar.n, running=min(threads, _running(client, {f.key for f in pending})),
                                failed=0)
                shown = time.monotonic()
            if not batch:
                time.sleep(poll)
    finally:
        if pending:
            client.cancel(list(pending))
    bar.set_postfix(done=bar.n, running=0, failed=int(failure is not None))
    return failure


def _running(client, keys: set) -> int:
    """How many of ``keys`` the scheduler has handed to a worker (some may wait there for a free thread)."""
    try:
        processing = client.processing()
    except (OSError, TimeoutError):
        return 0
    return sum(1 for assigned in processing.values() for key in assigned if key in keys)


def _write_summary(path, name: str, tasks, records: dict, failure, wall: float, client) -> None:
    computed = [r for r in records.values() if r["status"] == "computed"]
    rows = []
    for task in tasks:
        row = records.get(task.key, {"key": task.key, "status": "not run", "output": str(task.output)})
        if failure is not None and task.key == failure[0]:
            exc = failure[1]
            row = {**row, "status": "failed", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": "".join(traceback.format_exception(exc))}
        rows.append(row)
    report = {
        "campaign": name,
        "where": describe(client),
        "tasks": len(tasks),
        "computed": len(computed),
        "skipped": sum(r["status"] == "skipped" for r in records.values()),
        "failed": None if failure is None else failure[0],
        "wall_s": wall,
        "task_seconds": sum(r["seconds"] for r in computed),
        "workers": sorted({r["worker"] for r in computed}),
        "per_task": rows,
    }
    write_text(path, json.dumps(report, indent=1) + "\n")
