"""Defects of a hostile sweep (issue 16), each reproduced: no silent wrong result, no traceback, no lost run.

Each test fails on the code before the fix and states the expected behaviour.
"""
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import deepspin
from deepspin import cli
from deepspin.errors import DatasetError
from deepspin.io import atomic_path
from test_mc import run_interrupted

H4 = deepspin.Ising(4)


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "d.h5"
    assert cli.main(["generate", "--hamiltonian", "ising", "--L", "4", "--sampler", "uniform", "--n", "60",
                     "--seed", "1", "--quiet", "-o", str(path)]) == 0
    return path


# -- item 9: tracebacks instead of messages -------------------------------------------------------
@pytest.mark.parametrize("meta,match", [
    ("{}", "lacks hamiltonian"),
    ("[1, 2]", "must be a JSON object, got list"),
    ('{"hamiltonian": 3}', "lacks"),
])
def test_foreign_metadata_is_a_dataset_error(dataset, meta, match, capsys):
    with h5py.File(dataset, "a") as f:
        f.attrs["meta"] = meta
    with pytest.raises(DatasetError, match=match):
        deepspin.datasets.read(dataset)
    for argv in (["datasets", "info", str(dataset)], ["datasets", "merge", str(dataset), "-o", str(dataset) + "2"]):
        assert cli.main(argv) == 2
        assert match.split()[0] in capsys.readouterr().err


def test_bad_schema_version_is_named(dataset):
    with h5py.File(dataset, "a") as f:
        f.attrs["schema_version"] = "abc"
    with pytest.raises(DatasetError, match="schema_version must be an integer, got 'abc'"):
        deepspin.datasets.read_meta(dataset)


def test_another_zip_named_keras_is_a_clear_error(tmp_path):
    pytest.importorskip("keras")
    from deepspin.surrogate import load

    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "not a model")
    with pytest.raises(ValueError, match=r"not a Keras model \(no config.json"):
        load(path)
    path.write_bytes(b"PK\x03\x04 half a zip")
    with pytest.raises(ValueError, match="not a readable .keras archive"):
        load(path)


def test_model_metadata_that_is_not_json_names_the_file(tmp_path):
    from deepspin.surrogate import model_io

    with zipfile.ZipFile(deepspin_model("screened_coulomb_L8")) as source, \
            zipfile.ZipFile(tmp_path / "m.keras", "w") as archive:
        for name in source.namelist():
            archive.writestr(name, "{broken" if name == "deepspin.json" else source.read(name))
    with pytest.raises(ValueError, match=r"m.keras: its deepspin.json is not valid JSON"):
        model_io.read_metadata(tmp_path / "m.keras")


def deepspin_model(name):
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "models" / f"{name}.keras"


def test_energy_function_that_raises_names_the_function(tmp_path, capsys):
    import spin_models

    H = deepspin.CallableHamiltonian(4, spin_models.failing_energy)
    with pytest.raises(ValueError, match=r"energy function spin_models:failing_energy raised IndexError") as info:
        H.energy(np.ones((2, 4, 4)))
    assert isinstance(info.value.__cause__, IndexError)  # the user's traceback is kept
    np.save(tmp_path / "c.npy", np.ones((2, 4, 4), np.int8))
    assert cli.main(["energy", "--hamiltonian", "spin_models:failing_energy", "--L", "4", str(tmp_path / "c.npy")]) == 2
    assert "spin_models:failing_energy raised IndexError" in capsys.readouterr().err


# -- item 10: silent casts and mutation -----------------------------------------------------------
def test_complex_and_bool_results_are_errors_not_casts():
    spins = np.ones((3, 4, 4), np.int8)
    with pytest.raises(ValueError, match="dtype complex128.*complex values are not energies"):
        deepspin.CallableHamiltonian(4, lambda s: s.sum(axis=(1, 2)) + 1j).energy(spins)
    with pytest.raises(ValueError, match="dtype bool"):
        deepspin.CallableHamiltonian(4, lambda s: s.sum(axis=(1, 2)) > 0).energy(spins)
    with pytest.raises(ValueError, match="dtype complex128"):
        deepspin.PairPotential(4, lambda d: np.exp(-d) + 0j, rcut=3)
    with pytest.raises(ValueError, match="dtype bool"):
        deepspin.PairPotential(4, lambda d: d < 2, rcut=3)
    # an integer result is a real energy, exactly
    assert deepspin.CallableHamiltonian(4, lambda s: s.sum(axis=(1, 2))).energy(spins).tolist() == [16.0] * 3


def test_energy_function_cannot_change_the_callers_array():
    def mutating(batch):
        batch[:] = 1
        return np.zeros(len(batch))

    spins = -np.ones((2, 4, 4), np.int8)
    with pytest.raises(ValueError, match="read-only"):
        deepspin.CallableHamiltonian(4, mutating).energy(spins)
    assert (spins == -1).all()


# -- item 11: unclear messages --------------------------------------------------------------------
def test_empty_batches_give_empty_results():
    empty = np.zeros((0, 4, 4), np.int8)
    assert deepspin.magnetization(empty).shape == (0,)
    assert H4.energy(empty).shape == (0,)


@pytest.mark.parametrize("extra,match", [
    (["--n", "0"], "--n 0 makes no configurations"),
    (["--n", "3", "--shards", "4", "--seed", "1"], "fewer configurations than --shards 4"),
])
def test_generate_too_few_configurations_says_so(tmp_path, extra, match, capsys):
    argv = ["generate", "--hamiltonian", "ising", "--L", "4", "--sampler", "uniform", "--quiet",
            "-o", str(tmp_path / "d.h5"), *extra]
    assert cli.main(argv) == 2
    assert match in capsys.readouterr().err


def test_hdf5_given_to_energy_says_what_it_is(dataset, capsys):
    assert cli.main(["energy", "--hamiltonian", "ising", "--L", "4", str(dataset)]) == 2
    err = capsys.readouterr().err
    assert "is an HDF5 file" in err and "pickled" not in err


def test_unwritable_output_is_refused_before_computing(tmp_path, capsys):
    import spin_models

    np.save(tmp_path / "c.npy", np.ones((2, 4, 4), np.int8))
    (tmp_path / "file").write_text("")
    spin_models.CALLS.clear()
    argv = ["energy", "--hamiltonian", "spin_models:tracked_energy", "--L", "4", str(tmp_path / "c.npy")]
    assert cli.main([*argv, "-o", str(tmp_path / "file" / "e.npy")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err
    assert spin_models.CALLS == []  # nothing was computed
    from deepspin.io import check_output_paths

    with pytest.raises(ValueError, match="--json and --plots name the same file"):
        check_output_paths(json=tmp_path / "a", plots=tmp_path / "a")


def test_temporaries_of_a_killed_writer_are_removed(tmp_path):
    dead = 2 ** 22 + 12345  # above the default pid_max: no such process
    stale = tmp_path / f".out.npy.{dead}.abc.npy"
    stale.write_bytes(b"half")
    with atomic_path(tmp_path / "out.npy", suffix=".npy") as tmp:
        assert str(os.getpid()) in tmp.name
        tmp.write_bytes(b"whole")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.npy"]


# -- item 12: a model file must not run code ------------------------------------------------------
def test_evaluate_does_not_import_code_named_in_a_model(tmp_path, capsys):
    pytest.importorskip("keras")
    import spin_models
    from deepspin.surrogate import model_io
    from deepspin.surrogate.architectures import paper_cnn

    path = tmp_path / "m.keras"
    model_io.save(paper_cnn(4, "regression"), path,
                  {"target": "energy", "arch": "paper", "L": 4, "hamiltonian": "spin_models:tracked_energy",
                   "params": {}})
    spin_models.CALLS.clear()
    assert cli.main(["evaluate", str(path), "--all-configs"]) == 2
    assert "--trust-model-code" in capsys.readouterr().err
    assert spin_models.CALLS == []
    assert cli.main(["evaluate", str(path), "--all-configs", "--trust-model-code",
                     "--json", str(tmp_path / "r.json")]) == 0
    assert sum(spin_models.CALLS) == 2 ** 16
    assert json.loads((tmp_path / "r.json").read_text())["n"] == 2 ** 16


# -- items 2 and 3: training resume survives a kill at any instant --------------------------------
keras_needed = pytest.mark.skipif(
    not all(__import__("importlib").util.find_spec(m) for m in ("keras", "tensorflow")),
    reason="the surrogate extra (keras + tensorflow) is not installed")


class Kill(BaseException):
    """Stands for SIGKILL: nothing after it runs (a BaseException, so no handler catches it)."""


def _train_args(dataset, out):
    return ["train", str(dataset), "--target", "energy", "--epochs", "3", "--batch-size", "25", "--seed", "2",
            "--strategy", "none", "--quiet", "-o", str(out)]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """A training dataset and the model an uninterrupted run makes of it."""
    folder = tmp_path_factory.mktemp("reference")
    data = folder / "d.h5"
    assert cli.main(["generate", "--hamiltonian", "ising", "--L", "4", "--sampler", "uniform", "--n", "60",
                     "--seed", "1", "--quiet", "-o", str(data)]) == 0
    assert cli.main(_train_args(data, folder / "ref.keras")) == 0
    return data, _weights(folder / "ref.keras")


def _weights(path):
    from deepspin.surrogate import model_io

    return model_io.load(path)[0].get_weights()


@keras_needed
def test_kill_while_writing_the_backup_does_not_block_resume(reference, tmp_path, monkeypatch):
    import keras

    dataset, expected = reference
    save_weights, calls = keras.Model.save_weights, []

    def half_written(self, filepath, *args, **kwargs):
        calls.append(filepath)
        if len(calls) == 2:  # the second epoch's backup: leave half a file, as a kill -9 would
            with open(filepath, "wb") as handle:
                handle.write(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
            raise Kill
        return save_weights(self, filepath, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "save_weights", half_written)
    with pytest.raises(Kill):
        cli.main(_train_args(dataset, tmp_path / "m.keras"))
    monkeypatch.setattr(keras.Model, "save_weights", save_weights)
    assert cli.main([*_train_args(dataset, tmp_path / "m.keras"), "--resume"]) == 0
    for a, b in zip(_weights(tmp_path / "m.keras"), expected, strict=True):
        np.testing.assert_array_equal(a, b)


@keras_needed
def test_kill_between_training_and_model_save_loses_nothing(reference, tmp_path, monkeypatch):
    from deepspin.surrogate import model_io

    dataset, expected = reference
    save = model_io.save

    def killed(*args, **kwargs):
        raise Kill

    monkeypatch.setattr(model_io, "save", killed)
    with pytest.raises(Kill):
        cli.main(_train_args(dataset, tmp_path / "m.keras"))
    monkeypatch.setattr(model_io, "save", save)
    assert (tmp_path / "m.keras.work" / "backup").is_dir()
    assert cli.main([*_train_args(dataset, tmp_path / "m.keras"), "--resume"]) == 0
    for a, b in zip(_weights(tmp_path / "m.keras"), expected, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "m.keras.work" / "backup").exists()


@keras_needed
def test_resume_with_other_settings_names_the_field(reference, tmp_path, monkeypatch, capsys):
    from deepspin.surrogate import model_io

    dataset = reference[0]
    monkeypatch.setattr(model_io, "save", lambda *a, **k: (_ for _ in ()).throw(Kill()))
    with pytest.raises(Kill):
        cli.main(_train_args(dataset, tmp_path / "m.keras"))
    args = _train_args(dataset, tmp_path / "m.keras")
    args[args.index("--seed") + 1] = "3"
    assert cli.main([*args, "--resume"]) == 2
    assert "had another config (seed: 2 then, 3 now)" in capsys.readouterr().err


# -- item 8: long compiled calls stop on Ctrl-C and warn beforehand ----------------------------------
INTERRUPTIBLE = """
import signal, sys, time
import numpy as np
import deepspin
# Ctrl-C's default, whatever this process inherited: a shell starting a job with & makes it ignore SIGINT
signal.signal(signal.SIGINT, signal.default_int_handler)
H = deepspin.ScreenedCoulomb(384, rcut={rcut})  # kernel: 2.2e10 multiply-adds; explicit: 1.9e9 terms (~20 s)
x = np.ones((1, 384, 384), np.int8)
print("start", flush=True)
start = time.perf_counter()
try:
    H.energy(x, backend="{backend}", method="{method}")
    print("finished", flush=True)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


@pytest.mark.parametrize("method,rcut", [("kernel", 8), ("explicit", 64)])
def test_ctrl_c_stops_a_long_compiled_energy_call_within_a_second(tmp_path, method, rcut):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    if not deepspin.backends()["cpu"][0]:
        pytest.skip("the compiled cpu backend is not built")
    script = tmp_path / "long.py"
    script.write_text(INTERRUPTIBLE.format(backend="cpu", method=method, rcut=rcut))
    env = {**os.environ, "DEEPSPIN_NUM_THREADS": "1",
           "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "python")}
    with subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, env=env) as process:
        assert process.stdout.readline().strip() == "start"
        time.sleep(1.0)  # well inside the compiled call
        sent = time.perf_counter()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=120)
        waited = time.perf_counter() - sent
    assert out.strip() == "interrupted"
    assert waited < 1.5, f"the call went on for {waited:.1f} s after Ctrl-C"


def test_energy_warns_before_a_call_predicted_beyond_an_hour():
    import warnings

    from deepspin.errors import LongComputationWarning

    H = deepspin.ScreenedCoulomb(10_000, rcut=8)
    x = np.ones((1, 10_000, 10_000), np.int8)
    with warnings.catch_warnings():
        warnings.simplefilter("error", LongComputationWarning)  # the warning fires before any work
        with pytest.raises(LongComputationWarning, match=r"predicted to take about [\d.e+]+ s \([\d.e+]+ hours\)"):
            H.energy(x, backend="cpu")
    # the estimate scales as N^2 for the kernel method: 1e16 multiply-adds
    assert H.predicted_seconds(1, "kernel") == pytest.approx(1e16 / 1e9)
    assert deepspin.ScreenedCoulomb(8).predicted_seconds(1000, "kernel") < 1


# -- phase B: Monte Carlo checkpoints, outputs, operators, temperatures (items 1, 5, 6, 7) ---------
class FakeSurrogate:
    """An energy operator that looks like a loaded surrogate: exact Ising energies scaled by its weights."""

    L = 4

    def __init__(self, scale):
        self.scale = scale
        self.metadata = {"hamiltonian": "ising", "params": {"J": 1.0}, "target": "energy"}
        self.model = type("Net", (), {"get_weights": lambda _: [np.array([scale], np.float32)]})()

    def energy(self, configs):
        return self.scale * H4.energy(configs, backend="numpy")


def _interrupted_run(model, checkpoint, monkeypatch, **kwargs):
    from deepspin.mc.rules import CompiledRule

    monkeypatch.setattr(CompiledRule, "min_chunk_attempts", 0)  # one sweep per chunk
    run_interrupted(monkeypatch, lambda: deepspin.mc.run(model, [1.5, 2.5], chains=2, sweeps=40, checkpoint=checkpoint,
                                                         checkpoint_every=0, **kwargs))
    assert checkpoint.exists()


def test_checkpoint_does_not_resume_with_another_surrogate(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.checkpoint.npz"
    _interrupted_run(FakeSurrogate(1.0), checkpoint, monkeypatch, backend="generic")
    with pytest.raises(ValueError, match=r"different run \(operator: checkpoint 'FakeSurrogate:sha256:"):
        deepspin.mc.run(FakeSurrogate(2.0), [1.5, 2.5], chains=2, sweeps=40, checkpoint=checkpoint, backend="generic")
    reference = deepspin.mc.run(FakeSurrogate(1.0), [1.5, 2.5], chains=2, sweeps=40, backend="generic")
    resumed = deepspin.mc.run(FakeSurrogate(1.0), [1.5, 2.5], chains=2, sweeps=40, checkpoint=checkpoint,
                              backend="generic")
    np.testing.assert_array_equal(resumed.moments, reference.moments)


def test_checkpoint_does_not_resume_at_other_temperatures_by_a_rounding(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.checkpoint.npz"
    _interrupted_run(H4, checkpoint, monkeypatch)
    with pytest.raises(ValueError, match="temperatures"):
        deepspin.mc.run(H4, [1.5 + 1e-14, 2.5], chains=2, sweeps=40, checkpoint=checkpoint)


def _rewrite(checkpoint, change, fix_checksum):
    from deepspin.mc import checkpoint as ckpt

    with np.load(checkpoint) as data:
        payload = {k: data[k] for k in data.files}
    change(payload)
    if fix_checksum:
        config = json.loads(str(payload["config"]))
        config["state_checksum"] = ckpt.state_checksum({k[6:]: v for k, v in payload.items() if k.startswith("state_")})
        payload["config"] = np.array(json.dumps(config))
    np.savez(checkpoint, **payload)


@pytest.mark.parametrize("change,fix_checksum,match", [
    (lambda p: p["state_spins"].fill(0), False, "state checksum does not match"),
    (lambda p: p.update(state_sweeps_done=np.array(10 ** 9)), False, "state checksum does not match"),
    (lambda p: p.update(state_sweeps_done=np.array(10 ** 9)), True, r"sweeps_done = 1000000000 lies outside \[0, 50\]"),
    (lambda p: p["state_spins"].fill(0), True, "invalid spins"),
    (lambda p: p.update(state_energy=p["state_energy"][:1]), True, "state array 'energy' is"),
])
def test_tampered_checkpoint_is_refused(tmp_path, monkeypatch, change, fix_checksum, match):
    checkpoint = tmp_path / "run.checkpoint.npz"
    _interrupted_run(H4, checkpoint, monkeypatch)
    _rewrite(checkpoint, change, fix_checksum)
    with pytest.raises(ValueError, match=match):
        deepspin.mc.run(H4, [1.5, 2.5], chains=2, sweeps=40, checkpoint=checkpoint)


def test_truncated_checkpoint_is_a_message(tmp_path, monkeypatch):
    checkpoint = tmp_path / "run.checkpoint.npz"
    _interrupted_run(H4, checkpoint, monkeypatch)
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    with pytest.raises(ValueError, match="not a readable deepspin Monte Carlo checkpoint"):
        deepspin.mc.run(H4, [1.5, 2.5], chains=2, sweeps=40, checkpoint=checkpoint)


MC = ["mc", "--hamiltonian", "ising", "--L", "4", "--T", "2", "--chains", "2", "--sweeps", "3", "--no-progress"]


@pytest.mark.parametrize("outputs,match", [
    (["-o", "out.csv"], "give a .json name"),
    (["-o", "out.png"], "give a .json name"),
    (["-o", "out.json", "--timeseries", "out.json"], "--output and --timeseries name the same file"),
    (["-o", "out.json", "--timeseries", "out.csv"], r"--output \(CSV\) and --timeseries name the same file"),
])
def test_mc_outputs_never_overwrite_each_other(tmp_path, monkeypatch, outputs, match, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main([*MC, *outputs]) == 2
    assert match.replace("\\", "") in capsys.readouterr().err.replace("\\", "")
    assert list(tmp_path.iterdir()) == []  # nothing computed, nothing written


def test_mc_operator_must_match_the_hamiltonian(tmp_path, monkeypatch, capsys):
    surrogate = pytest.importorskip("deepspin.surrogate", reason="the surrogate extra (keras) is not installed")

    class Trained(FakeSurrogate):
        def __init__(self, path):
            super().__init__(1.0)
            self.metadata = {"hamiltonian": "screened-coulomb", "params": {"k": 0.5, "J": 1.0}}

    monkeypatch.setattr(surrogate, "load", Trained)
    (tmp_path / "m.keras").write_bytes(b"stand-in")
    assert cli.main([*MC, "--operator", str(tmp_path / "m.keras"), "-o", str(tmp_path / "o.json")]) == 2
    assert "was trained on screened-coulomb, but --hamiltonian is ising" in capsys.readouterr().err


def test_temperature_grids_are_exact_decimals():
    from deepspin.mc import parse_temperatures

    assert parse_temperatures("1e-300").tolist() == [1e-300]
    assert parse_temperatures("0.5:1:0.1").tolist() == [0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    assert parse_temperatures("6e-13:8e-13:1e-13").tolist() == [6e-13, 7e-13, 8e-13]


@pytest.mark.parametrize("text,value", [("6e-13", 6e-13), ("2.269185314213022", 2.269185314213022)])
def test_mc_temperatures_are_not_rounded(tmp_path, text, value, capsys):
    out = tmp_path / "o.json"
    argv = [*MC, "-o", str(out)]
    argv[argv.index("--T") + 1] = text
    assert cli.main(argv) == 0
    assert json.loads(out.read_text())[0]["T"] == value
    assert "0.000" not in capsys.readouterr().out.splitlines()[1][:8]


@keras_needed
def test_kill_before_the_first_backup_is_complete_starts_afresh(reference, tmp_path):
    dataset, expected = reference
    backup = tmp_path / "m.keras.work" / "backup"
    backup.mkdir(parents=True)
    (backup / f".epoch-00001.weights.h5.{2 ** 22 + 7}.x.weights.h5").write_bytes(b"half")  # a killed writer's file
    for resume in ([], ["--resume"]):  # either way: nothing to resume, nothing lost, the run starts afresh
        assert cli.main([*_train_args(dataset, tmp_path / "m.keras"), *resume]) == 0
        for a, b in zip(_weights(tmp_path / "m.keras"), expected, strict=True):
            np.testing.assert_array_equal(a, b)
        assert not backup.exists()
        backup.mkdir(parents=True)  # an empty backup folder: the next round resumes nothing
