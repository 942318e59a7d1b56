"""Single-spin-flip Metropolis-Hastings for many independent chains at many temperatures.

Two paths with the same API and outputs:

- **compiled** (``backend="cpu"`` or ``"cuda"``): Ising and pair-kernel Hamiltonians of deepspin,
  C++/CUDA kernels (``csrc/metropolis.hpp``). Ising uses an acceptance table indexed by the local
  field; pair models keep the local fields ``h = M s`` and update them in ``O(N)`` per accepted flip.
- **local** (``backend="local"``, the default for such operators): operators with per-site energies
  of finite range (``.site_energies``, ``.receptive_radius``), e.g. an extensive surrogate; whole
  sublattices are proposed at once, ``s^2`` operator calls per sweep (:mod:`deepspin.mc.local`).
- **generic** (``backend="generic"``): any energy operator, a callable or an object with
  ``.energy(configs)`` mapping ``(B, L, L)`` +1/-1 configurations to ``(B,)`` energies (e.g. a trained
  surrogate), optionally with ``.magnetization(configs)``. The proposals of all chains and temperatures
  are evaluated in one batched call per site, so a surrogate on a GPU sees batches of
  ``chains x temperatures`` configurations.

Both paths share one protocol, so the generic path with the exact Ising energy as operator
reproduces the compiled chains exactly:

- chain ``g = t * chains + c`` runs at temperature ``T_t``; its random words come from Philox4x32-10
  with key ``seed`` and counter ``(block, g, purpose)`` (``csrc/philox.hpp``);
- the initial configuration is random (spin ``a`` is +1 iff the top bit of word ``a`` of the
  chain's initial stream is set) or ordered (all +1, the ferromagnetic ground state; a random start
  of a ferromagnet at low T freezes into long-lived stripe domains that a short burn-in does not
  remove);
- a sweep is ``N`` attempts; attempt ``i`` of sweep ``t`` takes the words ``2i`` (site) and ``2i + 1``
  (acceptance ``r``) of the chain's stream from block ``t * ceil(N / 2)`` on. The site word ``w`` picks
  row ``(w >> 16) * L >> 16`` and column ``(w & 0xffff) * L >> 16``; the flip is accepted iff
  ``r + 0.5 < 2^32 min(1, exp(-dE / T))``. Random sites (rather than a fixed sweep order, which can
  lock into cycles of zero-energy flips that Metropolis always accepts) keep every chain irreducible;
  the site probabilities do not depend on the configuration, so detailed balance holds exactly;
- after ``burn_in`` sweeps, every ``interval``-th sweep is measured: ``E``, ``E^2`` and ``|m|``
  (``m = sum(s) / N``) are accumulated per chain in float64.
"""
from __future__ import annotations

import dataclasses
import math
import time
from numbers import Integral
from pathlib import Path

import numpy as np

from .. import _core
from ..backends.compiled import cuda_status, num_threads
from ..errors import BackendUnavailableError
from ..hamiltonians import Hamiltonian, Ising, PairPotential
from ..validation import check_lattice_size, check_operator_output, check_temperatures
from . import checkpoint as ckpt
from .observables import thermodynamics

#: Backends of :func:`run`.
BACKENDS = ("auto", "cpu", "cuda", "generic", "local")
#: Initial configurations of :func:`run`.
STARTS = ("auto", "random", "ordered")
_SWEEP_STREAM, _INITIAL_STREAM = 0, 1
#: Compiled kernels run at least this many attempts per call (progress and checkpoints in between).
MIN_CHUNK_ATTEMPTS = 30_000_000


def acceptance_scale(beta, dE) -> np.ndarray:
    """``2^32 min(1, exp(-beta dE))``: a flip is accepted iff ``r + 0.5`` is below it (``r`` a uint32 word)."""
    return 2.0**32 * np.exp(np.minimum(-beta * dE, 0.0))


def ising_thresholds(betas: np.ndarray, J: float) -> np.ndarray:
    """Acceptance table ``(T, 5)`` uint64 of the compiled Ising kernels.

    Column ``k`` is for ``s_a * (sum of the four neighbours) = 2k - 4``, i.e. ``dE = J (4k - 8)``;
    ``r < table[t, k]`` is exactly ``r + 0.5 < acceptance_scale(beta_t, dE)`` for integer ``r``.
    """
    dE = J * (4.0 * np.arange(5) - 8.0)
    return np.ceil(acceptance_scale(betas[:, None], dE[None, :]) - 0.5).astype(np.uint64)


def initial_spins(seed: int, chains: int, L: int) -> np.ndarray:
    """Random initial configurations ``(chains, L, L)`` int8 from each chain's initial Philox stream."""
    N = L * L
    words = _core.philox_words(seed, np.arange(chains, dtype=np.int64), _INITIAL_STREAM, 0, (N + 3) // 4)
    return np.where(words[:, :N] >> 31, 1, -1).astype(np.int8).reshape(chains, L, L)


def measurement_count(sweeps_done: int, burn_in: int, interval: int) -> int:
    """Measurements taken once ``sweeps_done`` sweeps are done."""
    return 0 if sweeps_done <= burn_in else (sweeps_done - burn_in) // interval


@dataclasses.dataclass
class ChainState:
    """Everything that evolves during a run (arrays over chains ``g``, first axis)."""

    sweeps_done: int
    spins: np.ndarray  # (G, L, L) int8
    energy: np.ndarray  # (G,): int64 bond sum -sum s s' (compiled Ising) or float64 energy
    magnet: np.ndarray  # (G,) int64, sum of spins
    moments: np.ndarray  # (G, 3) float64: sum E, sum E^2, sum |m|
    accepted: np.ndarray  # (G,) int64
    fields: np.ndarray | None = None  # (G, N) float64 local fields (compiled pair models)
    series_energy: np.ndarray | None = None  # (G, measurements) float64
    series_magnet: np.ndarray | None = None

    def arrays(self) -> dict:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["sweeps_done"] = np.array(self.sweeps_done, dtype=np.int64)
        return fields

    @classmethod
    def from_arrays(cls, arrays: dict) -> "ChainState":
        values = {f.name: arrays.get(f.name) for f in dataclasses.fields(cls)}
        values["sweeps_done"] = int(values["sweeps_done"])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class MCResult:
    """Outcome of :func:`run`: per-chain accumulators and the estimators of SPEC section 6.

    Arrays over temperatures and chains have shape ``(T, chains, ...)``.
    """

    temperatures: np.ndarray
    L: int
    chains: int
    sweeps: int
    burn_in: int
    interval: int
    seed: int
    backend: str
    model: str
    start: str
    moments: np.ndarray  # (T, chains, 3): sum E, sum E^2, sum |m| over the measurements
    accepted: np.ndarray  # (T, chains)
    configs: np.ndarray  # (T, chains, L, L) final configurations
    series_energy: np.ndarray | None = None  # (T, chains, measurements) when timeseries=True
    series_magnet: np.ndarray | None = None

    @property
    def N(self) -> int:
        return self.L * self.L

    @property
    def measurements(self) -> int:
        """Measurements per chain."""
        return measurement_count(self.burn_in + self.sweeps, self.burn_in, self.interval)

    @property
    def acceptance(self) -> np.ndarray:
        """Fraction of accepted flips per temperature, ``(T,)``."""
        return self.accepted.sum(-1) / (self.chains * self.N * (self.burn_in + self.sweeps))

    def observables(self) -> dict:
        """``T``, ``E_per_site``, ``C_per_site``, ``absm`` and their ``_err`` standard errors, ``(T,)`` each."""
        return thermodynamics(self.moments, self.measurements, self.temperatures, self.N)

    def records(self) -> list[dict]:
        """One dict per temperature with the keys of :meth:`observables` (the ``-o run.json`` format)."""
        obs = self.observables()
        return [{k: float(v[i]) for k, v in obs.items()} for i in range(len(self.temperatures))]


# ---- samplers: how one path initialises and advances the state ----------------------------------


class _IsingSampler:
    path = "ising"

    def __init__(self, H: Ising, betas, chains, plan, device):
        self.J, self.chains, self.plan, self.device = H.J, chains, plan, device
        self.thresholds = ising_thresholds(betas, H.J)

    def initial(self, spins):
        bonds = -(spins * (np.roll(spins, -1, 1) + np.roll(spins, -1, 2))).sum(axis=(1, 2), dtype=np.int64)
        return {"energy": bonds}

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        kernel = _core.metropolis_ising_cuda if self.device == "cuda" else _core.metropolis_ising_cpu
        kernel(state.spins, state.energy, state.magnet, self.chains, self.thresholds, self.J, *self.plan.call(state),
               n_sweeps, self.plan.burn_in, self.plan.interval, state.moments, state.accepted,
               state.series_energy, state.series_magnet, 0, num_threads())
        state.sweeps_done += n_sweeps


class _PairSampler:
    path = "pair"

    def __init__(self, H: PairPotential, betas, chains, plan, device):
        self.J, self.betas, self.chains, self.plan, self.device = H.J, betas, chains, plan, device
        self.matrix = dense_kernel_matrix(H.kernel)

    def initial(self, spins):
        fields, energy = _core.pair_local_fields_cpu(spins, self.matrix, self.J, num_threads())
        return {"energy": energy, "fields": fields}

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        kernel = _core.metropolis_pair_cuda if self.device == "cuda" else _core.metropolis_pair_cpu
        kernel(state.spins, state.fields, state.energy, state.magnet, self.chains, self.matrix, self.betas, self.J,
               *self.plan.call(state), n_sweeps, self.plan.burn_in, self.plan.interval, state.moments,
               state.accepted, state.series_energy, state.series_magnet, 0, num_threads())
        state.sweeps_done += n_sweeps


class _GenericSampler:
    """Metropolis with a batched energy operator: one operator call per site and sweep."""

    path = "generic"

    def __init__(self, operator, magnetization, betas, chains, plan):
        self.operator, self.magnetization, self.plan = operator, magnetization, plan
        self.beta = np.repeat(betas, chains)

    def initial(self, spins):
        return {"energy": _evaluate(self.operator, spins, "energy")}

    def advance(self, state: ChainState, n_sweeps: int) -> None:
        G, L = state.spins.shape[0], state.spins.shape[1]
        N = L * L
        flat = state.spins.reshape(G, N)
        chains = np.arange(G, dtype=np.int64)
        blocks = (N + 1) // 2
        plan = self.plan
        for _ in range(n_sweeps):
            words = _core.philox_words(plan.seed, chains, _SWEEP_STREAM, state.sweeps_done * blocks, blocks)
            sites = words[:, 0 : 2 * N : 2].astype(np.int64)
            sites = ((sites >> 16) * L >> 16) * L + ((sites & 0xFFFF) * L >> 16)
            acceptance_words = words[:, 1 : 2 * N : 2].astype(np.float64) + 0.5
            for i in range(N):
                index = (chains, sites[:, i])
                old = flat[index]
                flat[index] = -old
                proposed = _evaluate(self.operator, state.spins, "energy")
                accept = acceptance_words[:, i] < acceptance_scale(self.beta, proposed - state.energy)
                flat[index] = np.where(accept, -old, old)
                state.energy = np.where(accept, proposed, state.energy)
                state.magnet -= 2 * old.astype(np.int64) * accept
                state.accepted += accept
            state.sweeps_done += 1
            if state.sweeps_done > plan.burn_in and (state.sweeps_done - plan.burn_in) % plan.interval == 0:
                self._record(state)

    def _record(self, state: ChainState) -> None:
        N = state.spins.shape[1] * state.spins.shape[2]
        if self.magnetization is None:
            m = state.magnet / N
        else:
            m = _evaluate(self.magnetization, state.spins, "magnetization")
        state.moments[:, 0] += state.energy
        state.moments[:, 1] += state.energy * state.energy
        state.moments[:, 2] += np.abs(m)
        if state.series_energy is not None:
            q = measurement_count(state.sweeps_done, self.plan.burn_in, self.plan.interval) - 1
            state.series_energy[:, q] = state.energy
            state.series_magnet[:, q] = m


def _evaluate(operator, configs, what: str) -> np.ndarray:
    """Call an operator on a batch and check that it returned ``(B,)`` finite numbers."""
    return check_operator_output(operator(configs), configs.shape[0], f"the {what} operator")


def dense_kernel_matrix(kernel: np.ndarray) -> np.ndarray:
    """``M[a, b] = K[(r_b - r_a) mod L, (c_b - c_a) mod L]`` (N x N float64) from the folded kernel ``K``."""
    L = kernel.shape[0]
    rows, cols = np.divmod(np.arange(L * L), L)
    return np.ascontiguousarray(kernel[(rows[None, :] - rows[:, None]) % L, (cols[None, :] - cols[:, None]) % L],
                                dtype=np.float64)


# ---- the public entry point -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Plan:
    seed: int
    burn_in: int
    interval: int

    def call(self, state: ChainState):
        """Leading arguments of a compiled kernel call: seed and the sweeps already done."""
        return self.seed, state.sweeps_done


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _resolve_model(model, L, backend, magnetization):
    """Return ``(kind, L, operator, magnetization, device, label)`` for :func:`run`."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    if isinstance(model, Hamiltonian):
        if model.spin_kind != "ising":
            raise ValueError(f"Metropolis single-spin flips need +1/-1 spins; {model!r} has continuous angles")
        if L is not None and L != model.L:
            raise ValueError(f"L={L} contradicts the Hamiltonian's L={model.L}; leave L out")
        compiled = isinstance(model, (Ising, PairPotential))
        if not compiled and backend in ("cpu", "cuda"):
            raise ValueError(f"{model!r} has no compiled Metropolis kernel; use backend 'auto' or 'generic'")
        if backend == "generic" or not compiled:
            return "generic", model.L, model.energy, magnetization, None, repr(model)
        if magnetization is not None:
            raise ValueError("a magnetization operator needs backend='generic' (the compiled path measures sum(s)/N)")
        kind = "ising" if isinstance(model, Ising) else "pair"
        if backend == "auto":
            device = "cuda" if cuda_status()[0] else "cpu"
        else:
            device = backend
            if device == "cuda" and not cuda_status()[0]:
                raise BackendUnavailableError(f"backend 'cuda' is unavailable here: {cuda_status()[1]}")
        return kind, model.L, None, None, device, repr(model)
    energy = getattr(model, "energy", model)
    if not callable(energy):
        raise ValueError(
            f"model must be a deepspin Hamiltonian, a callable configs -> energies, or an object with "
            f".energy(configs); got {type(model).__name__}"
        )
    from .local import is_local_operator

    local = is_local_operator(model)
    if backend == "local" and not local:
        raise ValueError("backend 'local' needs an operator with .site_energies(configs) and an integer "
                         f".receptive_radius; {type(model).__name__} has not both")
    if backend not in ("auto", "generic", "local"):
        raise ValueError(f"backend {backend!r} runs deepspin Hamiltonians only; an energy operator needs 'generic'")
    L = getattr(model, "L", None) if L is None else L
    if L is None:
        raise ValueError("pass L (the lattice size) for an energy operator that has no .L attribute")
    if magnetization is None and energy is not model:
        magnetization = getattr(model, "magnetization", None)
    if magnetization is not None and not callable(magnetization):
        raise ValueError(f"magnetization must be a callable configs -> (B,) values, got {magnetization!r}")
    label = f"{type(model).__name__}" + (f"({getattr(model, 'path')})" if hasattr(model, "path") else "")
    kind = "local" if local and backend != "generic" else "generic"
    return kind, check_lattice_size(L), model if kind == "local" else energy, magnetization, None, label


def run(model, temperatures, *, L: int | None = None, chains: int = 400, sweeps: int = 2000,
        burn_in: int | None = None, interval: int = 1, seed: int | None = 0, backend: str = "auto",
        magnetization=None, start: str = "auto", timeseries: bool = False, checkpoint=None,
        checkpoint_every: float = 60.0, progress: bool = False) -> MCResult:
    """Run ``chains`` independent Metropolis chains at each temperature and return their statistics.

    Parameters
    ----------
    model : Hamiltonian or energy operator
        An :class:`~deepspin.Ising` or pair-kernel Hamiltonian (compiled path), or any callable /
        object with ``.energy(configs)`` mapping ``(B, L, L)`` int8 spins to ``(B,)`` energies
        (generic path; ``.magnetization(configs)`` is used for ``|m|`` when present).
    temperatures : array_like
        Temperatures ``T > 0`` (k_B = 1).
    L : int, optional
        Lattice size, needed only for an operator without an ``L`` attribute.
    chains : int
        Independent chains per temperature (400, as in the paper).
    sweeps, burn_in, interval : int
        Measured sweeps after ``burn_in`` (default ``sweeps // 4``) equilibration sweeps; one
        measurement every ``interval`` sweeps. A sweep is ``N`` attempted flips.
    seed : int or None
        Key of the Philox streams, ``0 <= seed < 2^64``; ``None`` draws one (see ``result.seed``).
    backend : {"auto", "cpu", "cuda", "generic", "local"}
        ``auto``: CUDA when available, else CPU, for Hamiltonians; ``local`` for operators with
        ``.site_energies`` and ``.receptive_radius``; ``generic`` for other operators.
    magnetization : callable, optional
        Generic path: an operator ``configs -> (B,)`` magnetizations per site.
    start : {"auto", "random", "ordered"}
        Initial configurations: random, or all +1. ``auto``: ordered for a ferromagnetic
        :class:`~deepspin.Ising` (``J > 0``), random otherwise.
    timeseries : bool
        Keep every measurement of ``E`` and ``m`` (``result.series_energy``, ``series_magnet``).
    checkpoint : path, optional
        Resume from this file if it exists (same parameters required) and save the state there
        every ``checkpoint_every`` seconds; a resumed run equals an uninterrupted one bit for bit.
    progress : bool
        Show a progress bar (tqdm).
    """
    temperatures = check_temperatures(temperatures)
    chains = _check_int("chains", chains, 1)
    sweeps = _check_int("sweeps", sweeps, 1)
    burn_in = sweeps // 4 if burn_in is None else _check_int("burn_in", burn_in, 0)
    interval = _check_int("interval", interval, 1)
    if interval > sweeps:
        raise ValueError(f"interval={interval} exceeds sweeps={sweeps}: no measurement would be taken")
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % 2**64)
    if isinstance(seed, bool) or not isinstance(seed, Integral) or not 0 <= seed < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2^64) or None, got {seed!r}")
    seed = int(seed)
    kind, L, operator, magnet_op, device, label = _resolve_model(model, L, backend, magnetization)
    if start not in STARTS:
        raise ValueError(f"start must be one of {', '.join(map(repr, STARTS))}; got {start!r}")
    if start == "auto":
        start = "ordered" if isinstance(model, Ising) and model.J > 0 else "random"
    G = chains * len(temperatures)
    if G >= 2**32:
        raise ValueError(f"chains x temperatures = {G} exceeds the 2^32 - 1 Philox chain indices")
    betas = 1.0 / temperatures
    plan = _Plan(seed, burn_in, interval)
    if kind == "ising":
        sampler = _IsingSampler(model, betas, chains, plan, device)
    elif kind == "pair":
        sampler = _PairSampler(model, betas, chains, plan, device)
    elif kind == "local":
        from .local import LocalSampler

        sampler = LocalSampler(operator, magnet_op, betas, chains, plan, L)
    else:
        sampler = _GenericSampler(operator, magnet_op, betas, chains, plan)
    config = {"model": label, "path": kind, "L": L, "temperatures": temperatures.tolist(), "chains": chains,
              "sweeps": sweeps, "burn_in": burn_in, "interval": interval, "seed": str(seed),
              "start": start, "timeseries": bool(timeseries)}
    state = _start_or_resume(sampler, config, checkpoint, G, L, seed, timeseries)
    _advance(sampler, state, burn_in + sweeps, checkpoint, checkpoint_every, config, progress)
    T = len(temperatures)
    series = {}
    if timeseries:
        series = {k: getattr(state, k).reshape(T, chains, -1) for k in ("series_energy", "series_magnet")}
    moments = state.moments.reshape(T, chains, 3)
    return MCResult(temperatures=temperatures, L=L, chains=chains, sweeps=sweeps, burn_in=burn_in, interval=interval,
                    seed=seed, backend=device or kind, model=label, start=start, moments=moments,
                    accepted=state.accepted.reshape(T, chains), configs=state.spins.reshape(T, chains, L, L),
                    **series)


def _start_or_resume(sampler, config, checkpoint, G, L, seed, timeseries) -> ChainState:
    if checkpoint is not None and Path(checkpoint).exists():
        saved, arrays = ckpt.load(checkpoint)
        ckpt.check_matches(checkpoint, saved, config)
        return ChainState.from_arrays(arrays)
    spins = initial_spins(seed, G, L) if config["start"] == "random" else np.ones((G, L, L), dtype=np.int8)
    n_meas = measurement_count(config["burn_in"] + config["sweeps"], config["burn_in"], config["interval"])
    series = dict(series_energy=np.zeros((G, n_meas)), series_magnet=np.zeros((G, n_meas))) if timeseries else {}
    return ChainState(sweeps_done=0, spins=spins, magnet=spins.sum(axis=(1, 2), dtype=np.int64),
                      moments=np.zeros((G, 3)), accepted=np.zeros(G, dtype=np.int64), **sampler.initial(spins),
                      **series)


def _advance(sampler, state: ChainState, total: int, checkpoint, every: float, config: dict, progress: bool) -> None:
    """Advance to ``total`` sweeps in chunks, with a progress bar and periodic checkpoints."""
    from tqdm import tqdm

    # Compiled kernels: about 100 progress steps, each of at least MIN_CHUNK_ATTEMPTS attempts.
    chunk = 1
    if sampler.path in ("ising", "pair"):
        chunk = max(math.ceil(total / 100), math.ceil(MIN_CHUNK_ATTEMPTS / state.spins.size))
    last_save = time.monotonic()
    with tqdm(total=total, initial=state.sweeps_done, unit="sweep", disable=not progress, leave=False,
              desc=f"Metropolis ({sampler.path})") as bar:
        while state.sweeps_done < total:
            n = min(chunk, total - state.sweeps_done)
            sampler.advance(state, n)
            bar.update(n)
            if checkpoint is not None and time.monotonic() - last_save >= every and state.sweeps_done < total:
                ckpt.save(checkpoint, config, state.arrays())
                last_save = time.monotonic()
