"""Kill -9 at seeded random instants, resume, and get what an uninterrupted run gets, bit for bit.

Each test runs the real command line in a subprocess, kills it with SIGKILL after a random delay
(seeded, spread over the duration of an uninterrupted run), reruns it the way a user would (with
``--resume`` where the command asks for it) until it finishes, and compares the result with an
uninterrupted run. No temporary file may be left behind.
"""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


def _command(*args):
    return [sys.executable, "-m", "deepspin", *map(str, args)]


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT / "python"), "TF_CPP_MIN_LOG_LEVEL": "3",
            "DEEPSPIN_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "TF_NUM_INTRAOP_THREADS": "1",
            "TF_NUM_INTEROP_THREADS": "1"}


def _run(args, cwd, timeout=300):
    start = time.perf_counter()
    done = subprocess.run(_command(*args), cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-3000:]
    return time.perf_counter() - start


def _run_killed(args, cwd, delay: float) -> bool:
    """Start ``args``, SIGKILL it after ``delay`` s; True if it was killed, False if it finished first."""
    with subprocess.Popen(_command(*args), cwd=cwd, env=_env(), stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True) as process:
        try:
            _, err = process.communicate(timeout=delay)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.communicate()
            return True
    assert process.returncode == 0, err[-3000:]
    return False


def _temporaries(folder: Path) -> list[Path]:
    """Hidden files left behind, but a killed run's output locks: those are stale (their process is dead)
    and the next run of the same output takes them over (deepspin.io.acquire_output_lock)."""
    from deepspin.io import _pid_alive, _read_holder

    def stale_lock(path):
        pid = _read_holder(path)[0] if path.name.endswith(".lock") else None
        return pid is not None and not _pid_alive(pid)

    return [p for p in folder.rglob(".*") if p.is_file() and not stale_lock(p)]


def _kill_times(seed: int, duration: float, count: int) -> list[float]:
    """Random instants over an uninterrupted run (start-up included), seeded."""
    return sorted(np.random.default_rng(seed).uniform(0.3, max(0.6, duration), count).tolist())


def _h5_content(path):
    import h5py

    with h5py.File(path, "r") as f:
        import json

        meta = json.loads(f.attrs["meta"])
        meta.pop("created")
        return meta, {name: f[name][()] for name in f}


def test_generate_killed_anywhere_resumes_to_the_same_dataset(tmp_path):
    args = ["generate", "--hamiltonian", "ising", "--L", "16", "--sampler", "uniform", "--n", "200000",
            "--shards", "12", "--seed", "11", "--quiet"]
    (tmp_path / "reference").mkdir()
    duration = _run([*args, "-o", "reference/d.h5"], tmp_path)
    (tmp_path / "killed").mkdir()
    kills = 0
    # Each attempt resumes the shards the previous ones finished, so the kills of attempts that run a
    # third of an uninterrupted run at most land all over the job, and most attempts are interrupted
    # even where the reference ran slower than the attempts (a loaded machine).
    for delay in _kill_times(16, duration / 3, 4):
        kills += _run_killed([*args, "-o", "killed/d.h5"], tmp_path, delay)
    _run([*args, "-o", "killed/d.h5"], tmp_path)
    assert kills >= 2  # most attempts were really interrupted
    meta, arrays = _h5_content(tmp_path / "killed" / "d.h5")
    meta_ref, arrays_ref = _h5_content(tmp_path / "reference" / "d.h5")
    assert meta == meta_ref and arrays.keys() == arrays_ref.keys()
    for name in arrays:
        np.testing.assert_array_equal(arrays[name], arrays_ref[name])
    assert _temporaries(tmp_path / "killed") == []


def test_mc_killed_anywhere_resumes_to_the_same_results(tmp_path):
    args = ["mc", "--hamiltonian", "ising", "--L", "8", "--T", "1.5,2.5", "--chains", "64", "--sweeps", "4000",
            "--checkpoint-every", "0", "--no-progress", "--timeseries"]
    duration = _run([*args, "reference.npz", "-o", "reference.json"], tmp_path)
    kills = 0
    for delay in _kill_times(8, duration / 3, 4):  # each attempt resumes from the last checkpoint, as above
        kills += _run_killed([*args, "run.npz", "-o", "run.json"], tmp_path, delay)
    if not (tmp_path / "run.json").exists() or (tmp_path / "run.json.checkpoint.npz").exists():
        _run([*args, "run.npz", "-o", "run.json"], tmp_path)
    assert kills >= 2
    assert (tmp_path / "run.json").read_text() == (tmp_path / "reference.json").read_text()
    assert (tmp_path / "run.csv").read_text() == (tmp_path / "reference.csv").read_text()
    with np.load(tmp_path / "run.npz") as run, np.load(tmp_path / "reference.npz") as reference:
        for name in reference.files:
            np.testing.assert_array_equal(run[name], reference[name])
    assert not (tmp_path / "run.json.checkpoint.npz").exists()
    assert _temporaries(tmp_path) == []


@pytest.fixture(scope="module")
def training_dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("train-data")
    _run(["generate", "--hamiltonian", "ising", "--L", "4", "--sampler", "uniform", "--n", "2400", "--seed", "3",
          "--quiet", "-o", "d.h5"], folder)
    return folder / "d.h5"


def test_train_killed_anywhere_resumes_to_the_same_model(training_dataset, tmp_path):
    pytest.importorskip("keras", reason="the surrogate extra (keras + tensorflow) is not installed")
    pytest.importorskip("tensorflow", reason="the surrogate extra (tensorflow) is not installed")
    # patience 1: early stopping (and its restored best weights) is part of what must survive.
    args = ["train", training_dataset, "--target", "energy", "--epochs", "6", "--batch-size", "200", "--patience", "2",
            "--seed", "4", "--strategy", "none", "--quiet"]
    duration = _run([*args, "-o", "reference.keras"], tmp_path)
    backup = tmp_path / "m.keras.work" / "backup"

    def finished() -> bool:  # a kill between writing the model and deleting the backup is not finished
        return (tmp_path / "m.keras").exists() and not backup.exists()

    kills = 0
    for delay in _kill_times(5, duration, 2):
        if finished():
            break
        kills += _run_killed([*args, "-o", "m.keras", *(["--resume"] if backup.exists() else [])], tmp_path, delay)
    if not finished():
        _run([*args, "-o", "m.keras", *(["--resume"] if backup.exists() else [])], tmp_path)
    assert kills >= 1
    from deepspin.surrogate import model_io

    resumed, _ = model_io.load(tmp_path / "m.keras")
    reference, _ = model_io.load(tmp_path / "reference.keras")
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not (tmp_path / "m.keras.work" / "backup").exists()
    assert _temporaries(tmp_path) == []
