"""The Falicov-Kimball effective energy E(s; T) against closed forms and an independent determinant formula."""
import json
import warnings

import numpy as np
import pytest
import scipy.linalg

import deepspin
from deepspin import FalicovKimball
from deepspin.cli import main
from deepspin.errors import BackendUnavailableError, LongComputationWarning
from tests.conftest import AVAILABLE, HAS_GPU, random_spins


def free_fermion_energy(L, t, T):
    """U = 0: -T sum_k log(1 + exp(-eps_k / T)), eps(k) = -2t (cos kx + cos ky), k = 2 pi n / L (mu = mu_f = 0)."""
    k = 2 * np.pi * np.arange(L) / L
    eps = -2 * t * (np.cos(k)[:, None] + np.cos(k)[None, :])
    return -T * np.sum(np.log1p(np.exp(-eps / T)))


def determinant_energy(spins, U, t, T):
    """-T log det(1 + expm(-(H_f - mu)/T)) - mu_f sum w, with H_f built site by site (four neighbours each).

    With ``A = -(H_f - mu)/T``, ``1 + e^A = e^(A/2) (e^(-A/2) + e^(A/2))``, so
    ``log det(1 + e^A) = tr(A)/2 + log det(expm(A/2) + expm(-A/2))``: the second matrix has eigenvalues
    ``>= 2``, so the small ones are not lost to expm's absolute rounding at low T.
    """
    L = spins.shape[0]
    N = L * L
    H = np.zeros((N, N))
    for r in range(L):
        for c in range(L):
            i = r * L + c
            H[i, i] = U * (1 + spins[r, c]) / 2
            for dr, dc in ((1, 0), (-1, 0), (0, 1), (0, -1)):
                H[i, ((r + dr) % L) * L + (c + dc) % L] -= t  # at L = 2 both neighbours of a direction coincide
    mu = U / 2
    A = -(H - mu * np.eye(N)) / T
    sign, logdet = np.linalg.slogdet(scipy.linalg.expm(A / 2) + scipy.linalg.expm(-A / 2))
    assert sign > 0
    return -T * (np.trace(A) / 2 + logdet) - mu * (1 + spins).sum() / 2


@pytest.mark.parametrize("L", [2, 3, 4, 5])
@pytest.mark.parametrize("T", [0.1, 0.7])
def test_free_fermions_at_u_zero(rng, L, T):
    spins = random_spins(rng, 6, L)
    energies = FalicovKimball(L, U=0.0, t=1.3).energy(spins, T=T)
    np.testing.assert_allclose(energies, free_fermion_energy(L, 1.3, T), rtol=1e-12)


@pytest.mark.parametrize("T", [0.05, 0.5, 20.0])
def test_atomic_limit_is_the_same_for_every_configuration(rng, T):
    """t = 0: every site gives -U/2 - T log(1 + exp(-U/(2T))), occupied or empty."""
    U, L = 4.0, 4
    spins = random_spins(rng, 5, L)
    per_site = -U / 2 - T * np.log1p(np.exp(-U / (2 * T)))
    np.testing.assert_allclose(FalicovKimball(L, U=U, t=0.0).energy(spins, T=T), L * L * per_site, rtol=1e-13)


@pytest.mark.parametrize("L", [2, 3])
@pytest.mark.parametrize("U,t,T", [(4.0, 1.0, 0.5), (4.0, 1.0, 0.15), (2.5, 0.7, 1.0)])
def test_against_the_determinant_formula(rng, L, U, t, T):
    spins = random_spins(rng, 4, L)
    expected = [determinant_energy(s, U, t, T) for s in spins]
    np.testing.assert_allclose(FalicovKimball(L, U=U, t=t).energy(spins, T=T), expected, rtol=1e-10)


def test_two_by_two_has_double_bonds():
    H = FalicovKimball(2, U=4.0, t=1.0).fermion_matrix(np.array([[1, -1], [-1, 1]]))
    np.testing.assert_array_equal(H, [[4, -2, -2, 0], [-2, 0, 0, -2], [-2, 0, 0, -2], [0, -2, -2, 4]])


@pytest.mark.parametrize("L", [4, 6])
def test_particle_hole_symmetry_and_the_trap_without_mu_f(rng, L):
    H = FalicovKimball(L, U=4.0)
    spins = random_spins(rng, 8, L)
    T = 0.15
    np.testing.assert_allclose(H.energy(spins, T=T), H.energy(-spins, T=T), rtol=1e-12)
    difference = H.free_energy(spins, T=T) - H.free_energy(-spins, T=T)
    np.testing.assert_allclose(difference, 2.0 * spins.sum(axis=(1, 2)), atol=1e-9)
    assert np.ptp(spins.sum(axis=(1, 2))) > 0  # the test can fail: the free energies alone differ


def test_per_configuration_temperatures_equal_scalar_calls(rng):
    H = FalicovKimball(4)
    spins = random_spins(rng, 3, 4)
    T = np.array([0.1, 0.2, 0.3])
    np.testing.assert_array_equal(H.energy(spins, T=T), [H.energy(s, T=x) for s, x in zip(spins, T)])
    assert isinstance(H.energy(spins[0], T=0.2), float)
    assert H.energy(np.zeros((0, 4, 4), np.int8), T=0.2).shape == (0,)


def test_backends_agree(rng, backend):
    H = FalicovKimball(4)
    spins = random_spins(rng, 20, 4)
    if backend not in AVAILABLE and backend in ("cuda", "cupy"):
        pytest.skip(f"backend {backend} unavailable")
    np.testing.assert_allclose(H.energy(spins, T=0.2, backend=backend), H.energy(spins, T=0.2, backend="numpy"),
                               rtol=1e-12)


@pytest.mark.skipif(HAS_GPU, reason="a GPU is present here")
def test_gpu_backend_without_gpu_says_why():
    with pytest.raises(BackendUnavailableError, match="cupy.linalg.eigvalsh"):
        FalicovKimball(4).energy(np.ones((4, 4)), T=0.2, backend="cupy")


@pytest.mark.parametrize("call,message", [
    (lambda H, s: H.energy(s), "depends on the temperature: pass T"),
    (lambda H, s: H.energy(s, T=0.0), r"T must be finite and > 0.*T=0.0"),
    (lambda H, s: H.energy(s, T=-1.0), "T must be finite and > 0"),
    (lambda H, s: H.energy(s, T=np.nan), "T must be finite and > 0"),
    (lambda H, s: H.energy(s, T=[0.1, 0.2]), r"one temperature per configuration, shape \(3,\)"),
    (lambda H, s: H.energy(s, T="hot"), "T must be a real number"),
    (lambda H, s: H.energy(np.zeros((3, 4, 4)), T=0.1), r"spins must be exactly \+1 or -1"),
    (lambda H, s: H.energy(np.ones((3, 5, 5)), T=0.1), "this Hamiltonian has L=4"),
    (lambda H, s: H.energy(s, T=0.1, backend="gpu"), "backend must be one of"),
])
def test_validation(rng, call, message):
    with pytest.raises(ValueError, match=message):
        call(FalicovKimball(4), random_spins(rng, 3, 4))


def test_bad_parameters():
    with pytest.raises(ValueError, match="U must be a finite real"):
        FalicovKimball(4, U=float("nan"))
    with pytest.raises(ValueError, match="L must be an integer >= 2"):
        FalicovKimball(1)
    with pytest.raises(ValueError, match="unexpected parameters"):
        deepspin.hamiltonian("falicov-kimball", 4, J=1.0)


def test_registry_equality_and_refusals(monkeypatch):
    H = deepspin.hamiltonian("falicov-kimball", 4, U=3.0, t=0.5)
    assert H == FalicovKimball(4, U=3.0, t=0.5) != FalicovKimball(4)
    assert H.thermal and H.mu == 1.5
    with pytest.raises(ValueError, match="needs about .* GiB"):
        FalicovKimball(160).energy(np.ones((160, 160), np.int8), T=0.1)
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongComputationWarning)  # fires before any eigenvalue problem
        with pytest.raises(LongComputationWarning, match="predicted to take about"):
            FalicovKimball(64).energy(np.ones((1000, 64, 64), np.int8), T=0.1, backend="numpy")


def test_staggered_magnetization():
    checker = np.where(np.add.outer(np.arange(4), np.arange(4)) % 2, -1, 1)
    batch = np.stack([checker, -checker, np.ones((4, 4), int)])
    np.testing.assert_array_equal(deepspin.staggered_magnetization(batch), [1.0, -1.0, 0.0])
    one_flip = checker.copy()
    one_flip[2, 1] *= -1
    assert deepspin.staggered_magnetization(one_flip) == pytest.approx(14 / 16)
    with pytest.raises(ValueError, match="even L"):
        deepspin.staggered_magnetization(np.ones((3, 3)))
    assert FalicovKimball(3).order_parameter is None


def test_checkerboard_is_the_ground_state_at_low_t(rng):
    H = FalicovKimball(4)
    checker = np.where(np.add.outer(np.arange(4), np.arange(4)) % 2, -1, 1)
    assert H.energy(checker, T=0.05) < H.energy(random_spins(rng, 50, 4), T=0.05).min()


def test_monte_carlo_matches_enumeration():
    """Batch-rule Metropolis with exp(-E(s;T)/T) against the exact sums over all 2^16 configurations of L = 4."""
    H, T = FalicovKimball(4), 0.2
    configs = deepspin.enumeration.configurations(4)
    energies = H.energy(configs, T=T)
    weights = np.exp(-(energies - energies.min()) / T)
    weights /= weights.sum()
    exact_e = weights @ energies / 16
    exact_ms = weights @ np.abs(deepspin.staggered_magnetization(configs))
    result = deepspin.mc.run(H, [T], chains=32, sweeps=150, seed=3)
    record = result.records()[0]
    assert result.rule == "batch"
    assert abs(record["E_per_site"] - exact_e) < 5 * record["E_per_site_err"] + 1e-4
    assert abs(record["absm"] - exact_ms) < 5 * record["absm_err"] + 1e-3
    assert deepspin.mc.exact_reference(H) is None


def test_cli_energy_and_mc(tmp_path, rng, capsys):
    spins = random_spins(rng, 3, 4)
    np.save(tmp_path / "c.npy", spins)
    out = tmp_path / "e.npy"
    assert main(["energy", "--hamiltonian", "falicov-kimball", "--L", "4", "--U", "3", "--t", "0.5", "--T", "0.4",
                 str(tmp_path / "c.npy"), "-o", str(out)]) == 0
    np.testing.assert_allclose(np.load(out), [determinant_energy(s, 3.0, 0.5, 0.4) for s in spins], rtol=1e-10)
    assert main(["energy", "--hamiltonian", "falicov-kimball", "--L", "4", str(tmp_path / "c.npy")]) == 2
    assert "pass --T" in capsys.readouterr().err
    assert main(["energy", "--hamiltonian", "ising", "--L", "4", "--U", "2", str(tmp_path / "c.npy")]) == 2
    assert "--U applies to the falicov-kimball model only" in capsys.readouterr().err
    json_path = tmp_path / "fk.json"
    assert main(["mc", "--hamiltonian", "falicov-kimball", "--L", "4", "--T", "0.1:0.3:0.1", "--chains", "4",
                 "--sweeps", "10", "--no-progress", "-o", str(json_path)]) == 0
    records = json.loads(json_path.read_text())
    assert [r["T"] for r in records] == pytest.approx([0.1, 0.2, 0.3])
    assert all(0 <= r["absm"] <= 1 and np.isfinite(r["E_per_site"]) for r in records)


def test_thermal_sampler_labels_at_the_sampling_temperature():
    H = FalicovKimball(2)
    samples = deepspin.sampling.thermal(H, [0.15, 0.5], chains=2, samples=3, burn_in=2, thin=1, seed=0)
    expected = [determinant_energy(s, 4.0, 1.0, T) for s, T in zip(samples.spins, samples.extras["temperature"])]
    np.testing.assert_allclose(samples.energy, expected, rtol=1e-10)
    with pytest.raises(ValueError, match="only the thermal sampler"):
        deepspin.sampling.uniform(H, 4, seed=0)


def test_cli_generate_labels_thermal_samples_and_refuses_other_samplers(tmp_path, capsys):
    out = tmp_path / "fk.h5"
    assert main(["generate", "--hamiltonian", "falicov-kimball", "--L", "2", "--U", "3", "--sampler", "thermal",
                 "--temperatures", "0.15,0.4", "--chains", "2", "--samples", "3", "--burn-in", "2", "--thin", "1",
                 "--seed", "1", "--quiet", "-o", str(out)]) == 0
    data = deepspin.datasets.load(out, split="all")
    expected = [determinant_energy(s, 3.0, 1.0, T) for s, T in zip(data["spins"], data["temperature"])]
    np.testing.assert_allclose(data["energy"], expected, rtol=1e-10)
    assert data["meta"]["sampler_params"]["temperatures"] == [0.15, 0.4]
    assert main(["generate", "--hamiltonian", "falicov-kimball", "--L", "2", "--sampler", "uniform", "--n", "4",
                 "--seed", "1", "-o", str(tmp_path / "u.h5")]) == 2
    assert "use --sampler thermal" in capsys.readouterr().err


def test_the_ordered_start_is_the_checkerboard():
    """start='ordered' begins every chain in the heavy particles' ordered phase, |m_s| = 1 (not all +1, the
    filled lattice, which the chemical potential disfavours)."""
    from deepspin.mc import init

    H = deepspin.FalicovKimball(4)
    state = init(H, [0.1], chains=3, start="ordered", backend="generic")
    assert np.all(np.abs(deepspin.staggered_magnetization(state.spins)) == 1)
    assert np.all(state.spins.sum(axis=(1, 2)) == 0)
    filled = np.ones((1, 4, 4), np.int8)
    assert H.energy(state.spins[:1], 0.1)[0] < H.energy(filled, 0.1)[0]
