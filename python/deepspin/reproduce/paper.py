"""The published numbers of Mills & Tamblyn, PRE 97, 032119 (2018), in one table (``paper.json``).

Every number in the report's paper column comes from :data:`PAPER`, each with the figure or section
that states it. ``value`` is ``None`` for a claim the paper makes without a number (the report then
shows the claim and no ratio).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class PaperValue:
    """One published result: the number (or ``None``), how the paper states it, and where."""

    value: float | None
    text: str
    where: str


#: Key -> the paper's result (``paper.json`` beside this module).
PAPER = {key: PaperValue(**entry)
         for key, entry in json.loads((Path(__file__).resolve().parent / "paper.json").read_text()).items()}
