"""Curated records: the contract between loading and building.

A record is one entry of a YAML file, already checked against `schema.py`: field values are
converted (dates parsed, ids checked) and every record, nested item and field knows its position,
so any later stage can point a curator at the line that caused a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .checks import Checks
from .errors import Position, Problem


@dataclass
class Item:
    """A record or a nested structure (citation, name, death...)."""

    kind: str
    data: dict[str, Any]
    position: Position
    field_positions: dict[str, Position] = field(default_factory=dict)

    def where(self, name: str) -> Position:
        return self.field_positions.get(name, self.position)


@dataclass
class Record(Item):
    id: str = ""


@dataclass
class Claimed:
    """One value of a `claimed` field, with the citations that support it (empty: the record's)."""

    value: Any
    sources: list[Item]
    position: Position
    rank: str = "normal"  # preferred | normal | deprecated (concepts of pgv:rank)


@dataclass
class Vocabulary:
    """Concept ids per SKOS scheme, read from the ontology's vocabularies."""

    concepts: dict[str, set[str]]
    implied_classes: dict[str, str]  # concept IRI -> class IRI it implies for the subject
    labels: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # concept IRI -> [(prefLabel, lang)]


@dataclass
class Dataset:
    """Everything the loader read: records in file order, indexed by id."""

    records: list[Record]
    by_id: dict[str, Record]
    vocabulary: Vocabulary
    files: list[str]
    warnings: list[Problem] = field(default_factory=list)  # the loader's non-blocking problems
    checks: Checks = field(default_factory=Checks)  # data/checks.yaml: archives, acknowledged warnings

    def of_kind(self, kind: str) -> list[Record]:
        return [r for r in self.records if r.kind == kind]

    @property
    def info(self) -> Record | None:
        return next((r for r in self.records if r.kind == "dataset"), None)
