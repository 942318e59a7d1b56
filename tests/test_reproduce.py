"""deepspin reproduce: content-addressed cache, resume, the report table, the CLI."""
import json

import numpy as np
import pytest

from deepspin import cli
from deepspin.observables import ising_energy_levels
from deepspin.reproduce import STAGES, Row, Stage, content_key, reproduce
from deepspin.reproduce.figures import peak_temperature
from deepspin.reproduce.paper import PAPER
from deepspin.reproduce.report import PAPER_COLUMN, fmt
from deepspin.reproduce.stage import load_results, run_stage
from deepspin.reproduce.stages import random_spin_absm


def test_content_key_depends_on_kind_and_params_only():
    assert content_key("s", {"a": 1, "b": [1, 2]}) == content_key("s", {"b": [1, 2], "a": 1})
    assert content_key("s", {"a": 1}) != content_key("s", {"a": 2})
    assert content_key("s", {"a": 1}) != content_key("t", {"a": 1})
    assert content_key("s", {"a": 1}) != content_key("s", {"a": 1, "b": 0})


def test_finished_stage_is_skipped_and_interrupted_stage_reruns(tmp_path):
    calls = []

    def body(ctx):
        calls.append(dict(ctx.params))
        if ctx.params.get("fail"):
            raise KeyboardInterrupt  # an interrupted stage
        return [Row("answer", 42)]

    stage = Stage("fake", "A counting stage", body)
    first, ran = run_stage(stage, "test", {"n": 1}, tmp_path, progress=False)
    assert ran and first["rows"][0]["ours"] == 42
    again, ran = run_stage(stage, "test", {"n": 1}, tmp_path, progress=False)
    assert not ran and again == first and len(calls) == 1
    _, ran = run_stage(stage, "test", {"n": 2}, tmp_path, progress=False)  # new parameters, new key
    assert ran and len(calls) == 2
    with pytest.raises(KeyboardInterrupt):
        run_stage(stage, "test", {"n": 3, "fail": True}, tmp_path, progress=False)
    assert load_results(stage, {"n": 3, "fail": True}, tmp_path) is None


def test_artefacts_are_built_once(tmp_path):
    from deepspin.reproduce.stage import Context

    builds = []

    def build(path):
        builds.append(path)
        path.write_text("x")

    ctx = Context(Stage("fake", "", lambda c: []), {}, tmp_path)
    a = ctx.artefact("thing", {"n": 1}, build, ".txt")
    b = ctx.artefact("thing", {"n": 1}, build, ".txt")
    c = ctx.artefact("thing", {"n": 2}, build, ".txt")
    assert a == b != c and len(builds) == 2


def test_report_of_a_real_run(tmp_path):
    readme = reproduce("test", out=tmp_path, only=["hash-uniformity", "dos-4x4"], progress=False)
    text = readme.read_text()
    header = next(line for line in text.splitlines() if line.startswith("| Study |"))
    assert f"| {PAPER_COLUMN} |" in header  # the table header names the paper's column
    dos = load_results(STAGES["dos-4x4"], {"L": 4}, tmp_path)
    ours = {row["study"]: row["ours"] for row in dos["rows"]}
    # independent values: SPEC's N - 1 levels, 2^16 configurations, two aligned ground states
    assert ours["4x4 Ising: energy levels"] == len(ising_energy_levels(4)) == 15
    assert ours["4x4 Ising: configurations"] == 2**16
    assert ours["4x4 Ising: configurations in each extreme level"] == 2
    assert "| 4x4 Ising: configurations | 65 536 configurations (Sec. IV.A) | 65,536 | ×1 | test |" in text
    hashes = load_results(STAGES["hash-uniformity"], {"L": 8, "n": 8192, "seed": 1}, tmp_path)
    chi2 = hashes["rows"][0]["ours"]
    assert 0.85 < chi2 < 1.15  # 8192 distinct configurations in 4096 buckets: chi^2/dof = 1 +- 0.022
    assert f"| {fmt(chi2)} |" in text
    assert (tmp_path / "stages" / "dos-4x4" / dos["key"] / "density_of_states.png").read_bytes()[:4] == b"\x89PNG"
    assert "`phase-8x8`" in text  # stages not run are listed as such, with no rows
    assert "8x8 Ising, exact operator" not in text


def test_phase_stage_matches_enumeration(tmp_path):
    reproduce("test", out=tmp_path, only=["phase-4x4"], progress=False)
    results = json.loads(next((tmp_path / "stages" / "phase-4x4").glob("*/results.json")).read_text())
    rows = {row["study"]: row["ours"] for row in results["rows"]}
    assert rows["4x4 Ising, exact operator: largest |<E>/N - exact|"] < 0.05
    assert rows["4x4 Ising: C/N peak temperature of the exact torus (γTc)"] == pytest.approx(2.4390, abs=1e-4)


def test_paper_table_entries_used_by_stages_exist(tmp_path):
    reproduce("test", out=tmp_path, only=["sampling-4x4", "coulomb-mc"], progress=False)
    for path in tmp_path.glob("stages/*/*/results.json"):
        for row in json.loads(path.read_text())["rows"]:
            assert row["paper"] is None or row["paper"] in PAPER


def test_peak_temperature_and_random_limit():
    T = np.linspace(1.0, 3.0, 11)
    assert peak_temperature(T, -(T - 2.13) ** 2) == pytest.approx(2.13)
    assert random_spin_absm(16) == pytest.approx(0.19638, abs=1e-5)
    assert random_spin_absm(64) == pytest.approx(0.099347, abs=1e-6)


def test_cli_unknown_stage_is_a_one_line_error(tmp_path, capsys):
    assert cli.main(["reproduce", "--profile", "test", "--only", "nope", "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "unknown stage 'nope'" in err and "hash-uniformity" in err


def test_enumeration_index_inverts_configurations():
    from deepspin.enumeration import configurations, index

    assert np.array_equal(index(configurations(3)), np.arange(2**9))
    assert np.array_equal(index(configurations(4, 1000, 1010)), np.arange(1000, 1010))


def test_tabulated_operator_gives_the_tabulated_energies(rng):
    from deepspin import Ising
    from deepspin.reproduce.learned import TabulatedOperator
    from deepspin.sampling import enumerate_all

    H = Ising(4)
    operator = TabulatedOperator(enumerate_all(H).energy, 4)
    configs = rng.choice(np.array([-1, 1], dtype=np.int8), size=(200, 4, 4))
    assert np.array_equal(operator.energy(configs), H.energy(configs))


@pytest.mark.slow
def test_learned_stages_use_the_network(tmp_path):
    pytest.importorskip("deepspin.surrogate.train")
    from deepspin.enumeration import configurations
    from deepspin.observables import class_to_energy
    from deepspin.reproduce import profiles
    from deepspin.reproduce.learned import TabulatedOperator, predict_all_4x4, trained_model
    from deepspin.reproduce.stage import Context
    from deepspin.reproduce.stages import sampling_specs
    from deepspin.surrogate import load

    reproduce("test", out=tmp_path, only=["phase-4x4-learned"], progress=False)
    p = profiles.params("test", "phase-4x4-learned")
    ctx = Context(STAGES["phase-4x4-learned"], p, tmp_path, progress=False)
    model = trained_model(ctx, sampling_specs(p["data"])["targeted-1"], "class", p["train"])  # cached: no retraining
    table = TabulatedOperator(class_to_energy(predict_all_4x4(model), 4), 4)
    configs = configurations(4, 30_000, 30_500)
    assert np.array_equal(table.energy(configs), load(model).energy(configs))
    assert len(list((tmp_path / "cache" / "model").glob("*.keras"))) == 2  # classifier, magnetization


def test_every_profile_sizes_every_stage():
    from deepspin.reproduce import PROFILES

    for name, sizes in PROFILES.items():
        assert set(sizes) == set(STAGES), name
