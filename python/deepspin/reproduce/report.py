"""``report/README.md`` and ``report/summary.json``: the paper's claims against ours, readable in a minute.

Layout: a header that states once the machine, the profile, the versions of the numerical libraries,
the total stage time and our training protocol; the summary tables (study | paper | ours | our size /
paper's size | verdict), first the paper's claims (tallied), then the checks of our own code and our
results beyond the paper (:data:`deepspin.reproduce.summary.CLAIMS`, "pending" where the stage has not
finished); every claim not beaten or met with its cause; one section per finished stage with every
row, its command and figures; the wall time of each stage. The paper column comes from
:data:`deepspin.reproduce.paper.PAPER`; every other number is read from the stages' ``results.json``
files, i.e. from the run.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..io import write_text
from .paper import PAPER
from .profiles import NOTES
from .stage import VERDICTS, version_notes
from .summary import KINDS, MIN_SEEDS, summary_rows

PAPER_COLUMN = "Paper (Mills & Tamblyn 2018)"
SUMMARY_HEADER = ("Study", PAPER_COLUMN, "Ours", "Our size / paper's size", "Verdict")
DETAIL_HEADER = ("Study", PAPER_COLUMN, "Ours", "Figure")
#: Our training protocol, stated once (the surrogate's defaults, deepspin.surrogate.TrainConfig).
PROTOCOL = ("Adam, learning rate 1e-3, batch 800, periodic (wrap-around) padding of the convolutions, early "
            "stopping on the validation loss with the best weights restored, validation = 10 % of the training "
            "split (never the test split); epochs and patience per stage in its parameters. The paper trained "
            "with AdaDelta at 1e-3 and zero padding: the `adadelta-protocol` stage runs that recipe, and AdaDelta at "
            "Zeiler's unit rate, beside ours.")


def fmt(value) -> str:
    """A number as the table shows it: integers with separators, floats to 5 significant digits."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer() and abs(value) < 1e15):
        return f"{int(value):,}"
    if isinstance(value, float):
        return f"{value:.5g}" if math.isfinite(value) else str(value)
    return str(value)


def _paper_cell(key: str | None) -> str:
    if not key:
        return "—"
    entry = PAPER[key]
    return f"{entry.text} ({entry.where})"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min" if seconds < 7200 else f"{seconds / 3600:.2f} h"


def stage_dir(results: dict) -> str:
    """The stage's folder relative to the report."""
    return f"stages/{results['stage']}/{results['key']}"


def _cells(cells) -> str:
    return "| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"


def _table(header, lines) -> str:
    return "\n".join([_cells(header), "|" + "---|" * len(header), *(_cells(line) for line in lines)])


def _size_cell(row: dict) -> str:
    ours, paper = row["size_ours"], row["size_paper"]
    return f"{fmt(ours) if ours is not None else '—'} / {fmt(paper) if paper is not None else '—'}"


def _ours_cell(row: dict) -> str:
    if row["ours"] is None:
        return "—"
    unit = f" {row['unit']}" if row["unit"] else ""
    text = fmt(row["ours"]) + unit
    if row.get("seeds"):
        spread = f" ± {row['spread']:.2g}" if row.get("spread") is not None else ""
        text = f"{fmt(row['ours'])}{spread}{unit} (mean{' ± sd' if spread else ''}, {row['seeds']} seeds)"
    if row["ratio"] is not None and row["unit"] == "%":  # accuracies: the difference in points says more
        text += f" ({row['difference']:+.3g} points)"
    elif row["ratio"] is not None:
        text += f" (×{row['ratio']:.3g} the paper's)"
    return text


def summary_table(rows: list[dict]) -> str:
    lines = []
    for row in rows:
        study = row["study"] + (f" — {row['metric']}" if row["metric"] else "")
        verdict = row["verdict"] if row["verdict"] in ("beaten", "met") else f"**{row['verdict']}**"
        lines.append((study, row["paper_text"] or "—", _ours_cell(row), _size_cell(row), verdict))
    return _table(SUMMARY_HEADER, lines)


def detail_table(results: dict) -> str:
    lines = []
    for row in results["rows"]:
        unit = f" {row['unit']}" if row["unit"] else ""
        figure = f"[{row['figure']}]({stage_dir(results)}/{row['figure']})" if row["figure"] else "—"
        spread = f" ± {row['spread']:.2g}" if row.get("spread") is not None else ""
        lines.append((row["study"], _paper_cell(row["paper"]), fmt(row["ours"]) + spread + unit, figure))
    return _table(DETAIL_HEADER, lines)


def section(results: dict) -> str:
    params = ", ".join(f"{k}={v}" for k, v in results["params"].items())
    figures = sorted({row["figure"] for row in results["rows"] if row["figure"]})
    parts = [f"### {results['stage']}", "", f"{results['title']}.", "", detail_table(results), "",
             "```bash", results["command"], "```", "",
             f"Parameters: {params}. {_duration(results['wall_s'])}, finished {results['finished']} "
             f"(deepspin {results['deepspin_version']}, cache key `{results['key']}`).", ""]
    note = NOTES.get(results["profile"], {}).get(results["stage"])
    if note:
        parts += [f"Why this size: {note}", ""]
    parts += [f"![{name}]({stage_dir(results)}/{name})" for name in figures]
    return "\n".join(parts) + "\n"


def _build_seconds(artefacts: dict) -> tuple[float, int]:
    """The summed build time of the timed artefacts, and how many were not timed."""
    times = list(artefacts.values())
    return sum(t for t in times if t is not None), sum(t is None for t in times)


def _artefact_cell(artefacts: dict | None) -> str:
    if not artefacts:
        return "—"
    known, unknown = _build_seconds(artefacts)
    return f"{len(artefacts)}: {_duration(known)}" + (f" + {unknown} ?" if unknown else "")


def _artefact_total(all_results: list[dict]) -> str:
    """"; the N ... took X to build": each dataset, model and Monte Carlo run counted once, however many
    stages used it. Not to be added to the stages' wall time: a stage that built an artefact in its own
    run counts that time in its wall time too (most were built by an earlier run)."""
    artefacts = {}
    for results in all_results:
        artefacts.update(results.get("artefacts") or {})
    if not artefacts:
        return ""
    known, unknown = _build_seconds(artefacts)
    return (f"; the {len(artefacts)} datasets, models and Monte Carlo runs they used took {_duration(known)} to "
            f"build (each counted once" + (f"; {unknown} not timed" if unknown else "") + "; a stage that built some "
            "of them in its own run counts that time in its wall time too)")


def _machines(all_results: list[dict]) -> str:
    labels = sorted({r["machine"]["label"] for r in all_results})
    return "; ".join(labels) or "—"


def _versions(all_results: list[dict]) -> str:
    """The numerical libraries' versions the finished stages were made with (each distinct set once)."""
    seen = []
    for results in all_results:
        versions = {k: v for k, v in (results.get("versions") or {}).items() if v}
        if versions and versions not in seen:
            seen.append(versions)
    return "; ".join(", ".join(f"{k} {v}" for k, v in sorted(versions.items())) for versions in seen) or "—"


def version_lines(all_results: list[dict]) -> list[str]:
    """How the libraries behind each finished stage and its artefacts differ from this machine's: a
    difference is reported, never silently accepted, and does not invalidate a result."""
    lines = []
    for results in all_results:
        lines += version_notes(results.get("versions"), f"stage {results['stage']}")
        lines += results.get("version_notes") or []
    return list(dict.fromkeys(lines))


def render(all_results: list[dict], missing: list[str] | None = None, *, profile: str | None = None,
           speedups: dict | None = None, failed: list[str] | None = None) -> str:
    """The whole README text for the finished stages ``all_results`` (in report order); ``missing``:
    the stages not finished (their claims are "pending"); ``speedups``: the 1600x rows
    (:func:`deepspin.reproduce.summary.speedup_rows`)."""
    profiles = sorted({r["profile"] for r in all_results}) or ([profile] if profile else [])
    total = sum(r["wall_s"] for r in all_results)
    rows = summary_rows(all_results, speedups)
    claims = [r for r in rows if r["kind"] == "claim"]
    counts = {v: sum(r["verdict"] == v for r in claims) for v in (*VERDICTS, "pending")}
    text = [
        "# Mills & Tamblyn (2018), re-run by deepspin",
        "",
        "K. Mills and I. Tamblyn, *Deep neural networks for direct, featureless learning through observation: "
        "the case of two-dimensional spin models*, Phys. Rev. E 97, 032119 (2018).",
        "",
        f"- **Machine**: {_machines(all_results)}.",
        f"- **Profile**: {', '.join(profiles) or '—'}; {len(all_results)} of {len(all_results) + len(missing or [])} "
        f"stages finished, {_duration(total)} of stage wall time in all{_artefact_total(all_results)}.",
        f"- **Libraries**: {_versions(all_results)}.",
        f"- **Our training protocol**: {PROTOCOL}",
        "- **Verdicts** (paper claims only are tallied): *beaten* / *met* / *missed* compare our number with the "
        "paper's at the paper's size and metric, met within the paper's rounding or our spread over training seeds "
        f"(mean ± standard deviation of {MIN_SEEDS} or more seeds; fewer seeds: *inconclusive*); *not reproduced*: "
        "our numbers contradict a qualitative claim; *not comparable*: a different size or metric, a parameter the "
        "paper does not state, or a claim without a number; a claim decided by a statistical criterion says so in "
        "its metric. *pending*: the stage has not finished. Ratios (×) only where sizes and metrics match. No size "
        "is attributed to the paper unless the paper states it; ours are fixed in the profile before a run.",
        f"- **Tally of the paper's claims**: {', '.join(f'{n} {v}' for v, n in counts.items() if n)}.",
        "",
    ]
    for line in version_lines(all_results):
        text += [f"- **Warning**: {line}"]
    titles = {"claim": "The paper's claims", "check": "Checks of our own code", "beyond": "Beyond the paper"}
    for kind in KINDS:
        text += [f"## {titles[kind]}", "", summary_table([r for r in rows if r["kind"] == kind]), ""]
    if speedups:
        text += ["The speed rows are read from bench/speedup.py's JSON files:", ""]
        text += [f"- {row['study']}." for row in speedups.values()] + [""]
    pursued = [r for r in rows if r["verdict"] not in ("beaten", "met", "pending")]
    if pursued:
        text += ["## Misses, and what we cannot decide, with their causes", ""]
        text += [f"- **{r['study']}** — {r['verdict']}: ours {_ours_cell(r)}"
                 + (f" ({r['detail']})" if r["detail"] else "") + (f". {r['cause']}" if r["cause"] else "")
                 + f" Stage `{r['stage']}`." for r in pursued] + [""]
    if failed:
        text += ["Stages that **failed** in this run (tracebacks in its log): " + ", ".join(f"`{m}`" for m in failed)
                 + ".", ""]
    if missing:
        text += ["Stages not finished in this report folder (their claims are pending): "
                 + ", ".join(f"`{m}`" for m in missing) + ".", ""]
    text += ["## Stages", ""] + [section(r) for r in all_results]
    text += ["## Wall time of each stage", "",
             "Wall time is the stage's own last run; the datasets, models and Monte Carlo runs it used may have "
             "been built earlier (by another stage or before a restart): their build times are the next column "
             "(\"?\" where not recorded; an artefact shared by several stages is listed under each).", "",
             _table(("Stage", "Wall time", "Artefacts used (build time)", "Finished", "Machine"),
                    [(r["stage"], _duration(r["wall_s"]), _artefact_cell(r.get("artefacts")), r["finished"],
                      r["machine"]["label"]) for r in all_results]),
             ""]
    return "\n".join(text)


def summary_json(all_results: list[dict], speedups: dict | None = None) -> list[dict]:
    """The machine-readable summary: one dict per row with ``key``, ``kind`` (claim, check or beyond),
    ``study``, ``paper``, ``ours``, ``spread`` and ``seeds`` (over training seeds), ``unit``, ``size_ours``,
    ``size_paper``, ``metric``, ``verdict``, ``cause`` and ``stage``."""
    keep = ("key", "kind", "study", "paper", "ours", "spread", "seeds", "unit", "size_ours", "size_paper", "metric",
            "verdict", "cause", "stage", "detail")
    return [{k: row[k] for k in keep} for row in summary_rows(all_results, speedups)]


def _finite(value):
    """``value`` with every NaN or infinity replaced by ``None`` (JSON has neither; the verdict of such a
    row is *inconclusive*, with the number named in its cause)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def write_summary(out, all_results: list[dict], speedups: dict | None = None) -> Path:
    """Write ``out/summary.json`` (:func:`summary_json`, strict JSON: a number that is not finite is
    ``null``) and return its path."""
    path = Path(out) / "summary.json"
    write_text(path, json.dumps(_finite(summary_json(all_results, speedups)), indent=1, allow_nan=False) + "\n")
    return path


def write(out, all_results: list[dict], missing: list[str] | None = None, *, profile: str | None = None,
          speedups: dict | None = None, failed: list[str] | None = None) -> Path:
    """Write ``out/README.md`` and ``out/summary.json``; returns the README's path."""
    path = Path(out) / "README.md"
    write_summary(out, all_results, speedups)
    write_text(path, render(all_results, missing, profile=profile, speedups=speedups, failed=failed))
    return path
