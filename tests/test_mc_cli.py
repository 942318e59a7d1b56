"""``deepspin mc`` and ``deepspin exact`` from the command line."""
import csv
import json

import numpy as np
import pytest

from deepspin.cli import main
from deepspin.mc import ising_torus
from test_mc import interrupt_sweep

MC_KEYS = ["T", "E_per_site", "E_per_site_err", "C_per_site", "C_per_site_err", "absm", "absm_err"]


def test_mc_writes_json_csv_png_and_matches_exact(tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["mc", "--hamiltonian", "ising", "--L", "8", "--T", "2:3:0.5", "--chains", "100", "--sweeps", "1000",
                 "--seed", "3", "-o", str(out), "--no-progress"])
    assert code == 0
    records = json.loads(out.read_text())
    assert [list(r)[:len(MC_KEYS)] for r in records] == [MC_KEYS] * 3
    assert all({"tau_int_E", "rhat_E", "rhat_absm", "equilibrated"} <= set(r) for r in records)
    exact = ising_torus(8, [r["T"] for r in records])
    for i, r in enumerate(records):
        assert abs(r["E_per_site"] - exact["E_per_site"][i]) < 4 * r["E_per_site_err"]
        assert abs(r["C_per_site"] - exact["C_per_site"][i]) < 4 * r["C_per_site_err"]
    with open(tmp_path / "run.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert [float(row["E_per_site"]) for row in rows] == [r["E_per_site"] for r in records]
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "run.json.checkpoint.npz").exists()
    assert "exact E/N" in capsys.readouterr().out


def test_mc_resumes_from_its_checkpoint(tmp_path, monkeypatch):
    from deepspin.mc import metropolis
    from deepspin.mc.rules import CompiledRule

    args = ["mc", "--hamiltonian", "screened-coulomb", "--L", "4", "--T", "1,2", "--chains", "8", "--sweeps", "400",
            "--checkpoint-every", "0", "--no-progress"]
    main(args + ["-o", str(tmp_path / "ref.json")])
    original = interrupt_sweep(monkeypatch, at=30)
    monkeypatch.setattr(CompiledRule, "min_chunk_attempts", 0)  # many small chunks
    assert main(args + ["-o", str(tmp_path / "run.json")]) == 130
    assert (tmp_path / "run.json.checkpoint.npz").exists()
    monkeypatch.setattr(metropolis, "sweep", original)
    assert main(args + ["-o", str(tmp_path / "run.json")]) == 0
    assert (tmp_path / "run.json").read_text() == (tmp_path / "ref.json").read_text()


def test_exact_json_and_table(tmp_path, capsys):
    path = tmp_path / "exact.json"
    assert main(["exact", "--L", "8", "--T", "1:4:0.05", "--method", "kaufman", "--json", str(path)]) == 0
    records = json.loads(path.read_text())
    assert len(records) == 61 and list(records[0]) == ["T", "E_per_site", "C_per_site", "absm"]
    assert records[0]["absm"] is None  # no closed form for <|m|> on the finite torus
    np.testing.assert_allclose([r["C_per_site"] for r in records], ising_torus(8, np.linspace(1, 4, 61))["C_per_site"])
    assert "specific-heat maximum of the 8x8 torus: T = 2.36" in capsys.readouterr().out
    assert main(["exact", "--hamiltonian", "screened-coulomb", "--L", "4", "--T", "1,2", "--json", str(path)]) == 0
    assert all(r["absm"] is not None for r in json.loads(path.read_text()))


@pytest.mark.parametrize("argv,message", [
    (["mc", "--L", "4", "--T", "0:1:0.5"], "T = 0"),
    (["mc", "--L", "4", "--T", "1,nan"], "finite"),
    (["mc", "--L", "4", "--T", "1", "--operator", "missing.keras"], "no such file"),
    (["exact", "--hamiltonian", "screened-coulomb", "--L", "8", "--T", "1"], "no exact reference"),
])
def test_cli_errors(argv, message, capsys, tmp_path):
    assert main(argv + (["-o", str(tmp_path / "x.json")] if argv[0] == "mc" else [])) == 2
    assert message in capsys.readouterr().err


def test_mc_operator_needs_the_surrogate_package(tmp_path, capsys, monkeypatch):
    import builtins

    model = tmp_path / "model.keras"
    model.write_bytes(b"not really a model")
    real_import = builtins.__import__

    def no_surrogate(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "surrogate" and level == 2 or name.startswith("deepspin.surrogate"):
            raise ImportError("simulated: no surrogate package")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_surrogate)
    assert main(["mc", "--L", "4", "--T", "1", "--operator", str(model), "-o", str(tmp_path / "x.json")]) == 2
    assert "deepspin.surrogate.load" in capsys.readouterr().err


def test_mc_with_a_loaded_operator(tmp_path, monkeypatch, capsys):
    """--operator PATH goes through deepspin.surrogate.load and the generic path; here the 'model' is
    the exact Ising energy, so the run must agree with the exact curve."""
    import deepspin

    surrogate = pytest.importorskip("deepspin.surrogate", reason="the surrogate extra (keras) is not installed")

    class ExactAsModel:
        L = 4
        metadata = {"hamiltonian": "ising", "params": {"J": 1.0}}

        def __init__(self, path):
            self.path = path

        def energy(self, configs):
            return deepspin.Ising(4).energy(configs, backend="numpy")

    monkeypatch.setattr(surrogate, "load", ExactAsModel, raising=False)
    model = tmp_path / "model.keras"
    model.write_bytes(b"stand-in")
    out = tmp_path / "learned.json"
    assert main(["mc", "--L", "4", "--T", "1.5,3", "--chains", "50", "--sweeps", "120", "--operator", str(model),
                 "-o", str(out), "--no-progress"]) == 0
    exact = deepspin.mc.enumerate_thermodynamics(deepspin.Ising(4), [1.5, 3.0])
    for i, r in enumerate(json.loads(out.read_text())):
        assert abs(r["E_per_site"] - exact["E_per_site"][i]) < 4 * r["E_per_site_err"]
        assert abs(r["absm"] - exact["absm"][i]) < 4 * r["absm_err"]
    assert main(["mc", "--L", "8", "--T", "1", "--operator", str(model), "-o", str(out)]) == 2
    assert "trained for L=4, but --L is 8" in capsys.readouterr().err
