"""bench/speedup.py: the accuracy-matched cutoff search, and a --smoke run's JSON checked against
values recomputed here (exact energies, plain Keras predictions, the rates in the same file)."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import deepspin

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import speedup  # noqa: E402


def median_error(configs, reference, rcut):
    return float(np.median(np.abs(deepspin.ScreenedCoulomb(8, rcut=rcut).energy(configs) - reference)))


def smallest_matching_cutoff(configs, reference, target):
    """The accuracy-matched cutoff, searched here independently of the script."""
    return next(r for r in range(1, 65) if median_error(configs, reference, r) <= target)


def test_matched_cutoff_is_the_smallest_rcut_within_the_target():
    """For a target equal to the error of rcut = 5, the search returns 5 or less, never more,
    and the cutoff just below it misses the target (checked independently here)."""
    configs = speedup.uniform_configs(300, 8, seed=3)
    reference = deepspin.ScreenedCoulomb(8).energy(configs)
    target = median_error(configs, reference, 5)
    rcut, error = speedup.matched_cutoff("screened-coulomb", 8, 0.5, configs, reference, target, "cpu")
    assert rcut <= 5 and error <= target and error == pytest.approx(median_error(configs, reference, rcut))
    if rcut > 1:
        assert median_error(configs, reference, rcut - 1) > target


def test_verdict_follows_the_rows():
    rows = [{"method": "a", "kind": "surrogate", "median_abs_error": 0.5, "vs_explicit_rcut64": 1700.0},
            {"method": "b", "kind": "surrogate", "median_abs_error": 0.7, "vs_explicit_rcut64": 9000.0},
            {"method": "c", "kind": "kernel", "median_abs_error": 0.0, "vs_explicit_rcut64": 1e5}]
    assert speedup.verdict(rows)["reproduced"] and speedup.verdict(rows)["best_method"] == "a"
    rows[0]["vs_explicit_rcut64"] = 1599.0
    v = speedup.verdict(rows)
    assert not v["reproduced"] and v["best_ratio"] == 1599.0
    assert speedup.verdict_line(v) == "paper's 1600x at <= 0.640 J: not reproduced (best 1,599.0 x, a)"


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    pytest.importorskip("keras", reason="the surrogate needs Keras (pip install 'deepspin[surrogate]')")
    out = tmp_path_factory.mktemp("speedup")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "speedup.py"), "--smoke", "--device", "cpu", "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("speedup-screened-coulomb-cpu-*-smoke.json")
    return result, json.loads(path.read_text())


def test_smoke_output_is_the_table_and_verdict_without_framework_chatter(smoke):
    result, data = smoke
    for header in ("method", "configs/s", "median |error| (J)", "vs explicit rcut=64", "vs explicit matched",
                   "vs folded kernel"):
        assert header in result.stdout
    assert speedup.verdict_line(data["verdict"]) in result.stdout.splitlines()
    for chatter in ("absl::InitializeLog", "cudart_stub", "oneDNN custom operations", "retracing"):
        assert chatter not in result.stdout + result.stderr


def test_smoke_rows_have_the_schema_and_every_shipped_surrogate(smoke):
    _, data = smoke
    keys = {"method", "configs_per_s", "median_abs_error", "vs_explicit_rcut64", "vs_explicit_matched",
            "vs_folded_kernel"}
    for row in data["rows"]:
        assert keys <= set(row) and row["configs_per_s"] > 0
    models = {Path(r["model"]).name for r in data["rows"] if r["kind"] == "surrogate"}
    assert {"screened_coulomb_L8.keras", "screened_coulomb_fast.keras"} <= models
    assert {"reproduced", "best_method", "best_ratio"} <= set(data["verdict"])


def test_smoke_errors_recomputed_from_exact_energies_and_plain_keras(smoke):
    """Each surrogate row's median |error| equals Keras predict vs the exact sum on the same test set."""
    from deepspin.surrogate import model_io

    _, data = smoke
    test = speedup.uniform_configs(data["test_set"]["n"], 8, seed=data["test_set"]["seed"])
    exact = deepspin.ScreenedCoulomb(8, k=0.5).energy(test, method="kernel")
    for row in (r for r in data["rows"] if r["kind"] == "surrogate"):
        model, _ = model_io.load(row["model"])
        predicted = np.asarray(model.predict(test.astype(np.float32), batch_size=1000, verbose=0))[:, 0]
        expected = float(np.median(np.abs(predicted - exact)))
        assert row["median_abs_error"] == pytest.approx(expected, rel=1e-3, abs=1e-5)
        assert row["matched_rcut"] == smallest_matching_cutoff(test, exact, row["median_abs_error"])
    kernel = next(r for r in data["rows"] if r["kind"] == "kernel")
    assert kernel["median_abs_error"] < 1e-9  # the folded kernel is exact (SPEC: 1e-9 relative)


def test_smoke_ratios_are_the_rates_in_the_same_file(smoke):
    _, data = smoke
    rows = {r["method"]: r for r in data["rows"]}
    explicit64 = max(rows[f"explicit rcut=64 {p}"]["configs_per_s"] for p in ("float64", "float32"))
    kernel = rows["folded kernel (exact) float64"]["configs_per_s"]
    for row in data["rows"]:
        matched = rows[f"explicit rcut={row['matched_rcut']} float64"]["configs_per_s"]
        assert row["vs_explicit_rcut64"] == pytest.approx(row["configs_per_s"] / explicit64)
        assert row["vs_explicit_matched"] == pytest.approx(row["configs_per_s"] / matched)
        assert row["vs_folded_kernel"] == pytest.approx(row["configs_per_s"] / kernel)


def test_smoke_verdict_is_consistent_with_its_rows(smoke):
    _, data = smoke
    surrogates = [r for r in data["rows"] if r["kind"] == "surrogate"]
    accurate = [r for r in surrogates if r["median_abs_error"] <= 0.640]
    best = max(accurate or surrogates, key=lambda r: r["vs_explicit_rcut64"])
    assert data["verdict"]["best_method"] == best["method"]
    assert data["verdict"]["best_ratio"] == pytest.approx(best["vs_explicit_rcut64"])
    assert data["verdict"]["reproduced"] == bool(accurate and best["vs_explicit_rcut64"] >= 1600)


def test_default_output_folder_is_ignored_by_git():
    """Every benchmark writes to harness.OUT_DIR unless told otherwise: it must be git-ignored, and
    bench/results (the committed references) must not be."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out_dir = speedup.harness.OUT_DIR

    def ignored(path):
        return subprocess.run(["git", "-C", str(ROOT), "check-ignore", "-q", str(path)]).returncode == 0

    assert ignored(out_dir / "x.json"), f"{out_dir} must be git-ignored: the main job must leave git status clean"
    assert not ignored(ROOT / "bench" / "results" / "x.json")
