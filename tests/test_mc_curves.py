"""Reading Metropolis curves (:mod:`deepspin.mc.curves`), on records whose answers are known by hand."""
import numpy as np
import pytest

from deepspin import Ising
from deepspin.mc.curves import equilibrated_from, exact_energy_records, first_random_temperature
from deepspin.mc.twins import twin_deviation


def test_random_limit_temperature():
    records = [{"T": t, "absm": a} for t, a in ((1, 0.05), (10, 0.097), (100, 0.0985), (300, 0.0999), (1000, 0.0993))]
    assert first_random_temperature(records, 0.099347) == 100  # within 1 % (0.00099) from T = 100 on
    assert first_random_temperature(records[:2] + [{"T": 100, "absm": 0.09}, *records[3:]], 0.099347) == 300
    assert first_random_temperature(records[:1], 0.099347) is None


def test_equilibrated_from_leaves_out_frozen_cold_points():
    def records(values, err=0.01):
        return [{"T": t, "absm": v, "absm_err": err} for t, v in zip((0.1, 0.2, 0.3, 0.4, 0.5), values)]

    # order can only grow as T falls: 0.1 and 0.2 lie far below the maximum at 0.3, so they froze
    assert equilibrated_from(records([0.40, 0.84, 0.98, 0.72, 0.36])) == 0.3
    assert equilibrated_from(records([0.99, 0.98, 0.95, 0.72, 0.36])) == 0.1  # monotone: all equilibrated
    assert equilibrated_from(records([0.975, 0.98, 0.95, 0.72, 0.36])) == 0.1  # within noise of the maximum


def test_learned_chains_are_judged_by_the_exact_energy_of_their_states():
    rng = np.random.default_rng(3)
    H = Ising(4)
    configs = np.stack([np.ones((50, 4, 4), dtype=np.int8), rng.choice(np.array([-1, 1], np.int8), (50, 4, 4))])
    records = exact_energy_records(configs, H)
    assert records[0] == {"E_per_site": -2.0, "E_per_site_err": 0.0}  # all up: -2J per site, no spread
    per_site = H.energy(configs[1]) / 16
    hot_error = per_site.std(ddof=1) / np.sqrt(50)
    assert records[1]["E_per_site"] == pytest.approx(per_site.mean())
    assert records[1]["E_per_site_err"] == pytest.approx(hot_error)
    twin = [{"E_per_site": -2.0, "E_per_site_err": 0.01}, {"E_per_site": per_site.mean() + 3 * hot_error,
                                                           "E_per_site_err": 0.0}]
    assert twin_deviation(records, twin, "E_per_site") == pytest.approx(3.0)  # the hot point, 3 errors off
    twin[0]["E_per_site"] = -1.9
    assert twin_deviation(records, twin, "E_per_site") == pytest.approx(10.0)  # 0.1 / 0.01 at the ground state


def test_exact_energy_records_refuses_a_single_chain():
    with pytest.raises(ValueError, match="chains >= 2"):
        exact_energy_records(np.ones((3, 1, 4, 4), np.int8), Ising(4))


def test_exact_curves_of_a_3x3_torus_are_the_boltzmann_sums():
    from deepspin.mc.curves import exact_curves

    H = Ising(3)
    spins = np.array([[1 if (k >> i) & 1 else -1 for i in range(9)] for k in range(512)], dtype=np.int8)
    configs = spins.reshape(-1, 3, 3)
    E = H.energy(configs)
    absm = np.abs(configs.mean(axis=(1, 2)))
    T = np.array([1.0, 2.5, 6.0])
    w = np.exp(-(E[None, :] - E.min()) / T[:, None])
    w /= w.sum(axis=1, keepdims=True)
    mean, second = w @ E, w @ E ** 2
    curves = exact_curves(H)(T)
    assert np.allclose(curves["E_per_site"], mean / 9, rtol=1e-12)
    assert np.allclose(curves["C_per_site"], (second - mean ** 2) / T ** 2 / 9, rtol=1e-10)
    assert np.allclose(curves["absm"], w @ absm, rtol=1e-12)


def test_exact_curves_of_the_8x8_torus_carry_a_magnetization():
    from deepspin.mc.curves import exact_curves

    from math import comb, exp

    curves = exact_curves(Ising(8))(np.array([0.5, 1000.0]))
    # T = 0.5: the ground states and 64 single flips (cost 8J, |m| lower by 2/64 each): 1 - 2 exp(-16)
    assert curves["absm"][0] == pytest.approx(1 - 2 * exp(-16), abs=1e-9)
    # T = 1000: 64 independent spins give E|sum s| / 64 = C(64, 32) / 2^64; the neighbours' correlation
    # tanh(1/T) widens sum s by sqrt(1 + 4/T), to first order
    assert curves["absm"][1] == pytest.approx(comb(64, 32) / 2 ** 64 * (1 + 2 / 1000), rel=1e-4)
    assert curves["E_per_site"][0] == pytest.approx(-2.0, abs=1e-6)


def test_peak_check_agrees_within_two_standard_errors_and_misses_beyond():
    from deepspin.mc.curves import peak_check

    T = np.linspace(2.0, 2.6, 7)

    def reference(t):
        return {"C_per_site": 2.0 - (np.asarray(t) - 2.3) ** 2}

    def records(shift, err):
        return [{"T": t, "C_per_site": 2.0 - (t - 2.3 - shift) ** 2, "C_per_site_err": err} for t in T]

    near = peak_check(records(0.002, 0.01), reference)
    assert near["peak"] == pytest.approx(2.302) and near["exact"] == pytest.approx(2.3)
    assert near["verdict"] == "met"
    assert peak_check(records(0.2, 0.0001), reference)["verdict"] == "missed"


def test_failing_temperatures_name_each_point_beyond_the_limit_with_its_sign():
    from deepspin.mc.twins import failing_temperatures

    twin = [{"T": t, "E": 0.0, "E_err": 0.3} for t in (1.0, 2.0, 3.0)]
    learned = [{"T": 1.0, "E": 2.0, "E_err": 0.4}, {"T": 2.0, "E": 1.4, "E_err": 0.4},
               {"T": 3.0, "E": -1.6, "E_err": 0.4}]  # combined error 0.5: 4, 2.8 and 3.2 errors off
    fails = failing_temperatures(learned, twin, "E")
    assert [(f["T"], f["difference"], f["se"]) for f in fails] == [(1.0, 2.0, 0.5), (3.0, -1.6, 0.5)]
    assert failing_temperatures(learned, twin, "E", limit=5) == []


def test_reference_deviation_is_measured_in_the_runs_own_errors():
    from deepspin.mc.twins import reference_deviation

    def reference(T):
        return {"E_per_site": -np.asarray(T, dtype=float)}

    records = [{"T": 1.0, "E_per_site": -1.02, "E_per_site_err": 0.01},
               {"T": 2.0, "E_per_site": -2.0, "E_per_site_err": 0.01}]
    assert reference_deviation(records, reference) == pytest.approx(2.0)


def test_same_final_share_counts_chains_whose_last_state_is_their_twins():
    from deepspin.mc.twins import same_final_share

    twin = np.ones((2, 4, 3, 3), dtype=np.int8)
    configs = twin.copy()
    configs[0, 1, 2, 2] = -1  # one site of one chain differs
    configs[1, :2] *= -1      # two whole chains are the other ground state
    assert same_final_share(configs, twin) == pytest.approx(5 / 8)
