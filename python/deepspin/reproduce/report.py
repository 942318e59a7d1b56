"""``report/README.md``: one table of the paper's numbers against ours, then one section per stage.

The paper column comes from :data:`deepspin.reproduce.paper.PAPER`; every other number is read from
the stages' ``results.json`` files, i.e. from the run.
"""
from __future__ import annotations

import math
from pathlib import Path

from ..io import write_text
from .paper import PAPER

PAPER_COLUMN = "Paper (Mills & Tamblyn 2018)"
HEADER = ("Study", PAPER_COLUMN, "Ours", "Ours vs paper", "Profile", "Machine", "Wall time", "Figure", "Command")


def fmt(value) -> str:
    """A number as the table shows it: integers with separators, floats to 5 significant digits."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.5g}" if math.isfinite(value) else str(value)
    return str(value)


def comparison(row: dict) -> str:
    """``ours / paper`` (as ``×r``) or ``ours - paper`` (signed), where the row asks for one and both exist."""
    entry = PAPER.get(row["paper"]) if row["paper"] else None
    if entry is None or entry.value is None or row["compare"] is None or not isinstance(row["ours"], (int, float)):
        return "—"
    if row["compare"] == "ratio":
        return f"×{row['ours'] / entry.value:.4g}"
    return f"{row['ours'] - entry.value:+.4g}"


def _paper_cell(key: str | None) -> str:
    if not key:
        return "—"
    entry = PAPER[key]
    return f"{entry.text} ({entry.where})"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def stage_dir(results: dict) -> str:
    """The stage's folder relative to the report."""
    return f"stages/{results['stage']}/{results['key']}"


def table(all_results: list[dict]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for results in all_results:
        for row in results["rows"]:
            unit = f" {row['unit']}" if row["unit"] else ""
            figure = f"[{row['figure']}]({stage_dir(results)}/{row['figure']})" if row["figure"] else "—"
            cells = (row["study"], _paper_cell(row["paper"]), fmt(row["ours"]) + unit, comparison(row),
                     results["profile"], results["machine"]["label"], _duration(results["wall_s"]), figure,
                     f"[{results['stage']}](#{results['stage']})")
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def section(results: dict) -> str:
    params = ", ".join(f"{k}={v}" for k, v in results["params"].items())
    figures = sorted({row["figure"] for row in results["rows"] if row["figure"]})
    parts = [f"### {results['stage']}", "", f"{results['title']}.", "",
             "```bash", results["command"], "```", "",
             f"Profile `{results['profile']}`: {params}. Ran on {results['machine']['label']} in "
             f"{_duration(results['wall_s'])}, finished {results['finished']} (deepspin {results['deepspin_version']}, "
             f"cache key `{results['key']}`).", ""]
    parts += [f"![{name}]({stage_dir(results)}/{name})" for name in figures]
    return "\n".join(parts) + "\n"


def render(all_results: list[dict], missing: list[str] | None = None) -> str:
    """The whole README text for the finished stages ``all_results`` (in report order)."""
    profiles = sorted({r["profile"] for r in all_results})
    total = sum(r["wall_s"] for r in all_results)
    text = [
        "# Mills & Tamblyn (2018), re-run by deepspin",
        "",
        "K. Mills and I. Tamblyn, *Deep neural networks for direct, featureless learning through observation: "
        "the case of two-dimensional spin models*, Phys. Rev. E 97, 032119 (2018).",
        "",
        f"The column \"{PAPER_COLUMN}\" quotes the paper (figure or section in brackets); every other number "
        f"was produced by the run described below each table row (profile {', '.join(profiles) or '—'}, "
        f"{_duration(total)} of stage wall time in all). \"Ours vs paper\" is ours / paper (×) or ours - paper (±); "
        "— where the paper states no number.",
        "",
        table(all_results),
        "",
    ]
    if missing:
        text += ["Stages not run into this report: " + ", ".join(f"`{m}`" for m in missing) + ".", ""]
    text += ["## Stages", ""] + [section(r) for r in all_results]
    return "\n".join(text)


def write(out, all_results: list[dict], missing: list[str] | None = None) -> Path:
    path = Path(out) / "README.md"
    write_text(path, render(all_results, missing))
    return path
