"""Memory estimates checked before large allocations: refuse with the estimate, not a traceback.

Arrays whose size follows from user options (the image grid of a cutoff, the dense ``N x N`` pair
matrix, the chains of a Monte Carlo run, a dataset's configurations) are estimated first; when the
estimate exceeds the memory this machine has available (``MemAvailable`` of ``/proc/meminfo``, else
the physical memory), :func:`require` raises :class:`MemoryEstimateError` saying how much the
request needs and how much there is, as :class:`~deepspin.errors.LongComputationWarning` does for time.
"""
from __future__ import annotations

import os


class MemoryEstimateError(ValueError):
    """A computation would need more memory than this machine has available."""


def available_bytes() -> int:
    """Memory available for new allocations: ``MemAvailable`` (Linux), else the physical memory."""
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62  # unknown: nothing is refused


def describe(nbytes: float) -> str:
    """``nbytes`` in binary units, e.g. ``"29.1 TiB"``."""
    value = float(nbytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if value < 1024 or unit == "PiB":
            return f"{value:.3g} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    raise AssertionError  # pragma: no cover


def require(nbytes: float, what: str, fix: str) -> None:
    """Raise :class:`MemoryEstimateError` if ``what`` (about ``nbytes``) cannot fit in available memory.

    ``fix`` tells the user what to change (a smaller cutoff, fewer chains, ...).
    """
    have = available_bytes()
    if nbytes > have:
        raise MemoryEstimateError(f"{what} would need about {describe(nbytes)} of memory, and this machine has "
                                  f"{describe(have)} available; {fix}")
