"""Exact references: Kaufman's torus formula against enumeration and Onsager, the specific-heat peak."""
import math

import numpy as np
import pytest

import deepspin
from deepspin.mc import T_CRITICAL, enumerate_thermodynamics, exact_thermodynamics, ising_torus, specific_heat_peak
from deepspin.mc.temperatures import parse_temperatures

TEMPS = np.array([0.4, 1.0, 1.8, 2.2, 2.269185314213022, 2.4, 3.0, 5.0, 20.0])


def brute_force(H, temperatures):
    """Direct Boltzmann sums over all 2^N configurations at once (no chunking, no re-referencing)."""
    configs = deepspin.enumeration.configurations(H.L)
    energies = H.energy(configs, backend="numpy")
    absm = np.abs(configs.mean(axis=(1, 2)))
    beta = 1 / np.asarray(temperatures)[:, None]
    w = np.exp(-beta * (energies - energies.min()))
    z = w.sum(1)
    mean = (w * energies).sum(1) / z
    var = (w * (energies - mean[:, None]) ** 2).sum(1) / z
    return mean / H.N, var * beta[:, 0] ** 2 / H.N, (w * absm).sum(1) / z


@pytest.mark.parametrize("L", [2, 3, 4])
def test_kaufman_equals_enumeration(L):
    kaufman = ising_torus(L, TEMPS)
    energy, heat, _ = brute_force(deepspin.Ising(L), TEMPS)
    np.testing.assert_allclose(kaufman["E_per_site"], energy, rtol=0, atol=1e-10)
    np.testing.assert_allclose(kaufman["C_per_site"], heat, rtol=0, atol=1e-10)


def test_kaufman_log_partition_function_L4():
    configs = deepspin.enumeration.configurations(4)
    energies = deepspin.Ising(4).energy(configs)
    for T, log_z in zip(TEMPS, ising_torus(4, TEMPS)["log_Z"]):
        shift = energies.min()
        assert log_z == pytest.approx(-shift / T + math.log(np.exp(-(energies - shift) / T).sum()), rel=1e-13)


def test_kaufman_coupling_and_antiferromagnet():
    ref = ising_torus(4, TEMPS)
    scaled = ising_torus(4, 2 * TEMPS, J=2.0)  # depends on J/T only, energies scale with J
    np.testing.assert_allclose(scaled["E_per_site"], 2 * ref["E_per_site"], rtol=1e-12)
    np.testing.assert_allclose(scaled["C_per_site"], ref["C_per_site"], rtol=1e-12)
    afm = enumerate_thermodynamics(deepspin.Ising(4, J=-1.0), TEMPS)  # even L: same Z as the ferromagnet
    np.testing.assert_allclose(ising_torus(4, TEMPS, J=-1.0)["E_per_site"], afm["E_per_site"], atol=1e-10)
    with pytest.raises(ValueError, match="frustrated"):
        ising_torus(3, TEMPS, J=-1.0)


def test_kaufman_large_lattices_approach_onsager():
    special = pytest.importorskip("scipy.special")
    T = np.array([1.0, 1.5, 2.0, 3.0, 4.0])
    K = 1 / T
    k = 2 * np.sinh(2 * K) / np.cosh(2 * K) ** 2
    onsager = -1 / np.tanh(2 * K) * (1 + 2 / np.pi * (2 * np.tanh(2 * K) ** 2 - 1) * special.ellipk(k**2))
    for L in (64, 128):
        values = ising_torus(L, T)
        assert np.all(np.isfinite(values["C_per_site"]))
        np.testing.assert_allclose(values["E_per_site"], onsager, atol=1e-9)  # finite-size effects ~ exp(-L/xi)
    # At Tc the energy per site tends to -sqrt(2) J with a 1/L finite-size correction.
    gaps = [ising_torus(L, [T_CRITICAL])["E_per_site"][0] + math.sqrt(2) for L in (64, 128, 256)]
    assert abs(gaps[2]) < 3e-3
    assert gaps[1] / gaps[0] == pytest.approx(0.5, abs=0.02) and gaps[2] / gaps[1] == pytest.approx(0.5, abs=0.02)


def test_specific_heat_peak():
    t4, c4 = specific_heat_peak(4)
    grid = np.linspace(t4 - 0.002, t4 + 0.002, 201)
    _, heat, _ = brute_force(deepspin.Ising(4), grid)
    assert t4 == pytest.approx(grid[np.argmax(heat)], abs=2e-5)
    assert c4 == pytest.approx(heat.max(), rel=1e-9)
    t8, _ = specific_heat_peak(8)
    t64, _ = specific_heat_peak(64)
    assert t4 > t8 > t64 > T_CRITICAL  # the torus peak approaches Tc from above
    assert t64 / T_CRITICAL < 1.01


def test_enumeration_rereferencing_and_pair_models():
    for H in (deepspin.Ising(4), deepspin.ScreenedCoulomb(4), deepspin.SinusoidalCoulomb(3)):
        expected = brute_force(H, TEMPS)
        for chunk in (1 << 16, 999):  # many chunks: the running reference energy moves down
            got = enumerate_thermodynamics(H, TEMPS, chunk=chunk)
            np.testing.assert_allclose(got["E_per_site"], expected[0], rtol=0, atol=1e-11)
            np.testing.assert_allclose(got["C_per_site"], expected[1], rtol=1e-9, atol=1e-11)
            np.testing.assert_allclose(got["absm"], expected[2], rtol=1e-10)


def test_exact_dispatch_and_errors():
    assert exact_thermodynamics(deepspin.Ising(9), [2.0])["absm"] is None  # Kaufman beyond the transfer's L <= 8
    assert exact_thermodynamics(deepspin.Ising(4), [2.0])["absm"] is not None
    with pytest.raises(ValueError, match="no exact reference"):
        exact_thermodynamics(deepspin.ScreenedCoulomb(8), [2.0])
    with pytest.raises(ValueError, match="Kaufman"):
        exact_thermodynamics(deepspin.ScreenedCoulomb(4), [2.0], method="kaufman")
    with pytest.raises(ValueError, match="T=0.0"):
        ising_torus(8, [1.0, 0.0])


def test_parse_temperatures():
    np.testing.assert_allclose(parse_temperatures("0.5:5:0.1"), np.round(np.arange(46) * 0.1 + 0.5, 12))
    np.testing.assert_allclose(parse_temperatures("1,2.5"), [1.0, 2.5])
    for bad in ("1:2", "2:1:0.1", "1:2:0", "a,b", "0:1:0.5", "nan"):
        with pytest.raises(ValueError):
            parse_temperatures(bad)
