"""Science moved from ``deepspin reproduce`` into the library: the tabulated operator, locating a peak on a
grid, and the mean |m| of random spins, each against an independent value."""
import itertools
import math

import numpy as np
import pytest

import deepspin
from deepspin.mc import as_operator, ising_torus, specific_heat_peak
from deepspin.mc.exact import parabola_peak, parabola_peak_error, peak_agreement, random_spin_absm, reference_peak
from deepspin.mc.operators import TabulatedOperator


def _ising_energy_by_hand(configs):
    """``E = -sum_i s_i (s_right + s_down)`` on the torus, written out with ``np.roll`` (J = 1)."""
    s = configs.astype(np.int64)
    return -(s * (np.roll(s, -1, axis=1) + np.roll(s, -1, axis=2))).sum(axis=(1, 2)).astype(np.float64)


def test_tabulated_operator_looks_up_the_exact_4x4_energies():
    table = _ising_energy_by_hand(deepspin.enumeration.configurations(4))
    operator = TabulatedOperator(table, 4)
    configs = np.where(np.random.default_rng(3).random((500, 4, 4)) < 0.5, -1, 1).astype(np.int8)
    expected = deepspin.Ising(4).energy(configs)
    np.testing.assert_array_equal(operator(configs), expected)
    np.testing.assert_array_equal(operator.energy(configs), expected)
    wrapped = as_operator(operator)  # an EnergyOperator of the Monte Carlo engine
    assert wrapped.L == 4 and wrapped.spin_kind == "ising"
    np.testing.assert_array_equal(wrapped.energy(configs), expected)
    # the ground states and checkerboards sit at the extremes
    assert operator(np.ones((1, 4, 4), np.int8))[0] == -32
    checker = np.where(np.add.outer(np.arange(4), np.arange(4)) % 2, -1, 1)[None]
    assert operator(checker)[0] == 32


def test_tabulated_operator_refuses_wrong_shapes():
    with pytest.raises(ValueError, match=r"shape \(65536,\) = 2\^16 in enumeration order; got shape \(65535,\)"):
        TabulatedOperator(np.zeros(65535), 4)
    with pytest.raises(ValueError, match="N = L\\*L <= 25"):
        TabulatedOperator(np.zeros(16), 6)
    operator = TabulatedOperator(np.arange(16.0), 2)
    with pytest.raises(ValueError, match=r"shape \(B, 2, 2\)"):
        operator(np.ones((3, 3, 3), np.int8))
    # index 0 is all down, index 15 all up, site 0 the most significant bit (SPEC section 5)
    assert operator(np.array([[[-1, -1], [-1, -1]], [[1, 1], [1, 1]], [[1, -1], [-1, -1]]])).tolist() == [0, 15, 8]


def test_parabola_peak_returns_the_vertex_of_a_parabola():
    T = np.round(np.arange(1.0, 4.0001, 0.1), 10)
    assert parabola_peak(T, 3.0 - 7.0 * (T - 2.137) ** 2) == pytest.approx(2.137, abs=1e-12)
    shuffled = np.random.default_rng(0).permutation(len(T))  # the grid need not be sorted
    assert parabola_peak(T[shuffled], (3.0 - 7.0 * (T - 2.137) ** 2)[shuffled]) == pytest.approx(2.137, abs=1e-12)
    assert parabola_peak(T, T) == 4.0  # maximum at the end of the grid: the grid point
    with pytest.raises(ValueError, match="distinct"):
        parabola_peak([1.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    with pytest.raises(ValueError, match="one length"):
        parabola_peak([1.0, 2.0], [0.0])


def test_parabola_peak_of_the_exact_8x8_torus_is_within_the_grid_bias():
    exact = specific_heat_peak(8)[0]
    bias = {}
    for h in (0.1, 0.05):
        T = np.round(np.arange(1.5, 3.5 + h / 2, h), 10)
        bias[h] = abs(parabola_peak(T, ising_torus(8, T)["C_per_site"]) - exact)
    # the vertex of three samples is off by O(h^2) (times the curve's asymmetry), far less than h
    assert bias[0.05] < 0.05**2
    assert bias[0.05] < bias[0.1] / 4
    T = np.round(np.arange(1.5, 3.5 + 0.025, 0.05), 10)
    assert abs(reference_peak(lambda t: ising_torus(8, t), T) - exact) <= 2.0 / 2000  # its fine grid's step


def _linear_peak_error(T, values, errors):
    """First-order error of the vertex through the top three samples on a uniform grid of step ``h``:
    ``t = T_0 + (h / 2) (y_- - y_+) / (y_- - 2 y_0 + y_+)``, differentiated in each ``y``."""
    i = int(np.argmax(values))
    h = T[1] - T[0]
    ym, y0, yp = values[i - 1:i + 2]
    a, d = ym - yp, ym - 2 * y0 + yp
    gradient = 0.5 * h * np.array([1 / d - a / d**2, 2 * a / d**2, -1 / d - a / d**2])
    return float(np.sqrt(np.sum((gradient * errors[i - 1:i + 2]) ** 2)))


def test_parabola_peak_error_is_linear_in_the_errors():
    T = np.round(np.arange(1.5, 3.5 + 0.025, 0.05), 10)
    C = ising_torus(8, T)["C_per_site"]
    small, large = (parabola_peak_error(T, C, np.full_like(T, e), draws=4000) for e in (1e-4, 1e-3))
    assert large / small == pytest.approx(10.0, rel=0.1)
    assert small == pytest.approx(_linear_peak_error(T, C, np.full_like(T, 1e-4)), rel=0.05)
    assert parabola_peak_error(T, C, np.zeros_like(T)) == 0.0
    assert math.isnan(parabola_peak_error(T, C, np.full_like(T, np.nan)))
    with pytest.raises(ValueError, match="shape of values"):
        parabola_peak_error(T, C, np.zeros(3))


def test_peak_agreement():
    T = np.round(np.arange(1.5, 3.5 + 0.025, 0.05), 10)
    exact = ising_torus(8, T)["C_per_site"]
    errors = np.full_like(T, 2e-3)
    noisy = exact + errors * np.random.default_rng(1).standard_normal(len(T))
    check = peak_agreement(T, noisy, errors, exact)
    assert check["agrees"] and check["error"] > 0 and check["exact"] == parabola_peak(T, exact)
    shifted = ising_torus(8, T - 0.1)["C_per_site"]  # a curve peaked 0.1 hotter
    assert not peak_agreement(T, shifted, np.full_like(T, 1e-4), exact)["agrees"]
    assert not peak_agreement(T, noisy, np.full_like(T, np.nan), exact)["agrees"]


@pytest.mark.parametrize("N", range(1, 13))
def test_random_spin_absm_against_enumeration(N):
    brute = np.mean([abs(sum(spins)) / N for spins in itertools.product((-1, 1), repeat=N)])
    assert random_spin_absm(N) == pytest.approx(brute, rel=1e-13)


def test_random_spin_absm_large_n():
    for N in (1024, 10_000, 100_000):  # 2.0**1024 overflows a float; the exact-integer ratio does not
        value = random_spin_absm(N)
        assert value == pytest.approx(math.sqrt(2 / (math.pi * N)), rel=1 / N)  # E|m| = sqrt(2/(pi N)) (1 - 1/(4N) ...)
        assert value < math.sqrt(2 / (math.pi * N))
    with pytest.raises(ValueError, match="N must be an integer >= 1"):
        random_spin_absm(0)
