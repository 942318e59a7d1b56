"""Bad input gets a ValueError naming the problem (SPEC section 1); empty batches are valid."""
import numpy as np
import pytest

import deepspin
from deepspin.errors import BackendUnavailableError


@pytest.mark.parametrize("configs,match", [
    (np.zeros((4, 4)), r"exactly \+1 or -1; found 0.0 at index \(0, 0, 0\)"),
    (np.array([[[1, 1], [1, 2]]] * 1 + [[[1, 1], [1, 1]]]), r"found 2 at index \(0, 1, 1\)"),
    (np.ones((4, 4), bool), "bool array"),
    (np.ones(16), r"\(L, L\) configuration or a \(B, L, L\) batch"),
    (np.ones((2, 4, 5)), "square"),
    (np.ones((2, 8, 8)), "L=4, got configurations with L=8"),
    (np.array([[1, 1], [np.nan, 1]]), "found nan at index"),
    (np.array(["a"]), "numeric array"),
])
def test_bad_spins(configs, match):
    with pytest.raises(ValueError, match=match):
        deepspin.Ising(configs.shape[-1] if configs.ndim >= 2 and configs.shape[-1] == configs.shape[-2]
                       and configs.shape[-1] != 8 else 4).energy(configs)


def test_first_offending_index_in_a_later_chunk(backend):
    spins = np.ones((5, 4, 4), np.int8)
    spins[3, 2, 1] = 0
    with pytest.raises(ValueError, match=r"index \(3, 2, 1\)"):
        deepspin.ScreenedCoulomb(4).energy(spins, backend=backend)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["int8", "float32"])
def test_device_arrays_report_first_offending_index(dtype):
    """CuPy input is scanned on the device (one kernel for int8, chunked elementwise otherwise); the
    first bad value in flat order is reported, whichever of several bad values a thread meets first."""
    cupy = pytest.importorskip("cupy")
    spins = np.ones((300_000, 4, 4), dtype)
    spins[123_456, 1, 3] = 3
    spins[200_000, 0, 0] = 0
    spins[250_000:] = 2
    with pytest.raises(ValueError, match=r"found 3.* at index \(123456, 1, 3\)"):
        deepspin.Ising(4).energy(cupy.asarray(spins))
    good = np.where(np.arange(4 * 300_000 * 4).reshape(-1, 4, 4) % 3 == 0, -1, 1).astype(dtype)
    np.testing.assert_array_equal(cupy.asnumpy(deepspin.Ising(4).energy(cupy.asarray(good))),
                                  deepspin.Ising(4).energy(good, backend="numpy"))


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_bad_angles(value):
    theta = np.zeros((2, 3, 3))
    theta[1, 0, 2] = value
    with pytest.raises(ValueError, match=r"angles must be finite; found .* at index \(1, 0, 2\)"):
        deepspin.PlanarPotts(3).energy(theta)


def test_empty_batch(backend):
    for H in (deepspin.Ising(4), deepspin.ScreenedCoulomb(4), deepspin.PlanarPotts(4)):
        out = H.energy(np.zeros((0, 4, 4), np.int8 if H.spin_kind == "ising" else float), backend=backend)
        assert out.shape == (0,) and out.dtype == np.float64


def test_accepts_other_dtypes_and_noncontiguous(rng):
    spins = rng.choice([-1, 1], size=(10, 6, 6))
    H = deepspin.ScreenedCoulomb(6)
    reference = H.energy(spins.astype(np.int8))
    np.testing.assert_allclose(H.energy(spins.astype(np.float32)), reference, rtol=1e-12)
    np.testing.assert_allclose(H.energy(np.asfortranarray(spins)), reference, rtol=1e-12)
    np.testing.assert_allclose(H.energy(spins.tolist()), reference, rtol=1e-12)


def test_single_configuration_returns_float():
    e = deepspin.Ising(4).energy(np.ones((4, 4)))
    assert isinstance(e, float) and e == -32.0


@pytest.mark.parametrize("kwargs,error,match", [
    ({"backend": "tpu"}, ValueError, "backend must be 'auto' or one of"),
    ({"method": "fourier"}, ValueError, "method must be one of"),
    ({"precision": "float16"}, ValueError, "precision must be one of"),
])
def test_bad_call_options(kwargs, error, match):
    with pytest.raises(error, match=match):
        deepspin.ScreenedCoulomb(4).energy(np.ones((4, 4)), **kwargs)


def test_method_rejected_for_single_method_models():
    with pytest.raises(ValueError, match="single exact method"):
        deepspin.Ising(4).energy(np.ones((4, 4)), method="kernel")


def test_unavailable_backend_says_why():
    unavailable = [name for name, (ok, _) in deepspin.backends().items() if not ok]
    if not unavailable:
        pytest.skip("every backend is available here")
    with pytest.raises(BackendUnavailableError, match="unavailable here: .+"):
        deepspin.Ising(4).energy(np.ones((4, 4)), backend=unavailable[0])


def test_bad_thread_count(monkeypatch):
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "many")
    with pytest.raises(ValueError, match="DEEPSPIN_NUM_THREADS"):
        deepspin.Ising(4).energy(np.ones((4, 4)), backend="cpu")


def test_thread_count_does_not_change_numbers(monkeypatch, rng):
    spins = rng.choice(np.array([-1, 1], np.int8), size=(64, 8, 8))
    H = deepspin.ScreenedCoulomb(8)
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "1")
    one = H.energy(spins, backend="cpu")
    monkeypatch.setenv("DEEPSPIN_NUM_THREADS", "2")
    np.testing.assert_array_equal(H.energy(spins, backend="cpu"), one)


def test_magnetization():
    s = np.ones((2, 4, 4), np.int8)
    s[1, :2] = -1
    np.testing.assert_array_equal(deepspin.magnetization(s), [1.0, 0.0])
    assert deepspin.magnetization(-np.ones((3, 3))) == -1.0
