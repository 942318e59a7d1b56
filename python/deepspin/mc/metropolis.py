"""Metropolis-Hastings for many independent chains at many temperatures: ``init``, ``sweep``, ``run``.

    state = init(model, temperatures, chains=400, seed=0)   # a ChainState; its rule is chosen here
    sweep(state, 100)                                       # advance every chain by 100 sweeps
    result = run(model, temperatures, sweeps=2000)          # init + sweeps + measurements + checkpoints

The model becomes an :class:`~deepspin.mc.operators.Operator` (:func:`~deepspin.mc.operators.as_operator`)
and a proposal rule is chosen for it (:func:`deepspin.mc.rules.select_rule`): compiled kernels for
the deepspin Ising, pair-kernel and planar Potts Hamiltonians, the sublattice rule for local
operators (``.site_energies``, ``.receptive_radius``), the batch rule for any other energy. Every
rule follows one protocol, so the batch rule with an exact energy reproduces the compiled chains:

- chain ``g = t * chains + c`` runs at temperature ``T_t``; its random words come from Philox4x32-10
  with key ``seed`` and counter ``(block, g, purpose)`` (:mod:`deepspin.mc.philox`);
- the initial configuration is random (:func:`~deepspin.mc.acceptance.initial_configurations`)
  or ordered (the model's ``ordered_configuration()`` where it has one, e.g. the Falicov–Kimball
  checkerboard; else all +1, angles 0; :func:`default_start` says which ``start="auto"`` takes at each
  temperature);
- a sweep is ``N`` attempts at random sites; a move is accepted by the one Metropolis rule of
  :mod:`deepspin.mc.acceptance`;
- after ``burn_in`` sweeps, every ``interval``-th sweep is measured: ``E``, ``E^2`` and ``|m|``
  (``m = sum(s) / N``; angles: ``|mean exp(i theta)|``) are accumulated per chain in float64;
  :func:`run` also keeps them per batch of the measurements, for the equilibration diagnostics of
  :mod:`.observables` (``tau_int_E``, ``rhat_E``, ``rhat_absm``; a :class:`~deepspin.errors.EquilibrationWarning`
  when they fail).
"""
from __future__ import annotations

import dataclasses
import math
import sys
import time
from pathlib import Path

import numpy as np

from .._version import __version__
from ..hamiltonians import Ising, PlanarPotts
from ..validation import check_count, check_seed, check_temperatures
from . import checkpoint as ckpt
from .exact import T_CRITICAL
from .acceptance import initial_configurations
from .observables import BATCHES, diagnostics, records, thermodynamics, warn_if_unequilibrated
from .operators import as_operator
from .policies import POLICIES, PolicyRule, build_policy, load_surrogate, surrogate_operator
from .rules import select_rule
from .state import ChainState, Ensemble, measurement_count

#: Initial configurations of :func:`init` and :func:`run`.
STARTS = ("auto", "random", "ordered")


def default_start(model, temperatures=None) -> str:
    """``start="auto"``: which start each temperature gets, as the label a result records.

    ``"ordered"`` for a planar Potts ferromagnet (``J < 0``); for the Ising ferromagnet (``J > 0``)
    ``"ordered"`` below Onsager's ``T_c = 2.269 J`` and ``"random"`` from it on (the label
    ``"ordered below T_c, random above"`` when ``temperatures`` hold both); else ``"random"``.

    A random start of a ferromagnet at low T freezes into long-lived domains that a short burn-in
    does not remove; the ordered start is its ground state. Above ``T_c`` a random start is near
    equilibrium, and it makes the chains independent from the first sweep: at high T, where nearly
    every move is accepted, chains from one ordered start stay alike for many sweeps (the multispin
    replicas, which share their site sequence, identical).
    """
    if temperatures is None:
        if isinstance(model, Ising) and model.J > 0:
            return _MIXED
        return "ordered" if isinstance(model, PlanarPotts) and model.J < 0 else "random"
    ordered = _ordered_temperatures(model, np.asarray(temperatures, dtype=float))
    return "ordered" if ordered.all() else "random" if not ordered.any() else _MIXED


#: The label of ``start="auto"`` for the Ising ferromagnet at temperatures on both sides of ``T_c``.
_MIXED = "ordered below T_c, random above"


def _ordered_temperatures(model, temperatures: np.ndarray) -> np.ndarray:
    """Per temperature: True where ``start="auto"`` takes the ordered start (:func:`default_start`)."""
    if isinstance(model, Ising) and model.J > 0:
        return temperatures < model.J * T_CRITICAL
    return np.full(temperatures.shape, isinstance(model, PlanarPotts) and model.J < 0)


def init(model, temperatures, *, chains: int = 400, seed: int | None = 0, start: str = "auto", burn_in: int = 0,
         interval: int = 1, series: int = 0, backend: str = "auto", L: int | None = None,
         magnetization=None, surrogate=None, accept: str = "metropolis", surrogate_sweeps: int = 1,
         batches: int = 0, measurements: int = 0) -> ChainState:
    """A :class:`ChainState` of ``chains`` chains per temperature at sweep 0, with its proposal rule chosen.

    ``model``: a Hamiltonian, an energy operator or a callable (:func:`~deepspin.mc.operators.as_operator`,
    with ``L`` and ``magnetization``). ``seed``: the Philox key, ``0 <= seed < 2^64`` (None draws one;
    see ``state.ensemble.seed``). ``burn_in``/``interval``: when :func:`sweep` measures; ``series``: how
    many measurements of ``E`` and ``m`` to keep per chain; ``batches``: keep the sums of ``E``, ``E^2``
    and ``|m|`` at the ends of this many batches of the first ``measurements`` measurements (the
    diagnostics of :func:`run`). ``backend``: ``"auto"`` or a name of
    :func:`deepspin.mc.rules.backends` (``cpu``, ``cuda``, ``generic``, ``local``, ...).
    ``surrogate``, ``accept``, ``surrogate_sweeps``: an acceptance policy with a surrogate energy
    (:func:`run`, :mod:`deepspin.mc.policies`); the state's rule is then the policy.
    """
    temperatures = check_temperatures(temperatures)
    chains = check_count("chains", chains)
    burn_in = check_count("burn_in", burn_in, minimum=0)
    interval = check_count("interval", interval)
    series = check_count("series", series, minimum=0)
    batches = check_count("batches", batches, minimum=0)
    measurements = check_count("measurements", measurements, minimum=0)
    seed = check_seed(seed, bits=64)
    if start not in STARTS:
        raise ValueError(f"start must be one of {', '.join(map(repr, STARTS))}; got {start!r}")
    if chains * len(temperatures) >= 2**32:
        raise ValueError(f"chains x temperatures = {chains * len(temperatures)} exceeds the 2^32 - 1 Philox chain indices")
    if accept not in POLICIES:
        raise ValueError(f"accept must be one of {', '.join(map(repr, POLICIES))}; got {accept!r}")
    if accept != "metropolis" and surrogate is None:
        raise ValueError(f"accept={accept!r} corrects a surrogate with the exact model: pass surrogate=...")
    operator = as_operator(model, L, magnetization)
    ensemble = Ensemble(temperatures=temperatures, chains=chains, L=operator.L, seed=seed, burn_in=burn_in,
                        interval=interval, series=series, batches=min(batches, measurements),
                        measurements=measurements)
    if surrogate is None:
        rule = select_rule(operator, ensemble, backend)
    elif accept == "metropolis":  # plain learned Metropolis: the surrogate alone (biased)
        learned = surrogate_operator(surrogate, operator.L)
        rule = select_rule(dataclasses.replace(learned, magnetization=operator.magnetization), ensemble, backend)
    else:
        rule = build_policy(accept, operator, surrogate_operator(surrogate, operator.L), ensemble, backend,
                            surrogate_sweeps)
    if start == "auto":
        ordered = _ordered_temperatures(model, temperatures)
    else:
        ordered = np.full(len(temperatures), start == "ordered")
    return _fresh_state(rule, ensemble, np.repeat(ordered, chains), operator.spin_kind)


def ordered_configuration(operator, L: int, spin_kind: str) -> np.ndarray:
    """The ordered start ``(L, L)``: the Hamiltonian's ``ordered_configuration()`` if it has one, else all +1 (angles 0)."""
    own = getattr(operator.hamiltonian, "ordered_configuration", None)
    if own is not None:
        return own()
    return np.zeros((L, L)) if spin_kind == "angle" else np.ones((L, L), dtype=np.int8)


def _fresh_state(rule, ensemble: Ensemble, ordered: np.ndarray, spin_kind: str) -> ChainState:
    """The state at sweep 0: chain ``g`` starts ordered (:func:`ordered_configuration`) where ``ordered[g]``, else random."""
    G, L = ensemble.size, ensemble.L
    spins = initial_configurations(ensemble.seed, G, L, spin_kind)
    spins[ordered] = ordered_configuration(rule.operator, L, spin_kind)
    first = rule.start(spins)
    series = {}
    if ensemble.series:
        series = dict(series_energy=np.zeros((G, ensemble.series)), series_magnet=np.zeros((G, ensemble.series)))
    if ensemble.batches:
        series["batch_moments"] = np.zeros((G, ensemble.batches, 3))
    return ChainState(rule=rule, ensemble=ensemble, sweeps_done=0, spins=spins, energy=first["energy"],
                      magnet=first["magnet"], moments=np.zeros((G, 3)), accepted=np.zeros(G, dtype=np.int64),
                      cache=first["cache"], **series)


def sweep(state: ChainState, n_sweeps: int = 1) -> ChainState:
    """Advance every chain of ``state`` by ``n_sweeps`` sweeps in place (measuring as its ensemble says); returns it."""
    n_sweeps = check_count("n_sweeps", n_sweeps, minimum=0)
    ens = state.ensemble
    if ens.series and measurement_count(state.sweeps_done + n_sweeps, ens.burn_in, ens.interval) > ens.series:
        raise ValueError(f"{n_sweeps} more sweeps would take more than the {ens.series} measurements the series holds")
    end = state.sweeps_done + n_sweeps
    stops = [int(b) for b in ens.batch_ends() if state.sweeps_done < b < end] if ens.batches else []
    for stop in stops + [end]:
        state.rule.advance(state, stop - state.sweeps_done)
        state.close_batch()
    return state


@dataclasses.dataclass(frozen=True)
class MCResult:
    """Outcome of :func:`run`: per-chain accumulators and the estimators of SPEC section 6.

    Arrays over temperatures and chains have shape ``(T, chains, ...)``. ``rule`` is the proposal
    rule that ran (``ising``, ``pair``, ``potts``, ``batch``, ``sublattice``, ...), ``backend`` where.
    """

    temperatures: np.ndarray
    L: int
    chains: int
    sweeps: int
    burn_in: int
    interval: int
    seed: int
    backend: str
    rule: str
    model: str
    start: str
    moments: np.ndarray  # (T, chains, 3): sum E, sum E^2, sum |m| over the measurements (multispin: + sum m^2)
    accepted: np.ndarray  # (T, chains)
    configs: np.ndarray  # (T, chains, L, L) final configurations
    series_energy: np.ndarray | None = None  # (T, chains, measurements) when timeseries=True
    series_magnet: np.ndarray | None = None
    accept: str = "metropolis"  # the acceptance policy (deepspin.mc.policies)
    surrogate: str | None = None  # label of the surrogate, if any
    policy: dict | None = None  # delayed/cumulative: PolicyRule.stats (per-temperature acceptance of both stages, timing)
    batch_moments: np.ndarray | None = None  # (T, chains, batches, 3): cumulative sums E, E^2, |m| per batch

    @property
    def N(self) -> int:
        return self.L * self.L

    @property
    def measurements(self) -> int:
        """Measurements per chain."""
        return measurement_count(self.burn_in + self.sweeps, self.burn_in, self.interval)

    @property
    def acceptance(self) -> np.ndarray:
        """Fraction of accepted moves per temperature, ``(T,)`` (cumulative updates: of the exact steps)."""
        per_sweep = 1 if self.accept == "cumulative" else self.N
        return self.accepted.sum(-1) / (self.chains * per_sweep * (self.burn_in + self.sweeps))

    def observables(self) -> dict:
        """``T``, ``E_per_site``, ``C_per_site``, ``absm`` and their ``_err`` standard errors, ``(T,)`` each
        (``NaN`` where one cannot be computed: :meth:`records` says why)."""
        return thermodynamics(self.moments, self.measurements, self.temperatures, self.N, self.batch_moments)

    def diagnostics(self) -> dict:
        """Equilibration diagnostics per temperature (:func:`deepspin.mc.observables.diagnostics`):
        ``tau_int_E`` (sweeps), ``rhat_E``, ``rhat_absm``, ``equilibrated`` and the reasons."""
        return diagnostics(self.moments, self.batch_moments, self.measurements, self.interval, self.sweeps)

    def records(self) -> list[dict]:
        """One dict per temperature (the ``-o run.json`` format): the keys of :meth:`observables` and of
        :meth:`diagnostics`, with ``None`` (JSON null) and a ``<key>_reason`` where a value cannot be computed.

        With an exact-correction policy also ``surrogate_acceptance``, ``exact_acceptance`` and
        ``exact_evaluations`` (:func:`deepspin.mc.policies.policy_stats`).
        """
        out = records(self.observables(), self.diagnostics(), self.chains)
        if self.policy is not None:
            for i, record in enumerate(out):
                for key in POLICY_RECORD_KEYS:
                    value = float(self.policy[key][i])
                    record[key] = value if math.isfinite(value) else None
                    if not math.isfinite(value):
                        record[f"{key}_reason"] = "no move reached this stage"
        return out


#: Per-temperature policy statistics in :meth:`MCResult.records`.
POLICY_RECORD_KEYS = ("surrogate_acceptance", "exact_acceptance", "exact_evaluations")


def run(model, temperatures, *, L: int | None = None, chains: int = 400, sweeps: int = 2000,
        burn_in: int | None = None, interval: int = 1, seed: int | None = 0, backend: str = "auto",
        magnetization=None, start: str = "auto", timeseries: bool = False, checkpoint=None,
        checkpoint_every: float = 60.0, progress: bool | None = None, surrogate=None, accept: str = "metropolis",
        surrogate_sweeps: int = 1) -> MCResult:
    """Run ``chains`` independent Metropolis chains at each temperature and return their statistics.

    Parameters
    ----------
    model : Hamiltonian or energy operator
        A deepspin Hamiltonian (compiled rules for Ising, pair-kernel and planar Potts models), or
        any callable / object with ``.energy(configs)`` mapping ``(B, L, L)`` configurations to
        ``(B,)`` energies (``.magnetization(configs)`` is used for ``|m|`` when present; with
        ``.site_energies`` and ``.receptive_radius`` it runs the sublattice rule).
    temperatures : array_like
        Temperatures ``T > 0`` (k_B = 1).
    L : int, optional
        Lattice size, needed only for an operator without an ``L`` attribute.
    chains : int
        Independent chains per temperature (400, as in the paper).
    sweeps, burn_in, interval : int
        Measured sweeps after ``burn_in`` (default ``sweeps // 4``) equilibration sweeps; one
        measurement every ``interval`` sweeps. A sweep is ``N`` attempted moves.
    seed : int or None
        Key of the Philox streams, ``0 <= seed < 2^64``; ``None`` draws one (see ``result.seed``).
    backend : str
        ``auto`` (the fastest rule that applies, CUDA when available), ``cpu``/``cuda`` (compiled
        rules), ``generic`` (batched energies), ``local`` (sublattice rule), or another registered
        backend (:func:`deepspin.mc.rules.backends`).
    magnetization : callable, optional
        An operator ``configs -> (B,)`` magnetizations per site (batch and sublattice rules).
    start : {"auto", "random", "ordered"}
        Initial configurations: random, or all +1 (angles 0); ``auto``: :func:`default_start`.
    timeseries : bool
        Keep every measurement of ``E`` and ``m`` (``result.series_energy``, ``series_magnet``).
    checkpoint : path, optional
        Resume from this file if it exists and save the state there every ``checkpoint_every``
        seconds; a resumed run equals an uninterrupted one bit for bit. The file records a
        fingerprint of the run (operator, e.g. a hash of a surrogate's weights; parameters; seed;
        temperatures exactly; deepspin version) and a checksum of the state: any mismatch is a
        ValueError naming the field (:mod:`deepspin.mc.checkpoint`).
    progress : bool or None
        Show a progress bar (tqdm) on stderr; ``None`` (default): when stderr is a terminal.
    surrogate : optional
        A cheap energy beside the exact ``model``: a ``.keras`` file (:func:`deepspin.surrogate.load`),
        a deepspin Hamiltonian (e.g. a fitted pair model), an object with ``.energy`` or a callable
        (:func:`deepspin.mc.policies.surrogate_operator`).
    accept : {"metropolis", "delayed", "cumulative"}
        ``metropolis``: the model's Metropolis, or with a surrogate plain learned Metropolis (the
        surrogate alone: biased). ``delayed``/``cumulative``: exact for ``model`` whatever the
        surrogate (:mod:`deepspin.mc.policies`); ``result.policy`` holds the acceptance of both stages,
        the exact evaluations and their time share. With ``cumulative`` a sweep is one cumulative step
        of ``surrogate_sweeps`` surrogate sweeps, and ``backend`` chooses the surrogate's rule.
    surrogate_sweeps : int
        Surrogate sweeps per cumulative step (``n``).
    """
    sweeps = check_count("sweeps", sweeps)
    burn_in = sweeps // 4 if burn_in is None else check_count("burn_in", burn_in, minimum=0)
    interval = check_count("interval", interval)
    if interval > sweeps:
        raise ValueError(f"interval={interval} exceeds sweeps={sweeps}: no measurement would be taken")
    total = burn_in + sweeps
    surrogate = load_surrogate(surrogate)  # once: the checkpoint fingerprints the loaded weights
    measurements = measurement_count(total, burn_in, interval)
    state = init(model, temperatures, chains=chains, seed=seed, start=start, burn_in=burn_in, interval=interval,
                 series=measurements if timeseries else 0, backend=backend, L=L, magnetization=magnetization,
                 surrogate=surrogate, accept=accept, surrogate_sweeps=surrogate_sweeps, batches=BATCHES,
                 measurements=measurements)
    ens, rule = state.ensemble, state.rule
    start = default_start(model, ens.temperatures) if start == "auto" else start
    config = {"model": rule.operator.label, "operator": ckpt.operator_fingerprint(model), "rule": rule.name,
              "backend": rule.backend, "L": ens.L, "temperatures": [float.hex(t) for t in ens.temperatures.tolist()],
              "chains": ens.chains, "sweeps": sweeps, "burn_in": burn_in, "interval": interval, "seed": str(ens.seed),
              "start": start, "timeseries": bool(timeseries), "deepspin_version": __version__}
    if surrogate is not None:
        config.update(accept=accept, surrogate=ckpt.operator_fingerprint(surrogate),
                      surrogate_sweeps=surrogate_sweeps if accept == "cumulative" else None)
    if checkpoint is not None and Path(checkpoint).exists():
        saved, arrays = ckpt.load(checkpoint)
        ckpt.check_matches(checkpoint, saved, config)
        ckpt.check_state(checkpoint, arrays, state.arrays(), total)
        state = ChainState.from_arrays(rule, ens, arrays)
    _advance(state, total, checkpoint, checkpoint_every, config, progress)
    T, chains = len(ens.temperatures), ens.chains
    series = {}
    if timeseries:
        series = {k: getattr(state, k).reshape(T, chains, -1) for k in ("series_energy", "series_magnet")}
    result = MCResult(temperatures=ens.temperatures, L=ens.L, chains=chains, sweeps=sweeps, burn_in=burn_in,
                      interval=interval, seed=ens.seed, backend=rule.backend, rule=rule.name,
                      model=rule.operator.label, start=start, moments=state.moments.reshape(T, chains, -1),
                      accepted=state.accepted.reshape(T, chains),
                      configs=state.spins.reshape(T, chains, ens.L, ens.L),
                      batch_moments=state.batch_moments.reshape(T, chains, ens.batches, 3), accept=accept,
                      surrogate=None if surrogate is None else _surrogate_label(rule),
                      policy=rule.stats(state) if isinstance(rule, PolicyRule) else None, **series)
    warn_if_unequilibrated(result.temperatures, result.diagnostics())
    return result


def _surrogate_label(rule) -> str:
    """The surrogate's label in a result: the policy's operator, or (learned Metropolis) the rule's."""
    return rule.surrogate.label if isinstance(rule, PolicyRule) else rule.operator.label


def _advance(state: ChainState, total: int, checkpoint, every: float, config: dict, progress: bool) -> None:
    """Advance to ``total`` sweeps in chunks, with a progress bar and periodic checkpoints."""
    from tqdm import tqdm

    # Compiled rules: about 100 progress steps, each of at least the rule's minimum chunk of attempts.
    chunk = 1
    if state.rule.min_chunk_attempts:
        chunk = max(math.ceil(total / 100), math.ceil(state.rule.min_chunk_attempts / state.spins.size))
    last_save = time.monotonic()
    if progress is None:
        progress = sys.stderr.isatty()
    with tqdm(total=total, initial=state.sweeps_done, unit="sweep", disable=not progress, leave=False,
              desc=f"Metropolis ({state.rule.name}, {state.rule.backend})") as bar:
        while state.sweeps_done < total:
            n = min(chunk, total - state.sweeps_done)
            sweep(state, n)
            bar.update(n)
            if checkpoint is not None and time.monotonic() - last_save >= every and state.sweeps_done < total:
                ckpt.save(checkpoint, config, state.arrays())
                last_save = time.monotonic()

