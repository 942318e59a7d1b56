"""Dotted overrides of nested parameter sets: ``GROUP.KEY[.SUBKEY...]=VALUE`` on a command line.

A tree ``{group: {key: value or {subkey: ...}}}`` (a profile of ``deepspin reproduce``: stage ->
parameters) fixes which parameters exist and their types. :func:`parse` reads assignments against it
and refuses, before anything runs, what the group could not use: an unknown group or key (a typo is
an error, not a silently unused parameter), a value of another type, a count that must stay positive,
a fraction outside (0, 1], temperatures that do not parse, an unknown Hamiltonian.
"""
from __future__ import annotations

import copy
import json

#: Parameters that may be 0 where the tree has them positive (no burn-in; seed 0).
MAY_BE_ZERO = ("burn_in", "seed")
#: Parameters that are fractions, in (0, 1].
FRACTIONS = ("test_fraction",)


def parse(tree: dict, texts, what: str = "group") -> dict:
    """``["GROUP.KEY[.SUBKEY...]=VALUE", ...]`` as ``{group: {(KEY, SUBKEY, ...): value}}``.

    ``VALUE`` is read as JSON (``500``, ``0.25``, ``"0.5:5:0.1"``), else taken as a string, and must have
    the type of the value in ``tree`` (an int also serves a float); ``what`` names a group in errors."""
    out: dict = {}
    for text in texts or ():
        target, sep, raw = str(text).partition("=")
        group, _, dotted = target.partition(".")
        if not sep or not dotted:
            raise ValueError(f"--set takes {what.upper()}.KEY=VALUE (e.g. phase-8x8-learned.mc.sweeps=500), "
                             f"got {text!r}")
        if group not in tree:
            raise ValueError(f"--set {text!r}: unknown {what} {group!r}; choose from {', '.join(tree)}")
        path = tuple(dotted.split("."))
        current = value_at(tree[group], path, f"--set {text!r}: {what} {group!r}")
        value = _same_type(raw, current, f"--set {text!r}: {dotted}")
        check_value(path[-1], value, current, f"--set {text!r}")
        out.setdefault(group, {})[path] = value
    return out


def apply(params: dict, overrides: dict, group: str) -> dict:
    """A copy of ``group``'s ``params`` with its entries of ``overrides`` (:func:`parse`) set."""
    result = copy.deepcopy(params)
    for path, value in overrides.get(group, {}).items():
        value_at(result, path[:-1], f"{group!r}")[path[-1]] = value
    return result


def assignments(overrides: dict, group: str) -> list[str]:
    """The ``GROUP.KEY=VALUE`` texts of ``group``'s entries in ``overrides`` (:func:`parse`)."""
    return [f"{group}.{'.'.join(path)}={json.dumps(value)}" for path, value in overrides.get(group, {}).items()]


def check_value(key: str, value, current, where: str) -> None:
    """Refuse a value that could not be used where ``current`` is: a count, size or rate that is positive
    must stay positive (``>= 0`` for :data:`MAY_BE_ZERO`), a fraction must lie in (0, 1], temperatures
    must parse, a Hamiltonian must be known (``epochs=0`` would otherwise fail deep inside a run)."""
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
        from .mc.temperatures import parse_temperatures

        try:
            parse_temperatures(value)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif key == "hamiltonian" and isinstance(value, str):
        from .hamiltonians import HAMILTONIANS

        if value not in HAMILTONIANS:
            raise ValueError(f"{where}: hamiltonian must be one of {', '.join(HAMILTONIANS)}, got {value!r}")


def value_at(params: dict, path: tuple, where: str):
    """The value at ``path`` in ``params`` (``ValueError`` naming the first missing key)."""
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
