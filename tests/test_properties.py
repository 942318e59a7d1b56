"""Property-based checks of the public entry points (hypothesis): a correct value or a clear error, nothing else.

For arbitrary shapes, dtypes and values (NaN, inf, out-of-range integers, empty batches) every call
of ``energy``, ``magnetization``, the samplers, ``mc.run``, a surrogate operator and the command
line either returns the value an independent formula gives, or raises ``ValueError`` (of which
``DatasetError`` is a subclass) with a message. Never another exception, never a silent cast (a
value that is not exactly +1/-1 is never read as a spin).
"""
import contextlib
import io
import math
import os
from pathlib import Path

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (test extra) is not installed")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import deepspin  # noqa: E402
from deepspin import cli  # noqa: E402

# Derandomized (the same examples every run, so CI is reproducible) and no example database in the tree.
FAST = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
SLOW = settings(FAST, max_examples=15)
DTYPES = [np.int8, np.int16, np.int64, np.uint8, np.float32, np.float64, np.bool_, np.complex128]
SPECIAL = [1, -1, 1, -1, 1, -1, 0, 2, -2, 127, 255, 257, 1.0000001, -0.5, math.nan, math.inf, -math.inf]


def _cast(values, dtype):
    """``values`` as ``dtype`` the way a user's array would hold them (wrapping integers, NaN only in floats)."""
    with np.errstate(all="ignore"):
        if np.dtype(dtype).kind in "iub":
            values = np.nan_to_num(np.asarray(values, np.float64), nan=0.0, posinf=3.0, neginf=-3.0)
            return np.asarray(values).astype(np.int64).astype(dtype)
        return np.asarray(values).astype(dtype)


@st.composite
def spin_arrays(draw, L=4):
    """Mostly well-formed (B, L, L) batches of +1/-1, with every kind of defect drawn now and then."""
    dtype = draw(st.sampled_from(DTYPES))
    if draw(st.booleans()):
        shape = (draw(st.integers(0, 3)), L, L)
    else:
        shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    size = int(np.prod(shape))
    clean = draw(st.booleans())
    choices = [1, -1] if clean else SPECIAL
    values = draw(st.lists(st.sampled_from(choices), min_size=size, max_size=size))
    return _cast(np.array(values, dtype=np.float64).reshape(shape), dtype)


def _valid_spins(x, L) -> bool:
    return (x.dtype.kind in "iuf" and x.ndim in (2, 3) and x.shape[-2:] == (L, L)
            and bool(np.all((x == 1) | (x == -1))))


def _ising_reference(x, J=1.0):
    s = np.asarray(x, np.float64).reshape(-1, *x.shape[-2:])
    return -J * (s * (np.roll(s, 1, axis=1) + np.roll(s, 1, axis=2))).sum(axis=(1, 2))


def _value_or_message(call):
    """``(True, value)`` or ``(False, message)``; any exception but ValueError fails the test."""
    try:
        return True, call()
    except ValueError as exc:
        assert str(exc), "a ValueError without a message"
        return False, str(exc)


@FAST
@given(x=spin_arrays(), backend=st.sampled_from(["numpy", "cpu"]))
def test_ising_energy_is_exact_or_a_clear_error(x, backend):
    ok, out = _value_or_message(lambda: deepspin.Ising(4, J=1.5).energy(x, backend=backend))
    assert ok == _valid_spins(x, 4), out
    if ok:
        expected = _ising_reference(x, 1.5)
        if x.ndim == 2:
            assert isinstance(out, float) and out == expected[0]
        else:
            assert out.dtype == np.float64 and out.shape == (len(x),)
            np.testing.assert_array_equal(out, expected)


@FAST
@given(x=spin_arrays(L=3))
def test_pair_energy_kernel_equals_explicit_or_a_clear_error(x):
    H = deepspin.ScreenedCoulomb(3, rcut=4)
    ok, out = _value_or_message(lambda: H.energy(x))
    assert ok == _valid_spins(x, 3), out
    if ok:
        np.testing.assert_allclose(out, H.energy(np.asarray(x, np.float64), backend="numpy", method="explicit"),
                                   rtol=1e-12, atol=1e-12)


@FAST
@given(x=spin_arrays())
def test_magnetization_is_the_mean_or_a_clear_error(x):
    ok, out = _value_or_message(lambda: deepspin.magnetization(x))
    valid = x.dtype.kind in "iuf" and x.ndim in (2, 3) and x.shape[-1] == x.shape[-2] and x.shape[-1] > 0 \
        and bool(np.all((x == 1) | (x == -1)))
    assert ok == valid, out
    if ok:
        expected = np.asarray(x, np.float64).reshape(-1, x.shape[-1] * x.shape[-2]).mean(axis=1)
        np.testing.assert_array_equal(np.atleast_1d(out), expected)


@st.composite
def angle_arrays(draw):
    shape = draw(st.sampled_from([(4, 4), (2, 4, 4), (0, 4, 4), (3, 4), (4,)]))
    values = draw(st.lists(st.sampled_from([0.0, 0.3, 1.0, 3.0, -2.5, math.nan, math.inf]),
                           min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    return _cast(np.array(values, np.float64).reshape(shape),
                 draw(st.sampled_from([np.float64, np.float32, np.int16, np.complex128, np.bool_])))


@FAST
@given(theta=angle_arrays())
def test_potts_energy_is_exact_or_a_clear_error(theta):
    ok, out = _value_or_message(lambda: deepspin.PlanarPotts(4).energy(theta))
    valid = theta.dtype.kind in "iuf" and theta.shape[-2:] == (4, 4) and bool(np.all(np.isfinite(theta)))
    assert ok == valid, out
    if ok:
        t = np.asarray(theta, np.float64).reshape(-1, 4, 4)
        expected = (np.cos(t - np.roll(t, 1, 1)) + np.cos(t - np.roll(t, 1, 2))).sum(axis=(1, 2))
        np.testing.assert_allclose(np.atleast_1d(out), expected, rtol=1e-12, atol=1e-12)


ANY = st.one_of(st.integers(-3, 40), st.floats(allow_nan=True), st.booleans(), st.none(), st.text(max_size=3),
                st.just([1, 2]))


@FAST
@given(n=ANY, seed=ANY)
def test_uniform_sampler_gives_n_labelled_configurations_or_a_clear_error(n, seed):
    H = deepspin.Ising(3)
    ok, out = _value_or_message(lambda: deepspin.sampling.uniform(H, n, seed=seed))
    valid_n = isinstance(n, int) and not isinstance(n, bool) and n >= 0
    valid_seed = seed is None or (isinstance(seed, int) and not isinstance(seed, bool) and seed >= 0)
    assert ok == (valid_n and valid_seed), out
    if ok:
        assert out.spins.shape == (n, 3, 3) and out.spins.dtype == np.int8
        np.testing.assert_array_equal(out.energy, _ising_reference(out.spins) if n else np.zeros(0))


TEMPERATURES = st.one_of(
    st.lists(st.one_of(st.floats(0.5, 5.0), st.sampled_from([0.0, -1.0, math.nan, math.inf, 1e-300])),
             min_size=0, max_size=3),
    st.sampled_from(["2", None, [[1.0, 2.0]], "hot"]))


def _valid_temperatures(T) -> bool:
    if not isinstance(T, list) or not T:
        return isinstance(T, str) and T == "2"
    return all(isinstance(t, float) and math.isfinite(t) and t > 0 for t in T)


@SLOW
@given(T=TEMPERATURES, chains=st.sampled_from([1, 2, 0, -1, 2.0, True]), samples=st.sampled_from([1, 3, 0]))
def test_thermal_sampler_or_a_clear_error(T, chains, samples):
    H = deepspin.Ising(3)
    ok, out = _value_or_message(lambda: deepspin.sampling.thermal(H, T, chains=chains, samples=samples,
                                                                  burn_in=2, thin=1, seed=1))
    valid_count = all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (chains, samples))
    assert ok == (_valid_temperatures(T) and valid_count), out
    if ok:
        n_T = 1 if isinstance(T, str) else len(T)
        assert out.spins.shape == (n_T * chains * samples, 3, 3)
        np.testing.assert_array_equal(out.energy, _ising_reference(out.spins))


@SLOW
@given(T=TEMPERATURES, chains=st.sampled_from([1, 3, 0, 2.5, None]), sweeps=st.sampled_from([1, 4, 0, -2]),
       seed=st.sampled_from([0, 5, -1, 2 ** 64, None, 1.5]), backend=st.sampled_from(["auto", "generic", "gpu"]))
def test_mc_run_or_a_clear_error(T, chains, sweeps, seed, backend):
    H = deepspin.Ising(3)
    ok, out = _value_or_message(lambda: deepspin.mc.run(H, T, chains=chains, sweeps=sweeps, seed=seed, backend=backend))
    valid = (_valid_temperatures(T) and isinstance(chains, int) and not isinstance(chains, bool) and chains >= 1
             and sweeps >= 1 and (seed is None or (isinstance(seed, int) and 0 <= seed < 2 ** 64))
             and backend != "gpu")
    assert ok == valid, out
    if ok:
        obs = out.observables()
        n_T = 1 if isinstance(T, str) else len(T)
        assert out.configs.shape == (n_T, chains, 3, 3)
        assert np.all(np.abs(obs["E_per_site"]) <= 2) and np.all((obs["absm"] >= 0) & (obs["absm"] <= 1))
        final = out.configs.reshape(-1, 3, 3)
        assert np.all((final == 1) | (final == -1))


@pytest.fixture(scope="module")
def surrogate():
    pytest.importorskip("keras", reason="the surrogate extra (keras) is not installed")
    from deepspin.surrogate import load

    op = load(Path(__file__).resolve().parent.parent / "models" / "screened_coulomb_L8.keras")
    try:
        value = op.energy(np.full((1, 8, 8), 2.0))
    except ValueError:
        return op
    pytest.xfail(f"surrogate operators still read spins 2.0 as input (returned {value}); issue 16 item 4 "
                 "belongs to the `fast` helper's branch")


@SLOW
@given(x=spin_arrays(L=8))
def test_surrogate_operator_takes_only_spins(surrogate, x):
    ok, out = _value_or_message(lambda: surrogate.energy(x))
    assert ok == _valid_spins(x, 8), out
    if ok:
        expected = surrogate.energy(np.asarray(x, np.int8).reshape(-1, 8, 8))
        np.testing.assert_array_equal(np.atleast_1d(out), expected)


@contextlib.contextmanager
def _inside(folder):
    """Run in ``folder`` (outputs with default names land there); contextlib.chdir needs Python 3.11."""
    here = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(here)


TOKENS = ["energy", "generate", "mc", "exact", "datasets", "info", "--L", "--T", "--J", "--k", "--hamiltonian",
          "ising", "potts", "screened-coulomb", "nope", "--sampler", "uniform", "--n", "--chains", "--sweeps",
          "--seed", "-o", "0", "1", "-1", "2", "3", "1e-300", "nan", "inf", "1:2:0.5", "2:1:0.1", "--backend",
          "numpy", "--quiet", "--no-progress", "--shards", ""]


@FAST
@given(argv=st.lists(st.sampled_from(TOKENS), min_size=0, max_size=12))
def test_command_line_parses_or_exits_with_a_message(tmp_path_factory, argv):
    """Random command lines: exit 0, or 2 with a one-line message (argparse's usage included); no traceback."""
    folder = tmp_path_factory.mktemp("cli")
    if "-o" in argv:  # any output goes to a fresh folder
        i = argv.index("-o")
        argv[i + 1:i + 2] = [str(folder / "out.json")]
    if "mc" in argv:  # keep a run that parses short
        argv += ["--chains", "2", "--sweeps", "2"]
    err = io.StringIO()
    with _inside(folder), contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            code = cli.main(argv)
        except SystemExit as exc:  # argparse: usage errors exit 2, --help exits 0
            code = exc.code
    assert code in (0, 2), (argv, code, err.getvalue()[-500:])
    assert "Traceback" not in err.getvalue(), (argv, err.getvalue()[-2000:])
    if code == 2:
        assert "error" in err.getvalue()
