"""The change set between two releases: triples added and removed, and which entities changed.

A harvester that holds the previous release applies `removed.nt` then `added.nt` (both sorted
N-Triples, no blank nodes, so plain set difference is exact) to get this one. People read the
summary: entities added, removed, and changed, each with its counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Callable

import pyoxigraph as ox

from .iris import entity_of


@dataclass
class ChangeSet:
    previous: str | None
    added: list[ox.Triple]
    removed: list[ox.Triple]
    entities_added: list[str] = field(default_factory=list)
    entities_removed: list[str] = field(default_factory=list)
    entities_changed: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        return {"previous_version": self.previous, "triples_added": len(self.added),
                "triples_removed": len(self.removed), "entities_added": self.entities_added,
                "entities_removed": self.entities_removed, "entities_changed": self.entities_changed}


def diff(previous: str | None, old: list[ox.Triple], new: list[ox.Triple], base: str) -> ChangeSet:
    old_set, new_set = set(old), set(new)
    added = sorted(new_set - old_set, key=str)
    removed = sorted(old_set - new_set, key=str)
    old_entities = {e for t in old_set if (e := entity_of(t.subject.value, base))}
    new_entities = {e for t in new_set if (e := entity_of(t.subject.value, base))}
    touched = {e for t in added + removed if (e := entity_of(t.subject.value, base))}
    return ChangeSet(previous, added, removed,
                     entities_added=sorted(new_entities - old_entities),
                     entities_removed=sorted(old_entities - new_entities),
                     entities_changed=sorted(touched & old_entities & new_entities))


def summary_json(changes: ChangeSet, version: str) -> bytes:
    return (json.dumps({"version": version, **changes.summary()}, indent=2, sort_keys=True) + "\n").encode()


def summary_html(changes: ChangeSet, version: str, link: Callable[[str], str | None]) -> str:
    """A body fragment: what changed since the previous release, linking entities still present."""
    if changes.previous is None:
        head = f"<p>Release {escape(version)} is the first release: every triple is new.</p>"
    else:
        head = (f"<p>Changes from release {escape(changes.previous)} to {escape(version)}: "
                f"{len(changes.added)} triples added, {len(changes.removed)} removed "
                '(<a href="added.nt">added.nt</a>, <a href="removed.nt">removed.nt</a>).</p>')
    parts = [head]
    for title, items in (("Entities added", changes.entities_added), ("Entities changed", changes.entities_changed),
                         ("Entities removed", changes.entities_removed)):
        if not items or (changes.previous is None and title == "Entities added"):
            continue
        rows = []
        for iri in items:
            href = link(iri)
            rows.append(f'<li><a href="{escape(href)}">{escape(iri)}</a></li>' if href else f"<li>{escape(iri)}</li>")
        parts.append(f"<h2>{title} ({len(items)})</h2><ul>{''.join(rows)}</ul>")
    return "".join(parts)
