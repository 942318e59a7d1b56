"""What ``deepspin datasets info`` reports about a dataset file."""
from __future__ import annotations

import numpy as np

from .split import config_bytes, row_keys
from .store import read, spin_kind_of


def summary(path) -> dict:
    """Metadata, split sizes, distinct configurations, duplicates across the split, per-class counts.

    ``overlap`` counts distinct configurations present in both the training and the test set; the
    hash split makes it 0 by construction (SPEC section 4), and this re-checks it on the file.
    ``histogram`` counts configurations (and distinct ones) per Ising class, per targeted bin, or
    else per exact energy value when there are at most 64 of them.
    """
    arrays, meta = read(path)
    kind = "angles" if spin_kind_of(meta) == "angles" else "spins"
    keys = row_keys(config_bytes(arrays["spins"], kind))
    test = arrays["test"]
    distinct = np.unique(keys)
    overlap = len(np.intersect1d(np.unique(keys[test]), np.unique(keys[~test]), assume_unique=True))
    labels = None
    for name in ("class", "bin"):
        if name in arrays:
            labels, label_name = arrays[name], name
            break
    else:
        values = np.unique(arrays["energy"])
        if len(values) <= 64:
            labels, label_name = np.searchsorted(values, arrays["energy"]), "energy"
    histogram = []
    if labels is not None:
        for value in np.unique(labels):
            chosen = labels == value
            row = {label_name: int(value), "count": int(chosen.sum()), "distinct": int(len(np.unique(keys[chosen]))),
                   "test": int((chosen & test).sum()), "energy": float(arrays["energy"][chosen][0])}
            if label_name == "energy":
                row.pop("energy")
                row[label_name] = float(values[value])
            histogram.append(row)
    return {
        "path": str(path),
        "meta": meta,
        "total": int(len(test)),
        "train": int((~test).sum()),
        "test": int(test.sum()),
        "distinct": int(len(distinct)),
        "overlap": int(overlap),
        "energy_range": [float(arrays["energy"].min()), float(arrays["energy"].max())] if len(test) else None,
        "histogram_by": label_name if labels is not None else None,
        "histogram": histogram,
    }
