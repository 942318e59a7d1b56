"""Energy functions that no built-in model has, for the user-callable path (importable as spin_models:NAME)."""
import numpy as np


def plaquette_energy(spins):
    """4-spin plaquette interaction ``E = -sum_{r,c} s[r,c] s[r+1,c] s[r,c+1] s[r+1,c+1]`` (periodic), batched."""
    s = np.asarray(spins, dtype=np.int64)
    down = np.roll(s, -1, axis=1)
    return -(s * down * np.roll(s, -1, axis=2) * np.roll(down, -1, axis=2)).sum(axis=(1, 2)).astype(np.float64)


def plaquette_loops(config):
    """The same energy for one (L, L) configuration, by explicit loops (an independent check)."""
    L = config.shape[0]
    total = 0
    for r in range(L):
        for c in range(L):
            total += config[r, c] * config[(r + 1) % L, c] * config[r, (c + 1) % L] * config[(r + 1) % L, (c + 1) % L]
    return -float(total)


def xy_energy(theta):
    """Nearest-neighbour XY energy ``-sum cos(t_a - t_b)`` of angles (declares ``spin_kind = "angle"``)."""
    t = np.asarray(theta, dtype=np.float64)
    return -(np.cos(t - np.roll(t, -1, axis=1)) + np.cos(t - np.roll(t, -1, axis=2))).sum(axis=(1, 2))


xy_energy.spin_kind = "angle"


#: Batches :func:`tracked_energy` was called on (a model file that names it must not trigger a call).
CALLS = []


def tracked_energy(spins):
    """Ising energy that records each call in :data:`CALLS`."""
    CALLS.append(len(spins))
    s = np.asarray(spins, dtype=np.int64)
    return -(s * (np.roll(s, -1, axis=1) + np.roll(s, -1, axis=2))).sum(axis=(1, 2)).astype(np.float64)


def failing_energy(spins):
    """An energy function with a bug."""
    return spins["energy"]
