"""The shipped Falicov-Kimball surrogate (models/falicov_kimball_extensive.keras) against the exact energy,
and exact surrogate-accelerated Monte Carlo with it from the command line."""
import json
from pathlib import Path

import numpy as np
import pytest

import deepspin
from deepspin.cli import main

pytest.importorskip("keras", reason="the shipped surrogate needs Keras (pip install 'deepspin[surrogate]')")

MODEL = Path(__file__).resolve().parents[1] / "models" / "falicov_kimball_extensive.keras"
T = 0.14


def near_ordered(L: int, count: int, defects: float, seed: int) -> np.ndarray:
    """Checkerboards (both signs) with a fraction ``defects`` of random flips: the states Monte Carlo visits near T_c."""
    rng = np.random.default_rng(seed)
    r, c = np.indices((L, L))
    board = np.where((r + c) % 2 == 0, 1, -1).astype(np.int8)
    configs = np.where(rng.random((count, 1, 1)) < 0.5, board, -board).astype(np.int8)
    configs[rng.random(configs.shape) < defects] *= -1
    return configs


def single_flip_changes(energy, configs: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """``E(s with site flipped) - E(s)`` for one site per configuration."""
    flipped = configs.reshape(len(configs), -1).copy()
    flipped[np.arange(len(configs)), sites] *= -1
    return energy(flipped.reshape(configs.shape)) - energy(configs)


@pytest.fixture(scope="module")
def surrogate():
    from deepspin.surrogate import load

    return load(MODEL)


def test_the_card_names_the_model_it_learned():
    card = json.loads(MODEL.with_suffix(".json").read_text())
    assert card["hamiltonian"] == {"name": "falicov-kimball", "U": 4.0, "t": 1.0}
    assert card["receptive_radius"] == 3


@pytest.mark.parametrize("L", [8, 16])
def test_single_flip_energy_changes_beat_the_linear_pair_model(surrogate, L):
    """Single-flip dÊ of the network against the exact dE, and against a 4-shell pair model fitted to the same states.

    The pair model is fitted here, by least squares, on the very configurations it is scored on
    (its best case); the network never saw them.
    """
    H = deepspin.FalicovKimball(L)
    configs = near_ordered(L, 96 if L == 8 else 24, 0.12, seed=L)
    sites = np.random.default_rng(L + 1).integers(0, L * L, len(configs))
    exact = single_flip_changes(lambda c: H.energy(c, T), configs, sites)
    network = single_flip_changes(surrogate.energy, configs, sites)
    from deepspin.effective import fit_pair_model

    flipped = configs.reshape(len(configs), -1).copy()
    flipped[np.arange(len(configs)), sites] *= -1
    both = np.concatenate([configs, flipped.reshape(configs.shape)])
    linear = fit_pair_model(both, H.energy(both, T), L, shells=4)
    linear_changes = single_flip_changes(linear.energy, configs, sites)
    network_rms = np.sqrt(np.mean((network - exact) ** 2))
    linear_rms = np.sqrt(np.mean((linear_changes - exact) ** 2))
    assert np.std(exact) > 0.1  # the changes span a real range (near-ordered states, U = 4)
    assert network_rms < 0.6 * linear_rms, (network_rms, linear_rms)


def test_cumulative_updates_from_the_command_line(tmp_path, capsys):
    out = tmp_path / "fk.json"
    code = main(["mc", "--hamiltonian", "falicov-kimball", "--L", "8", "--T", "0.13,0.16", "--chains", "4",
                 "--sweeps", "8", "--burn-in", "2", "--surrogate", str(MODEL), "--accept", "cumulative",
                 "--surrogate-sweeps", "2", "-o", str(out), "--no-progress"])
    assert code == 0
    records = json.loads(out.read_text())
    assert [r["T"] for r in records] == [0.13, 0.16]
    for r in records:
        assert 0 < r["exact_acceptance"] <= 1 and r["exact_evaluations"] > 0
        assert 0 <= r["absm"] <= 1  # <|m_s|>, the staggered order parameter
    assert "exact.acc" in capsys.readouterr().out
