"""Exact energies: closed forms, agreement of every backend and method, invariances, cutoff tail."""
import math

import numpy as np
import pytest

import deepspin
from deepspin import lattice
from tests.conftest import random_spins

PAIR_MODELS = [deepspin.ScreenedCoulomb, deepspin.SinusoidalCoulomb]


def checkerboard(L):
    r, c = np.indices((L, L))
    return np.where((r + c) % 2 == 0, 1, -1).astype(np.int8)


# ---- closed forms ---------------------------------------------------------------------------


@pytest.mark.parametrize("L", [2, 3, 4, 8, 16])
def test_ising_all_up_is_minus_2N(backend, L):
    H = deepspin.Ising(L, J=1.5)
    assert H.energy(np.ones((L, L)), backend=backend) == -2 * L * L * 1.5
    assert H.energy(-np.ones((L, L), np.int8), backend=backend) == -2 * L * L * 1.5


@pytest.mark.parametrize("L", [2, 4, 8, 16])
def test_ising_checkerboard_is_plus_2N(backend, L):
    assert deepspin.Ising(L).energy(checkerboard(L), backend=backend) == 2 * L * L


def test_ising_one_flipped_spin_costs_8J(backend):
    s = np.ones((8, 8), np.int8)
    s[3, 5] = -1
    assert deepspin.Ising(8, J=2.0).energy(s, backend=backend) == -2 * 64 * 2.0 + 8 * 2.0


def test_ising_4x4_enumeration_gives_paper_class_sizes():
    """All 65,536 4x4 configurations fall into the 15 classes with the known multiplicities."""
    configs = deepspin.enumeration.configurations(4)
    classes = deepspin.ising_class(configs)
    counts = np.bincount(classes, minlength=15)
    expected = [2, 32, 64, 424, 1728, 6688, 13568, 20524, 13568, 6688, 1728, 424, 64, 32, 2]
    assert counts.tolist() == expected


def test_energy_levels():
    levels = deepspin.ising_energy_levels(8)
    assert len(levels) == 63 and levels[0] == -128 and levels[-1] == 128
    assert -124 not in levels and 124 not in levels
    with pytest.raises(ValueError, match="even L"):
        deepspin.ising_energy_levels(5)


@pytest.mark.parametrize("model", PAIR_MODELS)
@pytest.mark.parametrize("L,rcut", [(4, 32), (8, 64), (5, 7.5)])
def test_pair_all_up_closed_form(backend, model, L, rcut):
    """All up: E = (J/2) N sum_{0 < |v| <= rcut} f(|v|), the lattice sum computed here independently."""
    H = model(L, k=0.5, rcut=rcut, J=0.7)
    total = 0.0
    reach = int(math.floor(rcut))
    for dx in range(-reach, reach + 1):
        for dy in range(-reach, reach + 1):
            d = math.hypot(dx, dy)
            if 0 < dx * dx + dy * dy <= rcut * rcut:
                f = math.exp(-0.5 * d) / d
                total += f * (math.sin(d) if model is deepspin.SinusoidalCoulomb else 1.0)
    expected = 0.5 * 0.7 * L * L * total
    for method in ("kernel", "explicit"):
        assert H.energy(np.ones((L, L)), backend=backend, method=method) == pytest.approx(expected, rel=1e-11)


def test_pair_two_site_cell_by_hand():
    """L = 2, rcut = 1: each site has 4 unit-distance neighbours, all of them the other sublattice.

    Site (0,0): images at (+-1, 0) are site (1,0), at (0, +-1) site (0,1). For the all-up state
    E = (J/2) * 4 sites * 4 neighbours * f(1); flipping the checkerboard makes every term negative.
    """
    f1 = math.exp(-0.5)
    H = deepspin.ScreenedCoulomb(2, rcut=1)
    assert H.term_count == 16
    assert H.energy(np.ones((2, 2))) == pytest.approx(8 * f1, rel=1e-14)
    assert H.energy(checkerboard(2)) == pytest.approx(-8 * f1, rel=1e-14)


@pytest.mark.parametrize("L", [2, 4, 7])
def test_potts_uniform_angles_is_2NJ(backend, L):
    theta = np.full((3, L, L), 0.3)
    np.testing.assert_allclose(deepspin.PlanarPotts(L, J=1.25).energy(theta, backend=backend), 2 * L * L * 1.25)


def test_potts_staggered_by_half_pi_is_zero(backend):
    r, c = np.indices((4, 4))
    theta = np.where((r + c) % 2 == 0, 0.0, np.pi / 2)
    assert abs(deepspin.PlanarPotts(4).energy(theta, backend=backend)) < 1e-12


# ---- agreement between backends and methods --------------------------------------------------


@pytest.mark.parametrize("model", PAIR_MODELS)
@pytest.mark.parametrize("L,rcut", [(4, 32.0), (8, 64.0), (6, 9.3), (12, 20.0)])
def test_pair_backends_and_methods_agree(backend, model, L, rcut, rng):
    H = model(L, rcut=rcut)
    spins = random_spins(rng, 40, L)
    reference = H.energy(spins, backend="numpy", method="explicit")
    scale = np.abs(reference).max()
    for method in ("kernel", "explicit"):
        got = H.energy(spins, backend=backend, method=method)
        np.testing.assert_allclose(got, reference, rtol=1e-9, atol=1e-9 * scale)


@pytest.mark.parametrize("L", [16, 33, 40, 64, 70])
def test_pair_large_lattices_agree_with_numpy(backend, L, rng):
    """Kernel method on larger lattices against the NumPy one (dense matrix up to 1024 sites, FFT
    above). The C++ and CUDA kernels pack one word per row up to L = 64 (popcounts; L = 33 makes CUDA
    lanes pack two rows each) and sum per site beyond: independent routes to the same sum. The NumPy
    backend itself is checked against the C++ one."""
    H = deepspin.ScreenedCoulomb(L, rcut=60 if L < 70 else 5)
    spins = random_spins(rng, 3, L)
    reference = H.energy(spins, backend="cpu" if backend == "numpy" else "numpy")
    np.testing.assert_allclose(H.energy(spins, backend=backend), reference, rtol=1e-9, atol=1e-7)
    approx = H.energy(spins, backend=backend, precision="float32")
    np.testing.assert_allclose(approx, reference, rtol=0, atol=1e-6 * np.abs(H.kernel).sum() * L * L)


def test_ising_backends_agree(backend, rng):
    spins = random_spins(rng, 200, 8)
    np.testing.assert_array_equal(deepspin.Ising(8).energy(spins, backend=backend),
                                  deepspin.Ising(8).energy(spins, backend="numpy"))


def test_potts_backends_agree(backend, rng):
    theta = rng.uniform(0, np.pi, size=(50, 5, 5))
    np.testing.assert_allclose(deepspin.PlanarPotts(5).energy(theta, backend=backend),
                               deepspin.PlanarPotts(5).energy(theta, backend="numpy"), rtol=1e-12, atol=1e-12)


def test_float32_error_is_small(backend, rng):
    """float32 (documented): absolute error below 1e-3 J per configuration at L = 8."""
    H = deepspin.ScreenedCoulomb(8)
    spins = random_spins(rng, 100, 8)
    exact = H.energy(spins, backend="numpy")
    for method in ("kernel", "explicit"):
        approx = H.energy(spins, backend=backend, method=method, precision="float32")
        assert np.abs(approx - exact).max() < 1e-3


def test_custom_pair_potential_matches_builtin(backend, rng):
    """A user-defined f equal to the screened Coulomb one gives the built-in energies."""
    custom = deepspin.PairPotential(6, lambda d: np.exp(-0.5 * d) / d, rcut=48, name="yukawa")
    builtin = deepspin.ScreenedCoulomb(6, k=0.5, rcut=48)
    spins = random_spins(rng, 20, 6)
    for method in ("kernel", "explicit"):
        np.testing.assert_allclose(custom.energy(spins, backend=backend, method=method),
                                   builtin.energy(spins, backend="numpy"), rtol=1e-10, atol=1e-10)


def test_kernel_folding_by_brute_force():
    """K[dx mod L, dy mod L] equals a direct sum over images n of f(|(dx, dy) + L n|)."""
    L, rcut = 3, 7.0
    H = deepspin.ScreenedCoulomb(L, rcut=rcut)
    for dx in range(L):
        for dy in range(L):
            total = 0.0
            for nx in range(-4, 5):
                for ny in range(-4, 5):
                    vx, vy = dx + L * nx, dy + L * ny
                    if 0 < vx * vx + vy * vy <= rcut * rcut:
                        d = math.hypot(vx, vy)
                        total += math.exp(-0.5 * d) / d
            assert H.kernel[dx, dy] == pytest.approx(total, rel=1e-13)


def test_cutoff_includes_terms_at_rcut_exactly():
    """SPEC: |v| = rcut is kept (integer comparison); rcut = 5 includes (3, 4) and (5, 0)."""
    vectors = {tuple(v) for v in lattice.image_vectors(5)}
    assert (3, 4) in vectors and (5, 0) in vectors and (0, 0) not in vectors
    assert (4, 4) not in vectors
    assert len(lattice.image_vectors(64)) == 12852
    assert deepspin.ScreenedCoulomb(8).term_count == 822528


# ---- invariances ----------------------------------------------------------------------------

SYMMETRIES = {
    "global flip": lambda s: -s,
    "translate rows": lambda s: np.roll(s, 3, axis=1),
    "translate cols": lambda s: np.roll(s, -2, axis=2),
    "rotate 90": lambda s: np.rot90(s, 1, axes=(1, 2)),
    "reflect": lambda s: s[:, ::-1, :],
    "transpose": lambda s: np.transpose(s, (0, 2, 1)),
}


@pytest.mark.parametrize("symmetry", SYMMETRIES)
@pytest.mark.parametrize("H", [deepspin.Ising(8), deepspin.ScreenedCoulomb(8), deepspin.SinusoidalCoulomb(8)],
                         ids=repr)
def test_energy_invariances(H, symmetry, rng):
    spins = random_spins(rng, 30, 8)
    transformed = np.ascontiguousarray(SYMMETRIES[symmetry](spins))
    np.testing.assert_allclose(H.energy(transformed, backend="cpu"), H.energy(spins, backend="cpu"),
                               rtol=1e-12, atol=1e-10)


def test_potts_invariant_under_global_rotation(rng):
    theta = rng.uniform(0, np.pi, size=(10, 6, 6))
    H = deepspin.PlanarPotts(6)
    np.testing.assert_allclose(H.energy(theta + 0.4), H.energy(theta), rtol=1e-12)


# ---- convergence of the image sum ------------------------------------------------------------


def test_tail_converges_in_rcut(rng):
    """|E(rcut) - E(rcut')| shrinks like the screened tail: below 1e-12 J from rcut = 64 on."""
    spins = random_spins(rng, 20, 8)
    energies = {r: deepspin.ScreenedCoulomb(8, rcut=r).energy(spins) for r in (8, 16, 32, 64, 96)}
    changes = [np.abs(energies[b] - energies[a]).max() for a, b in [(8, 16), (16, 32), (32, 64), (64, 96)]]
    assert all(later < earlier for earlier, later in zip(changes, changes[1:]))
    assert changes[-1] < 1e-12


# ---- parameters, printing, registry ------------------------------------------------------------


def test_repr_equality_and_registry():
    H = deepspin.hamiltonian("screened-coulomb", 8)
    assert H == deepspin.ScreenedCoulomb(8, k=0.5, rcut=64, J=1.0)
    assert H != deepspin.ScreenedCoulomb(8, k=0.4)
    assert H != deepspin.SinusoidalCoulomb(8)
    assert repr(H) == "ScreenedCoulomb(L=8, k=0.5, rcut=64.0, J=1.0)"
    assert len({H, deepspin.ScreenedCoulomb(8)}) == 1
    assert deepspin.hamiltonian("potts", 4) == deepspin.PlanarPotts(4)
    assert deepspin.hamiltonian("ising", 4, J=2) == deepspin.Ising(4, J=2.0)
    assert H.kernel.flags.writeable is False


@pytest.mark.parametrize("call,match", [
    (lambda: deepspin.ScreenedCoulomb(8, k=-0.1), "k must be >= 0"),
    (lambda: deepspin.ScreenedCoulomb(8, rcut=0.5), "rcut must be >= 1"),
    (lambda: deepspin.ScreenedCoulomb(8, rcut=float("inf")), "rcut must be a finite"),
    (lambda: deepspin.ScreenedCoulomb(8, k=float("nan")), "k must be a finite"),
    (lambda: deepspin.Ising(8, J=float("nan")), "J must be a finite"),
    (lambda: deepspin.Ising(0), "L must be an integer >= 2"),
    (lambda: deepspin.Ising(4.5), "L must be an integer"),
    (lambda: deepspin.hamiltonian("heisenberg", 4), "unknown Hamiltonian"),
    (lambda: deepspin.hamiltonian("ising", 4, k=0.5), "unexpected parameters"),
    (lambda: deepspin.PairPotential(4, "not callable", rcut=4), "callable"),
    (lambda: deepspin.PairPotential(4, lambda d: 1 / (d - 1), rcut=4), "finite"),
    (lambda: deepspin.PairPotential(4, lambda d: 1.0, rcut=4), r"returned shape \(\); expected shape \(\d+,\)"),
])
def test_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()
