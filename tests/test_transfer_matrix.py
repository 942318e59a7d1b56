"""The transfer-matrix g(E, M) of the Ising torus: against enumeration, Kaufman, symmetry and normalisation."""
import json
from collections import Counter

import numpy as np
import pytest

import deepspin
from deepspin import cli
from deepspin.mc import enumerate_thermodynamics, exact_thermodynamics, ising_torus
from deepspin.mc.transfer import MAX_L, ising_density_of_states, thermodynamics
from deepspin.sampling import enumerate_all

TEMPS = [1.0, 2.0, 2.269, 2.5, 4.0]


def as_dict(dos) -> dict:
    return {(int(e), int(m)): int(dos.counts[i, j]) for i, e in enumerate(dos.energies)
            for j, m in enumerate(dos.magnetizations) if dos.counts[i, j]}


@pytest.mark.parametrize("L", [2, 3, 4])
def test_joint_density_of_states_equals_enumeration(L):
    every = enumerate_all(deepspin.Ising(L))
    energies = np.rint(every.energy).astype(int)
    magnetizations = every.spins.reshape(len(energies), -1).astype(int).sum(axis=1)
    assert as_dict(ising_density_of_states(L)) == dict(Counter(zip(energies.tolist(), magnetizations.tolist())))


def test_magnetization_from_the_density_of_states_equals_enumeration_L4():
    values = thermodynamics(ising_density_of_states(4), TEMPS)
    reference = enumerate_thermodynamics(deepspin.Ising(4), TEMPS)
    for key in ("E_per_site", "C_per_site", "absm"):
        np.testing.assert_allclose(values[key], reference[key], rtol=1e-12, atol=0)


@pytest.mark.parametrize("L", [6, 8])
def test_normalisation_symmetry_and_kaufman(L):
    dos = ising_density_of_states(L)
    N = L * L
    assert dos.total() == 2**N  # every configuration counted once
    counts = as_dict(dos)
    assert all(counts[(e, -m)] == c for (e, m), c in counts.items())  # spin flip: g(E, M) = g(E, -M)
    assert counts[(-2 * N, N)] == counts[(-2 * N, -N)] == 1  # the two ground states
    assert all((e + 2 * N) % 4 == 0 for e, _ in counts)  # domain walls on a torus close: an even number of broken bonds
    assert all((m + N) % 2 == 0 for _, m in counts)
    # independent: Kaufman's exact torus partition function gives the same <E>/N and C/N
    values = thermodynamics(dos, TEMPS)
    kaufman = ising_torus(L, TEMPS)
    np.testing.assert_allclose(values["E_per_site"], kaufman["E_per_site"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(values["C_per_site"], kaufman["C_per_site"], rtol=0, atol=1e-10)
    # <|m|> falls from 1 (ordered) towards the random-spin value C(N, N/2) / 2^N ... plus thermal correlations
    assert values["absm"][0] > 0.99 and np.all(np.diff(values["absm"]) < 0)


def test_exact_thermodynamics_method_transfer_and_bad_input():
    values = exact_thermodynamics(deepspin.Ising(4, J=-1.0), [1.5, 3.0], method="transfer")
    reference = enumerate_thermodynamics(deepspin.Ising(4, J=-1.0), [1.5, 3.0])
    np.testing.assert_allclose(values["absm"], reference["absm"], rtol=1e-12)
    np.testing.assert_allclose(values["E_per_site"], reference["E_per_site"], rtol=1e-12)
    with pytest.raises(ValueError, match="counts Ising configurations"):
        exact_thermodynamics(deepspin.ScreenedCoulomb(4), [2.0], method="transfer")
    with pytest.raises(ValueError, match=f"L must be an integer in \\[2, {MAX_L}\\]"):
        ising_density_of_states(MAX_L + 1)


def test_cli_writes_the_density_of_states(tmp_path, capsys):
    path = tmp_path / "dos.json"
    assert cli.main(["exact", "--L", "4", "--T", "2", "--method", "transfer", "--dos", str(path)]) == 0
    data = json.loads(path.read_text())
    assert sum(int(c) for row in data["counts"] for c in row) == 2**16
    assert len(data["energies"]) == 15 and data["magnetizations"][0] == -16
    out = capsys.readouterr().out
    reference = enumerate_thermodynamics(deepspin.Ising(4), [2.0])["absm"][0]
    assert f"{reference:10.6f}" in out
