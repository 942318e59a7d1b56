"""The summary table on top of the report: each claim of the paper, ours beside it, and a verdict.

A claim (:data:`CLAIMS`) names the paper's number (:data:`deepspin.reproduce.paper.PAPER`), the size
the paper got it at, which direction is better and the stage whose row (``Row.key`` = the claim's
key) holds our number and size. The verdict:

- ``pending``: the stage has not finished in this report folder;
- the stage's own verdict where it decides the claim by a statistical criterion (Metropolis curves
  within a number of standard errors, a peak temperature against the exact torus);
- ``not comparable`` where the paper states no number, or our size differs from the paper's by more
  than 2 %;
- otherwise ``met`` within the paper's rounding (``tolerance``), else ``beaten`` or ``missed`` by the
  direction that is better. A ratio ours / paper is printed only where sizes and metrics match.
"""
from __future__ import annotations

import dataclasses
import glob
import json
from pathlib import Path

from .paper import PAPER

#: Relative difference of sizes up to which a comparison counts as like for like (hash splits are
#: not exactly 2:1).
SIZE_TOLERANCE = 0.02


@dataclasses.dataclass(frozen=True)
class Claim:
    """One line of the summary table."""

    key: str
    study: str
    stage: str
    paper: str | None  # key of PAPER
    size_paper: float | int | str | None
    metric: str
    better: str | None = None  # "higher", "lower" or None (the stage decides, or no comparison)
    tolerance: float = 0.0  # |ours - paper| <= tolerance counts as met (the paper's rounding)


CLAIMS = (
    Claim("hash.uniform", "SHA3 split: bucket counts uniform (chi^2/dof)", "hash-uniformity", "hash.uniform", None,
          "chi^2 / dof, met within 3 sigma of 1"),
    Claim("ising4.levels", "4x4 Ising: energy levels", "dos-4x4", "ising4.levels", None, "count", "higher"),
    Claim("ising4.uniform_accuracy", "4x4 classifier, uniform data: accuracy on all 65,536", "classify-4x4",
          "ising4.uniform_accuracy", 12_500, "accuracy (%)", "higher", 0.005),
    Claim("ising4.targeted_best_accuracy", "4x4 classifier, targeted data: best of 3 sets on all 65,536",
          "classify-4x4", "ising4.targeted_best_accuracy", 27_000, "accuracy (%)", "higher"),
    Claim("ising4.adadelta_accuracy", "4x4 classifier, targeted set 1, the paper's AdaDelta protocol",
          "adadelta-protocol", "ising4.targeted_best_accuracy", 27_000, "accuracy (%)", "higher"),
    Claim("ising4.adadelta_unit_accuracy", "4x4 classifier, targeted set 1, AdaDelta at Zeiler's unit rate",
          "adadelta-protocol", "ising4.targeted_best_accuracy", 27_000, "accuracy (%)", "higher"),
    Claim("ising8.accuracy", "8x8 classifier: test accuracy", "ising-8x8", "ising8.accuracy", 100_000,
          "accuracy (%)", "higher", 0.0005),
    Claim("ising8.adadelta_accuracy", "8x8 classifier, the paper's AdaDelta protocol: test accuracy",
          "adadelta-protocol", "ising8.accuracy", 100_000, "accuracy (%)", "higher", 0.0005),
    Claim("ising8.adadelta_unit_accuracy", "8x8 classifier, AdaDelta at Zeiler's unit rate: test accuracy",
          "adadelta-protocol", "ising8.accuracy", 100_000, "accuracy (%)", "higher", 0.0005),
    Claim("ising8.regression_median", "8x8 energy regression: median |error|", "ising-8x8",
          "ising8.regression_median", 100_000, "median |error| (J)", "lower", 0.0005),
    Claim("ising8.magnetization_median", "8x8 magnetization regression: median |error|", "ising-8x8",
          "ising8.magnetization_median", 100_000, "median |error| (per spin)", "lower", 5e-4),
    Claim("ising8.krr_median", "8x8 energy, kernel ridge regression: median |error|", "baselines-8x8",
          "ising8.krr_median", "various", "median |error| (J)", "lower", 0.05),
    Claim("ising8.rf_mae", "8x8 energy, random forest: mean |error|", "baselines-8x8", "ising8.rf_mae", "various",
          "mean |error| (J)", "lower", 0.05),
    Claim("ising8.cnn_beats_baselines", "8x8 energy: the CNN beats KRR and RF on both metrics, same split",
          "baselines-8x8", "ising8.baselines_inferior", None, "median and mean |error|"),
    Claim("ising4.Tc", "4x4 Ising, exact operator: C/N peak vs the exact torus", "phase-4x4", "ising.Tc", None,
          "peak T, met within 2 standard errors"),
    Claim("ising8.Tc", "8x8 Ising, exact operator: C/N peak vs the exact torus", "phase-8x8", "ising.Tc", None,
          "peak T, met within 2 standard errors"),
    Claim("ising4.learned_phase", "4x4 Metropolis, learned energy and magnetization (tabulated) vs exact twin",
          "phase-4x4-learned", "ising.phase_match", "400 chains",
          "|<E>/N - twin| <= 3 SE at every T; C/N peak within 2 SE of the torus"),
    Claim("ising8.classification_phase", "8x8 Metropolis, learned classifier vs exact twin", "phase-8x8-learned",
          "ising8.classification_phase", "400 chains x 46 T x 2000 sweeps",
          "|<E>/N - twin| <= 3 SE at every T; C/N peak within 2 SE of the torus"),
    Claim("ising8.regression_phase", "8x8 Metropolis, learned regressor vs exact twin", "phase-8x8-learned",
          "ising8.regression_phase", "400 chains x 46 T x 2000 sweeps",
          "|<E>/N - twin| <= 3 SE at every T; C/N peak within 2 SE of the torus"),
    Claim("coulomb-regression.error", "Screened Coulomb 8x8: median |error|", "coulomb-regression",
          "coulomb-regression.error", 100_000, "median |error| (J)", "lower", 0.0005),
    Claim("sinusoidal-regression.error", "Sinusoidal screened Coulomb 8x8: median |error|", "sinusoidal-regression",
          "sinusoidal-regression.error", 100_000, "median |error| (J)", "lower", 0.0005),
    Claim("potts-regression.error", "Planar Potts 8x8: mean |error|", "potts-regression", "potts-regression.error",
          500_000, "mean |error| (J)", "lower", 0.0005),
    Claim("coulomb.high_T_absm", "Screened Coulomb: <|m|> reaches the random-spin value at high T", "coulomb-mc",
          "coulomb.high_T_absm", None, "<|m|> / random at the hottest T, met within 1 %"),
    Claim("coulomb.learned_match", "Screened Coulomb Metropolis, fine-tuned learned operator vs exact twin",
          "coulomb-learned", "coulomb.learned_match", "400 chains",
          "|<|m|> - twin| <= 3 SE at every T"),
    Claim("coulomb.speedup", "Screened Coulomb 8x8: surrogate speed vs the explicit image sum (rcut = 64)",
          "bench/speedup.py", "coulomb.speedup", None, "x faster at <= 0.640 J median |error|", "higher"),
    Claim("demo.kernels", "9x9 demonstration network (512 kernels 3x3, stride 3): test MAE", "kernels-9x9",
          "demo.performance", 200_000, "mean |error| (J)"),
)


def _number(value):
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def verdict(claim: Claim, row: dict | None) -> str:
    """The verdict of ``claim`` given our ``row`` (``None``: the stage has not finished)."""
    if row is None:
        return "pending"
    if row.get("verdict"):
        return row["verdict"]
    entry = PAPER.get(claim.paper) if claim.paper else None
    ours = _number(row["ours"])
    if entry is None or entry.value is None or claim.better is None or ours is None:
        return "not comparable"
    if not same_size(claim.size_paper, row.get("size")):
        return "not comparable"
    difference = ours - entry.value
    if abs(difference) <= claim.tolerance:
        return "met"
    return "beaten" if (difference > 0) == (claim.better == "higher") else "missed"


def same_size(size_paper, size_ours) -> bool:
    """Whether our size matches the paper's within :data:`SIZE_TOLERANCE` (``True`` where the paper states
    none or gives a range such as "various")."""
    paper, ours = _number(size_paper), _number(size_ours)
    if paper is None:
        return True
    return ours is not None and abs(ours / paper - 1) <= SIZE_TOLERANCE


def speedup_row(path) -> dict | None:
    """The 1600x claim as a row, read from ``bench/speedup.py``'s JSON (``rows``, ``verdict``) at ``path``
    (a glob: the newest match), or ``None`` when there is none."""
    matches = sorted(glob.glob(str(path)), key=lambda p: Path(p).stat().st_mtime) if path else []
    if not matches:
        return None
    data = json.loads(Path(matches[-1]).read_text())
    result = data.get("verdict")
    if not isinstance(result, dict) or result.get("best_ratio") is None:
        return None
    best = next((r for r in data.get("rows", []) if r.get("method") == result.get("best_method")), {})
    machine = data.get("machine", {})
    where = machine.get("label") or machine.get("cpu") or data.get("device", "?")
    error = best.get("median_abs_error")
    return {
        "study": f"best surrogate {result['best_method']}"
                 + (f" (median |error| {error:.3g} J)" if error is not None else ""),
        "ours": float(result["best_ratio"]), "unit": "x",
        "size": f"{data.get('device', '?')}: {where}" + (" (smoke)" if data.get("smoke") else ""),
        "verdict": ("met" if result["best_ratio"] < 1.005 * 1600 else "beaten") if result.get("reproduced")
        else "missed", "source": str(matches[-1]),
    }


def summary_rows(results: list[dict], speedup: dict | None = None) -> list[dict]:
    """One dict per claim: ``key``, ``study``, ``paper``, ``ours``, ``unit``, ``size_ours``, ``size_paper``,
    ``metric``, ``verdict``, ``ratio`` and ``difference`` (ours / paper and ours - paper where like for
    like, else ``None``), ``stage``."""
    by_key = {}
    for result in results:
        for row in result["rows"]:
            if row.get("key"):
                by_key[row["key"]] = row
    if speedup is not None:
        by_key["coulomb.speedup"] = speedup
    out = []
    for claim in CLAIMS:
        row = by_key.get(claim.key)
        entry = PAPER.get(claim.paper) if claim.paper else None
        decided = verdict(claim, row)
        ours = None if row is None else row["ours"]
        ratio = None
        if decided in ("beaten", "met", "missed") and entry is not None and entry.value and _number(ours) is not None \
                and same_size(claim.size_paper, row.get("size")) and claim.better is not None:
            ratio = ours / entry.value
        difference = None if ratio is None else ours - entry.value
        out.append({"key": claim.key, "study": claim.study, "paper": None if entry is None else entry.value,
                    "paper_text": None if entry is None else f"{entry.text} ({entry.where})", "ours": ours,
                    "unit": "" if row is None else row.get("unit", ""),
                    "size_ours": None if row is None else row.get("size"), "size_paper": claim.size_paper,
                    "metric": claim.metric, "verdict": decided, "ratio": ratio,
                    "difference": difference, "stage": claim.stage,
                    "detail": None if row is None else row.get("study")})
    return out
