"""What a surrogate does beyond its test metrics (:mod:`deepspin.surrogate.diagnostics`), against closed forms."""
import numpy as np
import pytest

from deepspin import Ising
from deepspin.surrogate import diagnostics


class _Shifted:
    """An energy operator: the Ising energy with coupling ``J`` plus ``shift`` per configuration."""

    def __init__(self, L, J, shift=0.0):
        self.H, self.shift = Ising(L, J=J), shift

    def energy(self, spins):
        return self.H.energy(spins) + self.shift


def test_ordered_flip_costs_of_the_exact_operator_are_8J_at_every_site():
    at = diagnostics.ordered_flip_costs(Ising(4), Ising(4))
    assert at["offset_per_site"] == 0.0
    assert np.array_equal(at["cost"], np.full(16, 8.0)) and np.array_equal(at["exact_cost"], np.full(16, 8.0))


def test_ordered_flip_costs_of_a_weaker_coupling_and_an_offset():
    # J = 0.9 with a constant +3: ordered energy -2 * 0.9 * 36 + 3 against -72, flips cost 8 * 0.9
    at = diagnostics.ordered_flip_costs(_Shifted(6, 0.9, 3.0), Ising(6))
    assert at["offset_per_site"] == pytest.approx((-64.8 + 3.0 + 72.0) / 36)
    assert np.allclose(at["cost"], 7.2) and np.allclose(at["exact_cost"], 8.0)


def test_training_ends_split_early_stops_from_epoch_caps(monkeypatch):
    from deepspin.surrogate import model_io

    saved = {"a": {"training": {"last_epoch": 52, "epochs": 100}},
             "b": {"training": {"last_epoch": 100, "epochs": 100}},
             "c": {"training": {"last_epoch": 43, "epochs": 100}}, "old": {}}
    monkeypatch.setattr(model_io, "read_metadata", lambda path: saved[path])
    assert diagnostics.training_ends(["a", "b", "c"]) == {"runs": 3, "early": [52, 43], "caps": [100]}
    assert diagnostics.training_ends(["a", "old"]) is None
    assert diagnostics.training_ends([]) is None


def test_per_site_errors_divide_by_the_number_of_sites():
    spins = np.ones((5, 6, 6), dtype=np.int8)
    exact = Ising(6).energy(spins)
    errors = diagnostics.per_site_errors(_Shifted(6, 1.0, -1.8), spins, exact)
    assert errors == {"n": 5, "mae": pytest.approx(0.05), "max": pytest.approx(0.05)}
    exact[2] += 3.6  # one configuration now 1.8 + 3.6 = 5.4 J off: 0.15 J per site
    errors = diagnostics.per_site_errors(_Shifted(6, 1.0, -1.8), spins, exact)
    assert errors["max"] == pytest.approx(0.15) and errors["mae"] == pytest.approx((4 * 0.05 + 0.15) / 5)
