"""Statistical checks against exact distributions and against the accuracy the shipped models claim."""
import json
from pathlib import Path

import numpy as np
import pytest

import deepspin
from deepspin.enumeration import configurations

stats = pytest.importorskip("scipy.stats", reason="scipy (test extra) is not installed")
MODELS = Path(__file__).resolve().parent.parent / "models"


def _boltzmann(H, T):
    """Exact probabilities of every configuration of ``H`` (N <= 16) at temperature ``T``, and the configurations."""
    x = configurations(H.L)
    energy = H.energy(x)
    weights = np.exp(-(energy - energy.min()) / T)
    return weights / weights.sum(), x


def _chi_square_p(counts, probabilities):
    """p-value of Pearson's chi-square, bins with an expected count below 5 merged into one."""
    expected = probabilities * counts.sum()
    small = expected < 5
    observed = np.append(counts[~small], counts[small].sum())
    expected = np.append(expected[~small], expected[small].sum())
    if expected[-1] == 0:
        observed, expected = observed[:-1], expected[:-1]
    return stats.chisquare(observed, expected).pvalue


@pytest.mark.parametrize("T", [2.0, 4.0])
def test_thermal_sampler_draws_the_boltzmann_distribution_on_3x3(T):
    """Every one of the 512 configurations of the 3x3 Ising torus appears with probability exp(-E/T)/Z."""
    H = deepspin.Ising(3)
    samples = deepspin.sampling.thermal(H, [T], chains=200, samples=60, burn_in=200, thin=5, seed=7)
    probabilities, x = _boltzmann(H, T)
    index = ((samples.spins.reshape(len(samples.spins), -1) > 0) * (1 << np.arange(8, -1, -1))).sum(1)
    # configurations(3) enumerates index i as the bits of i, most significant first (SPEC section 5)
    assert np.array_equal(x[index], samples.spins)
    counts = np.bincount(index, minlength=512)
    assert _chi_square_p(counts, probabilities) > 1e-3
    # the test has power: the same counts are rejected against the distribution 15 % hotter
    assert _chi_square_p(counts, _boltzmann(H, 1.15 * T)[0]) < 1e-3


def _card(name):
    return json.loads((MODELS / f"{name}.json").read_text())


@pytest.mark.parametrize("name,sizes,slack", [
    ("screened_coulomb_L8", [8], 1.1),         # card: uniform test configurations, as here
    ("ising_extensive", [8], 1.3),             # card: uniform + thermal mix; uniform ones are a bit harder
    ("screened_coulomb_extensive", [8, 16], 1.3),
])
def test_shipped_models_reach_the_accuracy_their_cards_claim(name, sizes, slack):
    pytest.importorskip("keras", reason="the surrogate extra (keras) is not installed")
    from deepspin.surrogate import load

    card, op = _card(name), load(MODELS / f"{name}.keras")
    ham = card["hamiltonian"]
    params = {k: v for k, v in ham.items() if k not in ("name", "L")}
    rng = np.random.default_rng(20261201)  # fresh configurations, not the training seed
    for L in sizes:
        H = deepspin.hamiltonian(ham["name"], L, **params)
        x = np.where(rng.random((2000, L, L)) < 0.5, 1, -1).astype(np.int8)
        error = np.abs(op.energy(x) - H.energy(x))
        if "test" in card:
            assert error.mean() <= slack * card["test"]["mae"]
            assert np.median(error) <= slack * card["test"]["median_abs_error"]
        else:
            claim = card["test_fresh_configs"][f"L{L}"]
            assert error.mean() / L ** 2 <= slack * claim["mae_per_site"]
            assert error.max() / L ** 2 <= 2 * claim["max_per_site"]
