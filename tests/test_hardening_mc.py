"""Hardening (issue 23), classes 2, 3 and 8: no Monte Carlo record or exact reference is wrong without a word.

Every value is compared with an independent one: enumeration of all 2^N configurations (written out
here, not deepspin's chunked code), the closed-form limits of the Ising model (ground state as
T -> 0; independent spins as T -> inf), or the measured device crossovers.
"""
import json
import math
import warnings

import numpy as np
import pytest

import deepspin
from deepspin.cli import main
from deepspin.errors import EquilibrationWarning
from deepspin.mc import exact_thermodynamics, ising_torus, run, specific_heat_peak
from deepspin.mc.transfer import ising_density_of_states, thermodynamics


def brute_force(H, temperatures):
    """``<E>/N``, ``C/N``, ``<|m|>`` from all 2^N configurations at once, each weight relative to the ground state."""
    configs = deepspin.enumeration.configurations(H.L)
    energies = np.asarray(H.energy(configs, backend="numpy"), dtype=np.float64)
    absm = np.abs(configs.mean(axis=(1, 2)))
    out = []
    for T in temperatures:
        w = np.exp(-(energies - energies.min()) / T)
        p = w / w.sum()
        mean = p @ energies
        out.append((mean / H.N, (p @ (energies - mean) ** 2) / T / T / H.N, p @ absm))
    return np.array(out).T


def random_spin_absm(N):
    """``<|m|>`` of N independent +-1 spins (T -> inf): ``sum_k C(N, k) |N - 2k| / (N 2^N)``."""
    return sum(math.comb(N, k) * abs(N - 2 * k) for k in range(N + 1)) / (N * 2**N)


def ideal_error(variance_per_sample, samples):
    """The standard error of a mean of ``samples`` independent draws: the floor an honest error bar cannot go below."""
    return math.sqrt(variance_per_sample / samples)


# ---- class 2: Monte Carlo statistics --------------------------------------------------------------

HIGH_T = [1e3, 1e6]


@pytest.mark.parametrize("backend", ["multispin", "cpu"])
def test_high_temperature_records_are_right_within_honest_error_bars(backend):
    """Issue 23: multispin replicas from one ordered start evolved identically at T = 1e3 and 1e6 (E/N 6
    sigma off, error 3e-19), and the per-chain rule gave <|m|> = 0.1845 +- 0.0011 against 0.1964 at T = 1e6."""
    H, chains, sweeps = deepspin.Ising(4), 128, 2000
    result = run(H, HIGH_T, chains=chains, sweeps=sweeps, seed=3, backend=backend)
    energy, heat, absm = brute_force(H, HIGH_T)
    samples = chains * result.measurements
    for i, record in enumerate(result.records()):
        T = HIGH_T[i]
        e_floor = ideal_error(heat[i] * T * T / H.N, samples)  # Var(E/N) = T^2 C / N^2 per site
        m_floor = ideal_error(1 / H.N - absm[i] ** 2, samples)  # Var |m| = <m^2> - <|m|>^2, <m^2> ~ 1/N here
        assert abs(record["E_per_site"] - energy[i]) < 4 * record["E_per_site_err"], record
        assert abs(record["absm"] - absm[i]) < 4 * record["absm_err"], record
        assert record["E_per_site_err"] > 0.5 * e_floor and record["absm_err"] > 0.5 * m_floor, record
        assert abs(record["absm"] - random_spin_absm(16)) < 4 * record["absm_err"] + 1e-3
    assert all(r["equilibrated"] and r["rhat_E"] < 1.05 for r in result.records())


def test_an_ordered_multispin_start_at_high_T_gets_an_error_bar_for_correlated_replicas():
    """The replicas share their site sequence: from one start they stay alike at acceptance ~1, and the
    error bar must count them as one chain, not 128 independent ones."""
    H = deepspin.Ising(4)
    result = run(H, [1e6], chains=128, sweeps=2000, seed=5, backend="multispin", start="ordered")
    record = result.records()[0]
    energy, heat, absm = brute_force(H, [1e6])
    assert abs(record["E_per_site"] - energy[0]) < 4 * record["E_per_site_err"], record
    assert abs(record["absm"] - absm[0]) < 4 * record["absm_err"], record
    assert record["E_per_site_err_source"] == "batches"
    one_chain = ideal_error(heat[0] * 1e12 / H.N, result.measurements)  # one chain's worth of samples
    assert record["E_per_site_err"] > 0.5 * one_chain, record


def test_per_chain_rule_is_aperiodic_at_infinite_temperature():
    """With acceptance 1 a sweep of exactly N flips keeps the parity of the down spins at every
    measurement: an ordered start never reached half of the configurations."""
    H = deepspin.Ising(4)
    for backend in ("cpu", "multispin"):
        result = run(H, [1e300], chains=64, sweeps=1000, seed=9, backend=backend, start="ordered", timeseries=True)
        down = np.rint((1 - result.series_magnet[0, 0]) * H.N / 2).astype(int)  # chain 0 at every measurement
        assert set(down % 2) == {0, 1}, backend  # both parity classes are visited
        record = result.records()[0]
        assert abs(record["absm"] - random_spin_absm(16)) < 4 * record["absm_err"], (backend, record)


def test_limits_t_to_zero_are_exact_and_valid_json():
    H = deepspin.Ising(4)
    for backend in ("cpu", "multispin"):
        result = run(H, [1e-300, 0.05], chains=64, sweeps=200, seed=1, backend=backend)
        for record in result.records():
            json.dumps(record, allow_nan=False)
            assert record["E_per_site"] == -2.0 and record["absm"] == 1.0
            assert record["C_per_site"] == 0.0 and record["E_per_site_err"] == 0.0
            assert record["tau_int_E"] is None and "never changed" in record["tau_int_E_reason"]
            assert record["equilibrated"]


def test_one_chain_gives_batch_errors_or_null_with_a_reason(tmp_path):
    H = deepspin.Ising(4)
    records = run(H, [2.5], chains=1, sweeps=2, seed=1, backend="cpu").records()
    json.dumps(records, allow_nan=False)
    assert records[0]["E_per_site_err"] is None and "one chain" in records[0]["E_per_site_err_reason"]
    assert records[0]["rhat_E"] is None and "4 batches" in records[0]["rhat_E_reason"]
    longer = run(H, [2.5], chains=1, sweeps=4000, seed=1, backend="cpu").records()[0]
    energy, _, _ = brute_force(H, [2.5])
    assert longer["E_per_site_err_source"] == "batches" and longer["E_per_site_err"] > 0
    assert abs(longer["E_per_site"] - energy[0]) < 4 * longer["E_per_site_err"]
    out = tmp_path / "one.json"
    assert main(["mc", "--L", "4", "--T", "2.5", "--chains", "1", "--sweeps", "2", "--no-progress", "-o", str(out)]) == 0

    def no_constants(name):
        raise AssertionError(f"the JSON holds the non-standard constant {name}")

    written = json.loads(out.read_text(), parse_constant=no_constants)
    assert written[0]["E_per_site_err"] is None and written[0]["E_per_site_err_reason"]


def test_unequilibrated_chains_warn_and_equilibrated_ones_do_not():
    """A random start of the 16x16 ferromagnet at T = 1 freezes into domains (C/N 4.5 against 0.02); so does
    a user's callable Hamiltonian (the batch rule, random start by default)."""
    with pytest.warns(EquilibrationWarning, match="T = 1"):
        result = run(deepspin.Ising(16), [1.0], chains=16, sweeps=200, seed=2, backend="cpu", start="random")
    assert not result.records()[0]["equilibrated"]
    H = deepspin.Ising(16)
    with pytest.warns(EquilibrationWarning, match="R-hat"):
        run(lambda c: H.energy(c), [1.0], L=16, chains=4, sweeps=40, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", EquilibrationWarning)
        records = run(deepspin.Ising(4), [2.5], chains=64, sweeps=2000, seed=2).records()
    assert records[0]["equilibrated"] and 0.5 <= records[0]["tau_int_E"] < 40 and records[0]["rhat_E"] < 1.05


def test_default_start_is_ordered_below_tc_and_random_above():
    result = run(deepspin.Ising(4), [1.0, 1e3], chains=64, sweeps=1, burn_in=0, seed=1, backend="cpu")
    assert result.start == "ordered below T_c, random above"
    assert run(deepspin.Ising(4), [1.0], chains=2, sweeps=1).start == "ordered"
    assert run(deepspin.Ising(4, J=-1.0), [1.0], chains=2, sweeps=1).start == "random"


# ---- class 3: exact references ---------------------------------------------------------------------

EXTREME_T = np.array([1e-300, 1e-3, 0.011, 0.05, 0.3, 1.0, 2.269185314213022, 2.5, 10.0, 1e3, 1e6, 1e300])


@pytest.mark.parametrize("L, J", [(2, 1.0), (3, 1.0), (3, 0.5), (4, 1.0), (4, -1.0), (4, 2.0)])
def test_kaufman_equals_enumeration_at_every_temperature(L, J):
    H = deepspin.Ising(L, J=J)
    T = EXTREME_T[:-1]  # at T = 1e300 the brute force rounds every weight to 1 (checked below)
    kaufman = ising_torus(L, T, J)
    energy, heat, _ = brute_force(H, T)
    tolerance = 1e-12 if L >= 4 else 1e-10  # L = 2, 3: Kaufman's products keep ~1e-11 at T = 1e6
    np.testing.assert_allclose(kaufman["E_per_site"], energy, rtol=1e-9, atol=tolerance)
    np.testing.assert_allclose(kaufman["C_per_site"], heat, rtol=1e-8, atol=tolerance)
    assert np.all(np.isfinite(kaufman["log_Z"]))
    hot = ising_torus(L, [1e300], J)  # independent bonds: E/N = -2 J tanh K, C/N = 2 K^2 (L = 2: bonds doubled)
    bonds = 2 if L == 2 else 1
    assert hot["E_per_site"][0] == pytest.approx(-2 * bonds * J * J / 1e300, rel=1e-12)


def test_kaufman_does_not_underflow_at_low_temperature_on_large_tori():
    """Issue 23: NaN below T = 0.0115 at L = 8 and below 0.02 at L = 16, NaN at T = 1e-300."""
    for L, T in ((8, [0.0115, 0.011, 0.005, 1e-3, 1e-300]), (16, [0.02, 0.019, 0.01]), (64, [0.05, 1e-300])):
        values = ising_torus(L, T)
        np.testing.assert_array_equal(values["E_per_site"], -2.0)
        K = 1 / np.asarray(T)
        # C/N = 64 K^2 e^(-8K) (single flips) to leading order; it underflows to 0 with it
        np.testing.assert_allclose(values["C_per_site"], 64 * K * (K * np.exp(-8 * K)), rtol=1e-6, atol=1e-300)
    for L in (5, 6):  # the low-temperature expansion against the exact g(E) of the transfer matrix
        T = [0.05, 0.2, 0.3, 0.5]
        exact = thermodynamics(ising_density_of_states(L), T)
        np.testing.assert_allclose(ising_torus(L, T)["C_per_site"], exact["C_per_site"], rtol=1e-10)


def test_kaufman_high_temperature_and_large_lattices():
    values = ising_torus(64, [1e6, 1e9, 1e300])  # independent bonds: E/N = -2 tanh K, C/N = 2 K^2 / cosh^2 K
    K = np.array([1e-6, 1e-9, 1e-300])  # (plaquettes add a relative 2 K^2)
    np.testing.assert_allclose(values["E_per_site"], -2 * np.tanh(K), rtol=1e-11)
    np.testing.assert_allclose(values["C_per_site"], 2 * K * K / np.cosh(K) ** 2, rtol=1e-11)
    t_max, c_max = specific_heat_peak(4096)  # issue 23: NaN peak at very large L
    assert 2.269 < t_max < 2.2705 and 4 < c_max < 5


def test_transfer_matrix_at_the_limits():
    values = thermodynamics(ising_density_of_states(4), [1e-300, 1e300])
    assert values["E_per_site"][0] == -2.0 and values["C_per_site"][0] == 0.0 and values["absm"][0] == 1.0
    assert abs(values["absm"][1] - random_spin_absm(16)) < 1e-12


def test_exact_auto_gives_absm_where_the_transfer_matrix_is_fast(tmp_path):
    """Issue 23: ``deepspin exact --L 8`` gave no <|m|> although the transfer matrix gives it in seconds."""
    values = exact_thermodynamics(deepspin.Ising(5), [1.0, 2.5])
    assert values["absm"] is not None
    kaufman = ising_torus(5, [1.0, 2.5])
    np.testing.assert_allclose(values["E_per_site"], kaufman["E_per_site"], rtol=1e-12)
    out = tmp_path / "exact.json"
    assert main(["exact", "--L", "5", "--T", "1,2.5", "--json", str(out)]) == 0
    assert all(r["absm"] is not None for r in json.loads(out.read_text()))


def test_exact_refuses_with_the_reason():
    with pytest.raises(ValueError, match="frustrated"):
        exact_thermodynamics(deepspin.Ising(9, J=-1.0), [1.0])
    with pytest.raises(ValueError, match="L <= 11"):
        exact_thermodynamics(deepspin.Ising(12), [1.0], method="transfer")
    odd_afm = exact_thermodynamics(deepspin.Ising(3, J=-1.0), [0.5, 2.0])  # enumeration: frustrated ground states
    energy, heat, absm = brute_force(deepspin.Ising(3, J=-1.0), [0.5, 2.0])
    np.testing.assert_allclose(odd_afm["E_per_site"], energy, rtol=1e-12)


def test_cli_prints_the_equilibration_warning(tmp_path, capsys):
    out = tmp_path / "cold.json"
    args = ["mc", "--L", "16", "--T", "1", "--start", "random", "--chains", "8", "--sweeps", "100", "--no-progress"]
    assert main(args + ["-o", str(out)]) == 0
    assert "warning: the chains may not have equilibrated at T = 1" in capsys.readouterr().err
    assert json.loads(out.read_text())[0]["equilibrated"] is False


def test_frozen_chains_at_t_to_zero_give_nulls_with_reasons_and_a_warning():
    """Screened Coulomb from random starts at T = 1e-300: every chain is frozen in its own state, so the
    pooled variance over T^2 is beyond the float range: null with a reason, valid JSON, and a warning."""
    with pytest.warns(EquilibrationWarning, match="T = 1e-300"):
        result = run(deepspin.ScreenedCoulomb(4), [1e-300], chains=8, sweeps=100, seed=1)
    record = result.records()[0]
    json.dumps(record, allow_nan=False)
    assert record["C_per_site"] is None and "float range" in record["C_per_site_reason"]
    assert record["equilibrated"] is False
