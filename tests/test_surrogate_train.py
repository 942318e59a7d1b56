"""Training: data-parallel equivalence, resume after a kill, CLI commands and target checks."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import json  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

keras = pytest.importorskip("keras", reason="the surrogate extra (keras + tensorflow) is not installed")
pytest.importorskip("tensorflow", reason="the surrogate extra (tensorflow) is not installed")

import deepspin  # noqa: E402
from deepspin import cli  # noqa: E402
from deepspin.enumeration import configurations  # noqa: E402
from deepspin.surrogate import load  # noqa: E402
from deepspin.surrogate.targets import labels  # noqa: E402
from deepspin.surrogate.train import TrainConfig, epoch_order, fit, validation_split  # noqa: E402

HERE = Path(__file__).resolve().parent
RUNNER = HERE / "surrogate_distributed_run.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def _run(mode, out, env=None):
    env = {**os.environ, "PYTHONPATH": str(HERE.parent / "python"), **(env or {})}
    return subprocess.Popen([sys.executable, str(RUNNER), mode, str(out)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait(process):
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err[-3000:]


def test_data_parallel_training_matches_one_device(tmp_path):
    """Two replicas on two logical CPU devices, and two workers on localhost, give the same
    SGD trajectory as one device (the summed per-replica gradients equal the batch gradient)."""
    local = _run("local", tmp_path)
    workers = [f"localhost:{_free_port()}", f"localhost:{_free_port()}"]
    processes = [_run("multiworker", tmp_path / f"worker{i}.npy",
                      {"TF_CONFIG": json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": i}})})
                 for i in range(2)]
    for process in [local, *processes]:
        _wait(process)
    single = np.load(tmp_path / "none.npy")
    uniform = np.full_like(single, 1.0 / single.shape[1])
    assert np.abs(single - uniform).max() > 5e-3  # training moved the predictions well beyond the tolerance
    np.testing.assert_allclose(np.load(tmp_path / "mirrored.npy"), single, atol=2e-4)
    np.testing.assert_allclose(np.load(tmp_path / "worker0.npy"), single, atol=2e-4)
    assert not (tmp_path / "worker1.npy").exists()  # only the chief writes


class Kill(Exception):
    pass


class KillAtEpoch(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise Kill


@pytest.fixture(scope="module")
def small_sample():
    x = configurations(4)[::37][:1600]
    return x, deepspin.ising_class(x)


def test_resume_continues_from_the_saved_epoch(small_sample, tmp_path):
    x, y = small_sample
    config = TrainConfig(target="class", batch_size=400, epochs=3, validation_fraction=0.0, seed=5, strategy="none")
    reference, _ = fit(x, y, config, verbose=0)
    with pytest.raises(Kill):
        fit(x, y, config, workdir=tmp_path, verbose=0, callbacks=[KillAtEpoch(2)])
    assert (tmp_path / "backup").is_dir() and (tmp_path / "last.keras").is_file()
    with pytest.raises(ValueError, match="pass --resume"):
        fit(x, y, config, workdir=tmp_path, verbose=0)
    resumed, history = fit(x, y, config, workdir=tmp_path, resume=True, verbose=0)
    assert history.epoch == [2]  # epochs 0 and 1 came from the backup
    for a, b in zip(resumed.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "backup").exists()  # a finished run leaves no backup behind
    with pytest.raises(ValueError, match="no interrupted run"):
        fit(x, y, config, workdir=tmp_path, resume=True, verbose=0)


def test_kill_between_the_last_backup_and_its_checkpoint_leaves_a_current_checkpoint(small_sample, tmp_path,
                                                                                     monkeypatch):
    """Killed after the last epoch's backup, while last.keras was being written: the resumed run has no
    epoch left, yet it must leave last.keras of the last epoch and no half-written temporary."""
    from deepspin.surrogate import model_io, train

    x, y = small_sample
    config = TrainConfig(target="class", batch_size=400, epochs=3, validation_fraction=0.0, seed=5, strategy="none")
    fit(x, y, config, workdir=tmp_path / "reference", verbose=0)
    write = train.AtomicCheckpoint._write

    def killed_at_the_last_write(self):
        if self.model.optimizer.iterations.numpy() == 3 * (len(x) // 400):  # the third epoch's end
            dead = 2 ** 22 + 12345  # above the default pid_max: the writer is gone
            (self.path.parent / f".{self.path.name}.{dead}.abc.keras").write_bytes(b"half")
            raise Kill
        write(self)

    monkeypatch.setattr(train.AtomicCheckpoint, "_write", killed_at_the_last_write)
    with pytest.raises(Kill):
        fit(x, y, config, workdir=tmp_path / "run", verbose=0)
    monkeypatch.setattr(train.AtomicCheckpoint, "_write", write)
    _, history = fit(x, y, config, workdir=tmp_path / "run", resume=True, verbose=0)
    assert history.epoch == []  # the backup already held all three epochs
    assert [p.name for p in (tmp_path / "run").glob(".*")] == [] and not (tmp_path / "run" / "backup").exists()
    resumed, _ = model_io.load(tmp_path / "run" / "last.keras")
    reference, _ = model_io.load(tmp_path / "reference" / "last.keras")
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_split_and_batch_order_are_seeded():
    train, val = validation_split(1000, 0.1, seed=2)
    assert len(val) == 100 and len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == 1000
    np.testing.assert_array_equal(validation_split(1000, 0.1, seed=2)[1], val)
    assert not np.array_equal(epoch_order(50, 1, 0), epoch_order(50, 1, 1))
    np.testing.assert_array_equal(np.sort(epoch_order(50, 1, 3)), np.arange(50))


def test_bad_training_input_is_rejected(small_sample):
    x, y = small_sample
    with pytest.raises(ValueError, match="targets must have shape"):
        fit(x, y[:-1], TrainConfig(strategy="none"), verbose=0)
    with pytest.raises(ValueError, match=r"class targets must lie in \[0, 15\)"):
        fit(x, y + 15, TrainConfig(strategy="none"), verbose=0)
    with pytest.raises(ValueError, match="fewer than one batch"):
        fit(x[:100], y[:100], TrainConfig(strategy="none"), verbose=0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        TrainConfig(optimizer="rmsprop")
    with pytest.raises(ValueError, match="TF_CONFIG"):
        fit(x, y, TrainConfig(strategy="multiworker", batch_size=400), verbose=0)


def test_paper_preset_and_explicit_options():
    from deepspin.commands.surrogate import config_from_args

    parser = cli.build_parser()
    paper = config_from_args(parser.parse_args(["train", "d.h5", "--target", "class", "-o", "m.keras",
                                                "--preset", "paper"]))
    assert (paper.optimizer, paper.learning_rate, paper.batch_size, paper.padding) == ("adadelta", 1e-3, 800, "zero")
    ours = config_from_args(parser.parse_args(["train", "d.h5", "--target", "energy", "-o", "m.keras",
                                               "--preset", "paper", "--padding", "periodic", "--epochs", "7"]))
    assert (ours.optimizer, ours.padding, ours.epochs, ours.target) == ("adadelta", "periodic", 7, "energy")
    default = config_from_args(parser.parse_args(["train", "d.h5", "--target", "class", "-o", "m.keras"]))
    assert (default.optimizer, default.padding, default.batch_size) == ("adam", "periodic", 800)


def _dataset(hamiltonian, L, spins, energy, magnetization, test, **extra):
    """A dataset mapping with metadata nested as deepspin.datasets writes it."""
    return {"spins": spins, "energy": energy, "magnetization": magnetization, "test": test,
            "meta": {"hamiltonian": {"name": hamiltonian, "L": L, "params": {"J": 1.0}}}, **extra}


def test_class_target_on_potts_data_is_a_clear_error():
    theta = np.random.default_rng(0).uniform(0, np.pi, (10, 4, 4))
    data = _dataset("potts", 4, theta, np.zeros(10), np.zeros(10), np.zeros(10, bool))
    flat = {**data, "meta": {"hamiltonian": "potts", "L": 4, "params": {"J": 1.0}}}
    with pytest.raises(ValueError, match="target 'class' needs nearest-neighbour Ising data.*potts"):
        labels(flat, "class")
    with pytest.raises(ValueError, match="target 'class' needs nearest-neighbour Ising data.*potts"):
        labels(data, "class")
    np.testing.assert_array_equal(labels(data, "energy"), np.zeros(10))


def _write_dataset(path, H, spins, test_fraction=0.25):
    """A real dataset file (deepspin.datasets format, hash split) of ``spins`` labelled by ``H``; its test mask."""
    from deepspin.sampling.common import SampleSet, describe_hamiltonian

    meta = {"hamiltonian": describe_hamiltonian(H), "sampler": "uniform", "sampler_params": {"n": len(spins)},
            "seed": 0, "shards": 1, "shard_index": 0}
    deepspin.datasets.save(path, SampleSet(spins, H.energy(spins), meta), test_fraction=test_fraction)
    return deepspin.datasets.load(path, split="all")["test"]


def test_cli_train_evaluate_and_mismatch(tmp_path, capsys):
    x = configurations(4)[::16]
    test = _write_dataset(tmp_path / "ising.h5", deepspin.Ising(4), x)
    assert 0 < test.sum() < len(x)
    theta = np.random.default_rng(0).uniform(0, np.pi, (len(x), 4, 4))
    _write_dataset(tmp_path / "potts.h5", deepspin.PlanarPotts(4), theta)
    model = tmp_path / "m.keras"
    args = ["--epochs", "2", "--batch-size", "400", "--quiet", "--strategy", "none"]
    assert cli.main(["train", str(tmp_path / "potts.h5"), "--target", "class", "-o", str(model), *args]) == 2
    assert "target 'class' needs nearest-neighbour Ising data" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path / "ising.h5"), "--target", "energy", "-o", str(model), *args]) == 0
    op = load(model)
    assert (op.target, op.L, op.hamiltonian) == ("energy", 4, "ising")
    assert op.metadata["training"]["n_train"] == int((~test).sum())
    assert op.metadata["training"]["data"] == str(tmp_path / "ising.h5")
    report = tmp_path / "m.json"
    assert cli.main(["evaluate", str(model), str(tmp_path / "ising.h5"), "--json", str(report)]) == 0
    result = json.loads(report.read_text())
    truth = deepspin.Ising(4).energy(x[test])
    assert result["n"] == int(test.sum())
    assert result["mae"] == pytest.approx(np.mean(np.abs(op.energy(x[test]) - truth)))
    assert cli.main(["evaluate", str(model), str(tmp_path / "potts.h5")]) == 2
    assert "trained on ising" in capsys.readouterr().err


def test_cli_baselines_and_learning_curve(tmp_path):
    x = configurations(4)[::16]
    test = _write_dataset(tmp_path / "ising.h5", deepspin.Ising(4), x)
    data = str(tmp_path / "ising.h5")
    small_test = _write_dataset(tmp_path / "small.h5", deepspin.Ising(4), x[::4])  # the forest fits 9 times
    report = tmp_path / "baselines.json"
    assert cli.main(["baselines", str(tmp_path / "small.h5"), "--target", "class", "--krr-max", "500", "--json",
                     str(report), "--plots", str(tmp_path / "b")]) == 0
    result = json.loads(report.read_text())
    assert result["krr"]["n_train"] == result["krr_rbf"]["n_train"] == 500
    assert result["random_forest"]["n_train"] == result["mean"]["n_train"] == int((~small_test).sum())
    assert "chosen by the validation MAE" in result["random_forest"]["about"]
    # the training mean predicts one level for every configuration: its accuracy is that level's share
    assert result["mean"]["accuracy"] < result["krr_rbf"]["accuracy"]
    from deepspin.surrogate.baselines import BASELINES

    assert [name for name, value in result.items() if isinstance(value, dict) and "mae" in value] == list(BASELINES)
    for name in BASELINES:
        assert {"accuracy", "off_by_one", "max_class_error", "median_abs_error", "mae", "rmse"} <= set(result[name])
        assert result[name]["n"] == int(small_test.sum())
        assert (tmp_path / f"b_{name}_parity.png").is_file()
    curve = tmp_path / "curve.json"
    assert cli.main(["learning-curve", data, "--target", "class", "--sizes", "800,1600", "--epochs", "1",
                     "--batch-size", "400", "--strategy", "none", "--quiet", "-o", str(curve)]) == 0
    rows = json.loads(curve.read_text())["rows"]
    assert [r["n_train"] for r in rows] == [800, 1600] and all(r["n"] == int(test.sum()) for r in rows)
    assert curve.with_suffix(".png").is_file()
