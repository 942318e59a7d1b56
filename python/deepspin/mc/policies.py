"""Exact Monte Carlo with a surrogate energy: delayed acceptance and cumulative (self-learning) updates.

A cheap surrogate ``Ê`` (a trained network, a fitted pair model, any callable) proposes; the exact
energy ``E`` (the model, possibly thermal: ``E(s; T)``, always called through
:meth:`~deepspin.mc.operators.Operator.energy_at`) corrects, so the chains sample
``exp(-E / T)`` exactly whatever ``Ê`` is; only the speed depends on how good ``Ê`` is.

- ``delayed`` (Christen & Fox, J. Comput. Graph. Stat. 14, 795 (2005)), :class:`DelayedAcceptance`:
  the single-site proposals of the batch rule (:mod:`.rules.batch`, same words); stage 1 accepts with
  ``min(1, exp(-beta dÊ))``; only the survivors, as one sub-batch, pay for the exact energy; stage 2
  accepts with ``min(1, exp(-beta (dE - dÊ)))`` (:func:`~.acceptance.delayed_second_stage`). One
  sweep is ``N`` attempts; ``state.accepted`` counts the moves that passed both stages.
- ``cumulative`` (Liu, Qi, Meng & Fu, PRB 95, 041101 (2017)), :class:`CumulativeUpdate`: one step
  runs ``n`` sweeps of Metropolis under ``Ê`` from the current state ``s`` (with the fastest rule
  for the surrogate, :func:`~.rules.select_rule`: a compiled kernel for a deepspin Hamiltonian such
  as a fitted :class:`~deepspin.hamiltonians.PairPotential`, the sublattice rule for a local
  surrogate, the batch rule otherwise; ``backend="auto"`` skips the multispin rule, whose replicas
  share their site sequence, so that the chains stay independent), then accepts the end state ``s'`` with
  ``min(1, exp(-beta [(E(s') - E(s)) - (Ê(s') - Ê(s))]))`` (:func:`~.acceptance.cumulative_correction`);
  on rejection the chain stays at ``s``. One "sweep" of the state is one such step (measured once);
  ``state.accepted`` counts accepted steps.

Why ``cumulative`` is exact. Write ``P`` for the kernel of one inner sweep. Every rule draws its
sites and acceptance words from counter-based streams that do not depend on the configuration, so
each inner attempt applies the same kernel ``K`` (a uniformly random site, then Metropolis under
``Ê``), which satisfies detailed balance w.r.t. ``pi^(s) ~ exp(-beta Ê(s))``; ``P = K^N`` and
``P^n`` are then reversible too: ``pi^(s) P^n(s, s') = pi^(s') P^n(s', s)``. (The sublattice rule's
sweep is a uniformly random order of reversible sublattice updates; the reverse of an order is an
order of equal probability, so the average over orders is reversible as well.) Metropolis-Hastings
with proposal ``P^n`` for the target ``pi(s) ~ exp(-beta E(s))`` accepts with
``min(1, pi(s') P^n(s', s) / (pi(s) P^n(s, s'))) = min(1, pi(s') pi^(s) / (pi(s) pi^(s')))``,
the correction above. The inner chain of step ``t`` uses inner sweeps ``t n .. t n + n - 1`` of
the surrogate rule's streams, so a rejected step never replays its proposal, and the exact
decision uses its own stream (:data:`~.philox.CUMULATIVE_STREAM`).

Why ``delayed`` is exact: :func:`~.acceptance.delayed_second_stage`. Its stage-2 words come from
:data:`~.philox.DELAYED_STREAM`.

Counters (the rule's cache, so checkpoints carry them): ``surrogate_proposed/accepted`` (stage-1
attempts, or inner-chain attempts), ``exact_proposed/accepted`` (exact decisions: delayed stage 2,
or cumulative steps that moved) and ``exact_evaluations`` (configurations given to the exact
energy). The rule also times itself in this process (``seconds``, ``exact_seconds``):
:meth:`PolicyRule.stats`. :func:`timed_steps` runs any state a fixed number of steps and reports
timing and acceptance (for benchmarks).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

from ..validation import check_count
from .acceptance import accept, cumulative_correction, delayed_second_stage
from .operators import Operator, as_operator
from .philox import CUMULATIVE_STREAM, DELAYED_STREAM, philox_words
from .rules.base import NumpyRule, compiled_device, evaluate, initial_magnet
from .rules.batch import BatchMove
from .rules.registry import select_rule
from .state import ChainState, Ensemble

#: Acceptance policies: ``metropolis`` (the operator alone; with a surrogate, plain learned Metropolis,
#: biased), ``delayed`` and ``cumulative`` (exact with any surrogate).
POLICIES = ("metropolis", "delayed", "cumulative")
#: The inner chains of cumulative updates never measure: their burn-in outlasts any run.
_NEVER = 2**62
COUNTERS = ("surrogate_proposed", "surrogate_accepted", "exact_proposed", "exact_accepted", "exact_evaluations")


def load_surrogate(surrogate):
    """``surrogate`` itself, or for a ``.keras`` file (path or str) the model loaded by :func:`deepspin.surrogate.load`."""
    if not isinstance(surrogate, (str, Path)):
        return surrogate
    path = Path(surrogate)
    if path.suffix != ".keras":
        raise ValueError(f"surrogate {surrogate!r}: a file surrogate is a .keras model; pass a Hamiltonian, an "
                         "object with .energy or a callable otherwise")
    if not path.exists():
        raise FileNotFoundError(f"surrogate: no such model file: {path}")
    from ..surrogate import load

    return load(path)


def surrogate_operator(surrogate, L: int) -> Operator:
    """The surrogate as an :class:`Operator` of lattice size ``L``.

    ``surrogate``: a ``.keras`` file (path or str; :func:`load_surrogate`), a deepspin Hamiltonian,
    an object with ``.energy`` (optionally local or thermal), or a callable ``configs -> (B,)`` energies.
    """
    return as_operator(load_surrogate(surrogate), L)


class PolicyRule(NumpyRule):
    """A rule whose moves the exact ``operator`` decides after the ``surrogate`` (module docstring)."""

    def __init__(self, operator: Operator, ensemble: Ensemble, backend: str, surrogate: Operator) -> None:
        if surrogate.spin_kind != operator.spin_kind:
            raise ValueError(f"the surrogate {surrogate.label} takes {surrogate.spin_kind} spins but the model "
                             f"{operator.label} takes {operator.spin_kind} spins")
        if surrogate.L != operator.L:
            raise ValueError(f"the surrogate {surrogate.label} is for L={surrogate.L}, the model for L={operator.L}")
        super().__init__(operator, ensemble, backend)
        self.surrogate = surrogate
        self.chain_temperatures = np.repeat(ensemble.temperatures, ensemble.chains)
        self.seconds = 0.0
        self.exact_seconds = 0.0

    def start(self, spins):
        G = spins.shape[0]
        cache = {"surrogate_energy": self.surrogate_energy(spins, slice(None))}
        cache.update({name: np.zeros(G, dtype=np.int64) for name in COUNTERS})
        return {"energy": self.exact_energy(spins, slice(None), count=None), "magnet": initial_magnet(spins),
                "cache": cache}

    def surrogate_energy(self, configs, chains) -> np.ndarray:
        """``Ê`` of ``configs`` ``(k, L, L)``, the configurations of chains ``chains`` (their temperatures)."""
        T = self.chain_temperatures[chains]
        return evaluate(lambda c: self.surrogate.energy_at(c, T), configs, configs.shape[0], "the surrogate")

    def exact_energy(self, configs, chains, count) -> np.ndarray:
        """``E`` of ``configs`` of chains ``chains``, timed; ``count`` (the cache's counter, or None) += 1 per chain."""
        T = self.chain_temperatures[chains]
        begin = time.perf_counter()
        energy = evaluate(lambda c: self.operator.energy_at(c, T), configs, configs.shape[0], "the exact energy")
        self.exact_seconds += time.perf_counter() - begin
        if count is not None:
            count[chains] += 1
        return energy

    def advance(self, state, n_sweeps):
        begin = time.perf_counter()
        super().advance(state, n_sweeps)
        self.seconds += time.perf_counter() - begin

    def stats(self, state: ChainState) -> dict:
        """Acceptance and cost of the two stages so far: :func:`policy_stats` of the state's counters and this process's timing."""
        return policy_stats(self.ensemble, {name: state.cache[name] for name in COUNTERS}, self.seconds,
                            self.exact_seconds)


def policy_stats(ensemble: Ensemble, counters: dict, seconds: float, exact_seconds: float) -> dict:
    """Per-temperature ``(T,)`` acceptance of the two stages from per-chain ``counters``, and the timing.

    ``surrogate_acceptance``: stage 1 (delayed) or the inner chain (cumulative);
    ``exact_acceptance``: the exact decisions accepted; ``exact_decisions``, ``exact_evaluations``:
    how many (the initial energies not counted); ``seconds``/``exact_seconds``/``exact_time_share``:
    wall time of the steps and the part spent in the exact energy.
    """
    n_T = len(ensemble.temperatures)
    per_T = {name: counters[name].reshape(n_T, -1).sum(axis=1) for name in COUNTERS}
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"surrogate_acceptance": per_T["surrogate_accepted"] / per_T["surrogate_proposed"],
               "exact_acceptance": per_T["exact_accepted"] / per_T["exact_proposed"]}
    out.update(exact_evaluations=per_T["exact_evaluations"], exact_decisions=per_T["exact_proposed"],
               seconds=seconds, exact_seconds=exact_seconds,
               exact_time_share=exact_seconds / seconds if seconds else float("nan"))
    return out


class DelayedAcceptance(PolicyRule):
    """Single-site delayed acceptance (module docstring); runs on backend ``"generic"``."""

    name = "delayed"

    def __init__(self, operator, ensemble, backend, surrogate):
        super().__init__(operator, ensemble, backend, surrogate)
        self.proposer = BatchMove(surrogate, ensemble, "generic")

    def sweep_once(self, state):
        G, N = state.spins.shape[0], self.ensemble.N
        beta = self.ensemble.chain_betas
        sites, values, words = self.proposer.draws(state)
        blocks = (N + 3) // 4
        second = philox_words(self.ensemble.seed, np.arange(G), DELAYED_STREAM, state.sweeps_done * blocks,
                              blocks)[:, :N]
        cache = state.cache
        for i in range(N):
            move = self.proposer.propose(state, sites[:, i], None if values is None else values[:, i])
            dE_hat = move.energy - cache["surrogate_energy"]
            survivors = np.flatnonzero(accept(words[:, i], beta, dE_hat))
            cache["surrogate_proposed"] += 1
            cache["surrogate_accepted"][survivors] += 1
            ok = np.zeros(G, dtype=bool)
            if survivors.size:
                exact = self.exact_energy(state.spins[survivors], survivors, cache["exact_evaluations"])
                passed = delayed_second_stage(second[survivors, i], beta[survivors],
                                              exact - state.energy[survivors], dE_hat[survivors])
                cache["exact_proposed"][survivors] += 1
                kept = survivors[passed]
                cache["exact_accepted"][kept] += 1
                ok[kept] = True
                state.energy[kept] = exact[passed]
                cache["surrogate_energy"][kept] = move.energy[kept]
            self.proposer.commit(state, move, ok)


class CumulativeUpdate(PolicyRule):
    """Self-learning cumulative updates of ``sweeps`` inner surrogate sweeps (module docstring)."""

    name = "cumulative"

    def __init__(self, operator, ensemble, backend, surrogate, sweeps: int = 1):
        super().__init__(operator, ensemble, backend, surrogate)
        self.inner_sweeps = check_count("surrogate_sweeps", sweeps)
        inner = dataclasses.replace(ensemble, burn_in=_NEVER, interval=1, series=0)
        self.inner = select_rule(surrogate, inner, backend)
        if backend == "auto" and self.inner.name == "multispin":
            # its replicas share the site sequence: the chains would not be independent samples
            self.inner = select_rule(surrogate, inner, compiled_device(surrogate, inner))

    def sweep_once(self, state):
        G, n = state.spins.shape[0], self.inner_sweeps
        cache = state.cache
        spins = state.spins.copy()
        first = self.inner.start(spins)
        inner = ChainState(rule=self.inner, ensemble=self.inner.ensemble, sweeps_done=state.sweeps_done * n,
                           spins=spins, energy=first["energy"], magnet=first["magnet"], moments=np.zeros((G, 3)),
                           accepted=np.zeros(G, dtype=np.int64), cache=first["cache"])
        self.inner.advance(inner, n)
        cache["surrogate_proposed"] += n * self.ensemble.N
        cache["surrogate_accepted"] += inner.accepted
        moved = np.flatnonzero((inner.spins != state.spins).reshape(G, -1).any(axis=1))
        if not moved.size:
            return
        end = inner.spins[moved]
        end_hat = self.surrogate_energy(end, moved)
        end_exact = self.exact_energy(end, moved, cache["exact_evaluations"])
        words = philox_words(self.ensemble.seed, moved, CUMULATIVE_STREAM, state.sweeps_done, 1)[:, 0]
        ok = cumulative_correction(words, self.ensemble.chain_betas[moved], end_exact - state.energy[moved],
                                   end_hat - cache["surrogate_energy"][moved])
        cache["exact_proposed"][moved] += 1
        kept = moved[ok]
        cache["exact_accepted"][kept] += 1
        state.accepted[kept] += 1
        state.spins[kept] = inner.spins[kept]
        state.energy[kept] = end_exact[ok]
        cache["surrogate_energy"][kept] = end_hat[ok]
        state.magnet[kept] = initial_magnet(state.spins[kept])


def build_policy(accept_policy: str, operator: Operator, surrogate: Operator, ensemble: Ensemble,
                 backend: str = "auto", surrogate_sweeps: int = 1) -> PolicyRule:
    """The rule of ``accept_policy`` (``delayed`` or ``cumulative``) for the exact ``operator`` and its ``surrogate``.

    ``backend``: delayed acceptance runs the batch proposals (``auto`` or ``generic``); cumulative
    updates pass it to :func:`~.rules.select_rule` for the inner surrogate chain.
    """
    if accept_policy == "delayed":
        if backend not in ("auto", "generic"):
            raise ValueError(f"accept='delayed' proposes with the batch rule: backend must be 'auto' or 'generic', "
                             f"got {backend!r}")
        return DelayedAcceptance(operator, ensemble, "generic", surrogate)
    if accept_policy == "cumulative":
        return CumulativeUpdate(operator, ensemble, backend, surrogate, surrogate_sweeps)
    raise ValueError(f"accept must be 'delayed' or 'cumulative' for an exact correction, got {accept_policy!r}")


def timed_steps(state: ChainState, steps: int) -> dict:
    """Advance ``state`` by ``steps`` sweeps (policy steps) and report what they cost and how often they moved.

    Returns ``seconds`` (wall time of these steps), ``steps``, ``seconds_per_step``, ``acceptance``
    ``(T,)`` (accepted moves per attempt: single-site attempts, or cumulative steps), and for a
    :class:`PolicyRule` its counters' :meth:`~PolicyRule.stats` over these steps only. Works for any
    rule (exact Metropolis too), so benchmarks time every method the same way; with
    ``init(..., series=k)`` the state keeps the time series of ``E`` and ``m``.
    """
    steps = check_count("steps", steps)
    from .metropolis import sweep

    rule = state.rule
    before = {name: state.cache[name].copy() for name in COUNTERS if name in state.cache}
    accepted = state.accepted.copy()
    timing = (rule.seconds, rule.exact_seconds) if isinstance(rule, PolicyRule) else None
    begin = time.perf_counter()
    sweep(state, steps)
    seconds = time.perf_counter() - begin
    ens = state.ensemble
    per_step = 1 if isinstance(rule, CumulativeUpdate) else ens.N
    out = {"seconds": seconds, "steps": steps, "seconds_per_step": seconds / steps,
           "acceptance": (state.accepted - accepted).reshape(len(ens.temperatures), -1).sum(1)
           / (ens.chains * per_step * steps)}
    if timing is not None:
        counters = {name: state.cache[name] - before[name] for name in COUNTERS}
        out.update(policy_stats(ens, counters, rule.seconds - timing[0], rule.exact_seconds - timing[1]))
    return out
