"""Temperature grids: validation (``T > 0``, finite) and the CLI's ``start:stop:step`` syntax."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np

from ..validation import check_temperatures


def parse_temperatures(text: str) -> np.ndarray:
    """``"0.5:5:0.1"`` (start:stop:step, stop included when on the grid) or ``"1,2.27,3"``.

    Values are not rounded: a comma list is read as written (``6e-13`` stays ``6e-13``), and a grid
    is computed in decimal arithmetic, ``start + i * step``, so ``0.5:5:0.1`` gives ``0.7``, not
    ``0.7000000000000001``.
    """
    try:
        if ":" in text:
            parts = [Decimal(p.strip()) for p in text.split(":")]
            if len(parts) != 3 or not all(p.is_finite() for p in parts):
                raise ValueError
            start, stop, step = parts
            if not step > 0 or stop < start:
                raise ValueError
            count = int((stop - start) / step) + 1
            if count > 1_000_000:
                raise ValueError
            values = np.array([float(start + step * i) for i in range(count)])
        else:
            values = np.array([float(p) for p in text.split(",")])
    except (ValueError, InvalidOperation):
        raise ValueError(f"temperatures: expected start:stop:step (step > 0, at most a million values) or a comma "
                         f"list, got {text!r}") from None
    return check_temperatures(values)
