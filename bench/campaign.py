"""Campaign throughput on this machine: labelling and Monte Carlo at 1 and 2 workers, scheduler overhead, scale-out.

    python bench/campaign.py              # a few minutes on 2 cores; results to bench/out/campaign.json
    python bench/campaign.py --quick      # smaller campaigns (a smoke run)
    python bench/campaign.py --out DIR

Rows (each campaign timed once, from the first submission to the last result; cluster start-up
reported apart):

- **labelling**: tasks that each draw ``--configs`` uniform 8x8 configurations from their derived
  seed and label them with the screened-Coulomb energy by the explicit image sum
  (``method="explicit"``, about 6 ms per configuration, CPU-bound), written as campaign results;
  run in this process, then on ``LocalCluster`` of 1 and 2 worker processes (one thread each);
- **mc**: ``deepspin.campaign.mc`` of the Ising model (compiled rule), blocks of chains, at 1 and 2 workers;
- **cores used**: the CPU seconds the tasks' processes got over the wall time: what the machine
  gave the campaign (2 for two workers on an idle 2-core machine, less when other jobs share it);
- **overhead**: tasks of ~0 s and of 1 s (``time.sleep``: no CPU taken, so the number is the
  scheduler's, the result file's and the client's cost, not the shared CPU's) at 2 workers;
  ``overhead`` is ``(wall x workers - sum of task times) / (wall x workers)``, and per task
  ``(wall x workers - sum of task times) / tasks``.

The speed-up is the ratio of the two walls of one run. On a machine shared with other jobs the
2-worker ratio is depressed by their load: the load average is recorded before and after.
The scale-out estimate for 100 hosts is derived from the measured per-task overhead and rates.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
# One OpenMP thread in this process too, as Dask's nanny sets for its workers: "this process" is then
# one worker's worth of CPU, like the "1 worker" row (set before the compiled core loads).
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from harness import OUT_DIR, format_table, machine_info, machine_label, write_results  # noqa: E402

from deepspin import Ising, campaign  # noqa: E402
from deepspin.hamiltonians import hamiltonian  # noqa: E402


def label(spec, seed):
    """A labelling task: ``spec["n"]`` uniform configurations from ``seed``, explicit screened-Coulomb energies."""
    H = hamiltonian("screened-coulomb", spec["L"])
    spins = np.random.default_rng(seed).choice(np.array([-1, 1], dtype=np.int8), size=(spec["n"], spec["L"], spec["L"]))
    return {"spins": spins, "energy": H.energy(spins, backend="cpu", method="explicit")}


def idle(spec, seed):
    """A task that takes ``spec["seconds"]`` of wall time and no CPU."""
    time.sleep(spec["seconds"])
    return {"seconds": spec["seconds"]}


def tasks_of(function, folder: Path, count: int, spec: dict) -> list:
    return [campaign.Task(key=f"{function.__name__}-{i:04d}", output=folder / f"{function.__name__}-{i:04d}.npz",
                          function=function, spec={**spec, "i": i}, seed=campaign.derive_seed(1, i))
            for i in range(count)]


def cpu_seconds(records) -> float:
    """CPU seconds the tasks got (over the wall time: the cores they had; under 2 on a shared machine)."""
    return sum(r.get("cpu_seconds", 0.0) for r in records)


def timed(function, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    value = function(*args, **kwargs)
    return time.perf_counter() - start, value


def labelling_rows(root: Path, clients: dict, tasks: int, configs: int) -> list[dict]:
    rows = []
    for where, client in clients.items():
        folder = root / f"label-{where}"
        wall, records = timed(campaign.run, tasks_of(label, folder, tasks, {"L": 8, "n": configs}), folder,
                              client=client, progress=False)
        rows.append({"campaign": "labelling", "where": where, "tasks": tasks, "wall_s": wall,
                     "task_s": sum(r["seconds"] for r in records), "cores_used": cpu_seconds(records) / wall,
                     "rate": tasks * configs / wall, "unit": "configs/s"})
    return rows


def mc_rows(root: Path, clients: dict, L: int, chains: int, sweeps: int, block_chains: int) -> list[dict]:
    rows = []
    temperatures = [2.0, 2.5]
    attempts = len(temperatures) * chains * L * L * (sweeps + sweeps // 4)
    for where, client in clients.items():
        folder = root / f"mc-{where}"
        summary = root / f"mc-{where}.json"
        wall, _ = timed(campaign.mc, Ising(L), temperatures, folder, chains=chains, sweeps=sweeps, seed=1,
                        block_chains=block_chains, client=client, summary=summary)
        report = json.loads(summary.read_text())
        rows.append({"campaign": "mc", "where": where, "tasks": report["tasks"], "wall_s": wall,
                     "task_s": report["task_seconds"], "cores_used": cpu_seconds(report["per_task"]) / wall,
                     "rate": attempts / wall, "unit": "flips/s"})
    return rows


def overhead_rows(root: Path, client, workers: int, zero_tasks: int, one_tasks: int) -> list[dict]:
    rows = []
    for seconds, count in ((0.0, zero_tasks), (1.0, one_tasks)):
        folder = root / f"idle-{seconds}"
        wall, records = timed(campaign.run, tasks_of(idle, folder, count, {"seconds": seconds}), folder, client=client,
                              progress=False)
        busy = sum(r["seconds"] for r in records)
        lost = wall * workers - busy
        rows.append({"campaign": f"overhead, {seconds:g} s tasks", "where": f"{workers} workers", "tasks": count,
                     "wall_s": wall, "task_s": busy, "overhead": lost / (wall * workers),
                     "per_task_ms": 1e3 * lost / count, "rate": count / wall, "unit": "tasks/s"})
    return rows


def scale_out(rows: list[dict], hosts: int = 100, cores: int = 32, target: float = 0.01, busy: float = 0.1,
              labels: float = 1e9) -> list[str]:
    """The 100-host estimate from the measured per-task overhead, scheduler rate and single-worker rate.

    Two bounds on the task length: per-task overhead under ``target`` of the task, and the scheduler
    at most ``busy`` of the task rate it sustained here (0 s tasks, 2 workers; a dedicated
    scheduler host does better, so this bound is pessimistic).
    """
    zero = next(r for r in rows if r["campaign"] == "overhead, 0 s tasks")
    per_task, max_rate = zero["per_task_ms"] / 1e3, zero["rate"]
    per_worker = next(r for r in rows if r["campaign"] == "labelling" and r["where"] == "1 worker")["rate"]
    workers = hosts * cores
    by_overhead = per_task / target
    by_scheduler = workers / (busy * max_rate)
    task_seconds = max(by_overhead, by_scheduler)
    shard = int(np.ceil(task_seconds * per_worker))
    bytes_per_label = 8 * 8 + 8 + 8 + 1  # int8 spins, float64 energy and magnetization, bool split flag
    return [
        f"{hosts} hosts x {cores} cores = {workers:,} single-threaded workers",
        f"per-task overhead measured here: {1e3 * per_task:.1f} ms of worker time: tasks of >= {by_overhead:.1f} s "
        f"keep it under {100 * target:g} %",
        f"scheduler: {max_rate:,.0f} tasks/s measured here (0 s tasks); at most {100 * busy:g} % of that with "
        f"{workers:,} workers needs tasks of >= {by_scheduler:.0f} s",
        f"so shards of >= {task_seconds:.0f} s: {shard:,} explicit 8x8 screened-Coulomb labels per shard "
        f"(one worker labels {per_worker:.0f}/s here); the scheduler then sees {workers / task_seconds:.1f} tasks/s",
        f"{labels:,.0f} labels: {labels / shard:,.0f} tasks, {labels * bytes_per_label / 1e9:.0f} GB of arrays before "
        f"compression ({bytes_per_label} B per label), {labels / (per_worker * workers) / 3600:.1f} h of "
        f"{workers:,} workers",
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="results folder (default bench/out, git-ignored)")
    parser.add_argument("--quick", action="store_true", help="small campaigns (a smoke run, not a measurement)")
    args = parser.parse_args(argv)
    scale = 0.2 if args.quick else 1.0
    tasks, configs = max(4, int(12 * scale)), max(20, int(160 * scale))
    info = machine_info()
    load_before = os.getloadavg()
    rows, startup = [], {}
    with tempfile.TemporaryDirectory(prefix="deepspin-bench-campaign-") as tmp:
        root = Path(tmp)
        clients = {"this process": None}
        rows += labelling_rows(root, clients, tasks, configs)
        for workers in (1, 2):
            start = time.perf_counter()
            with campaign.connect(workers=workers) as client:
                startup[workers] = time.perf_counter() - start
                client.run(label, {"L": 8, "n": 1}, 0)  # every worker has imported what the tasks need
                where = f"{workers} worker{'s' * (workers > 1)}"
                rows += labelling_rows(root, {where: client}, tasks, configs)
                rows += mc_rows(root, {where: client}, L=32, chains=64, sweeps=int(3000 * scale), block_chains=16)
                if workers == 2:
                    rows += overhead_rows(root, client, 2, int(200 * scale), max(4, int(20 * scale)))
    load_after = os.getloadavg()
    for kind in ("labelling", "mc"):
        one = next(r for r in rows if r["campaign"] == kind and r["where"] == "1 worker")
        two = next(r for r in rows if r["campaign"] == kind and r["where"] == "2 workers")
        two["speedup_vs_1"] = one["wall_s"] / two["wall_s"]
    estimate = scale_out(rows)
    payload = {"machine": info, "load_before": load_before, "load_after": load_after, "startup_s": startup,
               "rows": rows, "scale_out": estimate, "quick": args.quick}
    path = write_results("campaign", payload, args.out)
    print(f"# {machine_label(info)}; load average {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(f"# LocalCluster start-up: 1 worker {startup[1]:.1f} s, 2 workers {startup[2]:.1f} s (not in the walls)")
    print(format_table(["campaign", "where", "tasks", "wall s", "sum of task s", "cores used", "rate", "unit",
                        "x 1 worker", "overhead", "ms/task"],
                       [[r["campaign"], r["where"], r["tasks"], r["wall_s"], r["task_s"], r.get("cores_used", ""),
                         r["rate"], r["unit"], r.get("speedup_vs_1", ""),
                         f"{100 * r['overhead']:.2f} %" if "overhead" in r else "", r.get("per_task_ms", "")]
                        for r in rows]))
    print("\nscale-out estimate:")
    for line in estimate:
        print(f"- {line}")
    print(f"\nwrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
