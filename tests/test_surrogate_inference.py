"""The fast inference path (surrogate/inference.py) against the float32 Keras model, and its input checks."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import importlib.util  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras", reason="the surrogate extra (keras + tensorflow) is not installed")

import deepspin  # noqa: E402
from deepspin.surrogate import build_extensive, load, model_io  # noqa: E402
from deepspin.surrogate.inference import Predictor, lower_extensive, lowered_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
HAS_ORT = all(importlib.util.find_spec(m) for m in ("onnxruntime", "onnx"))
RUNTIMES = ["keras", pytest.param("onnxruntime",
                                   marks=pytest.mark.skipif(not HAS_ORT, reason="onnxruntime not installed"))]


def spins(n, L, seed=0):
    return np.random.default_rng(seed).choice(np.array([-1, 1], np.int8), size=(n, L, L))


def random_extensive(seed=0):
    """An extensive network with two stacked convolutions (one dilated) and random weights."""
    keras.utils.set_random_seed(seed)
    model = build_extensive(convs=((3, 3, 1), (3, 2, 2)), head=(4, 3))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.3, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def keras_reference(model, x):
    """Keras' own predict, in float32 (under JAX, XLA's GPU default would use TF32 tensor cores)."""
    if keras.backend.backend() == "jax":
        import jax

        with jax.default_matmul_precision("float32"):
            return np.asarray(model.predict(x.astype(np.float32), batch_size=1024, verbose=0))
    return np.asarray(model.predict(x.astype(np.float32), batch_size=1024, verbose=0))


def numpy_lowered(model, x):
    """An extensive model's energies in float64 NumPy from its lowered matrices (no Keras, no backend)."""
    from deepspin.surrogate.inference import lowered_stages

    L = x.shape[1]
    stages = lowered_stages(model, L)
    activations = {"relu": lambda v: np.maximum(v, 0), "linear": lambda v: v}
    s = x.reshape(len(x), L * L).astype(np.float64)
    h = s
    for matrix, bias, activation in stages["convs"]:
        h = activations[activation](h @ matrix.astype(np.float64) + bias)
    h = h.reshape(len(x), L * L, -1)
    for kernel, bias, activation in stages["head"]:
        h = activations[activation](h @ kernel.astype(np.float64) + bias)
    phi = s @ stages["pair"].astype(np.float64) + h[..., 0]
    return (s * phi).sum(axis=1)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("L", [5, 8, 16])
def test_lowered_extensive_model_equals_the_convolutional_one(runtime, L):
    """Dense lowering on the torus (wrapped taps summed) gives the convolutional network's energies."""
    model = random_extensive()
    x = spins(300, L, seed=L)
    predictor = Predictor(model, batch_size=64, runtime=runtime)
    assert predictor.lowered(L) and predictor.runtime_for(L) == runtime
    np.testing.assert_allclose(predictor(x), keras_reference(model, x), rtol=2e-5, atol=2e-4)


def test_unlowered_and_large_lattices_run_the_convolutions():
    model = random_extensive(1)
    x = spins(20, 17, seed=3)  # 289 sites: beyond MAX_LOWERED_SITES
    predictor = Predictor(model, runtime="auto")
    assert not predictor.lowered(17) and predictor.runtime_for(17) == "keras"
    np.testing.assert_allclose(predictor(x), keras_reference(model, x), rtol=2e-5, atol=2e-4)


def test_lowered_pair_layer_of_the_ising_kernel_gives_exact_ising_energies():
    """Pair weights -1 on the right and lower neighbours, nothing else: E = -sum s_i (s_right + s_down)."""
    model = build_extensive(convs=((3, 1, 1),), head=(1,))
    pair = np.zeros((3, 3, 1, 1), np.float32)
    pair[1, 2, 0, 0] = pair[2, 1, 0, 0] = -1.0
    model.get_layer("pair").set_weights([pair])
    x = spins(500, 6, seed=4)
    expected = deepspin.Ising(6).energy(x)
    for runtime in ("keras", "onnxruntime") if HAS_ORT else ("keras",):
        np.testing.assert_array_equal(Predictor(model, runtime=runtime)(x)[:, 0], expected)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", ["screened_coulomb_L8", "screened_coulomb_fast", "screened_coulomb_extensive"])
def test_shipped_models_fast_path_matches_keras(name, runtime):
    if runtime == "onnxruntime" and name == "screened_coulomb_L8" and keras.backend.backend() != "tensorflow":
        pytest.skip("the paper CNN reaches ONNX Runtime through Keras' tf2onnx export: TensorFlow backend only")
    model, _ = model_io.load(MODELS / f"{name}.keras")
    x = spins(2000, 8, seed=5)
    op = load(MODELS / f"{name}.keras", batch_size=512, runtime=runtime)
    np.testing.assert_allclose(op.energy(x), keras_reference(model, x)[:, 0], rtol=1e-5, atol=1e-4)


def test_no_retracing_between_calls_of_any_batch_size():
    """TensorFlow: one graph for every batch size; JAX: one per power of two that a chunk is padded to."""
    op = load(MODELS / "screened_coulomb_fast.keras", batch_size=256, runtime="keras")
    batches = (1, 3, 256, 1000, 7, 0)
    for batch in batches:
        assert op.energy(spins(batch, 8, seed=batch)).shape == (batch,)
    if keras.backend.backend() == "jax":
        chunks = {min(256, b - start) for b in batches for start in range(0, b, 256)}
        assert op.predictor.traces == len({1 << (c - 1).bit_length() for c in chunks}) == 4  # 1, 4, 8, 256
    else:
        assert op.predictor.traces == 1


def test_fast_path_is_float32_on_every_device():
    """The lowered fast model against its own matrices in float64 NumPy: float32 round-off only. (XLA's TF32
    default on a GPU moved these energies by up to 6e-4 relative, far beyond this tolerance.)"""
    model, _ = model_io.load(MODELS / "screened_coulomb_fast.keras")
    x = spins(3000, 8, seed=14)
    np.testing.assert_allclose(Predictor(model, runtime="keras")(x)[:, 0], numpy_lowered(model, x), rtol=2e-6,
                               atol=2e-5)


def test_onnx_runtime_without_tensorflow_is_a_clear_error():
    if keras.backend.backend() == "tensorflow":
        pytest.skip("under TensorFlow Keras exports the paper CNN to ONNX")
    model, _ = model_io.load(MODELS / "screened_coulomb_L8.keras")
    with pytest.raises(ValueError, match="needs Keras' ONNX export .* KERAS_BACKEND=tensorflow"):
        Predictor(model, runtime="onnxruntime")(spins(2, 8))


def test_spin_dtypes_give_the_same_energies():
    op = load(MODELS / "screened_coulomb_fast.keras")
    x = spins(64, 8, seed=6)
    expected = op.energy(x)
    for dtype in (np.int64, np.float32, np.float64, np.int16):
        np.testing.assert_array_equal(op.energy(x.astype(dtype)), expected)
    # One configuration against a batch of one (a GPU may sum in another order for another batch size).
    assert op.energy(x[0].astype(np.float64)) == op.energy(x[:1])[0]


@pytest.mark.parametrize("name", ["screened_coulomb_L8", "screened_coulomb_fast", "ising_extensive"])
def test_float_spins_that_are_not_plus_minus_one_are_rejected(name):
    """SPEC section 1 (issue 16 item 4): 2.0 used to be read as Potts angles (476.5 J)."""
    op = load(MODELS / f"{name}.keras")
    L = op.L or 8
    with pytest.raises(ValueError, match=r"exactly \+1 or -1; found 2\.0 at index \(0, 0, 0\)"):
        op.energy(np.full((1, L, L), 2.0))
    bad = np.ones((3, L, L))
    bad[2, 3, 4] = 0.5
    with pytest.raises(ValueError, match=r"found 0\.5 at index \(2, 3, 4\)"):
        op.energy(bad)
    bad[2, 3, 4] = np.nan
    with pytest.raises(ValueError, match=r"found nan at index \(2, 3, 4\)"):
        op.energy(bad)


def test_site_energies_reject_non_spins_too():
    op = load(MODELS / "screened_coulomb_extensive.keras")
    bad = np.ones((2, 8, 8))
    bad[0, 1, 1] = 3.0
    with pytest.raises(ValueError, match=r"found 3\.0 at index \(0, 1, 1\)"):
        op.site_energies(bad)


def test_bad_runtime_and_precision_arguments_are_clear():
    model, _ = model_io.load(MODELS / "screened_coulomb_fast.keras")
    with pytest.raises(ValueError, match="runtime must be one of"):
        Predictor(model, runtime="tensorrt")
    with pytest.raises(ValueError, match="precision must be one of"):
        Predictor(model, precision="int4")
    with pytest.raises(ValueError, match="runs on the Keras runtime only"):
        Predictor(model, runtime="onnxruntime", precision="bfloat16")
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        Predictor(model, batch_size=0)


def test_bfloat16_is_refused_where_it_costs_more_than_one_percent():
    """The paper CNN's median error rises by several percent in bf16 (measured here against exact energies)."""
    path = MODELS / "screened_coulomb_L8.keras"
    model, _ = model_io.load(path)
    x = spins(4096, 8, seed=0)
    exact = deepspin.ScreenedCoulomb(8).energy(x)
    full = np.median(np.abs(Predictor(model, runtime="keras")(x)[:, 0] - exact))
    reduced = np.median(np.abs(Predictor(model, runtime="keras", precision="bfloat16")(x)[:, 0] - exact))
    assert reduced > 1.01 * full  # what the operator's check must catch
    with pytest.raises(ValueError, match=r"raises this model's median \|error\| from .* more than 1 %"):
        load(path, runtime="keras", precision="bfloat16")


def test_bfloat16_is_accepted_where_the_error_does_not_grow():
    """An exactly representable model (the Ising pair kernel) keeps its median error in bf16."""
    model = build_extensive(convs=((3, 1, 1),), head=(1,))
    pair = np.zeros((3, 3, 1, 1), np.float32)
    pair[1, 2, 0, 0] = pair[2, 1, 0, 0] = -1.0
    model.get_layer("pair").set_weights([pair])
    from deepspin.surrogate.operator import operator

    op = operator(model, {"target": "energy", "hamiltonian": "ising", "L": 8, "params": {}}, runtime="keras",
                  precision="bfloat16")
    assert op.precision_check["reduced_median_abs_error"] <= 1.01 * op.precision_check["float32_median_abs_error"]
    x = spins(100, 8, seed=9)
    np.testing.assert_array_equal(op.energy(x), deepspin.Ising(8).energy(x))


@pytest.mark.skipif(not HAS_ORT, reason="onnxruntime not installed")
def test_lowered_onnx_graph_runs_in_onnx_runtime_on_int8():
    import onnxruntime

    model, _ = model_io.load(MODELS / "screened_coulomb_fast.keras")
    session = onnxruntime.InferenceSession(lowered_onnx(model, 8), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].type == "tensor(int8)"
    x = spins(100, 8, seed=10)
    np.testing.assert_allclose(session.run(None, {"spins": x})[0], keras_reference(model, x), rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(np.asarray(lower_extensive(model, 8).predict_on_batch(x)), keras_reference(model, x),
                               rtol=1e-5, atol=1e-4)


def _pythonpath() -> str:
    """The checkout's python/ first, then the caller's PYTHONPATH (where the GPU machine's carried Keras lives)."""
    return os.pathsep.join(filter(None, [str(ROOT / "python"), os.environ.get("PYTHONPATH")]))


def _run_under(backend: str, code: str, *args) -> str:
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu", "PYTHONPATH": _pythonpath()}
    out = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_fast_path_under_other_keras_backends(backend, tmp_path):
    """The shipped fast model (and, under PyTorch, the paper CNN) predict the same under JAX and PyTorch.

    (test_surrogate_model.py checks the paper CNN under JAX already.)
    """
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed (the README's test command installs torch==2.13.0 and jax)")
    x = spins(64, 8, seed=11)
    np.save(tmp_path / "x.npy", x)
    code = ("import sys, numpy as np, keras; from deepspin.surrogate import load; "
            "assert keras.backend.backend() == sys.argv[1]; x = np.load(sys.argv[2]); "
            "ops = [load(p, runtime='keras', batch_size=128) for p in sys.argv[4:]]; "
            "np.save(sys.argv[3], np.stack([op.energy(x) for op in ops]))")
    paths = [MODELS / "screened_coulomb_fast.keras"]
    if backend == "torch":
        paths.append(MODELS / "screened_coulomb_L8.keras")
    _run_under(backend, code, backend, tmp_path / "x.npy", tmp_path / "y.npy", *paths)
    there = np.load(tmp_path / "y.npy")
    for got, path in zip(there, paths):
        model, _ = model_io.load(path)
        np.testing.assert_allclose(got, keras_reference(model, x)[:, 0], rtol=1e-5, atol=2e-4)


@pytest.mark.gpu
def test_device_arrays_stay_on_the_gpu_under_jax(tmp_path):
    """CuPy in, CuPy out (DLPack, no host round trip), same energies as the host path."""
    pytest.importorskip("cupy")
    if importlib.util.find_spec("jax") is None:
        pytest.skip("jax is not installed")
    code = ("import sys, numpy as np, cupy, jax, keras; from deepspin.surrogate import load; "
            "assert keras.backend.backend() == 'jax' and jax.default_backend() == 'gpu'; "
            "op = load(sys.argv[1]); x = np.load(sys.argv[2]); d = op.predictor(cupy.asarray(x)); "
            "assert isinstance(d, cupy.ndarray), type(d); "
            "np.save(sys.argv[3], np.stack([cupy.asnumpy(d)[:, 0], op.energy(x)]))")
    x = spins(5000, 8, seed=12)
    np.save(tmp_path / "x.npy", x)
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": _pythonpath()}
    out = subprocess.run([sys.executable, "-c", code, str(MODELS / "screened_coulomb_fast.keras"),
                          str(tmp_path / "x.npy"), str(tmp_path / "y.npy")], capture_output=True, text=True, env=env,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    device, host = np.load(tmp_path / "y.npy")
    np.testing.assert_allclose(device, host, rtol=1e-5, atol=1e-4)
    model, _ = model_io.load(MODELS / "screened_coulomb_fast.keras")
    np.testing.assert_allclose(host, keras_reference(model, x)[:, 0], rtol=1e-5, atol=2e-4)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("L", [8, 17])
def test_site_energies_on_the_fast_path_equal_the_keras_site_model(runtime, L):
    """The sublattice Monte Carlo rule's per-site energies: lowered (L = 8) or convolutional (L = 17)."""
    from deepspin.surrogate.extensive import site_model

    if runtime == "onnxruntime" and L == 17 and keras.backend.backend() != "tensorflow":
        pytest.skip("unlowered (L = 17) graphs reach ONNX Runtime through Keras' tf2onnx export: TensorFlow only")
    op = load(MODELS / "screened_coulomb_extensive.keras", batch_size=128, runtime=runtime)
    x = spins(40, L, seed=13)
    expected = np.asarray(site_model(op.model).predict(x.astype(np.float32), verbose=0))[..., 0]
    got = op.site_energies(x)
    assert got.shape == (40, L, L) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=(1, 2)), op.energy(x), rtol=1e-5, atol=1e-3)


def test_learned_metropolis_follows_the_exact_chains():
    """With the fast model as the operator, the generic rule draws the compiled rule's numbers: since the
    model is exact to ~1e-5 J, the chains (and so the final configurations) are the exact ones."""
    from deepspin.mc import run

    op = load(MODELS / "screened_coulomb_fast.keras")
    kwargs = {"chains": 8, "sweeps": 3, "burn_in": 0, "seed": 5}
    learned = run(op, [0.5, 2.0], L=8, backend="generic", **kwargs)
    exact = run(deepspin.ScreenedCoulomb(8), [0.5, 2.0], backend="cpu", **kwargs)
    np.testing.assert_array_equal(learned.configs, exact.configs)
    local = run(op, [0.5, 2.0], L=8, backend="local", **kwargs)  # per-site energies on the fast path
    final = local.configs.reshape(-1, 8, 8)
    np.testing.assert_allclose(op.energy(final), deepspin.ScreenedCoulomb(8).energy(final), atol=1e-3)
