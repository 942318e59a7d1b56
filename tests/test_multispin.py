"""Multispin Ising Metropolis (deepspin.mc.multispin): protocol, reproducibility and statistics.

References are independent of the kernel: a NumPy re-implementation of the documented protocol with
integer comparisons instead of bit-slicing, exact enumeration, Kaufman's torus formula, and the
sublattice map between the antiferromagnet and the ferromagnet on even L.
"""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import deepspin
from deepspin import _core
from deepspin.backends.compiled import cuda_status
from deepspin.mc import enumerate_thermodynamics, ising_torus
from deepspin.mc import multispin as ms
from deepspin.mc.acceptance import initial_configurations
from deepspin.mc.observables import thermodynamics
from boltzmann import boltzmann, chi_square_p, config_index

SWEEP_STREAM, SITE_STREAM = 0x4D530001, 0x4D530003


def engine(L, J, temperatures, chains, seed=5, **kw):
    return ms.MultispinEngine(L, J, np.repeat(1.0 / np.asarray(temperatures, float), chains), seed, **kw)


def start(eng, how="random", series=0):
    """A state at sweep 0: random configurations (the runs' initial streams) or all +1."""
    G, L = eng.replicas, eng.L
    spins = initial_configurations(eng.seed + 1, G, L) if how == "random" else np.ones((G, L, L), np.int8)
    return eng.start(spins, series=series)


def run_arrays(L=5, J=1.0, chains=1200, sweeps=7, how="random", series=True, simd=None, seed=3):
    """Final words, moments, accepted and series of a small run that exercises SIMD blocks and tails."""
    eng = engine(L, J, [1.7, 2.4, 4.0], chains // 3, seed=seed, burn_in=2, interval=2, simd=simd)
    state = start(eng, how, series=3 if series else 0)
    eng.advance(state, sweeps)
    return state


# ---- layout and tables --------------------------------------------------------------------------


def test_pack_unpack_round_trip_and_bit_layout():
    rng = np.random.default_rng(0)
    spins = rng.choice(np.array([-1, 1], np.int8), size=(130, 3, 3))
    words = ms.pack_spins(spins)
    assert words.shape == (9, 3) and words.dtype == np.uint64
    np.testing.assert_array_equal(ms.unpack_spins(words, 130, 3), spins)
    for g, a in [(0, 0), (69, 4), (129, 8)]:
        bit = (int(words[a, g // 64]) >> (g % 64)) & 1
        assert bit == int(spins[g].ravel()[a] < 0)
    assert (ms.unpack_spins(words, 192, 3)[130:] == 1).all()  # padding replicas are +1


def test_masks_hold_the_threshold_bits_msb_first():
    betas = np.linspace(0.1, 1.0, 80)
    thr = ms.acceptance_thresholds(betas, -1.5)
    np.testing.assert_array_equal(thr[:, 0], np.floor(2.0**32 * np.exp(-6.0 * betas) + 0.5))
    np.testing.assert_array_equal(thr[:, 1], np.floor(2.0**32 * np.exp(-12.0 * betas) + 0.5))
    masks = ms.acceptance_masks(thr)
    assert masks.shape == (64, 2)
    rebuilt = np.zeros((128, 2), dtype=np.int64)
    for k in range(2):
        for j in range(32):
            for g in range(128):
                rebuilt[g, k] |= ((int(masks[32 * k + j, g // 64]) >> (g % 64)) & 1) << (31 - j)
    np.testing.assert_array_equal(rebuilt[:80], thr)
    assert (rebuilt[80:] == 0).all()
    assert ms.acceptance_thresholds([0.0], 1.0).tolist() == [[2**32 - 1, 2**32 - 1]]  # p = 1 is clipped


# ---- the documented protocol, re-implemented with integer comparisons -------------------------------


def reference_run(spins0, L, J, betas, seed, sweeps):
    """Sweeps of the protocol of csrc/multispin.hpp, replica by replica: returns spins, E sums, accepted."""
    G, N = len(betas), L * L
    W = ms.word_count(G)
    thr = np.zeros((64 * W, 2), dtype=np.int64)
    thr[:G] = ms.acceptance_thresholds(betas, J).astype(np.int64)
    s = np.ones((64 * W, N), dtype=np.int64)
    s[:G] = spins0.reshape(G, N)
    energy_sum = np.zeros(64 * W)
    accepted = np.zeros(64 * W, dtype=np.int64)
    rows, cols = np.divmod(np.arange(N), L)
    neighbours = np.stack([((rows - 1) % L) * L + cols, ((rows + 1) % L) * L + cols,
                           rows * L + (cols - 1) % L, rows * L + (cols + 1) % L], axis=1)
    sign = 1 if J >= 0 else -1
    for sweep in range(sweeps):
        site_words = _core.philox_words(seed, np.array([0]), SITE_STREAM, sweep * (-(-N // 4)), -(-N // 4))[0]
        for i in range(N):
            a = (int(site_words[i]) * (N + 1)) >> 32
            if a == N:  # the lazy slot: no site this attempt
                continue
            bad = (sign * s[:, [a]] * s[:, neighbours[a]] > 0).sum(axis=1)  # aligned (J > 0) / anti (J < 0)
            raw = _core.philox_words(seed, np.arange(W), SWEEP_STREAM, (sweep * N + i) * 16, 16).astype(np.int64)
            u = raw[:, 0::2] | (raw[:, 1::2] << 32)  # (W, 32) 64-bit words u_j
            lanes = (u[:, :, None] >> np.arange(64)) & 1  # (W, 32, 64): bit r of u_j
            U = (lanes.transpose(0, 2, 1).reshape(64 * W, 32) << np.arange(31, -1, -1)).sum(axis=1)
            accept = (bad <= 2) | ((bad == 3) & (U < thr[:, 0])) | ((bad == 4) & (U < thr[:, 1]))
            s[accept, a] *= -1
            accepted += accept
        energy_sum += deepspin.Ising(L, J=J).energy(s.reshape(-1, L, L).astype(np.int8), backend="numpy")
    return s[:G].reshape(G, L, L), energy_sum[:G], accepted[:G]


@pytest.mark.parametrize("L, J", [(3, 1.0), (3, -1.0), (4, 0.7)])
def test_kernel_follows_the_documented_protocol(L, J):
    temperatures, chains = np.array([1.2, 2.0, 3.3]), 40  # 120 replicas: two words, mixed temperatures
    betas = np.repeat(1.0 / temperatures, chains)
    spins0 = initial_configurations(11, 120, L)
    expected_spins, expected_e, expected_acc = reference_run(spins0, L, J, betas, seed=99, sweeps=3)
    eng = ms.MultispinEngine(L, J, betas, 99)
    state = eng.start(spins0)
    eng.advance(state, 3)
    np.testing.assert_array_equal(eng.spins(state), expected_spins)
    np.testing.assert_array_equal(state.accepted[:120], expected_acc)
    np.testing.assert_allclose(eng.moments(state)[:, 0], expected_e, rtol=0, atol=1e-12)
    assert expected_acc.sum() > 0


# ---- reproducibility ---------------------------------------------------------------------------------


def assert_same_state(a, b):
    for name in ("words", "moments", "accepted", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_one_and_two_threads_are_bit_identical(monkeypatch):
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")
    one = run_arrays()
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "2")
    two = run_arrays()
    assert_same_state(one, two)


@pytest.mark.parametrize("level", ms.supported_simd())
def test_every_simd_level_is_bit_identical_to_scalar(level, monkeypatch):
    # 19 words: full AVX2 / AVX-512 blocks plus a tail that runs one word at a time
    assert_same_state(run_arrays(simd=level), run_arrays(simd="scalar"))
    monkeypatch.setenv("DEEPSPIN_SIMD", level)
    assert ms.simd_level() == level
    assert_same_state(run_arrays(), run_arrays(simd="scalar"))


def test_chunked_sweeps_equal_one_call():
    eng = engine(6, 1.0, [2.0, 2.6], 100, burn_in=3, interval=2)
    whole, parts = start(eng, series=4), start(eng, series=4)
    eng.advance(whole, 11)
    for n in (1, 4, 6):  # 255-update flushes of the acceptance counter fall inside calls
        eng.advance(parts, n)
    assert_same_state(whole, parts)
    assert whole.sweeps_done == parts.sweeps_done == 11


def test_seeds_give_different_runs_and_replicas_differ():
    a, b = run_arrays(seed=1), run_arrays(seed=2)
    assert not np.array_equal(a.words, b.words)
    hot = ms.unpack_spins(a.words, 1200, 5).reshape(1200, -1)[800:]  # T = 4: 400 replicas over 2^25 states
    assert len(np.unique(hot, axis=0)) > 390  # replicas driven by shared random bits would coincide


# ---- antiferromagnet <-> ferromagnet on even L (closed form) ------------------------------------------


@pytest.mark.parametrize("L", [2, 4, 6])
def test_antiferromagnet_is_the_sublattice_flipped_ferromagnet(L):
    """On even L, s -> s * (-1)^(row + col) maps J < 0 to -J > 0 configuration by configuration; both
    rules see the same bad-neighbour bits and the same streams, so the trajectories map bit for bit."""
    stagger = np.where(np.add.outer(np.arange(L), np.arange(L)) % 2, -1, 1).astype(np.int8)
    temperatures, chains = [1.5, 3.0], 96
    afm, fm = engine(L, -1.0, temperatures, chains, seed=8), engine(L, 1.0, temperatures, chains, seed=8)
    sa = start(afm)
    sf = fm.start(afm.spins(sa) * stagger)
    afm.advance(sa, 20)
    fm.advance(sf, 20)
    np.testing.assert_array_equal(afm.spins(sa), fm.spins(sf) * stagger)
    ea, ef = afm.moments(sa), fm.moments(sf)
    np.testing.assert_array_equal(ea[:, :2], ef[:, :2])  # E, E^2: E_afm(s) = E_fm(s stagger)
    np.testing.assert_array_equal(sa.accepted, sf.accepted)
    assert not np.array_equal(ea[:, 2], ef[:, 2])  # |m| is not invariant


# ---- statistics --------------------------------------------------------------------------------------


@pytest.mark.parametrize("J, T", [(1.0, 2.0), (1.0, 3.5), (-1.0, 1.5)])
def test_3x3_configurations_follow_boltzmann(J, T):
    """Chi-square of all 512 configurations: 128 replicas sampled every 4 sweeps (odd L, frustrated for J < 0)."""
    p = boltzmann(deepspin.Ising(3, J=J), T)[0]
    eng = engine(3, J, [T], 128, seed=21)
    state = start(eng)
    eng.advance(state, 50)
    counts = np.zeros(512)
    for _ in range(400):
        eng.advance(state, 4)
        index = config_index(eng.spins(state).reshape(128, 3, 3))
        counts += np.bincount(index, minlength=512)
    assert chi_square_p(counts, p) > 1e-3


def test_3x3_energy_distribution_of_every_replica():
    """Per replica, a chi-square of its energy levels; together, the sum of the statistics."""
    J, T = 1.0, 2.5
    p, energy, _ = boltzmann(deepspin.Ising(3, J=J), T)
    levels = np.unique(energy)
    p_level = np.array([p[energy == e].sum() for e in levels])
    eng = engine(3, J, [T], 128, seed=4, burn_in=50, interval=3)
    state = start(eng, series=1500)
    eng.advance(state, 50 + 3 * 1500)
    series = state.series_energy[:128]
    counts = (series[:, :, None] == levels).sum(axis=1)  # (replicas, levels)
    assert (counts.sum(axis=1) == 1500).all()
    keep = p_level * 1500 >= 5
    expected = np.append(p_level[keep], p_level[~keep].sum()) * 1500
    observed = np.concatenate([counts[:, keep], counts[:, ~keep].sum(axis=1, keepdims=True)], axis=1)
    chi2 = ((observed - expected) ** 2 / expected).sum(axis=1)
    dof = len(expected) - 1
    per_replica_p = stats.chi2.sf(chi2, dof)
    assert per_replica_p.min() > 1e-6
    assert stats.chi2.sf(chi2.sum(), dof * 128) > 1e-3


def test_replica_energies_are_uncorrelated():
    """Pairwise correlation of the replicas' energy series: lanes of one word and different words alike."""
    eng = engine(8, 1.0, [3.5], 128, seed=13, burn_in=100, interval=2)
    state = start(eng, series=1500)
    eng.advance(state, 100 + 2 * 1500)
    corr = np.corrcoef(state.series_energy[:128])
    off = corr[~np.eye(128, dtype=bool)]
    same_word = np.array([corr[r, r + 1] for w in (0, 64) for r in range(w, w + 63)])
    across = corr[:64, 64:].ravel()
    sd = off.std()
    assert abs(same_word.mean()) < 4 * sd / np.sqrt(same_word.size)
    assert abs(across.mean()) < 4 * sd / np.sqrt(across.size)
    assert np.abs(off).max() < 8 / np.sqrt(1500)


CASES = [(4, 1.0), (4, -1.0), (8, 1.0), (16, 1.0)]


@pytest.mark.parametrize("L, J", CASES)
def test_thermodynamics_match_exact_values(L, J):
    """<E>/N, C/N (and <|m|> where enumeration gives it) within 4 standard errors at T = 1.5, 2.3, 3.5."""
    T = np.array([1.5, 2.3, 3.5])
    chains, burn_in, sweeps = 128, (200 if L < 16 else 1000), (4000 if L < 16 else 3000)
    eng = engine(L, J, T, chains, seed=17, burn_in=burn_in)
    state = start(eng, "ordered" if J > 0 else "random")
    eng.advance(state, burn_in + sweeps)
    obs = thermodynamics(eng.moments(state).reshape(3, chains, 4), sweeps, T, L * L)
    exact = enumerate_thermodynamics(deepspin.Ising(L, J=J), T) if L == 4 else ising_torus(L, T, J=J)
    keys = ("E_per_site", "C_per_site", "absm") if L == 4 else ("E_per_site", "C_per_site")
    for key in keys:
        z = (obs[key] - exact[key]) / obs[key + "_err"]
        assert np.all(np.abs(z) < 4), (key, z)


@pytest.mark.parametrize("L", [4, 9])  # N <= 64: one transpose and shifts; N > 64: bond words
def test_moments_match_the_series(L):
    eng = engine(L, -0.5, [2.3], 64, burn_in=5)
    state = start(eng, series=20)
    eng.advance(state, 25)
    moments = eng.moments(state)
    np.testing.assert_allclose(moments[:, 0], state.series_energy[:64].sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(moments[:, 1], (state.series_energy[:64] ** 2).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(moments[:, 2], np.abs(state.series_magnet[:64]).sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(moments[:, 3], (state.series_magnet[:64] ** 2).sum(axis=1), rtol=1e-12)
    final = eng.spins(state)
    np.testing.assert_array_equal(state.series_magnet[:64, -1], final.mean(axis=(1, 2)))
    exact = deepspin.Ising(L, J=-0.5).energy(final, backend="numpy")
    np.testing.assert_array_equal(state.series_energy[:64, -1], exact)


# ---- errors ------------------------------------------------------------------------------------------


def test_bad_input_is_rejected(monkeypatch):
    with pytest.raises(ValueError, match="betas must be"):
        ms.MultispinEngine(4, 1.0, [np.nan], 0)
    with pytest.raises(ValueError, match="spins must have shape"):
        engine(4, 1.0, [2.0], 64).start(np.ones((64, 5, 5), np.int8))
    with pytest.raises(ValueError, match="device must be"):
        engine(4, 1.0, [2.0], 64, device="tpu")
    monkeypatch.setenv("DEEPSPIN_SIMD", "sse9")
    with pytest.raises(ValueError, match="DEEPSPIN_SIMD must be one of auto, scalar, avx2, avx512; got 'sse9'"):
        ms.simd_level()


# ---- CUDA --------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_status()[0], reason=f"CUDA unavailable: {cuda_status()[1]}")
@pytest.mark.parametrize("L", [5, 8])
def test_cuda_equals_cpu_bit_for_bit(L):
    def final(device):
        eng = engine(L, 1.0, [1.7, 2.4, 4.0], 400, seed=3, burn_in=2, interval=2, device=device)
        state = start(eng, series=5)
        eng.advance(state, 12)
        return state

    assert_same_state(final("cuda"), final("cpu"))


# ---- the Monte Carlo core: rule selection, run(), checkpoints, CLI -----------------------------------


@pytest.mark.skipif(cuda_status()[0], reason="checks the CPU crossover; the CUDA one is checked without a GPU below")
def test_auto_chooses_multispin_from_the_cpu_crossover_and_records_it():
    from deepspin.mc import run

    result = run(deepspin.Ising(4), [2.0, 3.0], chains=64, sweeps=20, seed=1)  # 128 chains in all
    assert (result.rule, result.backend) == ("multispin", "cpu")
    assert result.moments.shape == (2, 64, 4)
    assert run(deepspin.Ising(4), [2.0, 3.0], chains=63, sweeps=20).rule == "ising"
    assert run(deepspin.Ising(4), [2.0], chains=64, sweeps=20).rule == "ising"  # below the measured crossover
    assert run(deepspin.Ising(4), [2.0], chains=64, sweeps=20, backend="cpu").rule == "ising"
    assert run(deepspin.ScreenedCoulomb(4), [2.0], chains=64, sweeps=2).rule != "multispin"


def test_auto_on_cuda_keeps_the_per_chain_rule_below_the_h200_crossover(monkeypatch):
    """On the H200 multispin ran 0.31x the per-chain rule at the paper's 400 chains x 50 T, and caught up
    only at 6,400 x 50 (bench/results/gpu-h200-run1/mc.json): auto must not pick it below that."""
    from deepspin.mc.rules import multispin as rule
    from deepspin.mc.state import Ensemble

    monkeypatch.setattr(rule, "compiled_device", lambda op, ens: "cuda")
    paper = Ensemble(temperatures=np.linspace(0.5, 5, 46), chains=400, L=8, seed=0)
    assert rule.auto_device(None, paper) is None
    large = Ensemble(temperatures=np.linspace(0.5, 5, 50), chains=6400, L=8, seed=0)
    assert rule.auto_device(None, large) == "cuda"


def test_run_with_backend_multispin_is_the_engine_from_the_runs_initial_configurations():
    from deepspin.mc import run

    T, chains, L = np.array([1.8, 2.9]), 70, 6
    result = run(deepspin.Ising(L, J=-1.0), T, chains=chains, sweeps=30, burn_in=10, interval=3, seed=12,
                 backend="multispin", timeseries=True)
    assert result.rule == "multispin" and result.start == "random"
    eng = ms.MultispinEngine(L, -1.0, np.repeat(1 / T, chains), 12, burn_in=10, interval=3)
    state = eng.start(initial_configurations(12, 2 * chains, L), series=10)
    eng.advance(state, 40)
    np.testing.assert_array_equal(result.configs.reshape(-1, L, L), eng.spins(state))
    np.testing.assert_array_equal(result.moments.reshape(-1, 4), eng.moments(state))
    np.testing.assert_array_equal(result.accepted.ravel(), state.accepted)
    np.testing.assert_array_equal(result.series_energy.reshape(-1, 10), state.series_energy)
    assert np.isfinite(result.records()[0]["C_per_site"])


def test_backend_multispin_rejects_other_models():
    from deepspin.mc import run

    with pytest.raises(ValueError, match="backend 'multispin' cannot run"):
        run(deepspin.ScreenedCoulomb(4), [2.0], chains=64, sweeps=2, backend="multispin")


@pytest.mark.skipif(cuda_status()[0], reason="CUDA is available here")
def test_multispin_cuda_without_a_gpu_says_why():
    from deepspin.errors import BackendUnavailableError
    from deepspin.mc import run

    with pytest.raises(BackendUnavailableError, match="multispin' on CUDA is unavailable here"):
        run(deepspin.Ising(4), [2.0], chains=64, sweeps=2, backend="multispin-cuda")


KILLED_RUN = """
import sys
import deepspin
from deepspin.mc import run
from deepspin.mc.rules.multispin import MultispinFlip
MultispinFlip.min_chunk_attempts = 0  # about 100 kernel calls, a checkpoint after each
run(deepspin.Ising(8), [2.0, 2.5], chains=128, sweeps=3000, burn_in=200, seed=4, checkpoint=sys.argv[1],
    checkpoint_every=0.0, backend="multispin")
"""


def test_kill_minus_9_then_resume_is_bit_for_bit(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from deepspin.mc import run

    kwargs = dict(chains=128, sweeps=3000, burn_in=200, seed=4, backend="multispin")
    reference = run(deepspin.Ising(8), [2.0, 2.5], **kwargs)
    path = tmp_path / "ckpt.npz"
    child = subprocess.Popen([sys.executable, "-c", KILLED_RUN, str(path)])
    deadline = time.monotonic() + 60
    while not path.exists() and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.05)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL, "the run finished before it was killed"
    from deepspin.mc import checkpoint as ckpt

    assert 0 < int(ckpt.load(path)[1]["sweeps_done"]) < 3200  # killed part-way, after a checkpoint
    resumed = run(deepspin.Ising(8), [2.0, 2.5], checkpoint=path, **kwargs)
    for name in ("configs", "moments", "accepted"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)


def test_cli_backend_multispin(tmp_path, capsys):
    from deepspin.cli import main

    out = tmp_path / "run.json"
    assert main(["mc", "--hamiltonian", "ising", "--L", "8", "--T", "2.3", "--chains", "64", "--sweeps", "400",
                 "--backend", "multispin", "-o", str(out), "--no-progress"]) == 0
    assert "multispin rule on" in capsys.readouterr().err
    record = __import__("json").loads(out.read_text())[0]
    exact = ising_torus(8, [2.3])
    assert abs(record["E_per_site"] - exact["E_per_site"][0]) < 4 * record["E_per_site_err"]
