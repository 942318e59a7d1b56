"""Temperature grids: validation (``T > 0``, finite) and the CLI's ``start:stop:step`` syntax."""
from __future__ import annotations

import numpy as np

from ..validation import check_temperatures


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
