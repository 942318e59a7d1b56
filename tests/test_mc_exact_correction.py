"""Exact corrections with a surrogate (deepspin.mc.policies): delayed acceptance and cumulative updates
sample the exact Boltzmann distribution of a thermal energy whatever the surrogate, and plain learned
Metropolis with a poor surrogate does not."""
import json

import numpy as np
import pytest

import deepspin
from deepspin.cli import main
from deepspin.enumeration import configurations
from deepspin.mc import init, run
from deepspin.mc.policies import timed_steps

from boltzmann import chi_square_p, config_index
from test_mc import run_interrupted

L, U = 3, 4.0
TEMPERATURES = [0.2, 0.5]


def hopping(L: int, t: float = 1.0) -> np.ndarray:
    """One-body hopping matrix of the periodic L x L lattice: -t per nearest-neighbour bond."""
    H = np.zeros((L * L, L * L))
    for r in range(L):
        for c in range(L):
            i = r * L + c
            for j in (((r + 1) % L) * L + c, r * L + (c + 1) % L):
                H[i, j] -= t
                H[j, i] -= t
    return H


HOPPING = hopping(L)


def fk_energy(configs, T) -> np.ndarray:
    """Falicov-Kimball effective energy of a 3x3 torus at half filling, written here independently.

    ``w = (1 + s) / 2``; ``H = hopping + U diag(w)``; ``E = -T sum_k log(1 + exp(-(eps_k - U/2) / T)) - (U/2) sum w``.
    """
    w = (1.0 + np.asarray(configs, dtype=np.float64).reshape(len(configs), -1)) / 2.0
    eps = np.linalg.eigvalsh(HOPPING + U * w[:, :, None] * np.eye(L * L))
    T = np.asarray(T, dtype=np.float64).reshape(-1, 1)
    return -(T * np.logaddexp(0.0, -(eps - U / 2) / T)).sum(axis=1) - U / 2 * w.sum(axis=1)


class FalicovKimball3:
    """The thermal exact model: ``energy(configs, T)`` with per-configuration temperatures."""

    L, thermal = L, True

    def energy(self, configs, T):
        return fk_energy(configs, T)


ALL = configurations(L)


class TableSurrogate:
    """A good thermal surrogate: the exact energy plus a small deterministic perturbation, by table lookup."""

    L, thermal = L, True

    def __init__(self, scale):
        perturbation = scale * deepspin.Ising(L).energy(ALL, backend="numpy")
        self.tables = {T: fk_energy(ALL, np.full(len(ALL), T)) + perturbation for T in TEMPERATURES}

    def energy(self, configs, T):
        index = config_index(configs)
        return np.array([self.tables[float(t)][i] for t, i in zip(T, index)])


POOR = deepspin.Ising(L, J=-0.05)  # nearest-neighbour Ising: the wrong shape, no temperature dependence


def boltzmann_fk(T):
    energy = fk_energy(ALL, np.full(len(ALL), T))
    weights = np.exp(-(energy - energy.min()) / T)
    return weights / weights.sum()


def p_values(result):
    """Chi-square p-value of the final states at each temperature against the exact weights."""
    return [chi_square_p(np.bincount(config_index(result.configs[i]), minlength=len(ALL)), boltzmann_fk(T))
            for i, T in enumerate(TEMPERATURES)]


def corrected(surrogate, accept, n=1, chains=2000, sweeps=20, seed=11):
    return run(FalicovKimball3(), TEMPERATURES, chains=chains, sweeps=sweeps, burn_in=0, seed=seed, start="random",
               surrogate=surrogate, accept=accept, surrogate_sweeps=n)


@pytest.mark.parametrize("accept,n", [("delayed", 1), ("cumulative", 1), ("cumulative", 3)])
@pytest.mark.parametrize("quality", ["poor", "good"])
def test_exact_boltzmann_distribution_whatever_the_surrogate(accept, n, quality):
    pytest.importorskip("scipy")
    surrogate = POOR if quality == "poor" else TableSurrogate(0.02)
    result = corrected(surrogate, accept, n, chains=1500, sweeps=15 if accept == "delayed" else 30)
    assert result.rule == accept and result.policy is not None
    assert min(p_values(result)) > 1e-3, p_values(result)


class LocalIsing:
    """The poor surrogate as per-site energies ``e_i = -J s_i (s_right + s_down)`` (a local operator, R = 1)."""

    L, receptive_radius, J = L, 1, -0.05

    def site_energies(self, spins):
        s = spins.astype(np.float64)
        return -self.J * s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))

    def energy(self, spins):
        return self.site_energies(spins).sum(axis=(1, 2))


@pytest.mark.parametrize("surrogate,inner", [
    (LocalIsing(), "sublattice"), (deepspin.PairPotential(L, lambda d: 0.05 * np.exp(-d), rcut=1.5), "pair"),
    (lambda configs: POOR.energy(configs, backend="numpy"), "batch"), (POOR, "ising"),
], ids=["local", "pair", "callable", "ising"])
def test_cumulative_runs_the_surrogate_with_its_fastest_rule(surrogate, inner):
    """The inner chain takes the rule select_rule gives the surrogate (never multispin), and stays exact."""
    pytest.importorskip("scipy")
    state = init(FalicovKimball3(), TEMPERATURES, chains=1000, seed=3, start="random", surrogate=surrogate,
                 accept="cumulative", surrogate_sweeps=2)
    assert state.rule.inner.name == inner
    if inner in ("sublattice", "pair"):
        result = corrected(surrogate, "cumulative", 2, chains=1000, sweeps=30, seed=3)
        assert min(p_values(result)) > 1e-3, p_values(result)


def test_plain_learned_metropolis_with_the_poor_surrogate_is_biased():
    """Without the exact stage the chains sample the surrogate's distribution: the chi-square must fail."""
    pytest.importorskip("scipy")
    result = corrected(POOR, "metropolis")
    assert result.policy is None
    assert min(p_values(result)) < 1e-6, p_values(result)


@pytest.mark.parametrize("accept", ["delayed", "cumulative"])
def test_exact_stage_acceptance_falls_with_the_surrogate_quality(accept):
    rates = []
    for surrogate in (FalicovKimball3(), TableSurrogate(0.02), TableSurrogate(0.1), TableSurrogate(0.3)):
        result = corrected(surrogate, accept, n=2, chains=200, sweeps=4)
        rates.append(result.policy["exact_acceptance"])
    np.testing.assert_array_equal(rates[0], 1.0)  # surrogate == exact: the residual is zero
    for better, worse in zip(rates, rates[1:]):
        assert np.all(better > worse), rates


def test_exact_evaluations_only_for_stage_one_survivors():
    result = corrected(POOR, "delayed", chains=100, sweeps=3)
    policy = result.policy
    N = L * L
    attempts = 100 * N * 3
    stage1 = np.round(policy["surrogate_acceptance"] * attempts)
    np.testing.assert_array_equal(policy["exact_evaluations"], stage1)
    np.testing.assert_array_equal(policy["exact_decisions"], stage1)
    assert 0 < policy["exact_time_share"] < 1


def test_cumulative_checkpoint_resume_is_bit_for_bit(tmp_path, monkeypatch):
    kwargs = dict(chains=16, sweeps=12, burn_in=3, interval=2, seed=4, timeseries=True, surrogate=POOR,
                  accept="cumulative", surrogate_sweeps=2, start="random")
    reference = run(FalicovKimball3(), TEMPERATURES, **kwargs)
    path = tmp_path / "run.ckpt.npz"
    run_interrupted(monkeypatch, lambda: run(FalicovKimball3(), TEMPERATURES, checkpoint=path, checkpoint_every=0.0,
                                             **kwargs), at=6)
    assert path.exists()
    resumed = run(FalicovKimball3(), TEMPERATURES, checkpoint=path, checkpoint_every=0.0, **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)
    for key in ("exact_acceptance", "surrogate_acceptance", "exact_evaluations"):
        np.testing.assert_array_equal(resumed.policy[key], reference.policy[key], err_msg=key)
    with pytest.raises(ValueError, match="different run.*surrogate_sweeps"):
        run(FalicovKimball3(), TEMPERATURES, checkpoint=path, **{**kwargs, "surrogate_sweeps": 3})


def test_timed_steps_reports_cost_and_acceptance():
    state = init(FalicovKimball3(), TEMPERATURES, chains=32, seed=2, series=5, surrogate=POOR, accept="cumulative",
                 surrogate_sweeps=2)
    report = timed_steps(state, 5)
    assert report["steps"] == 5 and report["seconds"] > 0 and report["exact_seconds"] > 0
    assert report["acceptance"].shape == (2,) and np.all(report["acceptance"] <= 1)
    assert report["exact_evaluations"].sum() == report["exact_decisions"].sum() <= 5 * 64
    # the series holds the exact energies of the visited states
    np.testing.assert_allclose(state.series_energy[:, -1], fk_energy(state.spins, np.repeat(TEMPERATURES, 32)))


def test_policies_say_what_is_wrong():
    with pytest.raises(ValueError, match="pass surrogate"):
        run(deepspin.Ising(4), [2.0], chains=2, sweeps=1, accept="delayed")
    with pytest.raises(ValueError, match="accept must be one of"):
        run(deepspin.Ising(4), [2.0], chains=2, sweeps=1, surrogate=POOR, accept="slmc")
    with pytest.raises(ValueError, match="L=4 contradicts"):
        run(deepspin.Ising(4), [2.0], chains=2, sweeps=1, surrogate=POOR, accept="cumulative")
    with pytest.raises(ValueError, match="backend must be 'auto' or 'generic'"):
        run(deepspin.Ising(3), [2.0], chains=2, sweeps=1, surrogate=POOR, accept="delayed", backend="cpu")


def shifted_ising(configs):
    """An energy function for the CLI test: the Ising energy at J = 0.8 (a poor surrogate of J = 1)."""
    return 0.8 * deepspin.Ising(4).energy(configs, backend="numpy")


def test_cli_cumulative_with_a_function_surrogate(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["mc", "--hamiltonian", "ising", "--L", "4", "--T", "2,3", "--chains", "16", "--sweeps", "20",
                 "--surrogate", "test_mc_exact_correction:shifted_ising", "--accept", "cumulative",
                 "--surrogate-sweeps", "2", "-o", str(out), "--no-progress"])
    assert code == 0
    records = json.loads(out.read_text())
    assert len(records) == 2
    for r in records:
        assert 0 < r["exact_acceptance"] < 1 and 0 < r["surrogate_acceptance"] < 1 and r["exact_evaluations"] > 0
    assert "exact.acc" in capsys.readouterr().out
    assert main(["mc", "--L", "4", "--T", "2", "--accept", "delayed", "-o", str(out), "--no-progress"]) != 0
    assert "--accept delayed corrects a surrogate" in capsys.readouterr().err


def test_surrogate_model_check_accepts_an_energy_function_by_its_path():
    """A model trained on --hamiltonian mymod:f records that path as its model's name (not 'callable')."""
    from deepspin.commands.mc import check_operator_model

    class Trained:
        metadata = {"hamiltonian": "test_mc_exact_correction:shifted_ising", "params": {"spin_kind": "ising"}}

    H = deepspin.hamiltonian("test_mc_exact_correction:shifted_ising", 4)
    check_operator_model(Trained(), H, "m.keras")
    with pytest.raises(ValueError, match="trained on test_mc_exact_correction:shifted_ising, but --hamiltonian is ising"):
        check_operator_model(Trained(), deepspin.Ising(4), "m.keras")
