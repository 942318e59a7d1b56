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
