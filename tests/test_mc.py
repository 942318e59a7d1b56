"""Metropolis engine: exactness against enumeration and Kaufman, Boltzmann chi-square, local fields,
generic path = compiled path, reproducibility, checkpoints and input errors."""
import numpy as np
import pytest

import deepspin
from deepspin import _core
from deepspin.mc import enumerate_thermodynamics, ising_torus, run
from deepspin.mc import acceptance, metropolis
from deepspin.mc.rules import CompiledRule
from deepspin.backends.compiled import cuda_status
from boltzmann import boltzmann, chi_square_p, config_index

Z_MAX = 4.0  # agreement within 4 standard errors


@pytest.fixture
def one_thread(monkeypatch):
    """The generic path calls the energy engine on small batches thousands of times; one OpenMP thread
    avoids barrier waits on an oversubscribed machine (results do not depend on the thread count)."""
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")


def assert_within_errors(result, exact, keys=("E_per_site", "C_per_site")):
    obs = result.observables()
    for key in keys:
        z = (obs[key] - exact[key]) / obs[f"{key}_err"]
        assert np.all(np.abs(z) < Z_MAX), (key, obs[key], exact[key], z)


def assert_same_statistics(first, second, keys=("E_per_site", "C_per_site", "absm")):
    """Two independent runs (their ``observables()``) agree within Z_MAX combined standard errors."""
    for key in keys:
        z = (first[key] - second[key]) / np.hypot(first[f"{key}_err"], second[f"{key}_err"])
        assert np.all(np.abs(z) < Z_MAX), (key, first[key], second[key], z)


def test_philox_known_answers():
    """Random123's Philox4x32-10 known-answer vectors (counter = block lo, hi, chain, purpose; key = seed)."""
    cases = [
        (0, 0, 0, 0, [0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]),
        (2**64 - 1, 2**32 - 1, 2**32 - 1, 2**64 - 1, [0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD]),
        (0x299F31D0A4093822, 0x13198A2E, 0x03707344, 0x85A308D3243F6A88,
         [0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]),
    ]
    for seed, chain, purpose, block, expected in cases:
        words = _core.philox_words(seed, np.array([chain], dtype=np.int64), purpose, block, 1)
        assert [int(w) for w in words[0]] == expected


def test_ising_acceptance_table_is_the_metropolis_rule():
    betas = np.array([0.3, 1.0])
    table = acceptance.ising_thresholds(betas, 1.0)
    for t, beta in enumerate(betas):
        for k in range(5):
            p = (1 - acceptance.LAZINESS) * min(1.0, np.exp(-beta * (4 * k - 8)))
            assert abs(int(table[t, k]) / 2**32 - p) <= 2**-32 + 1e-15 * p


def test_compiled_ising_matches_enumeration_L4():
    T = [1.0, 2.0, 2.5, 3.5]
    result = run(deepspin.Ising(4), T, chains=200, sweeps=2000, seed=11, backend="cpu")
    exact = enumerate_thermodynamics(deepspin.Ising(4), T)
    assert_within_errors(result, exact, ("E_per_site", "C_per_site", "absm"))


def test_compiled_ising_matches_kaufman_L8():
    T = [1.8, 2.3, 2.6, 4.0]
    result = run(deepspin.Ising(8), T, chains=100, sweeps=2000, seed=12, backend="cpu")
    assert_within_errors(result, ising_torus(8, T))


@pytest.mark.parametrize("H", [deepspin.ScreenedCoulomb(4), deepspin.SinusoidalCoulomb(4)], ids=repr)
def test_compiled_pair_models_match_enumeration(H):
    T = [0.3, 1.0, 3.0]
    result = run(H, T, chains=200, sweeps=1500, seed=13, backend="cpu")
    assert_within_errors(result, enumerate_thermodynamics(H, T), ("E_per_site", "C_per_site", "absm"))


def chi_square_against_boltzmann(H, T, configs):
    """p-value of a chi-square of sampled configurations against their Boltzmann probabilities."""
    probabilities = boltzmann(H, T)[0]
    return chi_square_p(np.bincount(config_index(configs), minlength=len(probabilities)), probabilities)


@pytest.mark.parametrize("H,backend", [
    (deepspin.Ising(3), "cpu"), (deepspin.ScreenedCoulomb(3), "cpu"), (deepspin.Ising(3), "generic"),
], ids=["ising-cpu", "coulomb-cpu", "ising-generic"])
def test_visited_states_follow_boltzmann_3x3(H, backend, one_thread):
    """Final states of many independent chains are Boltzmann samples: chi-square over all 512 states."""
    pytest.importorskip("scipy")
    T = 2.0 if isinstance(H, deepspin.Ising) else 0.7
    result = run(H, [T], chains=30000 if backend == "cpu" else 6000, sweeps=30, burn_in=0, seed=5, backend=backend,
                 start="random")
    assert chi_square_against_boltzmann(H, T, result.configs[0]) > 1e-3


@pytest.mark.parametrize("H", [deepspin.ScreenedCoulomb(8), deepspin.SinusoidalCoulomb(6, k=0.3, rcut=20)], ids=repr)
def test_pair_local_fields_equal_full_recomputation(H):
    """After thousands of accepted flips the incrementally updated energy equals H.energy of the state."""
    result = run(H, [0.5, 2.0], chains=20, sweeps=100, burn_in=0, seed=3, backend="cpu", timeseries=True)
    assert result.accepted.sum() > 20_000
    final = H.energy(result.configs.reshape(-1, H.L, H.L), backend="numpy")
    np.testing.assert_allclose(result.series_energy[..., -1].ravel(), final, rtol=1e-11, atol=1e-10)
    # and the magnetization series is that of the configurations
    np.testing.assert_array_equal(result.series_magnet[..., -1], result.configs.mean(axis=(2, 3)))


def test_pair_energy_change_derivation():
    """dE = -2 J s_a (h_a - M_aa s_a) for one flip, against two full energies (J != 1)."""
    H = deepspin.ScreenedCoulomb(4, J=1.7)
    M = deepspin.lattice.pair_matrix(H.kernel)
    rng = np.random.default_rng(0)
    s = rng.choice(np.array([-1, 1], dtype=np.int8), size=(1, 4, 4))
    h, e = _core.pair_local_fields_cpu(s, M, H.J, 1)
    assert e[0] == pytest.approx(H.energy(s[0]), rel=1e-12)
    for a in range(16):
        flipped = s.copy().reshape(16)
        flipped[a] *= -1
        sa = s.reshape(16)[a]
        dE = -2 * H.J * sa * (h[0, a] - M[a, a] * sa)
        assert H.energy(flipped.reshape(4, 4)) - e[0] == pytest.approx(dE, rel=1e-10, abs=1e-12)


def test_ising_energy_and_magnetization_tracking():
    H = deepspin.Ising(5)
    result = run(H, [1.5, 3.0], chains=30, sweeps=50, seed=9, backend="cpu", timeseries=True, start="random")
    final = result.configs.reshape(-1, 5, 5)
    np.testing.assert_array_equal(result.series_energy[..., -1].ravel(), H.energy(final))
    # the tracked magnetization is that of the final configurations (signed, per site), not a stale value
    np.testing.assert_array_equal(result.series_magnet[..., -1].ravel(), deepspin.magnetization(final))
    assert len(np.unique(result.series_magnet[..., -1])) > 1


@pytest.mark.parametrize("L,chains", [(4, 16), (4, 13), (9, 5)], ids=["simd-lanes", "lanes+single", "byte-lattice"])
def test_generic_path_with_exact_ising_equals_compiled_bit_for_bit(one_thread, L, chains):
    """Same streams, same rule: the NumPy generic path reproduces every compiled kernel variant exactly
    (16-chain SIMD blocks, the one-chain remainder, lattices of N > 64 sites held as bytes)."""
    H = deepspin.Ising(L)
    kwargs = dict(chains=chains, sweeps=40 if L == 4 else 12, burn_in=10 if L == 4 else 3, interval=3, seed=21,
                  timeseries=True, start="random")
    compiled = run(H, [1.0, 2.3, 4.0], backend="cpu", **kwargs)
    generic = run(H, [1.0, 2.3, 4.0], backend="generic", **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(generic, name), getattr(compiled, name), err_msg=name)
    # a plain callable operator (no Hamiltonian object) takes the same path
    plain = run(lambda c: H.energy(c), [1.0, 2.3, 4.0], L=L, **kwargs)
    np.testing.assert_array_equal(plain.moments, compiled.moments)


def test_generic_path_with_exact_pair_energy_matches_compiled_statistics(one_thread):
    H = deepspin.ScreenedCoulomb(4)
    T = [0.5, 1.5]
    compiled = run(H, T, chains=100, sweeps=400, seed=31, backend="cpu").observables()
    generic = run(H, T, chains=100, sweeps=400, seed=32, backend="generic").observables()
    assert_same_statistics(compiled, generic)


def test_operator_object_with_magnetization(one_thread):
    H = deepspin.Ising(4)

    class Surrogate:
        L = 4

        def energy(self, configs):
            return H.energy(configs)

        def magnetization(self, configs):
            return np.full(len(configs), -0.25)

    result = run(Surrogate(), [2.0], chains=8, sweeps=10, seed=1)
    assert result.backend == "generic"
    np.testing.assert_allclose(result.observables()["absm"], [0.25])


def test_reproducible_by_seed_and_thread_count(monkeypatch):
    H = deepspin.ScreenedCoulomb(4)
    first = run(H, [1.0, 2.0], chains=40, sweeps=60, seed=7, backend="cpu")
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")
    one_thread = run(H, [1.0, 2.0], chains=40, sweeps=60, seed=7, backend="cpu")
    other_seed = run(H, [1.0, 2.0], chains=40, sweeps=60, seed=8, backend="cpu")
    np.testing.assert_array_equal(first.moments, one_thread.moments)
    np.testing.assert_array_equal(first.configs, one_thread.configs)
    assert not np.array_equal(first.moments, other_seed.moments)


def interrupt_sweep(monkeypatch, at: int):
    """Make :func:`deepspin.mc.metropolis.sweep` raise KeyboardInterrupt on its ``at``-th call; returns the original."""
    original, calls = metropolis.sweep, []

    def interrupted(state, n):
        calls.append(n)
        if len(calls) == at:
            raise KeyboardInterrupt
        return original(state, n)

    monkeypatch.setattr(metropolis, "sweep", interrupted)
    return original


def run_interrupted(monkeypatch, start_run, at: int = 5) -> None:
    """Call ``start_run()`` with :func:`deepspin.mc.metropolis.sweep` raising KeyboardInterrupt on its ``at``-th call."""
    original = interrupt_sweep(monkeypatch, at)
    with pytest.raises(KeyboardInterrupt):
        start_run()
    monkeypatch.setattr(metropolis, "sweep", original)


@pytest.mark.parametrize("H,backend", [(deepspin.Ising(6), "cpu"), (deepspin.ScreenedCoulomb(4), "cpu"),
                                       (deepspin.Ising(4), "generic")], ids=["ising", "pair", "generic"])
def test_checkpoint_resume_is_bit_for_bit(tmp_path, monkeypatch, H, backend, one_thread):
    kwargs = dict(chains=10, sweeps=300, burn_in=20, interval=2, seed=4, backend=backend, timeseries=True)
    if backend == "generic":
        kwargs.update(sweeps=12, burn_in=3)
    reference = run(H, [1.5, 3.0], **kwargs)
    path = tmp_path / "run.ckpt.npz"
    monkeypatch.setattr(CompiledRule, "min_chunk_attempts", 0)  # many small chunks
    run_interrupted(monkeypatch, lambda: run(H, [1.5, 3.0], checkpoint=path, checkpoint_every=0.0, **kwargs))
    assert path.exists()
    resumed = run(H, [1.5, 3.0], checkpoint=path, checkpoint_every=0.0, **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet", "batch_moments"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)
    with pytest.raises(ValueError, match="different run.*seed"):
        run(H, [1.5, 3.0], checkpoint=path, **{**kwargs, "seed": 5})


@pytest.mark.parametrize("temperatures", [[0.0], [1.0, -2.0], [np.nan], [np.inf], []])
def test_bad_temperatures(temperatures):
    with pytest.raises(ValueError, match="temperatures"):
        run(deepspin.Ising(4), temperatures, chains=2, sweeps=2)


def test_bad_operators_and_parameters():
    H = deepspin.Ising(4)
    with pytest.raises(ValueError, match=r"shape \(6, 1\).*\(6,\)"):
        run(lambda c: H.energy(c)[:, None], [1.0], L=4, chains=6, sweeps=2)
    with pytest.raises(ValueError, match="non-finite"):
        run(lambda c: np.full(len(c), np.nan), [1.0], L=4, chains=2, sweeps=2)
    with pytest.raises(ValueError, match="pass L"):
        run(lambda c: H.energy(c), [1.0], chains=2, sweeps=2)
    with pytest.raises(ValueError, match="Hamiltonian, a callable"):
        run(42, [1.0], L=4)
    with pytest.raises(ValueError, match="needs 'generic'"):
        run(lambda c: H.energy(c), [1.0], L=4, backend="cpu")
    with pytest.raises(ValueError, match="backend .local. needs an operator with .site_energies"):
        run(deepspin.PlanarPotts(4), [1.0], backend="local")
    for bad, match in ((dict(chains=0), "chains must be an integer >= 1, got 0"),
                       (dict(sweeps=0), "sweeps must be an integer >= 1, got 0"),
                       (dict(interval=0), "interval must be an integer >= 1, got 0"),
                       (dict(burn_in=-1), "burn_in must be an integer >= 0, got -1"),
                       (dict(seed=-1), "seed must be None or a non-negative int below 2.64, got -1"),
                       (dict(backend="gpu"), "backend must be one of .*; got 'gpu'"),
                       (dict(start="hot"), "start must be one of .*; got 'hot'"),
                       (dict(sweeps=5, interval=6), "interval=6 exceeds sweeps=5")):
        with pytest.raises(ValueError, match=match):
            run(H, [1.0], **{"chains": 2, "sweeps": 4, **bad})


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_status()[0], reason="our CUDA kernels cannot run here")
def test_cuda_ising_equals_cpu_bit_for_bit():
    kwargs = dict(chains=64, sweeps=200, burn_in=20, seed=17, timeseries=True, start="random")
    for H in (deepspin.Ising(8), deepspin.Ising(10)):  # register (N <= 64) and memory lattices
        cpu = run(H, [1.5, 2.3, 3.5], backend="cpu", **kwargs)
        gpu = run(H, [1.5, 2.3, 3.5], backend="cuda", **kwargs)
        for name in ("moments", "accepted", "configs", "series_energy"):
            np.testing.assert_array_equal(getattr(gpu, name), getattr(cpu, name), err_msg=name)


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_status()[0], reason="our CUDA kernels cannot run here")
def test_cuda_pair_matches_cpu():
    H = deepspin.ScreenedCoulomb(8)
    kwargs = dict(chains=64, sweeps=100, seed=17, timeseries=True)
    cpu = run(H, [0.5, 2.0], backend="cpu", **kwargs)
    gpu = run(H, [0.5, 2.0], backend="cuda", **kwargs)
    # same streams; exp() may differ in the last ulp between CPU and GPU, which can (rarely) flip a decision
    same = np.all(gpu.configs == cpu.configs, axis=(2, 3))
    assert same.mean() > 0.95
    np.testing.assert_allclose(gpu.moments[same], cpu.moments[same], rtol=1e-9)


def test_callable_hamiltonian_runs_the_generic_path(one_thread):
    """A Hamiltonian without a compiled kernel (an energy function) runs generically, with the same chains."""
    H = deepspin.Ising(4)
    wrapped = deepspin.hamiltonians.CallableHamiltonian(4, lambda batch: H.energy(batch, backend="numpy"))
    kwargs = dict(chains=8, sweeps=20, seed=2, start="random")
    result = run(wrapped, [1.0, 3.0], **kwargs)
    assert result.backend == "generic"
    np.testing.assert_array_equal(result.moments, run(H, [1.0, 3.0], backend="cpu", **kwargs).moments)
    with pytest.raises(ValueError, match="no compiled Metropolis kernel"):
        run(wrapped, [1.0], backend="cpu", chains=2, sweeps=2)


def test_as_operator_says_why_an_object_does_not_qualify():
    from deepspin.mc import Operator, as_operator

    H = deepspin.Ising(4)
    op = as_operator(H)
    assert isinstance(op, Operator) and op.hamiltonian is H and op.L == 4 and not op.local
    assert as_operator(op) is op
    plain = as_operator(lambda c: H.energy(c), L=4)
    assert plain.hamiltonian is None and plain.spin_kind == "ising"
    with pytest.raises(ValueError, match="not callable and has no .energy"):
        as_operator(object(), L=4)
    with pytest.raises(ValueError, match="pass L"):
        as_operator(lambda c: H.energy(c))
    with pytest.raises(ValueError, match="contradicts the Hamiltonian's L=4"):
        as_operator(H, L=5)
    with pytest.raises(ValueError, match="magnetization must be a callable"):
        as_operator(H, magnetization=3)

    class Angles:
        L, spin_kind = 4, "vector"

        def energy(self, configs):
            return np.zeros(len(configs))

    with pytest.raises(ValueError, match="spin_kind must be 'ising' or 'angle'"):
        as_operator(Angles())


def test_a_registered_rule_is_chosen_by_name_and_automatically(monkeypatch):
    """The plug-in point: a RuleSpec with its own backend name, automatic above some chain count."""
    from deepspin.mc import RuleSpec, backends, init, register_rule
    from deepspin.mc.rules import registry
    from deepspin.mc.rules.ising import IsingFlip

    class Renamed(IsingFlip):
        name = "test-ising"

    monkeypatch.setattr(registry, "_RULES", list(registry._RULES))
    spec = RuleSpec(name="test-ising", backends=("test-backend",), build=Renamed,
                    accepts=lambda op: None if isinstance(op.hamiltonian, deepspin.Ising) else "Ising only",
                    auto=lambda op, ens: "cpu" if ens.chains >= 64 else None, priority=20)
    register_rule(spec)
    assert "test-backend" in backends()
    with pytest.raises(ValueError, match="already registered"):
        register_rule(spec)
    H = deepspin.Ising(4)
    assert init(H, [2.0], chains=64).rule.name == "test-ising"
    assert init(H, [2.0], chains=63).rule.name == "ising"
    assert init(H, [2.0], chains=2, backend="test-backend").rule.name == "test-ising"
    with pytest.raises(ValueError, match="Ising only"):
        init(deepspin.ScreenedCoulomb(4), [2.0], chains=2, backend="test-backend")
    result = run(H, [2.0], chains=64, sweeps=4, seed=3)
    assert result.rule == "test-ising" and result.backend == "cpu"


def test_init_and_sweep_are_the_engine_of_run():
    """run() is init() + sweep(): the same chains step by step, and a series never overflows."""
    from deepspin.mc import init, sweep

    H = deepspin.ScreenedCoulomb(4)
    result = run(H, [0.8, 2.0], chains=6, sweeps=20, burn_in=4, interval=2, seed=9, backend="cpu", timeseries=True)
    state = init(H, [0.8, 2.0], chains=6, burn_in=4, interval=2, series=10, seed=9, backend="cpu")
    assert state.rule.name == "pair" and set(state.cache) == {"fields"}
    for n in (1, 5, 0, 18):
        sweep(state, n)
    assert state.sweeps_done == 24
    np.testing.assert_array_equal(state.moments.reshape(2, 6, 3), result.moments)
    np.testing.assert_array_equal(state.series_energy.reshape(2, 6, -1), result.series_energy)
    np.testing.assert_allclose(state.cache["fields"], _core.pair_local_fields_cpu(
        state.spins, deepspin.lattice.pair_matrix(H.kernel), H.J, 1)[0], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="more than the 10 measurements"):
        sweep(state, 2)
    with pytest.raises(ValueError, match="n_sweeps must be an integer >= 0"):
        sweep(state, -1)
