"""Curated records: the contract between loading and building.

A record is one entry of a YAML file, already checked against `schema.py`: field values are
converted (dates parsed, ids checked) and every record, nested item and field knows its position,
so any later stage can point a curator at the line that caused a problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pledgegraph.errors import WARNING, Position, Problem

# The curators' own settings for checking (`data/checks.yaml`, read by `stages/checks.py`).
CHECKS_FILE = "checks.yaml"


@dataclass(frozen=True)
class Acknowledged:
    rule: str
    entities: frozenset[str]
    because: str
    position: Position
    value: str = ""

    def covers(self, p: Problem) -> bool:
        return (
            p.severity == WARNING
            and p.rule == self.rule
            and p.entity in self.entities
            and (not self.value or p.value == self.value)
        )


@dataclass
class Checks:
    archives: list[Path] = field(default_factory=list)
    acknowledged: list[Acknowledged] = field(default_factory=list)

    def split(self, problems: list[Problem]) -> tuple[list[Problem], list[Problem]]:
        """(problems to show, warnings acknowledged)."""
        shown: list[Problem] = []
        known: list[Problem] = []
        for p in problems:
            (known if any(a.covers(p) for a in self.acknowledged) else shown).append(p)
        return shown, known

    def stale(self, problems: list[Problem], ids: set[str]) -> list[Problem]:
        """Acknowledgements of a record that no longer exists, or that no warning matches any more
        (only meaningful after a full check)."""
        out = []
        for a in self.acknowledged:
            for entity in sorted(a.entities):
                if entity not in ids:
                    why = f"acknowledges a warning of '{entity}', which is not a record"
                elif not any(a.covers(p) for p in problems if p.entity == entity):
                    why = f"acknowledges a '{a.rule}' warning of '{entity}' that no longer occurs"
                else:
                    continue
                out.append(
                    Problem(
                        a.position,
                        why,
                        severity="info",
                        entity=entity,
                        rule="acknowledged",
                        hint=f"remove it from {CHECKS_FILE}",
                    )
                )
        return out


@dataclass(slots=True)
class Item:
    """A record or a nested structure (citation, name, death...)."""

    kind: str
    data: dict[str, Any]
    position: Position
    field_positions: dict[str, Position] = field(default_factory=dict)

    def where(self, name: str) -> Position:
        return self.field_positions.get(name, self.position)


@dataclass(slots=True)
class Record(Item):
    id: str = ""


@dataclass(slots=True)
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
