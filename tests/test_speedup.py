"""bench/speedup.py: the --smoke run's table and the accuracy-matched cutoff search."""
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


def test_matched_cutoff_is_the_smallest_rcut_within_the_target():
    """For a target equal to the error of rcut = 5, the search returns 5 or less, never more,
    and the cutoff just below it misses the target (checked independently here)."""
    configs = speedup.uniform_configs(300, 8, seed=3)
    reference = deepspin.ScreenedCoulomb(8).energy(configs)

    def median_error(rcut):
        return float(np.median(np.abs(deepspin.ScreenedCoulomb(8, rcut=rcut).energy(configs) - reference)))

    target = median_error(5)
    rcut, error = speedup.matched_cutoff("screened-coulomb", 8, 0.5, configs, reference, target, "cpu")
    assert rcut <= 5 and error <= target and error == pytest.approx(median_error(rcut))
    if rcut > 1:
        assert median_error(rcut - 1) > target


def test_smoke_run_table_and_json(tmp_path):
    pytest.importorskip("keras", reason="the surrogate needs Keras (pip install 'deepspin[surrogate]')")
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "speedup.py"), "--smoke", "--device", "cpu", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    for header in ("method", "configs/s", "median |error| (J)", "vs explicit rcut=64"):
        assert header in result.stdout
    (path,) = tmp_path.glob("speedup-screened-coulomb-cpu-*-smoke.json")
    data = json.loads(path.read_text())
    rcut = data["matched_rcut"]
    assert 1 <= rcut <= 64
    assert data["matched_rcut_median_abs_error"] <= data["surrogate_median_abs_error"]
    names = set(data["rows"])
    assert {"surrogate", "explicit rcut=64 float64", "explicit rcut=64 float32",
            f"explicit rcut={rcut} (matched) float64", "folded kernel (exact) float64"} == names
    for row in data["rows"].values():
        assert row["configs_per_s"] > 0
    assert data["rows"]["explicit rcut=64 float64"]["median_abs_error"] == 0.0
    assert data["rows"]["folded kernel (exact) float64"]["median_abs_error"] < 1e-9
    assert data["paper"]["speedup_vs_explicit"] == 1600.0  # the paper's column, labelled as such
    assert set(data["headline"]) == {"surrogate_vs_explicit_rcut64", "surrogate_vs_explicit_matched",
                                     "kernel_vs_surrogate"}
