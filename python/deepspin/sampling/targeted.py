"""Targeted sampling (SPEC section 5; Mills & Tamblyn 2018, section II): a quota per energy class or bin.

A form of umbrella sampling. ``W`` independent walkers (:mod:`deepspin.sampling.walkers`) each
chase a *target*: an energy interval ``[lo, hi]`` (an Ising level, ``lo = hi``, or a bin). Each
step every walker proposes one single-site move; with ``d(E)`` the distance from ``E`` to its
target interval (0 inside), a move is

- accepted if it does not increase the distance, ``d(E') <= d(E)``;
- otherwise accepted with the Gaussian probability ``exp(-(d(E')^2 - d(E)^2) / (2 sigma^2))``.

Inside its target a walker therefore moves freely among the configurations of that energy, and
outside it is pulled back. A walker's target is the class/bin *nearest* to its energy that still
lacks samples (re-chosen when that one fills), so walkers fill the spectrum from where they stand
outwards. A walker records its current configuration whenever the class/bin it is in still lacks
samples and at least ``thin`` steps have passed since its previous record; a walker that cannot
move (an extreme class with fewer configurations than the quota) thus records repeats, as in the
paper. A quarter of the walkers start at the lowest and a quarter at the highest-energy simple
ordered pattern (aligned, checkerboard, stripes; :func:`~deepspin.sampling.walkers.ordered_states`),
the rest at uniform random configurations, so both ends of the spectrum are reached quickly.

Targets: for the Ising model on an even lattice, the ``N - 1`` energy classes of SPEC section 3.
Otherwise (continuous energies: screened Coulomb, sinusoidal, Potts, user functions, odd L)
``bins`` gives the number of equal-width bins over the attainable range, or the bin edges. The
range is estimated once per seed: the lowest and highest exact energies among the ordered patterns
and a zero-temperature descent (and ascent) of ``W`` walkers from them and from random states, so
the two extreme bins contain at least the configurations found there. Bins are ``[e_i, e_{i+1})``,
the last one closed; configurations outside the edges are never recorded. A record's class/bin is
decided from the walker's tracked energy (exact for integer Ising couplings; for the other models
it agrees with the exact label to rounding, ~1e-12 relative, and is recomputed every
``RESYNC_STEPS`` steps); the stored energies are always the exact engine's.
"""
from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from ..encoding import distinct_count
from ..hamiltonians import Hamiltonian, Ising
from ..observables import ising_energy_levels
from .common import (
    SampleSet,
    check_count,
    check_shard,
    describe_hamiltonian,
    label,
    progress_bar,
    seed_entropy,
    shard_share,
    stream,
)
from .walkers import RESYNC_STEPS, draw_uniform, ordered_states, walkers_for

#: Steps between re-choosing every walker's target (a filled target is replaced at once).
RETARGET_STEPS = 256


@dataclass(frozen=True)
class Targets:
    """Energy intervals ``[lo_t, hi_t]`` to fill: Ising levels (``kind="class"``) or bins (``"bin"``)."""

    lo: np.ndarray
    hi: np.ndarray
    kind: str
    tolerance: float

    def __len__(self) -> int:
        return len(self.lo)

    def index(self, energies: np.ndarray) -> np.ndarray:
        """Target containing each energy, or -1 outside all of them."""
        if self.kind == "class":
            t = np.clip(np.searchsorted(self.lo, energies - self.tolerance), 0, len(self) - 1)
            return np.where(np.abs(self.lo[t] - energies) <= self.tolerance, t, -1)
        edges = self.edges
        t = np.searchsorted(edges, energies, side="right") - 1
        t = np.where(energies == edges[-1], len(self) - 1, t)
        return np.where((t >= 0) & (t < len(self)), t, -1)

    @property
    def edges(self) -> np.ndarray:
        """Bin edges ``e_0 < ... < e_n`` (for ``kind="bin"``)."""
        return np.append(self.lo, self.hi[-1])

    def distance(self, energies: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Distance from each energy to its walker's target interval (0 inside)."""
        return np.maximum(np.maximum(self.lo[targets] - energies, energies - self.hi[targets]), 0.0)

    def nearest(self, energies: np.ndarray, open_: np.ndarray) -> np.ndarray:
        """For each energy, the nearest target among those still open (bool mask)."""
        lo, hi = self.lo[open_], self.hi[open_]
        gap = np.maximum(np.maximum(lo[None, :] - energies[:, None], energies[:, None] - hi[None, :]), 0.0)
        return np.flatnonzero(open_)[np.argmin(gap, axis=1)]

    def describe(self) -> dict:
        if self.kind == "class":
            return {"kind": "class", "levels": self.lo.tolist()}
        return {"kind": "bin", "edges": np.append(self.lo, self.hi[-1]).tolist()}


def ising_classes_apply(H: Hamiltonian) -> bool:
    """True when ``H`` has the energy classes of SPEC section 3 (Ising, even L)."""
    return type(H) is Ising and H.L % 2 == 0


def energy_range(H: Hamiltonian, rng: np.random.Generator, walkers: int = 64, sweeps: int = 20,
                 backend: str = "auto") -> tuple[float, float]:
    """Lowest and highest exact energies found by zero-temperature descent and ascent.

    Starts: the ordered patterns and ``walkers`` uniform configurations; each runs ``sweeps``
    sweeps (``N`` single-site proposals) accepting only moves that lower (raise) the energy.
    """
    starts = np.concatenate([ordered_states(H), draw_uniform(H.spin_kind, (walkers, H.L, H.L), rng)])
    found = [label(H, starts, backend)]
    for sign in (-1.0, 1.0):
        walk = walkers_for(H, starts, backend)
        for _ in range(sweeps * H.N):
            move = walk.propose(rng)
            dE = walk.delta(move)
            walk.accept(move, sign * dE > 0, dE)
        found.append(label(H, walk.configs(), backend))
    found = np.concatenate(found)
    return float(found.min()), float(found.max())


def energy_targets(H: Hamiltonian, bins, rng: np.random.Generator, backend: str = "auto") -> Targets:
    """The classes (Ising, even L, ``bins=None``) or bins to fill (see the module docstring)."""
    if bins is None:
        if not ising_classes_apply(H):
            raise ValueError(
                f"{H.name} (L={H.L}) has no energy classes (only the Ising model on an even lattice has); "
                "pass bins=<number of bins> or bins=<increasing edges> (CLI: --bins)"
            )
        levels = np.sort(ising_energy_levels(H.L) * H.J)
        return Targets(levels, levels, "class", tolerance=1e-9 * max(1.0, abs(H.J)) * H.N)
    if isinstance(bins, Integral) and not isinstance(bins, bool):
        count = check_count("bins", bins)
        lo, hi = energy_range(H, rng, backend=backend)
        if hi <= lo:
            raise ValueError(f"{H.name}: every configuration found has energy {lo}; nothing to bin")
        pad = 1e-9 * max(abs(lo), abs(hi), 1.0)
        edges = np.linspace(lo - pad, hi + pad, count + 1)
    else:
        edges = np.asarray(bins, dtype=np.float64) if not isinstance(bins, (str, bytes)) else np.array([])
        if edges.ndim != 1 or len(edges) < 2 or not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
            raise ValueError(f"bins must be a positive int or at least 2 finite, strictly increasing edges; got {bins!r}")
    return Targets(edges[:-1].copy(), edges[1:].copy(), "bin", tolerance=0.0)


def initial_states(H: Hamiltonian, walkers: int, rng: np.random.Generator, backend: str = "auto") -> np.ndarray:
    """A quarter of the walkers at the lowest-energy ordered patterns, a quarter at the highest, the rest random.

    Patterns tied at the extreme energy (e.g. all up and all down) take turns.
    """
    patterns = ordered_states(H)
    energies = label(H, patterns, backend)
    states = draw_uniform(H.spin_kind, (walkers, H.L, H.L), rng)
    quarter = walkers // 4
    for first, extreme in ((0, energies.min()), (quarter, energies.max())):
        tied = patterns[energies == extreme]
        states[first : first + quarter] = tied[np.arange(quarter) % len(tied)]
    return states


def targeted(H: Hamiltonian, per_class: int, *, bins=None, seed=None, walkers: int = 256, sigma: float | None = None,
             thin: int | None = None, max_sweeps: int = 20_000, patience: int = 500, backend: str = "auto",
             shards: int = 1,
             shard_index: int = 0, progress: bool = False) -> SampleSet:
    """Targeted sampling: ``per_class`` configurations in every energy class or bin.

    Parameters
    ----------
    H : Hamiltonian
        Any model, built-in or :class:`~deepspin.hamiltonians.CallableHamiltonian`.
    per_class : int
        Quota per class/bin (over all shards: shard ``i`` fills its even share).
    bins : int or sequence of float, optional
        Number of equal-width bins over the attainable range, or the edges. Required unless ``H``
        is an even-L Ising model, whose ``N - 1`` classes are the targets.
    seed : int, optional
        Everything (range estimate, walks) derives from it; ``None`` draws fresh entropy, which
        the metadata records.
    walkers : int
        Independent walkers advanced together (default 256).
    sigma : float, optional
        Width of the Gaussian rejection, energy units. Default: the level spacing ``4 |J|`` for
        Ising classes; a tenth of the narrowest bin for bins. Inside a bin a walker moves freely,
        so a tight pull costs no diversity there, while a loose one lets the walkers drift off
        the sparse extreme bins of a continuous spectrum (planar Potts 8x8 with 16 bins fills
        every bin with ``width / 10`` but not with ``width`` or ``width / 4``). For Ising a
        looser pull gives more distinct configurations per class (4x4, 1800 per class: 10,963
        distinct with ``sigma = 4``, 7,725 with ``sigma = 1``).
    thin : int, optional
        Minimum steps between two records of one walker (default ``max(1, N // 4)``).
    max_sweeps : int
        Give up after ``max_sweeps * N`` steps; the metadata then says ``complete: false`` and the
        counts show which targets fell short.
    patience : int
        Also give up when no walker has recorded anything for ``patience * N`` steps (a bin
        with no attainable energy, e.g. a gap of a discrete spectrum).

    Returns
    -------
    SampleSet
        ``extras["bin"]`` holds each configuration's target index; ``meta["counts"]`` and
        ``meta["distinct"]`` the number of records and of distinct configurations per target.
    """
    per_class = check_count("per_class", per_class)
    walkers = check_count("walkers", walkers)
    shards, shard_index = check_shard(shards, shard_index)
    thin = max(1, H.N // 4) if thin is None else check_count("thin", thin)
    max_sweeps = check_count("max_sweeps", max_sweeps)
    patience = check_count("patience", patience)
    entropy = seed_entropy(seed)
    targets = energy_targets(H, bins, stream(entropy, 0), backend)
    if sigma is None:
        sigma = 4.0 * abs(H.J) if targets.kind == "class" else 0.1 * float(np.min(targets.hi - targets.lo))
    elif isinstance(sigma, bool) or not isinstance(sigma, Real) or not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be a positive finite energy, got {sigma!r}")
    sigma = float(sigma)
    quota = np.full(len(targets), shard_share(per_class, shards, shard_index), dtype=np.int64)

    rng = stream(entropy, 1 + shard_index)
    walk = walkers_for(H, initial_states(H, walkers, rng, backend), backend)
    records, bins_out, counts, steps = _walk(walk, targets, quota, rng, sigma, thin, max_sweeps * H.N,
                                             patience * H.N, progress)
    spins = records.reshape(-1, H.L, H.L)
    energy = label(H, spins, backend)
    distinct = [distinct_count(spins[bins_out == t]) for t in range(len(targets))]
    meta = {
        "hamiltonian": describe_hamiltonian(H),
        "sampler": "targeted",
        "sampler_params": {
            "per_class": per_class, "bins": None if bins is None else targets.describe()["edges"],
            "walkers": walkers, "sigma": sigma, "thin": thin, "max_sweeps": max_sweeps, "patience": patience,
        },
        "seed": entropy,
        "shards": shards,
        "shard_index": shard_index,
        "targets": targets.describe(),
        "counts": counts.tolist(),
        "distinct": distinct,
        "quota": quota.tolist(),
        "complete": bool(np.all(counts >= quota)),
        "steps": steps,
    }
    return SampleSet(spins, energy, meta, {"bin": bins_out})


def _walk(walk, targets: Targets, quota: np.ndarray, rng, sigma: float, thin: int, max_steps: int, patience: int,
          progress: bool):
    """Run the walkers until every quota is met, ``max_steps`` pass, or ``patience`` steps pass without
    a record; return records, bins, counts and the number of steps."""
    W = walk.count
    total = int(quota.sum())
    records = np.empty((total, walk.N), dtype=walk.states.dtype)
    bins_out = np.empty(total, dtype=np.int64)
    counts = np.zeros(len(targets), dtype=np.int64)
    since = np.full(W, thin, dtype=np.int64)
    filled = 0
    if total == 0:
        return records, bins_out, counts, 0
    target = targets.nearest(walk.energies, counts < quota)
    two_sigma2 = 2.0 * sigma * sigma
    step = last_record = 0
    with progress_bar(total, f"targeted {walk.H.name}", progress) as bar:
        while filled < total and step < max_steps and step - last_record < patience:
            w, b = _due(targets.index(walk.energies), since >= thin, quota - counts)
            if len(w):
                records[filled : filled + len(w)] = walk.states[w]
                bins_out[filled : filled + len(w)] = b
                filled += len(w)
                counts += np.bincount(b, minlength=len(targets))
                since[w] = 0
                last_record = step
                bar.update(len(w))
                if filled == total:
                    break
            open_ = counts < quota
            if step % RETARGET_STEPS == 0 or not open_[target].all():
                target = targets.nearest(walk.energies, open_)
            move = walk.propose(rng)
            dE = walk.delta(move)
            d_old = targets.distance(walk.energies, target)
            d_new = targets.distance(walk.energies + dE, target)
            u = rng.random(W)
            accepted = u < np.exp(-np.maximum(d_new * d_new - d_old * d_old, 0.0) / two_sigma2)
            walk.accept(move, accepted, dE)
            since += 1
            step += 1
            if step % RESYNC_STEPS == 0:
                walk.resync()
    return records[:filled], bins_out[:filled], counts, step


def _due(current: np.ndarray, rested: np.ndarray, deficit: np.ndarray):
    """Walkers that record now and their targets: rested walkers inside a target that still lacks
    samples, at most ``deficit`` per target (lowest walker index first)."""
    ready = (current >= 0) & rested
    ready[ready] = deficit[current[ready]] > 0
    w = np.flatnonzero(ready)
    b = current[w]
    order = np.argsort(b, kind="stable")
    w, b = w[order], b[order]
    rank = np.arange(len(b)) - np.searchsorted(b, b)  # position within its target group
    keep = rank < deficit[b]
    return w[keep], b[keep]
