"""Dataset files: round trip, schema and checksum errors, sharded resumable generation, CLI and figures."""
import json
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

import deepspin
from deepspin import datasets
from deepspin.cli import main
from deepspin.datasets import shards as shard_module
from deepspin.errors import DatasetError
from deepspin.sampling import targeted, thermal, uniform
from spin_models import plaquette_energy, xy_energy

TESTS = Path(__file__).resolve().parent
PYTHON_DIR = TESTS.parent / "python"


@pytest.fixture(scope="module")
def ising_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "ising4.h5"
    return datasets.save(path, targeted(deepspin.Ising(4), 60, seed=1), test_fraction=0.2)


def test_round_trip(ising_file):
    everything = datasets.load(ising_file, split="all")
    train, test = datasets.load(ising_file, "train"), datasets.load(ising_file, "test")
    s = targeted(deepspin.Ising(4), 60, seed=1)  # the same seed makes the same samples
    np.testing.assert_array_equal(everything["spins"], s.spins)
    np.testing.assert_array_equal(everything["energy"], s.energy)
    assert everything["spins"].dtype == np.int8 and everything["energy"].dtype == np.float64
    np.testing.assert_array_equal(everything["magnetization"], s.spins.reshape(len(s), -1).mean(axis=1))
    np.testing.assert_array_equal(everything["class"], deepspin.ising_class(s.spins))
    np.testing.assert_array_equal(everything["test"], datasets.split_mask(s.spins, 0.2))
    assert len(train["energy"]) + len(test["energy"]) == len(s) == 900
    assert not train["test"].any() and test["test"].all()
    meta = everything["meta"]
    assert meta["hamiltonian"] == {"name": "ising", "L": 4, "params": {"J": 1.0}}
    assert meta["sampler"] == "targeted" and meta["seed"] == 1 and meta["test_fraction"] == 0.2
    assert meta["deepspin_version"] == deepspin.__version__ and meta["checksum"].startswith("sha256:")
    assert meta["size"] == {"total": 900, "test": int(test["test"].size), "train": int(train["test"].size)}
    with h5py.File(ising_file, "r") as f:
        assert f.attrs["schema_version"] == datasets.SCHEMA_VERSION
        assert f["spins"].compression == "gzip" and f["spins"].chunks is not None


def test_potts_dataset(tmp_path):
    s = uniform(deepspin.PlanarPotts(3), 500, seed=2)
    data = datasets.load(datasets.save(tmp_path / "p.h5", s), "all")
    assert data["spins"].dtype == np.float64 and "class" not in data
    theta = s.spins.reshape(500, -1)
    np.testing.assert_allclose(data["magnetization"], np.hypot(np.cos(theta).mean(1), np.sin(theta).mean(1)))
    assert "exp(i theta)" in data["meta"]["magnetization_definition"]
    np.testing.assert_array_equal(data["test"], datasets.split_mask(s.spins, 0.1, kind="angles"))


def test_thermal_extras_are_stored(tmp_path):
    s = thermal(deepspin.Ising(4), [2.0, 3.0], chains=2, samples=3, burn_in=1, thin=1, seed=1)
    data = datasets.load(datasets.save(tmp_path / "t.h5", s), "all")
    np.testing.assert_array_equal(data["temperature"], s.extras["temperature"])
    np.testing.assert_array_equal(data["chain"], s.extras["chain"])


def test_truncated_file_is_a_dataset_error(ising_file, tmp_path):
    data = ising_file.read_bytes()
    bad = tmp_path / "truncated.h5"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(DatasetError, match="truncated"):
        datasets.load(bad)


def test_foreign_and_corrupted_files(ising_file, tmp_path):
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(DatasetError, match="not a readable HDF5 file"):
        datasets.load(tmp_path / "text.h5")
    with h5py.File(tmp_path / "foreign.h5", "w") as f:
        f["x"] = np.arange(3)
    with pytest.raises(DatasetError, match="not a deepspin dataset"):
        datasets.load(tmp_path / "foreign.h5")
    wrong = tmp_path / "schema.h5"
    wrong.write_bytes(ising_file.read_bytes())
    with h5py.File(wrong, "r+") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(DatasetError, match="schema version 99"):
        datasets.load(wrong)
    edited = tmp_path / "edited.h5"
    edited.write_bytes(ising_file.read_bytes())
    with h5py.File(edited, "r+") as f:
        f["energy"][0] = 1234.0
    with pytest.raises(DatasetError, match="checksum mismatch"):
        datasets.load(edited)
    with pytest.raises(FileNotFoundError):
        datasets.load(tmp_path / "missing.h5")


def test_bad_parameters(ising_file, tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        datasets.load(ising_file, split="validation")
    with pytest.raises(ValueError, match="test_fraction must be a number"):
        datasets.generate(deepspin.Ising(4), "uniform", tmp_path / "x.h5", n=10, test_fraction=2.0, seed=1)
    with pytest.raises(ValueError, match="sampler must be one of"):
        datasets.generate(deepspin.Ising(4), "metropolis", tmp_path / "x.h5", seed=1)
    with pytest.raises(ValueError, match="explicit seed"):
        datasets.generate(deepspin.Ising(4), "uniform", tmp_path / "x.h5", n=10, shards=2)
    assert not (tmp_path / "x.h5").exists()


def test_interrupted_sharded_run_resumes_and_merges_identically(tmp_path, monkeypatch):
    H = deepspin.Ising(4)
    kwargs = dict(per_class=30, seed=3, shards=3, test_fraction=0.1)
    reference = datasets.load(datasets.generate(H, "targeted", tmp_path / "ref" / "out.h5", **kwargs), "all")

    real_sample, calls = shard_module.sample, []

    def interrupted(*args, shard_index=0, **kw):
        calls.append(shard_index)
        if shard_index == 2 and len(calls) == 3:
            raise KeyboardInterrupt
        return real_sample(*args, shard_index=shard_index, **kw)

    monkeypatch.setattr(shard_module, "sample", interrupted)
    out = tmp_path / "run" / "out.h5"
    with pytest.raises(KeyboardInterrupt):
        datasets.generate(H, "targeted", out, **kwargs)
    assert not out.exists() and sorted(p.name for p in datasets.shard_path(out, 0, 3).parent.iterdir()) == [
        "shard-00000-of-00003.h5", "shard-00001-of-00003.h5"]  # no half-written shard left behind
    resumed = datasets.load(datasets.generate(H, "targeted", out, **kwargs), "all")
    assert calls == [0, 1, 2, 2]  # shards 0 and 1 were skipped on resume
    for name in ("spins", "energy", "magnetization", "class", "test", "bin"):
        np.testing.assert_array_equal(resumed[name], reference[name])
    assert resumed["meta"]["checksum"] == reference["meta"]["checksum"]
    assert resumed["meta"]["counts"] == [30] * 15 and resumed["meta"]["complete"]


def test_merge_checks_the_shards(tmp_path):
    H = deepspin.Ising(4)
    a = datasets.generate(H, "uniform", tmp_path / "a.h5", n=50, seed=1, shards=2, shard_index=0)
    b = datasets.generate(H, "uniform", tmp_path / "a.h5", n=50, seed=1, shards=2, shard_index=1)
    other = datasets.generate(H, "uniform", tmp_path / "c.h5", n=50, seed=2, shards=2, shard_index=1)
    with pytest.raises(ValueError, match="seed"):
        datasets.merge([a, other], tmp_path / "m.h5")
    with pytest.raises(ValueError, match="shards 0..1 exactly once"):
        datasets.merge([a], tmp_path / "m.h5")
    merged = datasets.load(datasets.merge([b, a], tmp_path / "m.h5"), "all")  # any order: shard order wins
    assert len(merged["energy"]) == 50 and merged["meta"]["shard_index"] is None
    np.testing.assert_array_equal(merged["spins"][:25], datasets.load(a, "all")["spins"])


# -- CLI -----------------------------------------------------------------------------------------
def test_cli_generate_and_info(tmp_path, capsys):
    out = tmp_path / "ising4.h5"
    assert main(["generate", "--hamiltonian", "ising", "--L", "4", "--sampler", "targeted", "--per-class", "50",
                 "--test-fraction", "0.1", "--seed", "1", "--quiet", "-o", str(out)]) == 0
    assert main(["datasets", "info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "duplicates across the split 0" in text and "configurations 750" in text
    assert main(["datasets", "info", "--json", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [row["count"] for row in report["histogram"]] == [50] * 15 and report["overlap"] == 0


@pytest.mark.parametrize("args, message", [
    (["--sampler", "uniform", "--per-class", "5"], "--per-class applies to the targeted sampler"),
    (["--sampler", "thermal"], "needs --temperatures"),
    (["--sampler", "targeted", "--per-class", "5", "--bins", "3,1"], "strictly increasing edges"),
    (["--sampler", "uniform", "--n", "5", "--shards", "2"], "explicit seed"),
])
def test_cli_bad_parameters(tmp_path, capsys, args, message):
    code = main(["generate", "--hamiltonian", "ising", "--L", "4", "--quiet", "-o", str(tmp_path / "x.h5"), *args])
    assert code == 2 and message in capsys.readouterr().err


def test_cli_user_energy_function(tmp_path):
    out = tmp_path / "plaq.h5"
    assert main(["generate", "--hamiltonian", "spin_models:plaquette_energy", "--L", "4", "--sampler", "targeted",
                 "--per-class", "20", "--bins=-16.5,-6,-2,2,6,16.5", "--seed", "2", "--quiet", "-o", str(out)]) == 0
    data = datasets.load(out, "all")
    assert data["meta"]["hamiltonian"]["callable"] == "spin_models:plaquette_energy"
    np.testing.assert_array_equal(data["energy"], plaquette_energy(data["spins"]))
    assert data["meta"]["counts"] == [20] * 5


def test_cli_energy_accepts_energy_functions(tmp_path, capsys):
    """`deepspin energy` still works with the generalised --hamiltonian, and still rejects unknown names."""
    spins = np.random.default_rng(1).choice(np.array([-1, 1], dtype=np.int8), size=(5, 4, 4))
    np.save(tmp_path / "c.npy", spins)
    assert main(["energy", "--hamiltonian", "spin_models:plaquette_energy", "--L", "4", str(tmp_path / "c.npy")]) == 0
    assert [float(x) for x in capsys.readouterr().out.split()] == plaquette_energy(spins).tolist()
    assert main(["energy", "--hamiltonian", "isingg", "--L", "4", str(tmp_path / "c.npy")]) == 2
    assert "unknown Hamiltonian 'isingg'; choose one of ising" in capsys.readouterr().err
    assert main(["energy", "--hamiltonian", "spin_models:plaquette_energy", "--L", "4", "--k", "1",
                 str(tmp_path / "c.npy")]) == 2
    assert "--k applies to the Coulomb models only" in capsys.readouterr().err


def test_cli_angle_valued_energy_function(tmp_path):
    """An energy function declaring ``spin_kind = "angle"`` gets angles in [0, pi) and the Potts-style split."""
    out = tmp_path / "xy.h5"
    assert main(["generate", "--hamiltonian", "spin_models:xy_energy", "--L", "3", "--sampler", "thermal",
                 "--temperatures", "0.5,2", "--chains", "2", "--samples", "3", "--burn-in", "5", "--thin", "1",
                 "--seed", "1", "--quiet", "-o", str(out)]) == 0
    data = datasets.load(out, "all")
    assert data["spins"].dtype == np.float64 and data["spins"].min() >= 0 and data["spins"].max() < np.pi
    np.testing.assert_allclose(data["energy"], xy_energy(data["spins"]), rtol=1e-12)
    np.testing.assert_array_equal(data["test"], datasets.split_mask(data["spins"], 0.1, kind="angles"))


def test_cli_merge_and_plots(tmp_path, capsys):
    base = ["generate", "--hamiltonian", "screened-coulomb", "--L", "4", "--sampler", "uniform", "--n", "300",
            "--seed", "5", "--shards", "2", "--quiet", "-o", str(tmp_path / "sc.h5")]
    assert main(base + ["--shard-index", "0"]) == 0 and main(base + ["--shard-index", "1"]) == 0
    shards = [str(datasets.shard_path(tmp_path / "sc.h5", i, 2)) for i in range(2)]
    assert main(["datasets", "merge", *shards, "-o", str(tmp_path / "merged.h5")]) == 0
    assert len(datasets.load(tmp_path / "merged.h5", "all")["energy"]) == 300
    targeted_file = tmp_path / "binned.h5"
    datasets.save(targeted_file, targeted(deepspin.ScreenedCoulomb(4), 10, bins=4, seed=1, walkers=16))
    for figure in (["histogram", str(tmp_path / "merged.h5")], ["histogram", str(targeted_file)], ["dos", "--L", "4"],
                   ["hash-buckets", "--L", "3"]):
        png = tmp_path / f"{figure[0]}-{len(figure)}-{Path(figure[-1]).stem}.png"
        assert main(["plot", *figure, "-o", str(png)]) == 0
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_density_of_states_counts(tmp_path):
    from deepspin import plots

    result = plots.density_of_states(4, tmp_path / "dos.png")
    assert result["counts"] == [2, 32, 64, 424, 1728, 6688, 13568, 20524, 13568, 6688, 1728, 424, 64, 32, 2]


def test_same_file_for_any_thread_count(tmp_path):
    """Bit-for-bit: the engine's threads and BLAS threads do not change a dataset's content."""
    checksums = []
    for threads in ("1", "2"):
        env = dict(os.environ, DEEPSPIN_NUM_THREADS=threads, OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads,
                   PYTHONPATH=f"{PYTHON_DIR}{os.pathsep}{TESTS}")
        out = tmp_path / f"t{threads}.h5"
        subprocess.run([sys.executable, "-m", "deepspin", "generate", "--hamiltonian", "screened-coulomb", "--L", "6",
                        "--sampler", "targeted", "--per-class", "20", "--bins", "6", "--walkers", "64", "--seed", "4",
                        "--backend", "cpu" if deepspin.backends()["cpu"][0] else "numpy", "--quiet", "-o", str(out)],
                       check=True, env=env, capture_output=True)
        checksums.append(datasets.read_meta(out)["checksum"])
    assert checksums[0] == checksums[1]
