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


# == Issue 23 (round 3): each class walked across every public command ===========================
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

from deepspin import io as deepspin_io  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "models" / "screened_coulomb_L8.keras"
HAM4 = ["--hamiltonian", "ising", "--L", "4"]


def _files(tmp_path):
    """Stand-in inputs (each command refuses before reading them) and their bytes."""
    inputs = {"c.npy": b"configs", "d.h5": b"dataset", "m.keras": b"model", "d2.h5": b"dataset 2"}
    for name, data in inputs.items():
        (tmp_path / name).write_bytes(data)
    return inputs


# Every command with an input file and an output path, the output naming the input.
SAME_AS_INPUT = {
    "energy": ["energy", *HAM4, "{t}/c.npy", "-o", "{t}/c.npy"],
    "datasets merge": ["datasets", "merge", "{t}/d.h5", "{t}/d2.h5", "-o", "{t}/d2.h5"],
    "plot histogram": ["plot", "histogram", "{t}/d.h5", "-o", "{t}/d.h5"],
    "train (dataset)": ["train", "{t}/d.h5", "--target", "energy", "-o", "{t}/m.keras", "--init", "{t}/m.keras"],
    "evaluate": ["evaluate", "{t}/m.keras", "{t}/d.h5", "--json", "{t}/d.h5"],
    "learning-curve": ["learning-curve", "{t}/d.h5", "--target", "energy", "--sizes", "10", "-o", "{t}/d.h5"],
    "export": ["export", "{t}/m.keras", "--format", "onnx", "-o", "{t}/m.keras"],
    "baselines": ["baselines", "{t}/d.h5", "--json", "{t}/d.h5"],
    "mc": ["mc", *HAM4, "--T", "2", "--operator", "{t}/m.keras", "-o", "{t}/o.json", "--timeseries", "{t}/m.keras"],
    "interpret kernels": ["interpret", "kernels", "{t}/m.keras", "-o", "{t}/m.keras"],
    "interpret maximize": ["interpret", "maximize", "{t}/m.keras", "--filter", "0", "-o", "{t}/x.png", "--activations", "{t}/m.keras"],
}


@pytest.mark.parametrize("command", SAME_AS_INPUT)
def test_an_output_that_is_an_input_is_refused(command, tmp_path, capsys):
    inputs = _files(tmp_path)
    argv = [a.format(t=tmp_path) for a in SAME_AS_INPUT[command]]
    assert cli.main(argv) == 2
    assert "is the input" in capsys.readouterr().err
    for name, data in inputs.items():
        assert (tmp_path / name).read_bytes() == data  # nothing replaced


@pytest.mark.parametrize("link", ["hard", "symbolic"])
def test_an_output_linked_to_the_input_is_refused(link, tmp_path, capsys):
    configs = tmp_path / "c.npy"
    np.save(configs, np.ones((3, 4, 4), np.int8))
    other = tmp_path / "e.npy"
    (os.link if link == "hard" else os.symlink)(configs, other)
    assert cli.main(["energy", *HAM4, str(configs), "-o", str(other)]) == 2
    assert "is the input configs" in capsys.readouterr().err
    assert np.load(configs).shape == (3, 4, 4)


# Every command with outputs; the output a concurrent run holds.
OUTPUTS = {
    "energy": (["energy", *HAM4, "{t}/c.npy", "-o", "{t}/out"], "out"),
    "generate": (["generate", *HAM4, "--sampler", "uniform", "--n", "5", "--quiet", "-o", "{t}/out"], "out"),
    "generate --shard-index": (["generate", *HAM4, "--sampler", "uniform", "--n", "5", "--seed", "1", "--shards", "2",
                                "--shard-index", "1", "--quiet", "-o", "{t}/out"], "out.shards/shard-00001-of-00002.h5"),
    "datasets merge": (["datasets", "merge", "{t}/d.h5", "-o", "{t}/out"], "out"),
    "plot dos": (["plot", "dos", "-o", "{t}/out"], "out"),
    "train": (["train", "{t}/d.h5", "--target", "energy", "-o", "{t}/out.keras"], "out.keras"),
    "evaluate": (["evaluate", "{t}/m.keras", "{t}/d.h5", "--json", "{t}/out"], "out"),
    "learning-curve": (["learning-curve", "{t}/d.h5", "--target", "energy", "--sizes", "10", "-o", "{t}/out"], "out"),
    "export": (["export", "{t}/m.keras", "--format", "onnx", "-o", "{t}/out"], "out"),
    "baselines": (["baselines", "{t}/d.h5", "--json", "{t}/out"], "out"),
    "mc": (["mc", *HAM4, "--T", "2", "-o", "{t}/out.json"], "out.json"),
    "exact": (["exact", *HAM4, "--T", "2", "--json", "{t}/out"], "out"),
    "interpret train": (["interpret", "train", "-o", "{t}/out"], "out"),
    "interpret kernels": (["interpret", "kernels", "{t}/m.keras", "-o", "{t}/out"], "out"),
}


@pytest.fixture(scope="module")
def live_process():
    """A live process of this host, standing for a concurrent writer."""
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as process:
        yield process.pid
        process.kill()


@pytest.mark.parametrize("command", OUTPUTS)
def test_a_concurrent_writer_of_the_same_output_is_refused_with_its_holder_named(command, tmp_path, live_process,
                                                                                 capsys):
    import socket

    _files(tmp_path)
    template, output = OUTPUTS[command]
    lock = deepspin_io.lock_path(tmp_path / output)
    lock.parent.mkdir(parents=True, exist_ok=True)
    lock.write_text(f"{live_process} {socket.gethostname()}\n")
    assert cli.main([a.format(t=tmp_path) for a in template]) == 2
    assert f"is being written by another deepspin command (pid {live_process} on" in capsys.readouterr().err
    assert not (tmp_path / output).exists()
    assert lock.read_text().startswith(str(live_process))  # the holder's lock is left alone


def test_a_dead_writers_lock_is_taken_over_and_released(tmp_path):
    import socket

    np.save(tmp_path / "c.npy", np.ones((2, 4, 4), np.int8))
    lock = deepspin_io.lock_path(tmp_path / "e.npy")
    lock.write_text(f"{2 ** 22 + 99} {socket.gethostname()}\n")  # above pid_max: no such process
    assert cli.main(["energy", *HAM4, str(tmp_path / "c.npy"), "-o", str(tmp_path / "e.npy")]) == 0
    assert np.load(tmp_path / "e.npy").tolist() == [-32.0, -32.0]
    assert not lock.exists()


def test_two_processes_never_both_hold_one_output(tmp_path):
    from deepspin.io import OutputInUse, output_lock

    code = ("import sys, time; from deepspin.io import output_lock\n"
            "with output_lock(sys.argv[1]):\n    print('held', flush=True); time.sleep(30)")
    with subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "o.json")], stdout=subprocess.PIPE,
                          text=True) as holder:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputInUse, match=f"pid {holder.pid} on"):
            with output_lock(tmp_path / "o.json"):
                pass
        holder.kill()
    holder.wait()
    with output_lock(tmp_path / "o.json"):  # a killed holder's lock is stale
        pass


def _report(tmp_path):
    from deepspin.reproduce import reproduce

    out = tmp_path / "report"
    reproduce("smoke", out=out, report_only=True, progress=False, speedup=None)
    return out


def test_snapshot_never_deletes_a_folder_it_did_not_write(tmp_path, capsys):
    out = _report(tmp_path)
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    argv = ["reproduce", "--profile", "smoke", "--report-only", "-o", str(out)]
    assert cli.main([*argv, "--snapshot", str(user)]) == 2
    assert "holds files that no snapshot wrote (e.g. notes.txt" in capsys.readouterr().err
    assert (user / "notes.txt").read_text() == "keep me"
    for parent in (tmp_path, out):  # the report's own parent, or the report itself
        assert cli.main([*argv, "--snapshot", str(parent)]) == 2
        assert "holds the report folder" in capsys.readouterr().err
        assert (out / "README.md").is_file() and (out / "summary.json").is_file()
    # a folder it wrote is replaced; once a user adds a file to it, it is not
    assert cli.main([*argv, "--snapshot", str(tmp_path / "snap")]) == 0
    assert cli.main([*argv, "--snapshot", str(tmp_path / "snap")]) == 0
    (tmp_path / "snap" / "mine.md").write_text("x")
    assert cli.main([*argv, "--snapshot", str(tmp_path / "snap")]) == 2
    assert (tmp_path / "snap" / "mine.md").exists()


# -- class 4: datasets --------------------------------------------------------------------------------
def _tamper(path, change):
    """Apply ``change(arrays, meta)`` and recompute the checksum, as a hand edit would."""
    from deepspin.datasets.store import checksum

    with h5py.File(path, "r") as f:
        arrays = {name: f[name][()] for name in f}
        meta = json.loads(f.attrs["meta"])
    change(arrays, meta)
    meta["checksum"] = checksum(arrays)
    with h5py.File(path, "w") as f:
        f.attrs["schema_version"] = 2
        f.attrs["meta"] = json.dumps(meta)
        for name, array in arrays.items():
            f.create_dataset(name, data=array)


def _flip_first_test_row(arrays, meta):
    arrays["test"][np.flatnonzero(arrays["test"])[0]] = False
    meta["size"] = {"total": len(arrays["test"]), "test": int(arrays["test"].sum()),
                    "train": int((~arrays["test"]).sum())}


@pytest.mark.parametrize("change,match", [
    (_flip_first_test_row, "stored train/test split disagrees with the SHA3 split .* in 1 rows, the first"),
    (lambda a, m: a.update(spins=a["spins"].astype(np.int16)), "spins must be int8"),
    (lambda a, m: a.update(spins=a["spins"][:, :, :2]), r"spins have shape \(60, 4, 2\)"),
    (lambda a, m: a["magnetization"].__setitem__(3, 0.5), "stored magnetization .* the first \\[3\\]"),
    (lambda a, m: a["class"].__setitem__(2, a["class"][2] + 1), "stored Ising class .* the first \\[2\\]"),
    (lambda a, m: a.update(energy=a["energy"].astype(np.complex128)), "'energy' has dtype complex128"),
    (lambda a, m: a.update(test=a["test"].astype(np.int8)), "'test' has dtype int8"),
    (lambda a, m: m.update(size={"total": 61, "test": 0, "train": 61}), "metadata's size"),
    (lambda a, m: m.update(test_fraction=7), r"metadata's test_fraction must be a number in \[0, 1\]"),
])
def test_a_hand_edited_dataset_is_refused_by_load_info_and_train(dataset, change, match, capsys):
    _tamper(dataset, change)
    with pytest.raises(DatasetError, match=match):
        deepspin.datasets.load(dataset)
    assert cli.main(["datasets", "info", str(dataset)]) == 2
    assert cli.main(["datasets", "merge", str(dataset), "-o", str(dataset) + ".2"]) == 2
    assert cli.main(["train", str(dataset), "--target", "energy", "--quiet", "-o", str(dataset) + ".keras"]) == 2
    assert cli.main(["evaluate", str(MODEL), str(dataset)]) == 2
    assert cli.main(["baselines", str(dataset)]) == 2
    assert cli.main(["plot", "histogram", str(dataset), "-o", str(dataset) + ".png"]) == 2
    assert capsys.readouterr().err.count("regenerate it") == 6


@pytest.mark.parametrize("fraction,command", [
    ("0", ["evaluate", str(MODEL), "{d}"]),
    ("0", ["baselines", "{d}"]),
    ("0", ["learning-curve", "{d}", "--target", "energy", "--sizes", "5", "-o", "{d}.json"]),
    ("1", ["train", "{d}", "--target", "energy", "--quiet", "-o", "{d}.keras"]),
])
def test_an_empty_split_is_an_error_not_nan(tmp_path, fraction, command, capsys):
    path = tmp_path / "d.h5"
    assert cli.main(["generate", *HAM4, "--sampler", "uniform", "--n", "20", "--seed", "1", "--quiet",
                     "--test-fraction", fraction, "-o", str(path)]) == 0
    capsys.readouterr()
    assert cli.main([a.format(d=path) for a in command]) == 2
    captured = capsys.readouterr()
    assert "split of" in captured.err and "is empty" in captured.err
    assert "nan" not in captured.out


# -- class 5: surrogates outside their domain --------------------------------------------------------
@keras_needed
def test_potts_surrogate_maps_angles_as_the_exact_energy_allows_and_refuses_the_rest():
    from deepspin.surrogate.architectures import paper_cnn
    from deepspin.surrogate.operator import operator

    op = operator(paper_cnn(4, "regression"), {"target": "energy", "arch": "paper", "L": 4, "hamiltonian": "potts",
                                               "params": {"J": 1.0}})
    theta = np.random.default_rng(3).random((6, 4, 4)) * np.pi
    H = deepspin.PlanarPotts(4)
    base = op.energy(theta)
    for shift in (np.pi, 2 * np.pi, -3 * np.pi):  # the exact energy is unchanged by each; so is the prediction
        np.testing.assert_allclose(H.energy(theta + shift), H.energy(theta), atol=1e-8)
        np.testing.assert_allclose(op.energy(theta + shift), base, rtol=1e-5, atol=1e-6)
    # another rotation: the network sees a rotation of the configuration inside [0, pi) with the same exact
    # energy, never the raw angles (which gave 115,248 J for a model whose physical maximum is 32 J)
    from deepspin.surrogate.targets import angles_in_domain

    mapped = angles_in_domain(theta + 1e6)
    assert mapped.min() >= 0 and mapped.max() < np.pi
    np.testing.assert_allclose(H.energy(mapped), H.energy(theta), atol=1e-8)
    np.testing.assert_allclose(op.energy(theta + 1e6), op.energy(mapped), rtol=1e-6, atol=1e-7)
    one = theta.copy()
    one[2, 1, 1] += np.pi  # one site turned by pi: another configuration, outside the domain and irreducible
    with pytest.raises(ValueError, match="configuration 2 has angles outside it"):
        op.energy(one)


# -- class 6: tracebacks -----------------------------------------------------------------------------
@pytest.mark.parametrize("argv,match", [
    (["energy", "--hamiltonian", "screened-coulomb", "--L", "4", "--rcut", "1e6", "{t}/c.npy"], "image vectors"),
    (["energy", "--hamiltonian", "sinusoidal-coulomb", "--L", "4", "--rcut", "1e6", "{t}/c.npy"], "image vectors"),
    (["mc", "--hamiltonian", "screened-coulomb", "--L", "256", "--T", "1", "--chains", "2", "--sweeps", "1",
      "-o", "{t}/o.json"], "pair matrix"),
    (["generate", "--hamiltonian", "screened-coulomb", "--L", "256", "--sampler", "thermal", "--temperatures", "1",
      "--chains", "2", "--samples", "1", "--burn-in", "1", "--quiet", "-o", "{t}/g.h5"], "pair matrix"),
    (["mc", *HAM4, "--T", "1", "--chains", str(10 ** 12), "-o", "{t}/o.json"], "chains x 1 temperatures"),
    (["generate", "--hamiltonian", "ising", "--L", "64", "--sampler", "uniform", "--n", str(10 ** 9), "--quiet",
      "-o", "{t}/g.h5"], "a dataset of 1,000,000,000"),
])
def test_what_cannot_fit_in_memory_is_refused_with_the_estimate(tmp_path, argv, match, capsys):
    np.save(tmp_path / "c.npy", np.ones((1, 4, 4), np.int8))
    assert cli.main([a.format(t=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert match in err and "would need about" in err and "available" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.npy"]


@pytest.mark.parametrize("command", [
    ["energy", "{t}/c.npy"], ["generate", "--sampler", "uniform", "--n", "3", "-o", "{t}/g.h5"],
    ["mc", "--T", "1", "-o", "{t}/o.json"], ["exact", "--T", "1"],
])
@pytest.mark.parametrize("name", ["../x:f", "./x:f", "dir/x.py:f"])
def test_a_module_path_is_a_message_naming_pythonpath(tmp_path, command, name, capsys):
    np.save(tmp_path / "c.npy", np.ones((1, 4, 4), np.int8))
    argv = [a.format(t=tmp_path) for a in command]
    assert cli.main([argv[0], "--hamiltonian", name, "--L", "4", *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert "not an importable module name" in err and "PYTHONPATH" in err


def _weights_without_layers(data):
    import io

    empty = io.BytesIO()
    with h5py.File(empty, "w") as f:
        f.create_group("layers")
    return empty.getvalue()


@pytest.fixture(scope="module", params=["truncated", "no layers"])
def damaged_model(tmp_path_factory, request):
    """The shipped model with half of its weights file cut off, or a weights file without the layers'."""
    damage = {"truncated": lambda data: data[: len(data) // 2], "no layers": _weights_without_layers}[request.param]
    path = tmp_path_factory.mktemp("damaged") / "m.keras"
    with zipfile.ZipFile(MODEL) as source, zipfile.ZipFile(path, "w") as archive:
        for name in source.namelist():
            data = source.read(name)
            archive.writestr(name, damage(data) if name == "model.weights.h5" else data)
    return path


@keras_needed
@pytest.mark.parametrize("command", [
    ["evaluate", "{m}", "--all-configs"], ["export", "{m}", "--format", "saved_model", "-o", "{t}/x"],
    ["mc", "--hamiltonian", "screened-coulomb", "--L", "8", "--T", "1", "--operator", "{m}", "-o", "{t}/o.json"],
    ["interpret", "kernels", "{m}", "-o", "{t}/k.png"],
])
def test_a_damaged_model_file_is_a_message_naming_it(damaged_model, tmp_path, command, capsys):
    assert cli.main([a.format(m=damaged_model, t=tmp_path) for a in command]) == 2
    assert str(damaged_model) in capsys.readouterr().err


@pytest.mark.parametrize("assignment,match", [
    ("classify-4x4.train.epochs=0", "epochs must be > 0"),
    ("adadelta-protocol.train.learning_rate=-1", "learning_rate must be > 0"),
    ("ising-8x8.test_fraction=1.5", r"test_fraction must lie in \(0, 1\]"),
    ("phase-4x4.chains=0", "chains must be > 0"),
    ("phase-4x4.T=\"1:abc\"", "--set 'phase-4x4.T="),
])
def test_reproduce_set_values_are_checked_before_any_stage_runs(tmp_path, assignment, match, capsys):
    out = tmp_path / "r"
    assert cli.main(["reproduce", "--profile", "smoke", "--only", "dos-4x4", "classify-4x4", "phase-4x4",
                     "--set", assignment, "-o", str(out), "--no-progress"]) == 2
    assert re_search(match, capsys.readouterr().err)
    assert not out.exists() or not list(out.rglob("*.partial"))
    assert not (out / "stages").exists()  # not even the stage before it ran


def re_search(pattern, text):
    import re

    return re.search(pattern, text) is not None


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
from deepspin import cli
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize("command", [
    ["generate", *HAM4, "--sampler", "uniform", "--n", "20000", "--seed", "1", "--quiet", "-o", "{t}/g.h5"],
    ["generate", *HAM4, "--sampler", "uniform", "--n", "20000", "--seed", "1", "--quiet", "--shards", "2", "-o",
     "{t}/g.h5"],
    ["energy", *HAM4, "{t}/c.npy", "-o", "{t}/g.h5"],
])
def test_a_full_disk_is_a_message_not_a_crash(tmp_path, command):
    np.save(tmp_path / "c.npy", np.ones((20000, 4, 4), np.int8))  # 320 KB in; 160 KB of energies out
    argv = [a.format(t=tmp_path) for a in command]
    done = subprocess.run([sys.executable, "-c", FULL_DISK, *argv], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr  # was 139: HDF5's half-closed file crashed the interpreter at exit
    assert "cannot write" in done.stderr and "g.h5" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "g.h5").exists()
    assert not [p for p in tmp_path.rglob(".*") if p.name.endswith(".tmp") or p.name.endswith(".lock")]


def test_evaluate_refuses_non_finite_predictions_instead_of_printing_nan(capsys):
    import argparse

    from deepspin.commands.surrogate import report_metrics

    args = argparse.Namespace(json=None, plots=None)
    with pytest.raises(ValueError, match="non-finite value for 1 of 3 configurations .* row 1"):
        report_metrics("energy", 4, np.zeros(3), np.array([0.0, np.nan, 1.0]), args, "m.keras on d.h5")
    assert "nan" not in capsys.readouterr().out


# -- class 7: a new user's stumbles -------------------------------------------------------------------
def test_mc_accepts_a_model_trained_on_the_same_energy_function():
    from deepspin.commands.mc import check_operator_model

    H = deepspin.hamiltonian("spin_models:plaquette_energy", 4)
    trained = type("Op", (), {"metadata": {"hamiltonian": "spin_models:plaquette_energy",
                                           "params": {"spin_kind": "ising"}}})()
    check_operator_model(trained, H, "m.keras")  # was refused: "trained on spin_models:... but --hamiltonian is callable"
    other = type("Op", (), {"metadata": {"hamiltonian": "spin_models:xy_energy", "params": {}}})()
    with pytest.raises(ValueError, match="trained on spin_models:xy_energy, but --hamiltonian is "
                                         "spin_models:plaquette_energy"):
        check_operator_model(other, H, "m.keras")


def test_pair_potential_with_a_scalar_function_says_f_must_take_arrays():
    import math

    for f in (lambda d: math.exp(-d) / d, lambda d: 1.0 if d < 2 else 0.0, lambda d: 3.0):
        with pytest.raises(ValueError, match="must return an array of the same shape.*np.vectorize"):
            deepspin.PairPotential(4, f, rcut=3)


def test_surrogate_constants_load_without_keras():
    code = ("import sys; import deepspin.surrogate.targets, deepspin.surrogate.distribute, deepspin.commands.surrogate; "
            "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
    import deepspin.commands.surrogate as commands
    from deepspin.surrogate.distribute import STRATEGIES
    from deepspin.surrogate.targets import TARGETS

    assert commands.TARGETS is TARGETS and commands.STRATEGIES is STRATEGIES  # no hand copies


def test_extensive_default_learning_rate_and_keras_verbosity(monkeypatch):
    import argparse

    from deepspin.commands import surrogate as commands

    parser = argparse.ArgumentParser()
    commands.add_training_arguments(parser)
    rate = {arch: commands.DEFAULT_LEARNING_RATE[arch] for arch in ("paper", "extensive")}
    assert rate == {"paper": 1e-3, "extensive": 1e-2}
    assert "1e-02" in parser.format_help() or "0.01" in parser.format_help()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert commands.keras_verbosity(False) == 2 and commands.keras_verbosity(True) == 0


def test_tensorflow_errors_hidden_only_without_an_nvidia_device(monkeypatch):
    for present, level in ((False, "3"), (True, "2")):
        monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
        monkeypatch.setattr(cli, "has_nvidia_device", lambda: present)
        cli.quiet_tensorflow()
        assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == level
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")
    cli.quiet_tensorflow()
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"  # the user's choice is kept


def test_mc_run_shows_progress_by_default_on_a_terminal(monkeypatch, capsys):
    import inspect

    assert inspect.signature(deepspin.mc.run).parameters["progress"].default is None
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    deepspin.mc.run(H4, [2.0], chains=2, sweeps=5)
    assert "sweep" in capsys.readouterr().err


def test_main_help_describes_train_export_and_baselines():
    text = cli.build_parser().format_help()
    assert "the paper's CNN, or the size-extensive" in text
    sub = cli.build_parser()._subparsers._group_actions[0].choices
    for name in ("export", "baselines"):
        assert sub[name].description and "Example: deepspin" in sub[name].description
