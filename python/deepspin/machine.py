"""What a number was measured on: CPU model, cores and GPUs (for benchmarks and reports)."""
from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def cpu_model() -> str:
    """CPU model name from ``/proc/cpuinfo`` (or ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def gpu_info() -> list[dict]:
    """Name, driver and memory of each NVIDIA GPU that ``nvidia-smi`` lists (empty without one)."""
    try:
        text = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in text.strip().splitlines():
        name, driver, memory = (part.strip() for part in line.split(","))
        gpus.append({"name": name, "driver": driver, "memory": memory})
    return gpus


def gpu_names() -> list[str]:
    """Names of the NVIDIA GPUs present."""
    return [gpu["name"] for gpu in gpu_info()]


def describe() -> dict:
    """``cpu``, ``cores``, ``gpus`` and a ``label`` such as ``"AMD EPYC 7B13 (2 cores), no GPU"``."""
    cpu, cores, gpus = cpu_model(), os.cpu_count(), gpu_names()
    return {"cpu": cpu, "cores": cores, "gpus": gpus,
            "label": f"{cpu} ({cores} cores), {', '.join(gpus) or 'no GPU'}"}
