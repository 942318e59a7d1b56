"""A committable copy of a report folder: the report, the finished stages and the small cache.

``deepspin reproduce --report-only --snapshot DEST`` copies into ``DEST`` the README and
``summary.json``; each reported stage's ``results.json`` and figures; the Monte Carlo records
``cache/mc/*.json`` with the final configurations some stages read (``*.final.npy``); with
``models=True`` the trained networks ``cache/model/*.keras`` without their optimizer state (deepspin
loads networks uncompiled), less those only the stages in ``models_except`` use (:func:`networks`),
and the AdaDelta runs' training histories; what the builds under way need to continue on any machine
(:func:`under_way`); and beside each artefact its build time and library versions, so a report
rendered from the copy still counts what its artefacts cost and which versions made them. Datasets
are left out (large, and minutes to regenerate). Copied back into a report folder, ``DEST`` lets a
later run reuse whatever its code still hashes to (:mod:`deepspin.provenance`).

``DEST`` is replaced only if it is new, empty, or an earlier snapshot (every file has a snapshot's
name, :data:`SNAPSHOT_FILE`, and its README.md is a deepspin report); anything else is refused,
naming a file, and nothing is deleted.
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..surrogate.model_io import without_optimizer

_STAGE_FILES = ("results.json", "*.png")
#: Relative paths a snapshot writes (a 16-hex-digit cache key names each stage run and artefact).
SNAPSHOT_FILE = re.compile(r"README\.md|summary\.json|stages/[\w.-]+/[0-9a-f]{16}/(results\.json|[^/]+\.png)"
                           r"|cache/mc/[0-9a-f]{16}\.(json(\.seconds(\.partial)?|\.versions)?"
                           r"|final\.npy|checkpoint\.npz)"
                           r"|cache/model/[0-9a-f]{16}\.(keras(\.seconds(\.partial)?|\.versions)?|history\.json)"
                           r"|cache/model/[0-9a-f]{16}\.training/backup/[^/]+")


#: The first line of every report's README.md (:mod:`.report`).
REPORT_TITLE = "# Mills & Tamblyn (2018), re-run by deepspin"


def check_destination(out: Path, dest: Path) -> None:
    """Raise a ValueError unless ``dest`` may be (re)written as a snapshot of ``out`` (see the module doc)."""
    out_real, dest_real = out.resolve(), dest.resolve()
    if dest_real == out_real or dest_real in out_real.parents:
        raise ValueError(f"--snapshot {dest} holds the report folder {out}: replacing it would delete the report; "
                         "give a folder outside it")
    if not dest.exists():
        return
    if not dest.is_dir():
        raise ValueError(f"--snapshot {dest} is a file, not a folder; give a new or empty folder")
    files = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if not p.is_dir())
    foreign = [name for name in files if not SNAPSHOT_FILE.fullmatch(name)]
    readme = dest / "README.md"
    if files and not foreign and not (readme.is_file() and readme.read_text(errors="replace").startswith(REPORT_TITLE)):
        foreign = ["README.md" if readme.exists() else files[0]]
    if foreign:
        raise ValueError(f"--snapshot {dest} holds files that no snapshot wrote (e.g. {foreign[0]}; {len(foreign)} "
                         "in all): it is replaced only when new, empty or an earlier snapshot; give a new folder")


def networks(out: Path, results: list[dict], leave_out=()) -> list[Path]:
    """The trained networks in ``out/cache/model`` to copy: every one, less those whose users (the
    stages in ``results`` that list it among their ``artefacts``) all are in ``leave_out``. A network
    that no finished stage uses yet (its stage is still training) is kept, for resume."""
    users: dict[str, set] = {}
    for result in results:
        for name in result.get("artefacts") or {}:
            users.setdefault(name, set()).add(result["stage"])
    leave_out = set(leave_out)

    def kept(path: Path) -> bool:
        owners = users.get(f"model/{path.name}")
        return not owners or not owners <= leave_out
    return [path for path in sorted(out.glob("cache/model/*.keras")) if kept(path)]


def under_way(out: Path, models: bool) -> list[Path]:
    """What a later run needs to continue the builds under way in ``out/cache``, never a file half
    written: each Metropolis checkpoint (``cache/mc/<key>.checkpoint.npz``) and, with ``models``, each
    training's resume backup (its ``state.json`` and the weights it names; a finished build deletes
    both), with the build time spent so far (``<artefact>.seconds.partial``). Snapshot a run that is
    building while it is paused or stopped: a backup changes every epoch."""
    files = sorted(out.glob("cache/mc/*.checkpoint.npz"))
    artefacts = [path.with_name(path.name.removesuffix(".checkpoint.npz") + ".json") for path in files]
    for state in sorted(out.glob("cache/model/*.training/backup/state.json")) if models else ():
        named = json.loads(state.read_text())
        files += [state.with_name(name) for name in (named.get("weights"), named.get("best_weights")) if name]
        files.append(state)
        artefacts.append(state.parent.parent.with_suffix(".keras"))
    spent = [path.with_name(path.name + ".seconds.partial") for path in artefacts]
    return files + [path for path in spent if path.exists()]


def snapshot(out, dest, *, models: bool = False, models_except=()) -> dict:
    """Copy the committable part of report folder ``out`` into ``dest`` (replacing an earlier snapshot,
    never anything else: :func:`check_destination`); returns ``{"files": n, "bytes": total}``.
    ``models``: the trained networks too, less those only the stages ``models_except`` use (:func:`networks`)."""
    out, dest = Path(out), Path(dest)
    if not (out / "README.md").exists():
        raise ValueError(f"{out} holds no report (README.md); run deepspin reproduce --report-only -o {out} first")
    check_destination(out, dest)
    files = [out / "README.md", out / "summary.json"]
    reported = set(re.findall(r"cache key `([0-9a-f]{16})`", (out / "README.md").read_text()))
    finished = []
    for results in sorted(out.glob("stages/*/*/results.json")):
        if results.parent.name not in reported:
            continue  # a stage run by older code or other parameters: not in this report
        finished.append(json.loads(results.read_text()))
        for pattern in _STAGE_FILES:
            files += sorted(results.parent.glob(pattern))
    records = sorted(out.glob("cache/mc/*.json"))
    artefacts = records + (networks(out, finished, models_except) if models else [])
    sides = [path.with_name(path.name + side) for path in artefacts for side in (".seconds", ".versions")]
    sides += [path.with_suffix(".final.npy") for path in records]
    sides += [path.with_suffix(".history.json") for path in artefacts if path.suffix == ".keras"]
    files += artefacts + [path for path in sides if path.exists()]  # build times, versions, final states, histories
    files += under_way(out, models)
    staging = dest.with_name(dest.name + ".partial")
    if staging.exists():  # a killed snapshot's staging folder, or a user's: removed only if a snapshot's
        check_destination(out, staging)
        shutil.rmtree(staging)
    for path in files:
        target = staging / path.relative_to(out)
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".keras":
            without_optimizer(path, target)
        else:
            shutil.copy2(path, target)
    if dest.exists():
        check_destination(out, dest)  # again, just before replacing it
        shutil.rmtree(dest)
    staging.rename(dest)  # the snapshot appears whole or not at all
    return {"files": len(files), "bytes": sum((dest / path.relative_to(out)).stat().st_size for path in files)}


