"""Sizes of every stage per profile: data, one JSON file per profile in ``profiles_data/``.

Each file holds ``about`` (what the profile is for), ``stages`` (stage name -> its parameters, the
values that enter the stage's cache key) and ``notes`` (stage name -> why its size is what it is,
printed in the report beside the parameters). Profiles:

- ``paper``: the paper's sizes, 3 training seeds per trained number; many CPU hours, resumable.
  ``bench/gpu_check.sh`` (step ``learned``) runs ``phase-8x8-learned`` on a GPU at the paper's 46
  temperatures with ``--set`` (:func:`parse_overrides`), sweeps sized to the time it has.
- ``quick``: the same studies, smaller where it costs time, for a 2-core CPU.
- ``smoke``: toy sizes that run every stage end to end in a few minutes (the test suite runs it).

Sizes are fixed here before a run and never changed on its outcome.
"""
from __future__ import annotations

import copy
import json
from pathlib import Path

_FILES = Path(__file__).resolve().parent / "profiles_data"


def _load(name: str) -> dict:
    return json.loads((_FILES / f"{name}.json").read_text())


_DATA = {name: _load(name) for name in ("paper", "quick", "smoke")}
#: Profile -> stage -> parameters.
PROFILES = {name: data["stages"] for name, data in _DATA.items()}
#: Profile -> stage -> why its size is what it is (the report prints it).
NOTES = {name: data.get("notes", {}) for name, data in _DATA.items()}


def params(profile: str, stage: str, overrides: dict | None = None) -> dict:
    """The parameters of ``stage`` under ``profile``, with ``overrides`` (:func:`parse_overrides`) applied."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    result = copy.deepcopy(PROFILES[profile][stage])
    for path, value in (overrides or {}).get(stage, {}).items():
        _current_value(result, path[:-1], f"stage {stage!r}")[path[-1]] = value
    return result


def parse_overrides(profile: str, assignments) -> dict:
    """``["STAGE.KEY[.SUBKEY...]=VALUE", ...]`` as ``{stage: {(KEY, SUBKEY, ...): value}}``.

    ``VALUE`` is read as JSON (``500``, ``0.25``, ``"0.5:5:0.1"``), else taken as a string. Only
    parameters the profile already has can be set (a typo is a ``ValueError``, not a silently unused
    parameter), and only to a value of the same type. A result made with an override has its own
    cache key: a later run finds it only with the same override, or once the profile carries the value.
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    out: dict = {}
    for text in assignments or ():
        target, sep, raw = str(text).partition("=")
        stage, _, dotted = target.partition(".")
        if not sep or not dotted:
            raise ValueError(f"--set takes STAGE.KEY=VALUE (e.g. phase-8x8-learned.mc.sweeps=500), got {text!r}")
        if stage not in PROFILES[profile]:
            raise ValueError(f"--set {text!r}: unknown stage {stage!r}; choose from {', '.join(PROFILES[profile])}")
        path = tuple(dotted.split("."))
        current = _current_value(PROFILES[profile][stage], path, f"--set {text!r}: stage {stage!r} of profile "
                                 f"{profile!r}")
        value = _same_type(raw, current, f"--set {text!r}: {dotted}")
        check_value(path[-1], value, current, f"--set {text!r}")
        out.setdefault(stage, {})[path] = value
    return out


#: Parameters that may be 0 where the profile has them positive (no burn-in; seed 0).
MAY_BE_ZERO = ("burn_in", "seed")
#: Parameters that are fractions, in (0, 1].
FRACTIONS = ("test_fraction",)


def check_value(key: str, value, current, where: str) -> None:
    """Refuse, before any stage runs, a value the stage could not use: a count, size or rate that the
    profile has positive must stay positive (``>= 0`` for :data:`MAY_BE_ZERO`), a fraction must lie in
    (0, 1], temperatures must parse, a Hamiltonian must be known (``epochs=0`` would otherwise fail
    inside the stage, after the stages before it ran)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if current:
                check_value(key, item, current[min(i, len(current) - 1)], where)
        return
    if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(current, (int, float)):
        if key in FRACTIONS and not 0 < value <= 1:
            raise ValueError(f"{where}: {key} must lie in (0, 1], got {value!r}")
        if current > 0 and (value < 0 if key in MAY_BE_ZERO else value <= 0):
            bound = ">= 0" if key in MAY_BE_ZERO else "> 0"
            raise ValueError(f"{where}: {key} must be {bound} (the profile has {current!r}), got {value!r}")
    elif key == "T" and isinstance(value, str):
        from ..mc.temperatures import parse_temperatures

        try:
            parse_temperatures(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif key == "hamiltonian" and isinstance(value, str):
        from ..hamiltonians import HAMILTONIANS

        if value not in HAMILTONIANS:
            raise ValueError(f"{where}: hamiltonian must be one of {', '.join(HAMILTONIANS)}, got {value!r}")


def _current_value(params: dict, path: tuple, where: str):
    """The profile's value at ``path`` in ``params`` (``ValueError`` naming the first missing key)."""
    node = params
    for i, part in enumerate(path):
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(node) if isinstance(node, dict) else "none (not a group)"
            raise ValueError(f"{where} has no parameter {'.'.join(path[:i + 1])!r} (known here: {known})")
        node = node[part]
    return node


def _same_type(raw: str, current, where: str):
    """``raw`` read as JSON (else as a string), as the type of ``current`` (an int also serves a float)."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    widened = isinstance(current, float) and isinstance(value, int) and not isinstance(value, bool)
    if isinstance(current, dict) or (type(value) is not type(current) and not widened):
        raise ValueError(f"{where} is {type(current).__name__} {current!r} in the profile; "
                         f"got {type(value).__name__} {value!r}")
    return float(value) if widened else value


def assignments(overrides: dict, stage: str) -> list[str]:
    """The ``STAGE.KEY=VALUE`` texts of ``stage``'s entries in ``overrides`` (:func:`parse_overrides`)."""
    return [f"{stage}.{'.'.join(path)}={json.dumps(value)}" for path, value in overrides.get(stage, {}).items()]
