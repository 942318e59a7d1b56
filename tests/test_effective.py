"""The linear effective pair model: shell features by brute force, exact recovery of pair couplings."""
import itertools
import math

import numpy as np
import pytest

import deepspin
from deepspin.effective import fit_pair_model, shell_features, shell_norms
from tests.conftest import random_spins


def brute_force_features(spins, L, norms):
    """sum of s_a s_b over unordered pairs a < b, once per lattice vector v with |v|^2 = norm and a + v = b mod L."""
    reach = range(-L, L + 1)
    features = np.zeros(len(norms))
    sites = [(r, c) for r in range(L) for c in range(L)]
    for (i, a), (j, b) in itertools.combinations(enumerate(sites), 2):
        for n, norm in enumerate(norms):
            count = sum(1 for dx in reach for dy in reach if dx * dx + dy * dy == norm
                        and (a[0] + dx) % L == b[0] and (a[1] + dy) % L == b[1])
            features[n] += count * spins[a] * spins[b]
    return features


def test_shells_of_small_tori():
    assert shell_norms(4).tolist() == [1, 2, 4]
    assert shell_norms(5).tolist() == [1, 2, 4, 5]
    assert shell_norms(8).tolist() == [1, 2, 4, 5, 8, 9, 10, 13, 16]


@pytest.mark.parametrize("L", [4, 5, 6])
def test_features_against_brute_force(rng, L):
    norms = shell_norms(L)
    spins = random_spins(rng, 3, L)
    expected = [brute_force_features(s, L, norms) for s in spins]
    np.testing.assert_allclose(shell_features(spins, L, len(norms)), expected, atol=1e-12)


def test_pairs_at_half_the_torus_count_twice():
    """L = 4, d = 2: 16 unordered pairs, each joined by two vectors (+2 and -2 along one axis)."""
    assert shell_features(np.ones((4, 4)), 4, 3)[0].tolist() == [32.0, 32.0, 32.0]


@pytest.mark.parametrize("L", [4, 8])
def test_fit_recovers_a_pair_hamiltonians_couplings_exactly(rng, L):
    norms = shell_norms(L)
    couplings = rng.normal(size=len(norms))
    radii = np.sqrt(norms)

    def f(d):
        return np.select([np.isclose(d, r) for r in radii], couplings, 0.0)

    H = deepspin.PairPotential(L, f, rcut=float(radii[-1]) + 0.01)
    spins = random_spins(rng, 60, L)
    energies = H.energy(spins) - 7.25
    model = fit_pair_model(spins, energies, L, shells=len(norms))
    np.testing.assert_allclose(model.couplings, couplings, atol=1e-10)
    assert model.E0 == pytest.approx(-7.25, abs=1e-9)
    assert model.residual_std < 1e-9
    np.testing.assert_allclose(model.energy(spins), energies, atol=1e-9)
    cheap = model.as_hamiltonian()
    np.testing.assert_allclose(cheap.energy(spins) + model.E0, energies, atol=1e-9)
    np.testing.assert_allclose(cheap.kernel, H.kernel, atol=1e-12)
    assert cheap == model.as_hamiltonian()


def test_fewer_shells_leave_a_residual(rng):
    L = 6
    spins = random_spins(rng, 80, L)
    H = deepspin.PairPotential(L, lambda d: np.where(d > 1.5, 0.3, 1.0), rcut=2.0)
    model = fit_pair_model(spins, H.energy(spins), L, shells=1)
    residual = H.energy(spins) - model.energy(spins)
    assert model.residual_std == pytest.approx(math.sqrt(np.mean(residual**2)))
    assert model.residual_std > 0.1


def test_cheap_model_runs_on_the_compiled_pair_rule(rng):
    if not deepspin.backends()["cpu"][0]:
        pytest.skip("the compiled core is not built")
    spins = random_spins(rng, 30, 4)
    model = fit_pair_model(spins, rng.normal(size=30), 4, shells=3)
    state = deepspin.mc.init(model.as_hamiltonian(), [1.0], chains=4)
    assert state.rule.name == "pair"


@pytest.mark.parametrize("call,message", [
    (lambda s, e: fit_pair_model(s, e, 4, shells=4), r"L=4 torus has 3 shells"),
    (lambda s, e: fit_pair_model(s, e, 4, shells=0), "shells must be an integer >= 1"),
    (lambda s, e: fit_pair_model(s[:4], e[:4], 4, shells=3), "needs more than 4 configurations"),
    (lambda s, e: fit_pair_model(s, e[:5], 4, shells=3), r"energies must have shape \(20,\)"),
    (lambda s, e: fit_pair_model(s, np.full(20, np.nan), 4, shells=3), "energies must be finite"),
    (lambda s, e: fit_pair_model(np.ones((20, 4, 4)), e, 4, shells=2), "design rank"),
    (lambda s, e: fit_pair_model(s, e, 5), "this Hamiltonian has L=5"),
])
def test_fit_validation(rng, call, message):
    with pytest.raises(ValueError, match=message):
        call(random_spins(rng, 20, 4), rng.normal(size=20))
