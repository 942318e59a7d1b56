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

import json
from pathlib import Path

from ..overrides import apply, parse

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
    return apply(PROFILES[profile][stage], overrides or {}, stage)


def parse_overrides(profile: str, texts) -> dict:
    """``--set STAGE.KEY[.SUBKEY...]=VALUE`` texts as ``{stage: {(KEY, SUBKEY, ...): value}}``, checked
    against ``profile`` (:func:`deepspin.overrides.parse`). A result made with an override has its own
    cache key: a later run finds it only with the same override, or once the profile carries the value."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    return parse(PROFILES[profile], texts, what="stage")
