"""bench/gpu_check.sh (the script the lent GPU machine runs) and bench/learned_sweeps.py, on this machine."""
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _check(tmp_path, steps: str, deadline: int) -> list[str]:
    env = {**os.environ, "GPU_CHECK_STEPS": steps, "GPU_CHECK_DEADLINE": str(deadline), "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(ROOT / "bench" / "gpu_check.sh"), str(tmp_path)], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return (tmp_path / "gpu_check_summary.txt").read_text().splitlines()


def test_steps_run_in_the_order_given_and_unknown_ones_are_named(tmp_path):
    lines = _check(tmp_path, "nope backends", 120)
    named = [line for line in lines if line.startswith("== ")]
    assert named[0].startswith("== nope: unknown step") and named[1].startswith("== backends (limit 60 s)")
    assert re.fullmatch(r"\s+exit 0 after \d+ s", lines[lines.index(named[1]) + 1])
    assert "numpy" in (tmp_path / "gpu_check.log").read_text()  # deepspin backends ran


def test_steps_past_the_deadline_are_skipped(tmp_path):
    lines = _check(tmp_path, "backends learned", 5)
    assert any(line.startswith("== backends: skipped") for line in lines)
    assert any(line.startswith("== learned: skipped, a budget of") for line in lines)


def test_affordable_sweeps():
    spec = importlib.util.spec_from_file_location("learned_sweeps", ROOT / "bench" / "learned_sweeps.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    # 1 s per sweep, 2 runs, margin 1.5: 200 s buys 66 sweeps, rounded down to a multiple of 10.
    assert module.affordable(1.0, 200, 2, 1.5, 10, 2000) == 60
    assert module.affordable(1.0, 10, 2, 1.5, 10, 2000) == 10  # at least one step
    assert module.affordable(1e-4, 1000, 2, 1.5, 50, 2000) == 2000  # at most the paper's count
