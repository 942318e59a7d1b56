"""The whole paper as one resumable pipeline: ``deepspin reproduce`` and its report.

    from deepspin.reproduce import reproduce
    reproduce("quick", out="report")            # every stage, then report/README.md
    reproduce("quick", only=["phase-8x8"])      # one stage; the report lists every finished one

Each stage (:data:`STAGES`) is one study of Mills & Tamblyn (2018). Its outputs are cached under a
key of its parameters (:mod:`.profiles`) and the deepspin version, so a rerun skips finished stages
and an interrupted run resumes with the stage it was in (:mod:`.stage`). The report compares each
number with the paper's (:mod:`.paper`).
"""
from __future__ import annotations

import sys
import time
import traceback
from pathlib import Path

from ..io import folder_lock
from . import profiles, report
from .paper import PAPER, PaperValue
from .profiles import PROFILES
from .stage import Row, Stage, content_key, load_results, run_stage
from .registry import STAGES, run_order
from .summary import speedup_row


def check_stages(only) -> list[str]:
    """The stage names to run, in report order (all of them for ``None``); unknown names are a ValueError."""
    if not only:
        return list(STAGES)
    unknown = [name for name in only if name not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(map(repr, unknown))}; choose from {', '.join(STAGES)}")
    return [name for name in STAGES if name in only]


#: Where the report looks for bench/speedup.py's JSON by default (relative to the working directory).
SPEEDUP_JSON = "bench/results/speedup-screened-coulomb-*.json"


def reproduce(profile: str = "quick", out="report", only=None, force: bool = False, progress: bool = True,
              log=sys.stderr, report_only: bool = False, speedup=SPEEDUP_JSON, overrides=None) -> Path:
    """Run the stages (``only`` a subset), skipping finished ones, and write ``out/README.md`` and
    ``out/summary.json``; returns the README's path. ``report_only``: run nothing, report what has
    finished (the rest is pending). ``speedup``: path or glob of ``bench/speedup.py``'s JSON for the
    1600x row (the newest match; ``None`` or no match: pending). A stage that raises is logged and
    skipped so the others still run; :class:`StageFailure` is raised once the report is written.
    ``overrides``: ``["STAGE.KEY=VALUE", ...]`` parameters set for this run (:func:`.profiles.parse_overrides`),
    e.g. the sweeps of a Metropolis stage sized to a GPU's time."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    names = run_order(check_stages(only))
    settings = profiles.parse_overrides(profile, overrides)
    out = Path(out)
    if report_only:
        return _run(profile, out, [], force, progress, log, speedup, settings)
    with folder_lock(out, "another deepspin reproduce"):
        return _run(profile, out, names, force, progress, log, speedup, settings)


def _run(profile: str, out: Path, names: list[str], force: bool, progress: bool, log, speedup,
         settings: dict) -> Path:
    """Run ``names`` in order (none: only report), then write the report of every finished stage."""
    def params(name):
        return profiles.params(profile, name, settings)

    for name in names:  # hash the code once, before any stage runs (the run uses the code it started with)
        STAGES[name].key(params(name))
    failed = []
    for i, name in enumerate(names, 1):
        start = time.perf_counter()
        print(f"[{i}/{len(names)}] {name}: {STAGES[name].title}", file=log, flush=True)
        try:
            results, ran = run_stage(STAGES[name], profile, params(name), out, force=force, progress=progress,
                                     sets=profiles.assignments(settings, name))
        except Exception:  # a long run goes on with the next stage; the failure is logged and reported
            failed.append(name)
            print(f"[{i}/{len(names)}] {name}: FAILED after {time.perf_counter() - start:.1f} s\n"
                  f"{traceback.format_exc()}", file=log, flush=True)
            continue
        status = f"done in {time.perf_counter() - start:.1f} s" if ran else f"cached (ran in {results['wall_s']:.1f} s)"
        print(f"[{i}/{len(names)}] {name}: {status}", file=log, flush=True)
    finished, missing = [], []
    for name, stage in STAGES.items():
        results = load_results(stage, params(name), out)
        (finished.append(results) if results is not None else missing.append(name))
    path = report.write(out, finished, missing, profile=profile, speedup=speedup_row(speedup), failed=failed)
    if failed:
        raise StageFailure(path, failed)
    return path


class StageFailure(RuntimeError):
    """Raised by :func:`reproduce` after the report is written when stages failed (each logged with its
    traceback; the others ran)."""

    def __init__(self, path: Path, failed: list[str]):
        super().__init__(f"stages failed: {', '.join(failed)} (tracebacks in the log); report written to {path}")
        self.path, self.failed = path, failed


__all__ = ["PAPER", "PROFILES", "PaperValue", "Row", "SPEEDUP_JSON", "STAGES", "Stage", "StageFailure", "check_stages",
           "content_key", "reproduce"]
