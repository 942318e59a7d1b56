"""Planar Potts Metropolis (compiled angle moves): exact limits, quadrature on 2 x 2, the NumPy twin,
bookkeeping, resume, and CPU = CUDA bit for bit."""
import numpy as np
import pytest

import deepspin
from deepspin.backends.compiled import cuda_status
from deepspin.mc import run

from test_mc import assert_same_statistics, assert_within_errors, run_interrupted


def test_high_temperature_limit():
    """T -> infinity: angles uniform on [0, pi), <cos(t_a - t_b)> = <cos>^2 + <sin>^2 = (2/pi)^2 per bond,
    two bonds per site, so <E>/N -> 2 (2/pi)^2 J; <|m|> = |<exp(i t)>| -> 2/pi (up to O(1/N))."""
    H = deepspin.PlanarPotts(8, J=1.5)
    result = run(H, [1e5], chains=64, sweeps=300, burn_in=20, seed=3)
    assert result.rule == "potts" and result.backend in ("cpu", "cuda")
    obs = result.observables()
    limit = 2 * (2 / np.pi) ** 2 * H.J
    assert abs(obs["E_per_site"][0] - limit) < 4 * obs["E_per_site_err"][0], (obs["E_per_site"], limit)
    assert abs(obs["absm"][0] - 2 / np.pi) < 0.02
    assert result.acceptance[0] > 0.99
    assert result.configs.min() >= 0.0 and result.configs.max() < np.pi


def quadrature_2x2(H, temperatures, nodes=24):
    """<E>/N, C/N and <|m|> of the 2 x 2 torus by Gauss-Legendre quadrature over the four angles on [0, pi)."""
    x, w = np.polynomial.legendre.leggauss(nodes)
    theta, weight = (x + 1) * np.pi / 2, w * np.pi / 2
    grid = np.stack(np.meshgrid(*[theta] * 4, indexing="ij"), axis=-1).reshape(-1, 2, 2)
    weights = np.prod(np.stack(np.meshgrid(*[weight] * 4, indexing="ij"), axis=-1).reshape(-1, 4), axis=1)
    E = H.energy(grid, backend="numpy")
    absm = np.abs(np.exp(1j * grid.reshape(-1, 4)).mean(axis=1))
    out = {"E_per_site": [], "C_per_site": [], "absm": []}
    for T in temperatures:
        p = weights * np.exp(-(E - E.min()) / T)
        p /= p.sum()
        mean, second = p @ E, p @ E**2
        out["E_per_site"].append(mean / 4)
        out["C_per_site"].append((second - mean**2) / (4 * T**2))
        out["absm"].append(p @ absm)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("J", [1.0, -1.0])
def test_2x2_matches_quadrature(J):
    H = deepspin.PlanarPotts(2, J=J)
    T = [0.4, 1.0, 3.0]
    result = run(H, T, chains=200, sweeps=2000, seed=11)
    assert_within_errors(result, quadrature_2x2(H, T), ("E_per_site", "C_per_site", "absm"))


def test_numpy_angle_rule_takes_the_same_moves():
    """The batch rule with the exact Potts energy draws the compiled rule's numbers: the same chains
    (rounding of dE can, rarely, flip a decision, so most chains must agree exactly)."""
    H = deepspin.PlanarPotts(4)
    kwargs = dict(chains=6, sweeps=15, burn_in=3, seed=5, timeseries=True)
    compiled = run(H, [0.5, 2.0], backend="cpu", **kwargs)
    numpy_rule = run(H, [0.5, 2.0], backend="generic", **kwargs)
    assert numpy_rule.rule == "batch"
    same = np.all(compiled.configs == numpy_rule.configs, axis=(2, 3))
    assert same.mean() > 0.9
    np.testing.assert_allclose(numpy_rule.moments[same], compiled.moments[same], rtol=1e-10)
    np.testing.assert_array_equal(numpy_rule.accepted[same], compiled.accepted[same])


def test_numpy_angle_rule_matches_compiled_statistics():
    """Two independent seeds, the NumPy rule against the compiled one, on 3 x 3 at two temperatures."""
    H = deepspin.PlanarPotts(3)
    T = [0.5, 2.0]
    compiled = run(H, T, chains=60, sweeps=300, seed=1, backend="cpu").observables()
    numpy_rule = run(H, T, chains=60, sweeps=300, seed=2, backend="generic").observables()
    assert_same_statistics(compiled, numpy_rule)


def test_recorded_energy_and_magnetization_are_the_configurations():
    H = deepspin.PlanarPotts(5, J=-0.7)
    result = run(H, [0.3, 1.0], chains=8, sweeps=40, burn_in=0, seed=2, timeseries=True, start="random")
    configs = result.configs.reshape(-1, 5, 5)
    np.testing.assert_allclose(result.series_energy[..., -1].ravel(), H.energy(configs, backend="numpy"),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(result.series_magnet[..., -1].ravel(),
                               np.abs(np.exp(1j * configs.reshape(len(configs), -1)).mean(axis=1)), rtol=1e-12)
    assert np.all(result.acceptance > 0)


def test_reproducible_by_seed_and_thread_count(monkeypatch):
    H = deepspin.PlanarPotts(4)
    kwargs = dict(chains=20, sweeps=30, seed=7, backend="cpu")
    first = run(H, [0.5, 2.0], **kwargs)
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")
    one_thread = run(H, [0.5, 2.0], **kwargs)
    other_seed = run(H, [0.5, 2.0], **{**kwargs, "seed": 8})
    np.testing.assert_array_equal(first.configs, one_thread.configs)
    np.testing.assert_array_equal(first.moments, one_thread.moments)
    assert not np.array_equal(first.configs, other_seed.configs)


def test_ordered_start_for_the_ferromagnet():
    """start='auto' is ordered (all angles 0) for J < 0; at low T the chains stay near it."""
    result = run(deepspin.PlanarPotts(4, J=-1.0), [0.05], chains=4, sweeps=50, seed=1)
    assert result.start == "ordered"
    assert result.observables()["absm"][0] > 0.95


def test_potts_checkpoint_resume_is_bit_for_bit(tmp_path, monkeypatch):
    from deepspin.mc.rules import CompiledRule

    H = deepspin.PlanarPotts(4)
    kwargs = dict(chains=6, sweeps=40, burn_in=5, interval=2, seed=4, timeseries=True)
    reference = run(H, [0.7, 2.0], **kwargs)
    path = tmp_path / "potts.ckpt.npz"
    monkeypatch.setattr(CompiledRule, "min_chunk_attempts", 0)
    run_interrupted(monkeypatch, lambda: run(H, [0.7, 2.0], checkpoint=path, checkpoint_every=0.0, **kwargs))
    resumed = run(H, [0.7, 2.0], checkpoint=path, **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(resumed, name), getattr(reference, name), err_msg=name)


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_status()[0], reason="our CUDA kernels cannot run here")
def test_cuda_potts_equals_cpu_bit_for_bit():
    """Same streams and the same floating-point operations (det_exp, det_cos, no FMA contraction)."""
    H = deepspin.PlanarPotts(8)
    kwargs = dict(chains=64, sweeps=100, burn_in=10, seed=17, timeseries=True)
    cpu = run(H, [0.3, 1.0, 3.0], backend="cpu", **kwargs)
    gpu = run(H, [0.3, 1.0, 3.0], backend="cuda", **kwargs)
    for name in ("moments", "accepted", "configs", "series_energy", "series_magnet"):
        np.testing.assert_array_equal(getattr(gpu, name), getattr(cpu, name), err_msg=name)
