"""Stages of the reproduction and their content-addressed cache.

A stage is one study of the paper. Its outputs live in ``<out>/stages/<name>/<key>/``, where the
key hashes the stage name, its profile parameters, the deepspin version and the source of the code
the stage runs (:mod:`.depends` lists it, :mod:`.code` hashes it): changing any of them gives a new
folder, rerunning with the same ones finds the old one. ``results.json`` is written
last (atomically), so its presence means the stage finished; a run interrupted mid-stage leaves
no ``results.json`` and the next run redoes that stage only. Artefacts that several stages share
(datasets, trained models, Monte Carlo runs) are cached the same way under ``<out>/cache/``, keyed by
the code that computes them.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import shlex
import threading
import time
from pathlib import Path
from typing import Callable

from .._version import __version__
from ..io import write_text
from .. import machine
from .code import code_hash
from .depends import ARTEFACTS, stage_code

RESULTS = "results.json"
#: How a number compares with the paper's: better, equal (within the stated rounding), worse, or not
#: like for like (different size or metric), or undecided by the run (a training stopped before it
#: converged); "pending" in the report while the stage has not finished.
VERDICTS = ("beaten", "met", "missed", "not comparable", "inconclusive")


def content_key(kind: str, params: dict, code=()) -> str:
    """16 hex digits of SHA-256 over ``kind``, ``params`` (as canonical JSON), the deepspin version and,
    where ``code`` names any, the hash of that code (:func:`.code.code_hash`)."""
    content = {"kind": kind, "params": params, "version": __version__}
    if code:
        content["code"] = code_hash(code)
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


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

    def figure(self, name: str) -> Path:
        """Path of a figure of this stage (the stage writes it atomically)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / name

    def artefact(self, kind: str, params: dict, build: Callable[[Path], None], suffix: str) -> Path:
        """The cached artefact ``kind`` made with ``params``: built by ``build(path)`` if absent.

        ``build`` must write ``path`` atomically (e.g. through :func:`deepspin.io.atomic_path` or a
        writer that uses it), so an interrupted build leaves nothing that looks finished. The key
        includes the code of ``kind`` (:data:`.depends.ARTEFACTS`).
        """
        if kind not in ARTEFACTS:
            raise ValueError(f"artefact kind {kind!r} declares no code in deepspin.reproduce.depends.ARTEFACTS; "
                             f"add it there (known: {', '.join(ARTEFACTS)})")
        path = self.out / "cache" / kind / f"{content_key(kind, params, ARTEFACTS[kind])}{suffix}"
        timing = path.with_name(path.name + ".seconds")
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            with build_clock(timing):
                build(path)
                if not path.exists():
                    raise RuntimeError(f"building artefact {kind} did not write {path}")
        self.artefacts[f"{kind}/{path.name}"] = float(timing.read_text()) if timing.exists() else None
        return path


@contextlib.contextmanager
def build_clock(timing: Path, every: float = 30.0):
    """Time an artefact's build over all its attempts, and write the total to ``timing`` when it succeeds.

    A training killed after hours resumes from its checkpoint; its build time is the sum of the
    attempts. ``<timing>.partial`` holds the seconds spent so far (rewritten every ``every`` seconds by
    a daemon thread, and on a failure), a resumed build starts from it, a finished one removes it. A
    kill loses at most ``every`` seconds of the count."""
    partial = timing.with_name(timing.name + ".partial")
    try:
        before = float(partial.read_text())
    except (OSError, ValueError):
        before = 0.0
    start = time.perf_counter()
    stop = threading.Event()

    def spent() -> str:
        return f"{before + time.perf_counter() - start:.3f}\n"

    def beat():
        while not stop.wait(every):
            write_text(partial, spent())

    thread = threading.Thread(target=beat, name="build-clock", daemon=True)
    thread.start()
    finished = False
    try:
        yield
        finished = True
    finally:
        stop.set()
        thread.join()  # before the last write, so the heartbeat cannot rewrite .partial after it
        if finished:
            write_text(timing, spent())
            partial.unlink(missing_ok=True)
        else:
            write_text(partial, spent())


@dataclasses.dataclass(frozen=True)
class Stage:
    """A named study: ``run(ctx) -> list[Row]`` with parameters per profile. ``code``: what its result
    depends on (:mod:`.code` names or functions); ``None`` for :func:`.depends.stage_code` of ``run``."""

    name: str
    title: str
    run: Callable[[Context], list]
    code: tuple | None = None

    def dependencies(self) -> tuple:
        return stage_code(self.run) if self.code is None else (self.run, *self.code)

    def key(self, params: dict) -> str:
        """The cache key: name, parameters, version and the hash of :meth:`dependencies`."""
        return content_key(self.name, params, self.dependencies())


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
        "key": stage.key(params),
        "profile": profile,
        "params": params,
        "deepspin_version": __version__,
        "rows": [dataclasses.asdict(row) for row in rows],
        "wall_s": wall,
        "artefacts": ctx.artefacts,
        "machine": machine.describe(),
        "command": command_line(profile, stage.name, out, sets),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    write_text(results_path(stage, params, out), json.dumps(results, indent=1) + "\n")
    return results, True
