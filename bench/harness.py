"""Shared benchmark harness: machine description, median-of-repeats timing, atomic JSON results.

Benchmarks report throughput measured in one run on one named machine; they never assert speed.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

#: Where a benchmark writes by default: git-ignored, so running one leaves the checkout clean. The committed
#: reference results are written with an explicit ``--out bench/results``.
OUT_DIR = Path(__file__).resolve().parent / "out"


def machine_info() -> dict:
    """What the numbers were measured on: CPU, cores, GPUs, Python and library versions."""
    import numpy

    import deepspin
    from deepspin.backends import backends
    from deepspin.machine import cpu_model, gpu_info

    return {
        "hostname": platform.node(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads_env": os.environ.get("DEEPSPIN_NUM_THREADS", ""),
        "gpus": gpu_info(),
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "deepspin": deepspin.__version__,
        "backends": {name: {"available": ok, "reason": reason} for name, (ok, reason) in backends().items()},
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def machine_label(info: dict) -> str:
    """One line naming the machine, e.g. for a table header."""
    gpus = ", ".join(g["name"] for g in info["gpus"]) or "no GPU"
    return f"{info['cpu']} ({info['cores']} cores), {gpus}"


def measure(fn, repeats: int = 5, warmup: int = 1, min_time: float = 0.2) -> dict:
    """Time ``fn()`` (after ``warmup`` calls): median and all of ``repeats`` timings, in seconds.

    Each timing repeats ``fn`` until at least ``min_time`` has passed and reports the time per call,
    so fast functions are not dominated by timer resolution.
    """
    for _ in range(warmup):
        fn()
    per_call = []
    for _ in range(repeats):
        calls, start = 0, time.perf_counter()
        while True:
            fn()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        per_call.append(elapsed / calls)
    return {"median_s": statistics.median(per_call), "all_s": per_call}


def write_results(name: str, payload: dict, directory: Path | None = None) -> Path:
    """Write ``payload`` as JSON to ``directory/name.json`` atomically; returns the path."""
    from deepspin.io import write_text

    path = Path(directory or OUT_DIR) / f"{name}.json"
    write_text(path, json.dumps(payload, indent=2, sort_keys=False) + "\n")
    return path


def rerun_command(script: str, argv: list[str]) -> str:
    """The shell command that reruns ``script`` (a file under the repository) with ``argv``, for model cards."""
    import shlex

    root = Path(__file__).resolve().parents[1]
    return "PYTHONPATH=python python " + " ".join(
        shlex.quote(a) for a in [str(Path(script).resolve().relative_to(root)), *argv])


def format_table(headers: list[str], rows: list[list]) -> str:
    """A plain-text table with right-aligned numeric columns."""
    cells = [[str(h) for h in headers]] + [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def import_keras_quietly():
    """Import Keras (and TensorFlow behind it) with C++ start-up notes kept off the terminal; returns ``keras``.

    TensorFlow 2.21 prints its absl/oneDNN/CUDA-stub notes ("All log messages before
    absl::InitializeLog() ...", "Could not find cuda drivers ...") from C++ while it loads,
    whatever ``TF_CPP_MIN_LOG_LEVEL`` says; the file descriptor of stderr is pointed at
    /dev/null for the import only. A failing import still raises its Python exception.
    """
    import importlib

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            keras = importlib.import_module("keras")
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return keras
