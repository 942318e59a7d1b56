"""Temperature grids: validation (``T > 0``, finite) and the CLI's ``start:stop:step`` syntax."""
from __future__ import annotations

import numpy as np


def check_temperatures(temperatures) -> np.ndarray:
    """Return temperatures as a 1-D float64 array, rejecting empty input, NaN, inf and ``T <= 0``."""
    try:
        t = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"temperatures must be real numbers, got {temperatures!r}") from None
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"temperatures must be a non-empty 1-D sequence, got shape {t.shape}")
    bad = ~np.isfinite(t) | (t <= 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"temperatures must be finite and > 0 (k_B = 1); got T={float(t[i])!r} at index {i}. "
            "T = 0 is the ground state, not a Metropolis temperature"
        )
    return t


def parse_temperatures(text: str) -> np.ndarray:
    """``"0.5:5:0.1"`` (start:stop:step, stop included when on the grid) or ``"1,2.27,3"``."""
    try:
        if ":" in text:
            parts = [float(p) for p in text.split(":")]
            if len(parts) != 3:
                raise ValueError
            start, stop, step = parts
            if not step > 0 or stop < start:
                raise ValueError
            count = int(np.floor((stop - start) / step + 1e-9)) + 1
            values = start + step * np.arange(count)
        else:
            values = np.array([float(p) for p in text.split(",")])
    except ValueError:
        raise ValueError(f"temperatures: expected start:stop:step (step > 0) or a comma list, got {text!r}") from None
    return check_temperatures(np.round(values, 12))
