"""Stages of the reproduction and their content-addressed cache.

A stage is one study of the paper. Its outputs live in ``<out>/stages/<name>/<key>/``, where the
key hashes the stage name, its profile parameters and the code it runs: the source of every deepspin
module that the stage's module imports, followed transitively, and the compiled core's source (its
hash is stored in the built module), all found by :func:`deepspin.provenance.code_key`, so no list of
dependencies is kept by hand. Changing any of them gives a new folder; rerunning with the same ones
finds the old one. ``results.json`` is written last (atomically), so its presence means the stage
finished; a run interrupted mid-stage leaves none and the next run redoes that stage only. Artefacts
that several stages share (datasets, trained models, Monte Carlo runs) are cached the same way under
``<out>/cache/``, keyed by the code of the module that builds them.

The versions of the numerical libraries (NumPy, Keras and its backend, ONNX Runtime, scikit-learn,
Python) are recorded with every result and artefact but are not in the keys: an upgrade neither
recomputes hours of training nor reuses it silently, it is reported (:func:`version_notes`).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path
from typing import Callable

from .._version import __version__
from ..io import build_clock, waiting_lock, write_text
from .. import machine, provenance

RESULTS = "results.json"
#: What a stage that raised leaves in its folder instead of ``results.json``: the traceback.
FAILURE = "failure.txt"
#: How a number compares with the paper's: better, equal (within the stated rounding or our spread over
#: seeds), worse, a qualitative claim our numbers contradict, not like for like (different size,
#: metric or an unstated parameter), or too little evidence (one seed, training not converged);
#: "pending" in the report while the stage has not finished.
VERDICTS = ("beaten", "met", "missed", "not reproduced", "not comparable", "inconclusive")


def content_key(kind: str, params: dict, code=()) -> str:
    """16 hex digits of SHA-256 over ``kind``, ``params`` (as canonical JSON) and, where ``code`` names
    deepspin modules, :func:`deepspin.provenance.code_key` of them (their transitive imports and the
    compiled core included); a module outside deepspin counts by its file's bytes."""
    content = {"kind": kind, "params": params}
    ours = tuple(m for m in code if m == "deepspin" or m.startswith("deepspin."))
    if ours:
        content["code"] = provenance.code_key(ours)
    for module in sorted(set(code) - set(ours)):  # a user's or a test's stage: its own file, as it reads now
        content[f"code:{module}"] = hashlib.sha256(Path(sys.modules[module].__file__).read_bytes()).hexdigest()
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def version_notes(recorded: dict | None, what: str) -> list[str]:
    """Lines saying how the numerical libraries that made ``what`` differ from this machine's (none if equal)."""
    if not recorded:
        return []
    return [f"{what} was made with {change}" for change in provenance.version_changes(recorded)]


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the report: our number for a study, and the paper's entry it is compared with.

    ``paper`` is a key of :data:`deepspin.reproduce.paper.PAPER` (or ``None`` where the paper has no
    counterpart); ``compare`` is ``"ratio"`` (ours / paper), ``"difference"`` (ours - paper) or ``None``.
    ``key``: the claim of :data:`deepspin.reproduce.summary.CLAIMS` this row answers (the summary table
    on top of the report); ``size``: the size behind our number (training configurations, or a text
    such as chains x sweeps x temperatures); ``verdict``: one of :data:`VERDICTS`, where the stage
    itself decides the claim (a statistical criterion rather than a comparison of two numbers).
    ``spread``: the standard deviation (ddof=1) over the ``seeds`` training seeds whose mean is
    ``ours`` (``None`` for a number that is not averaged over seeds).
    """

    study: str
    ours: float | int | str
    unit: str = ""
    paper: str | None = None
    compare: str | None = None
    figure: str | None = None
    key: str | None = None
    size: float | int | str | None = None
    verdict: str | None = None
    spread: float | None = None
    seeds: int | None = None

    def __post_init__(self):
        if self.compare not in (None, "ratio", "difference"):
            raise ValueError(f"compare must be None, 'ratio' or 'difference', got {self.compare!r}")
        if self.verdict not in (None, *VERDICTS):
            raise ValueError(f"verdict must be None or one of {', '.join(VERDICTS)}, got {self.verdict!r}")


class Context:
    """What a stage function gets: its parameters, its output folder and the shared artefact cache."""

    def __init__(self, stage: "Stage", params: dict, out: Path, progress: bool = True):
        self.stage, self.params, self.out, self.progress = stage, params, Path(out), progress
        self.directory = self.out / "stages" / stage.name / stage.key(params)
        #: ``kind/file -> build seconds`` (``None`` if not recorded) of every artefact this stage used
        self.artefacts: dict[str, float | None] = {}
        #: lines on artefacts made with other versions of the numerical libraries (:func:`version_notes`)
        self.notes: list[str] = []

    def figure(self, name: str) -> Path:
        """Path of a figure of this stage (the stage writes it atomically)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / name

    def artefact(self, kind: str, params: dict, build: Callable[[Path], None], suffix: str) -> Path:
        """The cached artefact ``kind`` made with ``params``: built by ``build(path)`` if absent.

        ``build`` must write ``path`` atomically (e.g. through :func:`deepspin.io.atomic_path` or a
        writer that uses it), so an interrupted build leaves nothing that looks finished. The key includes
        the code of ``build``'s module (:func:`content_key`). Stages running in parallel wait for each
        other's build of the same artefact (a ``flock`` on ``<path>.lock``) instead of building it twice.
        """
        path = self.out / "cache" / kind / f"{content_key(kind, params, (build.__module__,))}{suffix}"
        timing = path.with_name(path.name + ".seconds")
        versions = path.with_name(path.name + ".versions")
        path.parent.mkdir(parents=True, exist_ok=True)
        with waiting_lock(path.with_name(path.name + ".lock")):
            if not path.exists():
                with build_clock(timing):
                    build(path)
                    if not path.exists():
                        raise RuntimeError(f"building artefact {kind} did not write {path}")
                write_text(versions, json.dumps(provenance.numerical_versions(), sort_keys=True) + "\n")
        name = f"{kind}/{path.name}"
        self.artefacts[name] = float(timing.read_text()) if timing.exists() else None
        self.notes += version_notes(json.loads(versions.read_text()) if versions.exists() else None, name)
        return path


@dataclasses.dataclass(frozen=True)
class Stage:
    """A named study: ``run(ctx) -> list[Row]`` with parameters per profile. Its result depends on the
    code of ``run``'s module and everything that module imports (:func:`content_key`)."""

    name: str
    title: str
    run: Callable[[Context], list]

    def key(self, params: dict) -> str:
        """The cache key: name, parameters and the code of ``run``'s module with its imports."""
        return content_key(self.name, params, (self.run.__module__,))


def command_line(profile: str, stage: str, out, sets=()) -> str:
    """The command that (re)produces ``stage`` alone (``sets``: its ``--set`` assignments)."""
    options = "".join(f" --set {shlex.quote(s)}" for s in sets)
    return f"deepspin reproduce --profile {profile} --only {stage}{options} -o {shlex.quote(str(out))}"


def results_path(stage: Stage, params: dict, out) -> Path:
    return Path(out) / "stages" / stage.name / stage.key(params) / RESULTS


def load_results(stage: Stage, params: dict, out) -> dict | None:
    """The finished results of ``stage`` with ``params`` under ``out``, or ``None``."""
    path = results_path(stage, params, out)
    if not path.exists():
        return None
    return json.loads(path.read_text())


def run_stage(stage: Stage, profile: str, params: dict, out, *, force: bool = False, progress: bool = True,
              sets=()) -> tuple[dict, bool]:
    """Run ``stage`` unless its results exist; returns ``(results, ran)``. ``sets``: the ``--set``
    assignments that made ``params`` (for the command recorded with the results)."""
    existing = None if force else load_results(stage, params, out)
    if existing is not None:
        return existing, False
    ctx = Context(stage, params, out, progress)
    start = time.perf_counter()
    rows = stage.run(ctx)
    wall = time.perf_counter() - start
    results = {
        "stage": stage.name,
        "title": stage.title,
        "key": ctx.directory.name,
        "profile": profile,
        "params": params,
        "deepspin_version": __version__,
        "versions": provenance.numerical_versions(),
        "rows": [dataclasses.asdict(row) for row in rows],
        "wall_s": wall,
        "artefacts": ctx.artefacts,
        "version_notes": ctx.notes,
        "machine": machine.describe(),
        "command": command_line(profile, stage.name, out, sets),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text(ctx.directory / RESULTS, json.dumps(results, indent=1) + "\n")  # the key of the code it started with
    return results, True


@dataclasses.dataclass(frozen=True)
class StageTask:
    """One stage as a task of :func:`deepspin.campaign.run` (``key``, ``output``, ``compute``, ``done``).

    Independent stages then run in parallel on ``--workers N`` or a Dask cluster; stages that share an
    artefact wait for one build of it (:meth:`Context.artefact`). A stage that raises does not stop the
    others: ``compute`` writes its traceback to ``failure.txt`` in the stage's folder and the run goes on
    (the stage has no ``results.json``, so a rerun tries it again)."""

    stage: Stage
    profile: str
    params: dict
    out: str
    progress: bool = True
    sets: tuple = ()
    force: bool = False

    @property
    def key(self) -> str:
        return self.stage.name

    @property
    def output(self) -> Path:
        return results_path(self.stage, self.params, self.out)

    def done(self) -> bool:
        return not self.force and self.output.exists()

    def compute(self) -> Path:
        import traceback

        start = time.perf_counter()
        print(f"{self.stage.name}: started ({self.stage.title})", file=sys.stderr, flush=True)
        try:
            run_stage(self.stage, self.profile, self.params, self.out, force=self.force, progress=self.progress,
                      sets=self.sets)
        except Exception:  # a long run goes on with the other stages; the report lists this one as failed
            failure = self.output.with_name(FAILURE)
            write_text(failure, traceback.format_exc())
            print(f"{self.stage.name}: FAILED after {time.perf_counter() - start:.1f} s (traceback in {failure})\n"
                  f"{traceback.format_exc()}", file=sys.stderr, flush=True)
            return failure
        self.output.with_name(FAILURE).unlink(missing_ok=True)
        print(f"{self.stage.name}: done in {time.perf_counter() - start:.1f} s", file=sys.stderr, flush=True)
        return self.output
