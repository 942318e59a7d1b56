"""The one place where proposal rules are registered and chosen.

A rule is registered with a :class:`RuleSpec`: its name, the ``backend=`` names that ask for it,
``accepts(operator)`` (``None`` if it can run the operator, else the reason why not), ``build``,
and, for automatic choice, ``auto(operator, ensemble)`` (the backend to run on, or ``None``) with a
``priority``. :func:`select_rule` takes the highest-priority rule whose ``auto`` answers for
``backend="auto"``, and otherwise the first registered rule serving the named backend that accepts
the operator. A new backend (say a bit-packed multi-replica Ising kernel) is one
:func:`register_rule` call in its own module, imported by :mod:`deepspin.mc.rules`.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from ..operators import Operator
from ..state import Ensemble

_RULES: list["RuleSpec"] = []


@dataclasses.dataclass(frozen=True)
class RuleSpec:
    """How to recognise, choose and build one proposal rule (module docstring)."""

    name: str
    backends: tuple[str, ...]
    accepts: Callable[[Operator], str | None]
    build: Callable[[Operator, Ensemble, str], object]
    auto: Callable[[Operator, Ensemble], str | None] | None = None
    priority: int = 0


def register_rule(spec: RuleSpec) -> RuleSpec:
    """Add ``spec`` to the registry (a name may be registered once)."""
    if any(existing.name == spec.name for existing in _RULES):
        raise ValueError(f"a proposal rule named {spec.name!r} is already registered")
    _RULES.append(spec)
    return spec


def rule_specs() -> tuple[RuleSpec, ...]:
    """The registered rules in registration order."""
    return tuple(_RULES)


def backends() -> tuple[str, ...]:
    """``"auto"`` and every backend name a registered rule serves."""
    names = ["auto"]
    for spec in _RULES:
        names += [b for b in spec.backends if b not in names]
    return tuple(names)


def select_rule(operator: Operator, ensemble: Ensemble, backend: str = "auto"):
    """Build the rule that runs ``operator`` on ``backend`` (module docstring), or raise a ValueError saying why none does."""
    names = backends()
    if backend not in names:
        raise ValueError(f"backend must be one of {', '.join(map(repr, names))}; got {backend!r}")
    if backend == "auto":
        ranked = []
        for spec in _RULES:
            if spec.auto is not None and spec.accepts(operator) is None:
                chosen = spec.auto(operator, ensemble)
                if chosen is not None:
                    ranked.append((spec.priority, -_RULES.index(spec), spec, chosen))
        if not ranked:
            raise ValueError(f"no registered proposal rule runs {operator.label} automatically")
        _, _, spec, chosen = max(ranked, key=lambda item: item[:2])
        return spec.build(operator, ensemble, chosen)
    reasons = []
    for spec in _RULES:
        if backend in spec.backends:
            reason = spec.accepts(operator)
            if reason is None:
                return spec.build(operator, ensemble, backend)
            if reason not in reasons:
                reasons.append(reason)
    raise ValueError(f"backend {backend!r} cannot run {operator.label}: {'; '.join(reasons)}")
