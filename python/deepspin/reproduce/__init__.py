"""The whole paper as one resumable pipeline: ``deepspin reproduce`` and its report.

    from deepspin.reproduce import reproduce
    reproduce("quick", out="report")            # every stage, then report/README.md
    reproduce("quick", only=["phase-8x8"])      # one stage; the report lists every finished one

Each stage (:data:`STAGES`) is one study of Mills & Tamblyn (2018), run as a task of the campaign
engine (:mod:`deepspin.campaign`: here, or in parallel on a Dask cluster). Its outputs are cached under
a key of its parameters (:mod:`.profiles`) and of all the code it runs (:mod:`deepspin.provenance`), so
a rerun skips finished stages and an interrupted run resumes with the stage it was in (:mod:`.stage`).
The report compares each claim of the paper with our number (:mod:`.paper`, :mod:`.summary`).
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from .. import campaign
from ..io import folder_lock
from ..overrides import assignments
from . import profiles, report
from .paper import PAPER, PaperValue
from .profiles import PROFILES
from .stage import Row, Stage, StageTask, content_key, load_results
from .registry import STAGES, run_order
from .summary import speedup_rows


def check_stages(only) -> list[str]:
    """The stage names to run, in report order (all of them for ``None``); unknown names are a ValueError."""
    if not only:
        return list(STAGES)
    unknown = [name for name in only if name not in STAGES]
    if unknown:
        raise ValueError(f"unknown stage {', '.join(map(repr, unknown))}; choose from {', '.join(STAGES)}")
    return [name for name in STAGES if name in only]


#: Where the report looks for bench/speedup.py's JSON by default (relative to the working directory).
SPEEDUP_JSON = "bench/results/speedup-screened-coulomb-*.json,bench/results/gpu-*/speedup-screened-coulomb*.json"


@dataclasses.dataclass(frozen=True)
class PinnedStage(Stage):
    """A stage whose cache key is the one its code had when the run started (``pinned``).

    A key is computed from the source files as they are on disk, while a run executes the code it loaded.
    Pinned, an edit of the checkout during a run can neither file a stage's results under the key of code
    it did not run (a stage that starts after the edit) nor make a finished stage look failed; the run
    then warns which stages' code changed (:func:`reproduce`). Long runs should still execute a frozen
    copy of the code: an artefact's key is computed when it is built (docs/reproduce.md)."""

    pinned: str = ""

    def key(self, params: dict) -> str:
        return self.pinned


def _pinned(stage: Stage, params: dict) -> PinnedStage:
    return PinnedStage(stage.name, stage.title, stage.run, stage.key(params))


def reproduce(profile: str = "quick", out="report", only=None, force: bool = False, progress: bool = True,
              log=sys.stderr, report_only: bool = False, speedup=SPEEDUP_JSON, overrides=None, client=None,
              retries: int = 0, summary=None) -> Path:
    """Run the stages (``only`` a subset), skipping finished ones, and write ``out/README.md`` and
    ``out/summary.json``; returns the README's path. ``report_only``: run nothing, report what has
    finished (the rest is pending). ``speedup``: comma-separated globs of ``bench/speedup.py``'s JSON
    for the two 1600x rows (every match is read, :func:`.summary.speedup_rows`; ``None`` or no match:
    pending). ``client``: a ``distributed.Client`` to run the stages on as campaign tasks
    (:mod:`deepspin.campaign`), independent stages in parallel; ``None`` runs them here, one after the
    other (``retries``, ``summary``: as :func:`deepspin.campaign.run`). A stage that raises is logged and
    skipped so the others still run; :class:`StageFailure` is raised once the report is written.
    ``overrides``: ``["STAGE.KEY=VALUE", ...]`` parameters set for this run
    (:func:`.profiles.parse_overrides`), e.g. the sweeps of a Metropolis stage sized to a GPU's time."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    names = [] if report_only else run_order(check_stages(only))
    settings = profiles.parse_overrides(profile, overrides)

    def params(name):
        return profiles.params(profile, name, settings)

    out = Path(out)
    tasks = [StageTask(_pinned(STAGES[name], params(name)), profile, params(name), str(out), progress,
                       tuple(assignments(settings, name)), force) for name in names]
    if tasks:
        with folder_lock(out, "another deepspin reproduce"):
            campaign.run(tasks, out / "stages", client=client, retries=retries, progress=progress, summary=summary,
                         name="reproduce")
    failed = [task.key for task in tasks if not task.output.exists()]
    changed = [task.key for task in tasks if STAGES[task.key].key(task.params) != task.stage.pinned]
    if changed:
        print(f"warning: the code of {', '.join(changed)} changed during this run: this report shows the "
              "results of the code the run started with; a rerun with the code as it is now makes them again "
              "(run long jobs from a frozen copy of the code, docs/reproduce.md)", file=log, flush=True)
    ran = {task.key: task.stage for task in tasks}
    finished, missing = [], []
    for name, stage in STAGES.items():
        results = load_results(ran.get(name, stage), params(name), out)
        (finished.append(results) if results is not None else missing.append(name))
    for line in report.version_lines(finished):
        print(f"warning: {line}", file=log, flush=True)
    path = report.write(out, finished, missing, profile=profile, speedups=speedup_rows(speedup), failed=failed)
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
