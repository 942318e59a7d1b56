"""The ``deepspin energy`` / ``deepspin backends`` commands and the package's import hygiene."""
import re
import subprocess
import sys

import numpy as np
import pytest

import deepspin
from deepspin.cli import main
from tests.conftest import random_spins


def test_energy_round_trip(tmp_path, rng):
    spins = random_spins(rng, 7, 8)
    np.save(tmp_path / "configs.npy", spins)
    out = tmp_path / "energies.npy"
    code = main(["energy", "--hamiltonian", "screened-coulomb", "--L", "8", "--k", "0.5", "--rcut", "64",
                 "--backend", "cpu", "--method", "kernel", str(tmp_path / "configs.npy"), "-o", str(out)])
    assert code == 0
    expected = deepspin.ScreenedCoulomb(8).energy(spins, backend="numpy", method="explicit")
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-10)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_energy_from_npz_prints_values(tmp_path, capsys):
    np.savez(tmp_path / "c.npz", spins=np.ones((2, 4, 4), np.int8))
    assert main(["energy", "--hamiltonian", "ising", "--L", "4", str(tmp_path / "c.npz")]) == 0
    assert capsys.readouterr().out.split() == ["-32", "-32"]


@pytest.mark.parametrize("args,message", [
    (["--hamiltonian", "ising", "--L", "4", "MISSING.npy"], "no such file"),
    (["--hamiltonian", "ising", "--L", "8", "{bad}"], r"spins must be exactly \+1 or -1"),
    (["--hamiltonian", "ising", "--L", "4", "{good}"], "L=4, got configurations with L=8"),
    (["--hamiltonian", "ising", "--L", "8", "--k", "0.3", "{good}"], "--k applies to the Coulomb models only"),
    (["--hamiltonian", "screened-coulomb", "--L", "8", "--k", "-1", "{good}"], "k must be >= 0"),
])
def test_energy_bad_input_is_one_line_exit_2(tmp_path, capsys, args, message):
    np.save(tmp_path / "bad.npy", np.zeros((2, 8, 8)))
    np.save(tmp_path / "good.npy", np.ones((2, 8, 8)))
    args = [a.format(bad=tmp_path / "bad.npy", good=tmp_path / "good.npy") for a in args]
    args = [str(tmp_path / a) if a == "MISSING.npy" else a for a in args]
    assert main(["energy", *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err)


def test_backends_command_lists_all(capsys):
    """One line per backend, in order, saying what backends() says (and why where unavailable)."""
    assert main(["backends"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    status = deepspin.backends()
    assert [line.split()[0] for line in lines] == list(status) == ["cuda", "cupy", "cpu", "numpy"]
    for line, (name, (available, reason)) in zip(lines, status.items()):
        assert line.split()[1] == ("available" if available else "unavailable")
        assert (reason in line) if reason else "(" not in line
    assert status["numpy"] == (True, "")  # the reference backend is always there


def test_console_module_entry_point():
    result = subprocess.run([sys.executable, "-m", "deepspin", "--help"], capture_output=True, text=True, check=True)
    assert "energy" in result.stdout and "backends" in result.stdout


def test_import_does_not_pull_heavy_libraries():
    code = ("import sys, deepspin; heavy = [m for m in ('tensorflow', 'keras', 'cupy', 'sklearn', 'jax', 'torch') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_core_reports_build_and_cuda_status():
    from deepspin import _core

    assert _core.__version__ == deepspin.__version__
    count, reason = _core.cuda_device_count()
    assert isinstance(count, int) and count >= 0
    if not _core.built_with_cuda:
        assert count == 0 and "without CUDA" in reason
    elif count == 0:
        assert reason and reason != "ok"  # always says why
    # the cuda backend is available exactly when the extension has CUDA and sees a device
    available, why = deepspin.backends()["cuda"]
    assert available == (_core.built_with_cuda and count > 0)
    assert available or why
