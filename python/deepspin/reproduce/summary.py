"""The summary table on top of the report: each claim of the paper, ours beside it, and a verdict.

Rows (:data:`CLAIMS`, from ``claims.json``) are of three kinds: ``claim`` (a result the paper states,
reproduced with its model or recipe: only these are tallied), ``check`` (a test of our own code that
the paper's figures rely on) and ``beyond`` (our own result on the paper's question with another
model). :func:`verdict` decides each row, first rule that applies: ``pending`` (stage not finished),
the claim's own rule (:attr:`Claim.decide`), the stage's statistical verdict, else :func:`_compare`
(``not comparable``, ``inconclusive`` below :data:`MIN_SEEDS` seeds, ``met`` within the paper's
rounding or our spread over seeds, else ``beaten`` or ``missed``). The rules, in words, are in
docs/reproduce.md.
"""
from __future__ import annotations

import dataclasses
import glob
import json
import math
import re
from pathlib import Path
from typing import Callable

from .paper import PAPER

#: Our size must be within 2 % of the paper's for a like-for-like verdict.
SIZE_TOLERANCE = 0.02
#: A trained number needs this many training seeds for a verdict other than "inconclusive".
MIN_SEEDS = 3
#: "Far inferior" (Sec. IV.B.7) is read as: every baseline's error at least this many times the CNN's.
FAR_INFERIOR = 3.0
KINDS = ("claim", "check", "beyond")


@dataclasses.dataclass(frozen=True)
class Claim:
    """One line of the summary table.

    ``paper``: key of :data:`PAPER`; ``size_paper``: the size the paper states (``None`` if it states
    none); ``better``: ``"higher"``, ``"lower"`` or ``None`` (no numeric comparison); ``tolerance``: the
    paper's rounding; ``trained``: the number comes from training a network (so it needs seeds);
    ``cause``: one or two sentences shown beside any verdict other than beaten or met, with
    ``{row key}`` placeholders filled from our rows; ``decide``: ``f(claim, row, rows) -> verdict``
    replacing the plain comparison."""

    key: str
    study: str
    stage: str
    metric: str
    paper: str | None = None
    size_paper: float | int | str | None = None
    better: str | None = None
    tolerance: float = 0.0
    kind: str = "claim"
    trained: bool = False
    cause: str | None = None
    decide: Callable | None = None


def _number(value):
    """``value`` if it is a finite number, else ``None`` (a NaN or an infinity is never compared)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) else None


def _not_finite(value) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def _krr(claim: Claim, row: dict, rows: dict) -> str:
    """The paper's 60.3 J against our kernels: "not reproduced" where an RBF kernel does ten times better
    than the paper's KRR (the paper's number is then a property of its kernel choice, not of KRR)."""
    rbf = _number((rows.get("ising8.krr_rbf_median") or {}).get("ours"))
    if rbf is not None and rbf * 10 < PAPER[claim.paper].value:
        return "not reproduced"
    return _compare(claim, row)


def _far_inferior(claim: Claim, row: dict, rows: dict) -> str:
    """Met if every baseline's median and mean error is at least :data:`FAR_INFERIOR` times the CNN's."""
    ratio = _number(row.get("ours"))
    if ratio is None:
        return "not comparable"
    return "met" if ratio >= FAR_INFERIOR else "not reproduced"


def _unstated_parameter(claim: Claim, row: dict, rows: dict) -> str:
    return "not comparable"


def _seeds_text(row: dict | None) -> str:
    if not row or not row.get("seeds"):
        return "1 training seed"
    return f"{row['seeds']} training seed{'s' if row['seeds'] != 1 else ''}"


_DECIDE = {"krr": _krr, "far_inferior": _far_inferior, "unstated_parameter": _unstated_parameter}
_SHARED = re.compile(r"\{@(\w+)\}")


def load_claims(path: Path) -> tuple[Claim, ...]:
    """The summary table's claims from ``claims.json``: ``claims``, each a :class:`Claim`'s fields with
    ``decide`` named (a key of :data:`_DECIDE`), and ``causes``, texts shared by several claims that a
    cause names as ``{@name}``."""
    data = json.loads(path.read_text())

    def claim(entry: dict) -> Claim:
        cause = entry.get("cause")
        if cause is not None:
            cause = _SHARED.sub(lambda m: data["causes"][m.group(1)], cause)
        decide = entry.get("decide")
        return Claim(**{**entry, "cause": cause, "decide": decide and _DECIDE[decide]})
    return tuple(claim(entry) for entry in data["claims"])


#: The rows of the summary table, in order (``claims.json`` beside this module).
CLAIMS = load_claims(Path(__file__).resolve().parent / "claims.json")


def _compare(claim: Claim, row: dict) -> str:
    """The plain comparison of our ``row`` with the paper's number (the rules of the module doc)."""
    entry = PAPER.get(claim.paper) if claim.paper else None
    ours = _number(row["ours"])
    if entry is None or entry.value is None or claim.better is None or ours is None:
        return "not comparable"
    if not same_size(claim.size_paper, row.get("size")):
        return "not comparable"
    if claim.trained and (row.get("seeds") or 1) < MIN_SEEDS:
        return "inconclusive"
    difference = ours - entry.value
    if abs(difference) <= max(claim.tolerance, row.get("spread") or 0.0):
        return "met"
    return "beaten" if (difference > 0) == (claim.better == "higher") else "missed"


def verdict(claim: Claim, row: dict | None, rows: dict | None = None) -> str:
    """The verdict of ``claim`` given our ``row`` (``None``: the stage has not finished) and every row by key."""
    if row is None:
        return "pending"
    if _not_finite(row.get("ours")) or _not_finite(row.get("spread")):
        return "inconclusive"
    if claim.decide is not None:
        return claim.decide(claim, row, rows or {})
    if row.get("verdict"):
        return row["verdict"]
    return _compare(claim, row)


def same_size(size_paper, size_ours) -> bool:
    """Whether our size matches the paper's within :data:`SIZE_TOLERANCE` (``True`` where the paper states
    no number)."""
    paper, ours = _number(size_paper), _number(size_ours)
    if paper is None:
        return True
    return ours is not None and abs(ours / paper - 1) <= SIZE_TOLERANCE


def speedup_sources(pattern) -> list[str]:
    """The JSON files of ``bench/speedup.py`` matched by ``pattern`` (a glob, or several separated by ``,``)."""
    if not pattern:
        return []
    return sorted({m for p in str(pattern).split(",") for m in glob.glob(p.strip())})


def _measurements(path: str) -> list[dict]:
    """``{model, runtime, device, ratio, matched, error, source}`` per surrogate in one speedup JSON (the
    per-row format of bench/speedup.py, or the older GPU format with one ``headline``)."""
    data = json.loads(Path(path).read_text())
    machine = data.get("machine", {})
    gpus = machine.get("gpus") or []
    device = (gpus[0]["name"] if data.get("device") == "gpu" and gpus else machine.get("cpu", "?"))
    rows = data.get("rows")
    if isinstance(rows, list):
        return [{"model": "paper" if "paper CNN" in r["method"] else "fast", "runtime": r.get("runtime"),
                 "device": device, "ratio": r.get("vs_explicit_rcut64"), "matched": r.get("vs_explicit_matched"),
                 "error": r.get("median_abs_error"), "source": path}
                for r in rows if r.get("kind") == "surrogate"]
    headline = data.get("headline") or {}
    if "surrogate_vs_explicit_rcut64" not in headline:
        return []
    model = "paper" if "screened_coulomb_L8" in str(data.get("model")) else "fast"
    return [{"model": model, "runtime": "gpu", "device": device, "ratio": headline["surrogate_vs_explicit_rcut64"],
             "matched": headline.get("surrogate_vs_explicit_matched"), "error": data.get("surrogate_median_abs_error"),
             "source": path}]


def speedup_rows(pattern) -> dict:
    """The two 1600x rows, ``{"coulomb.speedup_paper": row, "coulomb.speedup_fast": row}`` (either absent
    without a measurement), from every JSON of ``bench/speedup.py`` that ``pattern`` matches: the paper's
    CNN on each device measured (its best runtime there), and our fast surrogate's best ratio."""
    found = [m for path in speedup_sources(pattern) for m in _measurements(path) if m["ratio"] is not None]
    out = {}
    paper = {}
    for m in found:
        if m["model"] == "paper" and m["ratio"] > paper.get(m["device"], {"ratio": -1})["ratio"]:
            paper[m["device"]] = m
    if paper:
        best = max(paper.values(), key=lambda m: m["ratio"])
        detail = "; ".join(f"{m['device']}: {m['ratio']:.3g}x vs rcut 64, {m['matched']:.3g}x vs the explicit sum at "
                           f"matched accuracy (median |error| {m['error']:.3g} J; {m['source']})"
                           for m in paper.values())
        out["coulomb.speedup_paper"] = {
            "study": f"the paper's CNN (models/screened_coulomb_L8.keras): {detail}", "ours": float(best["ratio"]),
            "unit": "x", "size": ", ".join(paper), "verdict": "met" if best["ratio"] >= 1600 / 1.005 else "missed"}
    fast = [m for m in found if m["model"] == "fast"]
    if fast:
        best = max(fast, key=lambda m: m["ratio"])
        good = best["error"] is not None and best["error"] <= 0.640
        out["coulomb.speedup_fast"] = {
            "study": f"fast extensive surrogate (models/screened_coulomb_fast.keras, {best['runtime']}), median "
                     f"|error| {best['error']:.3g} J, {best['device']} ({best['source']})",
            "ours": float(best["ratio"]), "unit": "x", "size": best["device"],
            "verdict": "beaten" if good and best["ratio"] >= 1600 else "missed"}
    return out


_PLACEHOLDER = re.compile(r"\{([a-z0-9_.\-]+)\}")


def _fill(text: str | None, rows: dict) -> str | None:
    """``text`` with each ``{row key}`` replaced by that row's number (and unit), or "not measured"."""
    if text is None:
        return None

    def value(match):
        row = rows.get(match.group(1))
        if row is None or _number(row.get("ours")) is None:
            return "not measured"
        unit = row.get("unit") or ""
        return f"{row['ours']:.4g}{' ' + unit if unit else ''}"
    return _PLACEHOLDER.sub(value, text)


def summary_rows(results: list[dict], speedups: dict | None = None) -> list[dict]:
    """One dict per claim: ``key``, ``kind``, ``study``, ``paper``, ``paper_text``, ``ours``, ``spread``,
    ``seeds``, ``unit``, ``size_ours``, ``size_paper``, ``metric``, ``verdict``, ``cause`` (for verdicts
    other than beaten and met), ``ratio`` and ``difference`` (ours / paper and ours - paper where like for
    like, else ``None``), ``stage``, ``detail`` (our row's own text)."""
    by_key = {row["key"]: row for result in results for row in result["rows"] if row.get("key")}
    by_key.update(speedups or {})
    out = []
    for claim in CLAIMS:
        row = by_key.get(claim.key)
        entry = PAPER.get(claim.paper) if claim.paper else None
        decided = verdict(claim, row, by_key)
        ours = None if row is None else row["ours"]
        ratio = None
        if decided in ("beaten", "met", "missed") and entry is not None and entry.value and _number(ours) is not None \
                and same_size(claim.size_paper, row.get("size")) and claim.better is not None:
            ratio = ours / entry.value
        cause = None
        if decided == "inconclusive" and (_not_finite(ours) or _not_finite(row.get("spread"))):
            cause = (f"Our number ({ours} +- {row.get('spread')}) is not finite: the stage produced no valid value "
                     "(the row's detail says which).")
        elif decided == "inconclusive" and claim.trained and row is not None and (row.get("seeds") or 1) < MIN_SEEDS:
            few = f"{_seeds_text(row)}; a verdict needs {MIN_SEEDS}."
            # A row its stage decided (an AdaDelta run short of convergence) states that cause first.
            cause = " ".join(filter(None, (_fill(claim.cause, by_key), few))) if row.get("verdict") else few
        elif decided not in ("beaten", "met", "pending"):
            cause = _fill(claim.cause, by_key)
            if decided == "not comparable" and not same_size(claim.size_paper, row.get("size")):
                size = f"{row['size']:,}" if _number(row.get("size")) is not None else row.get("size")
                cause = " ".join(filter(None, (f"Our size ({size}) is not the paper's ({claim.size_paper:,}): this "
                                               "profile is smaller than the paper's.", cause)))
        out.append({"key": claim.key, "kind": claim.kind, "study": claim.study,
                    "paper": None if entry is None else entry.value,
                    "paper_text": None if entry is None else f"{entry.text} ({entry.where})", "ours": ours,
                    "spread": None if row is None else row.get("spread"),
                    "seeds": None if row is None else row.get("seeds"),
                    "unit": "" if row is None else row.get("unit", ""),
                    "size_ours": None if row is None else row.get("size"), "size_paper": claim.size_paper,
                    "metric": claim.metric, "verdict": decided, "cause": cause, "ratio": ratio,
                    "difference": None if ratio is None else ours - entry.value, "stage": claim.stage,
                    "detail": None if row is None else row.get("study")})
    return out
