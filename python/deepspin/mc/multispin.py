"""Multispin-coded Metropolis for nearest-neighbour Ising: 64 replicas in every ``uint64`` word.

Replica ``g`` (the run's chain index, ``g = t * chains + c`` at temperature ``T_t``) is bit ``g % 64``
of the words of word-column ``w = g // 64``: ``words[a, w]`` (shape ``(N, W)``, ``W = ceil(G / 64)``)
has bit ``r`` set iff spin ``a`` (``a = row * L + col``) of replica ``64 w + r`` is ``-1``. A sweep
is ``N`` attempts, each at one of ``N + 1`` equally likely slots: a site, or (one slot) none, which
keeps the chain aperiodic at ``T -> inf``; the same site sequence for every replica (drawn from the seed,
independently of the state; a fixed sweep order is not ergodic with Metropolis, which flips every
visited spin with ``dE <= 0``: row-major sweeps reach only 504 of the 512 3x3 configurations).
Each attempt is bitwise logic on whole words (``csrc/multispin.hpp``):

- ``bad_b = s ^ n_b ^ flip`` for the four neighbours ``n_b`` (``flip`` all ones for ``J >= 0``: a set
  bit means an aligned neighbour; zero for ``J < 0``: an anti-aligned one); their count
  ``c = 0..4`` comes from a bit-sliced adder, and ``dE = 4 |J| (c - 2)``;
- ``c <= 2``: accepted; ``c = 3, 4``: accepted iff a uniform 32-bit ``U`` of the replica is below
  ``thr_c = round(2^32 exp(-4 beta |J| (c - 2)))``, compared bit-sliced, most significant bit first,
  with one Philox random word per bit until every replica has decided (at most 32 words). So the
  acceptance probability is exactly ``thr_c / 2^32``, within ``2^-32`` of ``min(1, exp(-beta dE))``.

The Philox streams are keyed by the seed and counted by (word, sweep, attempt, bit), so a run is
reproducible bit for bit from its seed, whatever the thread count, SIMD level
(``DEEPSPIN_SIMD=scalar|avx2|avx512``, default the best this CPU has) or device (CPU and CUDA give
the same words). Replicas share the site sequence and nothing else: every bit of every random word
is independent, so is every replica's acceptance.

Per replica the measurements are ``E``, ``E^2``, ``|m|`` and ``m^2``, counted from the words by bit
transposes at every measured sweep and summed exactly as integers (the bond sum ``B = sum s s'``,
``E = -J B``, and ``M = sum s``: :meth:`MultispinEngine.moments` converts), and optionally the series
of ``E`` and ``m``.
"""
from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..backends.compiled import _core, cuda_status, num_threads
from ..errors import BackendUnavailableError
from .acceptance import THRESHOLD_BITS
from .acceptance import multispin_thresholds as acceptance_thresholds

#: SIMD levels of the CPU kernel, as ``DEEPSPIN_SIMD`` names them, and their kernel codes.
SIMD_LEVELS = {"scalar": 0, "avx2": 1, "avx512": 2}
#: ``backend="auto"`` takes the multispin rule for Ising from this many chains in all (temperatures x
#: chains) on, per device: where it was measured to overtake the one-chain-per-thread Ising rule at
#: L = 8. CPU (2-core AMD EPYC, end-to-end run(), 20,000 sweeps): 0.92x at 64 chains, 1.6x at 128,
#: 3.2x at 256. CUDA (one H200, bench/results/gpu-h200-run1/mc.json): 0.31x at 400 x 50 = 20,000
#: chains, 1.0-1.2x at 6,400 x 50 = 320,000 (the engine alone: 2.2e11 flips/s at 8.4 million).
AUTO_MIN_REPLICAS = {"cpu": 128, "cuda": 320_000}


def supported_simd() -> list[str]:
    """SIMD levels this CPU runs, lowest first."""
    return [name for name, code in SIMD_LEVELS.items() if _core.multispin_simd_supported(code)]


def simd_level(name: str | None = None) -> str:
    """The SIMD level to use: ``name``, else ``DEEPSPIN_SIMD``, else (``auto``) the best this CPU has."""
    name = (os.environ.get("DEEPSPIN_SIMD", "auto") if name is None else name).strip().lower() or "auto"
    available = supported_simd()
    if name == "auto":
        return available[-1]
    if name not in SIMD_LEVELS:
        raise ValueError(f"DEEPSPIN_SIMD must be one of auto, {', '.join(SIMD_LEVELS)}; got {name!r}")
    if name not in available:
        raise ValueError(f"DEEPSPIN_SIMD={name!r}: this CPU runs only {', '.join(available)}; choose one of them")
    return name


def word_count(replicas: int) -> int:
    """Words per site for ``replicas`` replicas: ``ceil(replicas / 64)``."""
    return -(-replicas // 64)


def acceptance_masks(thresholds: np.ndarray) -> np.ndarray:
    """The kernel's ``(64, W)`` bit-plane table from per-replica thresholds ``(G, 2)``.

    Bit ``r`` of ``masks[k * 32 + j, w]`` is bit ``31 - j`` of ``thresholds[64 w + r, k]``; replicas
    past ``G`` (padding of the last word) get threshold 0.
    """
    G = thresholds.shape[0]
    W = word_count(G)
    bits = np.zeros((2, THRESHOLD_BITS, 64 * W), dtype=np.uint8)
    big_endian = np.ascontiguousarray(thresholds.astype(">u4")).view(np.uint8).reshape(G, 2, 4)
    bits[:, :, :G] = np.unpackbits(big_endian, axis=-1).transpose(1, 2, 0)  # most significant bit first
    return _pack_lanes(bits.reshape(2 * THRESHOLD_BITS, W, 64).astype(bool))


def _pack_lanes(bits: np.ndarray) -> np.ndarray:
    """``(..., W, 64)`` bools -> ``(..., W)`` uint64 with lane ``r`` in bit ``r``."""
    packed = np.packbits(bits, axis=-1, bitorder="little")  # (..., W, 8) bytes, lowest lanes first
    return np.ascontiguousarray(packed).view("<u8")[..., 0].astype(np.uint64)


def pack_spins(spins: np.ndarray) -> np.ndarray:
    """``(G, L, L)`` +1/-1 spins -> ``(N, W)`` uint64 words (bit set = spin -1); padding replicas are +1."""
    G, L = spins.shape[0], spins.shape[1]
    W = word_count(G)
    down = np.zeros((64 * W, L * L), dtype=bool)
    down[:G] = spins.reshape(G, L * L) < 0
    return np.ascontiguousarray(_pack_lanes(down.reshape(W, 64, L * L).transpose(2, 0, 1)))


def unpack_spins(words: np.ndarray, replicas: int, L: int) -> np.ndarray:
    """``(N, W)`` uint64 words -> ``(replicas, L, L)`` int8 spins of the first ``replicas`` replicas."""
    N, W = words.shape
    lanes = np.unpackbits(np.ascontiguousarray(words.astype("<u8")).view(np.uint8).reshape(N, W, 8), axis=-1,
                          bitorder="little")  # (N, W, 64)
    down = lanes.transpose(1, 2, 0).reshape(64 * W, N)[:replicas]
    return (1 - 2 * down.astype(np.int8)).reshape(replicas, L, L)


@dataclasses.dataclass
class MultispinState:
    """Everything that evolves in a multispin run; per-replica arrays cover the ``G`` replicas.

    ``words`` ``(N, W)`` uint64; ``moments`` ``(4, G)`` int64, the exact sums of ``B``, ``B^2``,
    ``|M|`` and ``M^2`` (bond sum ``B = sum s s'``, ``E = -J B``; ``M = sum s``); ``accepted`` ``(G,)``;
    ``series_energy``/``series_magnet`` ``(G, count)`` float64 or None.
    """

    sweeps_done: int
    words: np.ndarray
    moments: np.ndarray
    accepted: np.ndarray
    series_energy: np.ndarray | None = None
    series_magnet: np.ndarray | None = None


class MultispinEngine:
    """Multispin Metropolis for ``Ising(L, J)`` replicas at inverse temperatures ``betas`` (``(G,)``, one per replica).

    ``device``: ``"cpu"`` or ``"cuda"``; ``simd``: a :data:`SIMD_LEVELS` name or ``None``
    (``DEEPSPIN_SIMD``, default the best this CPU has). Measurements follow the Metropolis protocol:
    after ``burn_in`` sweeps, one every ``interval`` sweeps.
    """

    def __init__(self, L: int, J: float, betas, seed: int, *, burn_in: int = 0, interval: int = 1,
                 device: str = "cpu", simd: str | None = None) -> None:
        if device not in ("cpu", "cuda"):
            raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
        if device == "cuda" and not cuda_status()[0]:
            raise BackendUnavailableError(f"backend 'multispin' on CUDA is unavailable here: {cuda_status()[1]}")
        betas = np.asarray(betas, dtype=np.float64)
        if betas.ndim != 1 or betas.size == 0 or not np.all(np.isfinite(betas)) or np.any(betas < 0):
            raise ValueError(f"betas must be a non-empty 1-D array of finite values >= 0, got {betas!r}")
        if betas.size > 64 * 2**32:
            raise ValueError(f"{betas.size} replicas exceed the 64 x 2^32 that 32-bit Philox word indices hold")
        self.L, self.J, self.seed = int(L), float(J), int(seed)
        self.replicas = betas.size
        self.W = word_count(self.replicas)
        self.burn_in, self.interval = int(burn_in), int(interval)
        self.device = device
        self.simd = simd_level(simd) if device == "cpu" else "scalar"
        self.masks = acceptance_masks(acceptance_thresholds(betas, J))

    @property
    def N(self) -> int:
        return self.L * self.L

    def start(self, spins: np.ndarray, series: int = 0) -> MultispinState:
        """The state at sweep 0 from ``(G, L, L)`` +1/-1 ``spins``; ``series``: measurements of ``E``, ``m`` kept."""
        if spins.shape != (self.replicas, self.L, self.L):
            raise ValueError(f"spins must have shape {(self.replicas, self.L, self.L)}, got {spins.shape}")
        G = self.replicas
        kept = dict(series_energy=np.zeros((G, series)), series_magnet=np.zeros((G, series))) if series else {}
        return MultispinState(sweeps_done=0, words=pack_spins(spins), moments=np.zeros((4, G), dtype=np.int64),
                              accepted=np.zeros(G, dtype=np.int64), **kept)

    def advance(self, state: MultispinState, n_sweeps: int) -> None:
        """Advance every replica by ``n_sweeps`` sweeps in place, measuring as planned."""
        done = state.sweeps_done + n_sweeps
        measured = 0 if done <= self.burn_in else (done - self.burn_in) // self.interval
        if (2 * self.N) ** 2 * measured >= 2**63:
            raise ValueError(f"{measured} measurements of L={self.L} would overflow the int64 sums of B^2; "
                             "measure less often (a larger interval)")
        plan = _core.SweepPlan(seed=self.seed, sweep_start=state.sweeps_done, n_sweeps=n_sweeps,
                               burn_in=self.burn_in, interval=self.interval)
        _core.multispin_ising(state.words, self.L, self.masks, self.J, plan, moments=state.moments,
                              accepted=state.accepted, series_energy=state.series_energy,
                              series_magnet=state.series_magnet, device=self.device, threads=num_threads(),
                              simd=SIMD_LEVELS[self.simd])
        state.sweeps_done += n_sweeps

    def moments(self, state: MultispinState) -> np.ndarray:
        """Per replica ``(G, 4)`` float64: the sums of ``E``, ``E^2``, ``|m|`` and ``m^2`` over the measurements."""
        B, B2, absM, M2 = state.moments.astype(np.float64)
        return np.stack([-self.J * B, self.J**2 * B2, absM / self.N, M2 / self.N**2], axis=1)

    def spins(self, state: MultispinState) -> np.ndarray:
        """The replicas' configurations ``(G, L, L)`` int8."""
        return unpack_spins(state.words, self.replicas, self.L)
