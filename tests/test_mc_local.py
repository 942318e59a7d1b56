"""Sublattice-parallel Metropolis (backend "local") against Kaufman's exact torus, the compiled pair
path, and its own bookkeeping rules."""
import numpy as np
import pytest

import deepspin
from deepspin.mc import ising_torus, run
from deepspin.mc import is_local as is_local_operator
from deepspin.mc.rules.sublattice import block_sums, expand_blocks, sublattice_spacing

from test_mc import assert_same_statistics, assert_within_errors, chi_square_against_boltzmann, run_interrupted


class IsingSites:
    """Nearest-neighbour Ising written as per-site energies e_i = -J s_i (s_right + s_down), R = 1."""

    receptive_radius = 1

    def __init__(self, L, J=1.0):
        self.L, self.J = L, J

    def site_energies(self, spins):
        s = spins.astype(np.float64)
        return -self.J * s * (np.roll(s, -1, 1) + np.roll(s, -1, 2))

    def energy(self, spins):
        return self.site_energies(spins).sum(axis=(1, 2))


class PairSites:
    """A pair model with folded kernel K as per-site energies e_i = (J/2) s_i sum_d K[d] s_{i+d};
    ``radius`` is the largest Chebyshev length of a displacement with K != 0."""

    def __init__(self, H):
        self.H, self.L = H, H.L
        d = np.minimum(np.arange(H.L), H.L - np.arange(H.L))
        support = np.abs(H.kernel) > 0
        self.receptive_radius = int(np.maximum(d[:, None], d[None, :])[support].max())

    def site_energies(self, spins):
        s = spins.astype(np.float64)
        field = np.zeros_like(s)
        for dr, dc in zip(*np.nonzero(self.H.kernel)):
            field += self.H.kernel[dr, dc] * np.roll(s, (-dr, -dc), axis=(1, 2))
        return 0.5 * self.H.J * s * field

    def energy(self, spins):
        return self.site_energies(spins).sum(axis=(1, 2))


@pytest.mark.parametrize("L,R,s", [(16, 1, 4), (32, 1, 4), (9, 1, 3), (6, 1, 3), (10, 2, 5), (8, 2, 8), (4, 2, 4)])
def test_sublattice_spacing(L, R, s):
    assert sublattice_spacing(L, R) == s


def test_block_sums_cover_each_site_once(rng):
    values = rng.normal(size=(3, 12, 12))
    for offset in [(0, 0), (1, 2), (3, 3)]:
        sums = block_sums(values, 4, offset)
        assert sums.shape == (3, 3, 3)
        np.testing.assert_allclose(sums.sum(axis=(1, 2)), values.sum(axis=(1, 2)))
        # the block of sublattice site (offset + 4u, offset + 4v) is centred on it: rows r-2 .. r+1
        r, c = offset[0] + 4, offset[1] + 8
        window = np.roll(values, (2 - r, 2 - c), axis=(1, 2))[:, :4, :4]
        np.testing.assert_allclose(sums[:, 1, 2], window.sum(axis=(1, 2)))
        marks = np.zeros((3, 3, 3), bool)
        marks[:, 1, 2] = True
        spread = expand_blocks(marks, 4, offset)
        np.testing.assert_allclose(values[spread].reshape(3, -1).sum(-1), sums[:, 1, 2])


def test_single_flip_energy_changes_are_exact(rng):
    """dE of every sublattice site from one flipped-sublattice call equals flipping it alone."""
    op, L = PairSites(deepspin.PairPotential(10, lambda d: np.exp(-d), rcut=2.0)), 10
    assert op.receptive_radius == 2 and sublattice_spacing(L, 2) == 5
    spins = rng.choice(np.array([-1, 1], np.int8), size=(2, L, L))
    offset = (1, 3)
    flipped = spins.copy()
    flipped[:, 1::5, 3::5] *= -1
    dE = block_sums(op.site_energies(flipped) - op.site_energies(spins), 5, offset)
    for u in range(2):
        for v in range(2):
            alone = spins.copy()
            alone[:, 1 + 5 * u, 3 + 5 * v] *= -1
            np.testing.assert_allclose(dE[:, u, v], op.energy(alone) - op.energy(spins), atol=1e-12)


@pytest.mark.parametrize("L", [6, 8])
def test_local_ising_matches_kaufman(L):
    T = [1.8, 2.3, 2.6, 4.0]
    result = run(IsingSites(L), T, chains=64, sweeps=500, seed=21)
    assert result.backend == "local"
    assert_within_errors(result, ising_torus(L, T))


def test_visited_states_follow_boltzmann_3x3():
    """On 3 x 3 (spacing = L: one site per step, sites in a random order each sweep) the final states
    of many chains are Boltzmann samples: the random order keeps the chain irreducible."""
    pytest.importorskip("scipy")
    result = run(IsingSites(3), [2.0], chains=6000, sweeps=30, burn_in=0, seed=5, start="random")
    assert chi_square_against_boltzmann(deepspin.Ising(3), 2.0, result.configs[0]) > 1e-3


def test_local_pair_matches_compiled_path():
    """A range-2 pair model: 4 sites flipped per proposal (spacing 5 on the 10 x 10 torus) against the
    compiled local-field kernel, two independent chains of methods."""
    H = deepspin.PairPotential(10, lambda d: np.exp(-d), rcut=2.0)
    T = [0.8, 2.0, 5.0]
    local = run(PairSites(H), T, chains=32, sweeps=300, seed=3).observables()
    compiled = run(H, T, chains=32, sweeps=300, seed=4, backend="cpu").observables()
    assert_same_statistics(local, compiled)


def test_local_energy_tracking_and_magnetization():
    """Recorded E and m equal a recomputation from the final configurations (time series' last entry)."""
    op = IsingSites(8)
    result = run(op, [2.0, 3.0], chains=5, sweeps=30, burn_in=0, seed=1, timeseries=True)
    configs = result.configs.reshape(-1, 8, 8)
    np.testing.assert_allclose(result.series_energy[..., -1].ravel(), op.energy(configs), atol=1e-9)
    np.testing.assert_allclose(result.series_magnet[..., -1].ravel(), configs.mean(axis=(1, 2)))
    assert np.all(result.acceptance > 0)


def test_local_checkpoint_resume_is_bit_for_bit(tmp_path, monkeypatch):
    kwargs = dict(chains=6, sweeps=12, burn_in=3, seed=4, timeseries=True)
    reference = run(IsingSites(6), [1.5, 3.0], **kwargs)
    path = tmp_path / "run.ckpt.npz"
    run_interrupted(monkeypatch, lambda: run(IsingSites(6), [1.5, 3.0], checkpoint=path, checkpoint_every=0.0, **kwargs))
    resumed = run(IsingSites(6), [1.5, 3.0], checkpoint=path, **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)


def test_local_operator_errors():
    assert is_local_operator(IsingSites(4)) and not is_local_operator(deepspin.Ising(4).energy)
    with pytest.raises(ValueError, match="backend 'local' needs an operator"):
        run(deepspin.Ising(4).energy, [2.0], L=4, backend="local", sweeps=2)

    class WrongShape(IsingSites):
        def site_energies(self, spins):
            return super().site_energies(spins).sum(axis=2)

    with pytest.raises(ValueError, match="site_energies returned shape"):
        run(WrongShape(4), [2.0], sweeps=2)
    generic = run(IsingSites(4), [2.0], sweeps=2, chains=2, backend="generic")
    assert generic.backend == "generic"
    assert "local" in deepspin.mc.backends()
