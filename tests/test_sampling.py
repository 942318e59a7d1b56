"""Samplers: reproducibility, closed forms, enumeration, local energy updates, user energy functions."""
import math

import numpy as np
import pytest

import deepspin
from deepspin.sampling import enumerate_all, targeted, thermal, uniform
from deepspin.sampling.walkers import BatchWalkers, draw_uniform, walkers_for
from spin_models import plaquette_energy, plaquette_loops

# FACTS: 4x4 Ising class sizes (classes 0..14), symmetric.
CLASS_SIZES_4 = [2, 32, 64, 424, 1728, 6688, 13568, 20524, 13568, 6688, 1728, 424, 64, 32, 2]


@pytest.fixture(scope="module")
def all_4x4():
    """Every 4x4 configuration with its exact Ising energy."""
    s = enumerate_all(deepspin.Ising(4))
    return s.spins, s.energy


# -- enumeration ---------------------------------------------------------------------------------
def test_enumerate_4x4_order_and_class_sizes(all_4x4):
    spins, energy = all_4x4
    assert spins.shape == (65536, 4, 4) and spins.dtype == np.int8
    bits = (spins.reshape(-1, 16) > 0).astype(np.int64)
    index = (bits << np.arange(15, -1, -1)).sum(axis=1)
    np.testing.assert_array_equal(index, np.arange(65536))  # SPEC section 5 order
    levels, counts = np.unique(energy, return_counts=True)
    np.testing.assert_array_equal(levels, deepspin.ising_energy_levels(4))
    assert counts.tolist() == CLASS_SIZES_4


def test_enumerate_shards_concatenate_to_the_whole(all_4x4):
    parts = [enumerate_all(deepspin.Ising(4), shards=3, shard_index=i) for i in range(3)]
    np.testing.assert_array_equal(np.concatenate([p.spins for p in parts]), all_4x4[0])


def test_enumerate_refuses_large_lattices_and_angles():
    with pytest.raises(ValueError, match="N = L\\*L <= 25"):
        enumerate_all(deepspin.Ising(6))
    with pytest.raises(ValueError, match="continuous angles"):
        enumerate_all(deepspin.PlanarPotts(2))


# -- uniform -------------------------------------------------------------------------------------
def test_uniform_is_reproducible_from_the_seed():
    H = deepspin.Ising(8)
    a, b, c = uniform(H, 1000, seed=7), uniform(H, 1000, seed=7), uniform(H, 1000, seed=8)
    np.testing.assert_array_equal(a.spins, b.spins)
    np.testing.assert_array_equal(a.energy, b.energy)
    assert not np.array_equal(a.spins, c.spins)
    assert a.meta["seed"] == 7 and a.meta["sampler"] == "uniform"


def test_uniform_ising_closed_forms(all_4x4):
    """<E> = 0, Var E = 2N, <|m|> = C(N, N/2) / 2^N; tolerances from the exact enumerated moments."""
    spins_all, energy_all = all_4x4
    N, n = 16, 200_000
    abs_m_all = np.abs(spins_all.reshape(-1, N).mean(axis=1))
    assert math.comb(N, N // 2) / 2**N == pytest.approx(0.19638, abs=5e-6)
    assert abs_m_all.mean() == pytest.approx(math.comb(N, N // 2) / 2**N, rel=1e-12)
    assert energy_all.mean() == 0 and energy_all.var() == pytest.approx(2 * N)

    s = uniform(deepspin.Ising(4), n, seed=3)
    E, abs_m = s.energy, np.abs(s.spins.reshape(n, N).mean(axis=1, dtype=np.float64))
    np.testing.assert_array_equal(E, deepspin.Ising(4).energy(s.spins, backend="numpy"))
    mu4 = (energy_all**4).mean()
    assert abs(E.mean()) < 5 * math.sqrt(2 * N / n)
    assert abs(E.var() - 2 * N) < 5 * math.sqrt((mu4 - (2 * N) ** 2) / n)
    assert abs(abs_m.mean() - math.comb(N, N // 2) / 2**N) < 5 * abs_m_all.std() / math.sqrt(n)


def test_uniform_potts_angles():
    s = uniform(deepspin.PlanarPotts(4), 20_000, seed=1)
    assert s.spins.dtype == np.float64 and s.spins.min() >= 0 and s.spins.max() < np.pi
    assert abs(s.spins.mean() - np.pi / 2) < 5 * (np.pi / math.sqrt(12)) / math.sqrt(s.spins.size)
    np.testing.assert_allclose(s.energy, deepspin.PlanarPotts(4).energy(s.spins, backend="numpy"), rtol=1e-12)


# -- local energy updates ------------------------------------------------------------------------
@pytest.mark.parametrize("H", [deepspin.Ising(4), deepspin.Ising(5, J=-0.7), deepspin.ScreenedCoulomb(4),
                               deepspin.ScreenedCoulomb(5, k=0.3, rcut=7.5), deepspin.SinusoidalCoulomb(4),
                               deepspin.PlanarPotts(4, J=1.3)], ids=repr)
def test_local_energy_change_equals_recomputation(H, rng):
    walk = walkers_for(H, draw_uniform(H.spin_kind, (32, H.L, H.L), rng))
    assert not isinstance(walk, BatchWalkers)
    for _ in range(200):
        move = walk.propose(rng)
        dE = walk.delta(move)
        proposed = walk.states.copy()
        proposed[walk.rows, move.sites] = move.values
        exact = H.energy(proposed.reshape(-1, H.L, H.L), backend="numpy") - H.energy(walk.configs(), backend="numpy")
        np.testing.assert_allclose(dE, exact, rtol=1e-9, atol=1e-9)
        walk.accept(move, rng.random(32) < 0.5, dE)
    np.testing.assert_allclose(walk.energies, H.energy(walk.configs(), backend="numpy"), rtol=1e-9, atol=1e-9)


# -- targeted ------------------------------------------------------------------------------------
def test_targeted_4x4_exact_quotas_all_classes(all_4x4):
    H = deepspin.Ising(4)
    s = targeted(H, 1800, seed=1)
    assert len(s) == 27_000 and s.meta["complete"]
    classes = deepspin.ising_class(s.spins)  # recomputed from the spins, not the walk's record
    assert np.bincount(classes, minlength=15).tolist() == [1800] * 15
    np.testing.assert_array_equal(s.energy, deepspin.class_to_energy(classes, 4))
    np.testing.assert_array_equal(classes, s.extras["bin"])
    # the extremes are repeats of the only two configurations at -32 (aligned) and +32 (checkerboards)
    spins_all, energy_all = all_4x4
    for level in (-32, 32):
        found = np.unique(s.spins[s.energy == level].reshape(-1, 16), axis=0)
        expected = np.unique(spins_all[energy_all == level].reshape(-1, 16), axis=0)
        np.testing.assert_array_equal(found, expected)
    distinct = s.meta["distinct"]
    assert distinct[0] == distinct[14] == 2
    assert all(d <= min(size, 1800) for d, size in zip(distinct, CLASS_SIZES_4))
    assert s.meta["counts"] == [1800] * 15


def test_targeted_is_reproducible_and_backend_independent():
    H = deepspin.ScreenedCoulomb(4)
    a = targeted(H, 30, bins=6, seed=5, backend="numpy", walkers=64)
    b = targeted(H, 30, bins=6, seed=5, backend="auto", walkers=64)
    np.testing.assert_array_equal(a.spins, b.spins)
    np.testing.assert_allclose(a.energy, b.energy, rtol=1e-12)
    assert a.meta["targets"] == b.meta["targets"]
    c = targeted(H, 30, bins=6, seed=6, backend="numpy", walkers=64)
    assert not np.array_equal(a.spins, c.spins)


def test_targeted_8x8_reaches_all_63_classes():
    s = targeted(deepspin.Ising(8), 40, seed=2)
    assert s.meta["complete"]
    assert np.bincount(deepspin.ising_class(s.spins), minlength=63).tolist() == [40] * 63
    # only 2 configurations each at -128 (aligned) and +128 (checkerboards)
    assert s.meta["distinct"][0] == s.meta["distinct"][62] == 2


@pytest.mark.parametrize("H", [deepspin.ScreenedCoulomb(4), deepspin.SinusoidalCoulomb(4), deepspin.PlanarPotts(3)],
                         ids=repr)
def test_targeted_bins_over_the_attainable_range(H):
    s = targeted(H, 40, bins=5, seed=3, walkers=64)
    edges = np.array(s.meta["targets"]["edges"])
    assert s.meta["complete"] and s.meta["counts"] == [40] * 5
    bins = s.extras["bin"]
    tol = 2e-9 * np.abs(edges).max()
    assert np.all(s.energy >= edges[bins] - tol) and np.all(s.energy <= edges[bins + 1] + tol)
    np.testing.assert_allclose(s.energy, H.energy(s.spins, backend="numpy"), rtol=1e-10, atol=1e-10)
    # the outer edges are energies of configurations actually found (padded by 1e-9 relative)
    assert s.energy.min() == pytest.approx(edges[0], abs=tol) and s.energy.max() == pytest.approx(edges[-1], abs=tol)


def test_targeted_potts_fills_the_sparse_extreme_bins():
    """The lowest and highest Potts bins hold a tiny fraction of phase space; the default pull fills them."""
    s = targeted(deepspin.PlanarPotts(4), 200, bins=10, seed=3, patience=100)  # sigma = width: 73 in bin 0
    assert s.meta["complete"] and s.meta["counts"] == [200] * 10
    assert s.energy.min() < -25.6 and s.energy.max() > 25.6


def test_targeted_user_edges_and_unreachable_bin_is_reported():
    H = deepspin.ScreenedCoulomb(4)
    s = targeted(H, 20, bins=[-1e6, -1e5, 0.0, 5.0], seed=1, walkers=32, patience=20)
    assert not s.meta["complete"]
    assert s.meta["counts"][0] == 0 and s.meta["counts"][1:] == [20, 20]


def test_targeted_plaquette_energy_function(all_4x4):
    """A 4-spin interaction through the generic batch path, labels checked by explicit loops."""
    H = deepspin.CallableHamiltonian(4, plaquette_energy, path="spin_models:plaquette_energy")
    levels = np.unique(plaquette_energy(all_4x4[0]))
    assert levels.tolist() == [-16, -8, -4, 0, 4, 8, 16]
    edges = [-16.5, -6, -2, 2, 6, 16.5]
    s = targeted(H, 100, bins=edges, seed=4, walkers=64)
    assert s.meta["complete"] and s.meta["counts"] == [100] * 5
    assert s.meta["hamiltonian"]["callable"] == "spin_models:plaquette_energy"
    picks = np.random.default_rng(0).choice(len(s), 50, replace=False)
    assert [plaquette_loops(s.spins[i]) for i in picks] == s.energy[picks].tolist()
    np.testing.assert_array_equal(np.digitize(s.energy, edges) - 1, s.extras["bin"])


@pytest.mark.parametrize("kwargs, message", [
    ({"per_class": 0}, "per_class must be an integer >= 1"),
    ({"per_class": 5, "sigma": -1.0}, "sigma must be a positive"),
    ({"per_class": 5, "bins": [1.0, 0.0]}, "strictly increasing edges"),
    ({"per_class": 5, "seed": -3}, "seed must be None or a non-negative int"),
    ({"per_class": 5, "shards": 2, "shard_index": 2}, "shard_index must be an integer in \\[0, 2\\)"),
])
def test_targeted_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        targeted(deepspin.Ising(4), **kwargs)


def test_targeted_needs_bins_without_classes():
    with pytest.raises(ValueError, match="pass bins="):
        targeted(deepspin.ScreenedCoulomb(4), 10)
    with pytest.raises(ValueError, match="pass bins="):
        targeted(deepspin.Ising(5), 10)


# -- thermal -------------------------------------------------------------------------------------
def test_thermal_matches_exact_enumeration(all_4x4):
    """<E>/N of 4x4 Ising at three temperatures within 4 standard errors (from independent chains)."""
    _, energy_all = all_4x4
    temperatures = [1.5, 2.5, 4.0]
    chains = 32
    s = thermal(deepspin.Ising(4), temperatures, chains=chains, samples=150, burn_in=100, thin=2, seed=11)
    assert len(s) == 3 * chains * 150
    np.testing.assert_array_equal(s.energy, deepspin.Ising(4).energy(s.spins, backend="numpy"))
    for T in temperatures:
        weights = np.exp(-(energy_all - energy_all.min()) / T)
        exact = (weights * energy_all).sum() / weights.sum() / 16
        at_T = s.extras["temperature"] == T
        chain_means = np.array([s.energy[at_T & (s.extras["chain"] == c)].mean() / 16
                                for c in np.unique(s.extras["chain"][at_T])])
        assert len(chain_means) == chains
        se = chain_means.std(ddof=1) / math.sqrt(chains)
        assert abs(chain_means.mean() - exact) < 4 * se, (T, chain_means.mean(), exact, se)


@pytest.mark.parametrize("H", [deepspin.ScreenedCoulomb(3, k=0.3), deepspin.SinusoidalCoulomb(4, k=0.2)], ids=repr)
def test_thermal_pair_models_match_enumeration(H):
    """The local-field walker samples exp(-E/T): <E> within 4 standard errors of the enumerated value."""
    exact_set = enumerate_all(H)
    T, chains = 1.5, 32
    s = thermal(H, T, chains=chains, samples=100, burn_in=50, thin=2, seed=21)
    weights = np.exp(-(exact_set.energy - exact_set.energy.min()) / T)
    exact = (weights * exact_set.energy).sum() / weights.sum()
    chain_means = np.array([s.energy[s.extras["chain"] == c].mean() for c in range(chains)])
    se = chain_means.std(ddof=1) / math.sqrt(chains)
    assert abs(chain_means.mean() - exact) < 4 * se, (chain_means.mean(), exact, se)


def test_thermal_generic_path_walks_like_the_local_one():
    """A user function computing the Ising energy gives the very same chains as the built-in Ising walker."""
    def ising_batch(spins):
        return deepspin.Ising(4).energy(spins, backend="numpy")

    local = thermal(deepspin.Ising(4), [2.0, 3.0], chains=4, samples=5, burn_in=10, thin=1, seed=9)
    generic = thermal(deepspin.CallableHamiltonian(4, ising_batch), [2.0, 3.0], chains=4, samples=5, burn_in=10,
                      thin=1, seed=9)
    np.testing.assert_array_equal(local.spins, generic.spins)
    np.testing.assert_array_equal(local.energy, generic.energy)


def test_thermal_reproducible_and_validated():
    a = thermal(deepspin.PlanarPotts(3), 1.0, chains=2, samples=3, burn_in=2, thin=1, seed=1)
    b = thermal(deepspin.PlanarPotts(3), 1.0, chains=2, samples=3, burn_in=2, thin=1, seed=1)
    np.testing.assert_array_equal(a.spins, b.spins)
    with pytest.raises(ValueError, match="finite and > 0"):
        thermal(deepspin.Ising(4), [1.0, -2.0])
    with pytest.raises(ValueError, match="chains must be an integer >= 1"):
        thermal(deepspin.Ising(4), 1.0, chains=0)


# -- user energy functions -----------------------------------------------------------------------
def test_callable_hamiltonian_checks_the_function():
    H = deepspin.CallableHamiltonian(4, lambda s: np.zeros(3))
    with pytest.raises(ValueError, match="one value per configuration, shape \\(2,\\)"):
        H.energy(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="non-finite"):
        deepspin.CallableHamiltonian(4, lambda s: np.full(len(s), np.nan)).energy(np.ones((2, 4, 4)))
    with pytest.raises(ValueError, match="backend"):
        deepspin.CallableHamiltonian(4, plaquette_energy).energy(np.ones((2, 4, 4)), backend="cpu")


@pytest.mark.parametrize("name, message", [
    ("no_such_module_xyz:f", "cannot import module"),
    ("spin_models:missing", "has no attribute"),
    ("spin_models", "unknown Hamiltonian"),
    ("spin_models:", "package.module:function"),
])
def test_energy_function_names(name, message):
    with pytest.raises(ValueError, match=message):
        deepspin.hamiltonian(name, 4)


def test_energy_function_by_name_equals_loops(rng):
    H = deepspin.hamiltonian("spin_models:plaquette_energy", 4)
    assert H.path == "spin_models:plaquette_energy" and H.spin_kind == "ising"
    spins = rng.choice(np.array([-1, 1], dtype=np.int8), size=(20, 4, 4))
    assert H.energy(spins).tolist() == [plaquette_loops(s) for s in spins]
    assert deepspin.hamiltonian("spin_models:xy_energy", 3).spin_kind == "angle"


def test_thermal_runs_on_the_mc_core_and_shards_are_independent():
    """Thermal chains are deepspin.mc chains: compiled rules for built-in models; two shards of one seed
    run on different Philox keys, so their configurations differ."""
    s = thermal(deepspin.Ising(4), [2.0], chains=4, samples=3, burn_in=5, thin=2, seed=3, shards=2, shard_index=0)
    t = thermal(deepspin.Ising(4), [2.0], chains=4, samples=3, burn_in=5, thin=2, seed=3, shards=2, shard_index=1)
    assert s.meta["mc_rule"] == "ising" and len(s) == len(t) == 6
    assert not np.array_equal(s.spins, t.spins)
    np.testing.assert_array_equal(s.extras["chain"][:2], [0, 1])
    np.testing.assert_array_equal(t.extras["chain"][:2], [2, 3])
    potts = thermal(deepspin.PlanarPotts(3), [1.0], chains=2, samples=2, burn_in=1, thin=1, seed=1)
    assert potts.meta["mc_rule"] == "potts"
    assert potts.spins.dtype == np.float64 and potts.spins.min() >= 0 and potts.spins.max() < np.pi


def test_schema_1_datasets_stay_readable(tmp_path):
    """Files of schema 1 (thermal from NumPy walkers, same layout) are still read."""
    import h5py
    import json

    from deepspin import datasets

    path = tmp_path / "old.h5"
    datasets.generate(deepspin.Ising(4), "uniform", path, n=20, seed=1)
    with h5py.File(path, "r+") as f:
        meta = json.loads(f.attrs["meta"])
        meta["schema_version"] = 1
        f.attrs["schema_version"] = 1
        f.attrs["meta"] = json.dumps(meta, sort_keys=True)
    data = datasets.load(path, split="all")
    assert len(data["energy"]) == 20 and data["meta"]["schema_version"] == 1
