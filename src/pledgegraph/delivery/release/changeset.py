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

from pledgegraph.model.iris import entity_of


@dataclass
class ChangeSet:
    previous: str | None
    added: list[ox.Triple]
    removed: list[ox.Triple]
    entities_added: list[str] = field(default_factory=list)
    entities_removed: list[str] = field(default_factory=list)
    entities_changed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. this release replaced one of the same version
    # entity -> properties of the triples added and removed on it or on nodes below it
    properties: dict[str, tuple[list[str], list[str]]] = field(default_factory=dict)

    def summary(self) -> dict:
        return {"warnings": self.warnings, "previous_version": self.previous, "triples_added": len(self.added),
                "triples_removed": len(self.removed), "entities_added": self.entities_added,
                "entities_removed": self.entities_removed, "entities_changed": self.entities_changed}


def diff(previous: str | None, old: list[ox.Triple], new: list[ox.Triple], base: str) -> ChangeSet:
    old_set, new_set = set(old), set(new)
    added = sorted(new_set - old_set, key=str)
    removed = sorted(old_set - new_set, key=str)
    owner = _Owners(base)
    old_entities = {e for t in old_set if (e := owner(t.subject.value))}
    new_entities = {e for t in new_set if (e := owner(t.subject.value))}
    touched: dict[str, tuple[set[str], set[str]]] = {}
    for side, triples in ((0, added), (1, removed)):
        for t in triples:
            if e := owner(t.subject.value):
                touched.setdefault(e, (set(), set()))[side].add(t.predicate.value)
    return ChangeSet(previous, added, removed,
                     properties={e: (sorted(a), sorted(r)) for e, (a, r) in sorted(touched.items())},
                     entities_added=sorted(new_entities - old_entities),
                     entities_removed=sorted(old_entities - new_entities),
                     entities_changed=sorted(set(touched) & old_entities & new_entities))


class _Owners(dict):
    """node -> `entity_of(node)`, each node matched once (a node is the subject of many triples)."""

    def __init__(self, base: str):
        super().__init__()
        self.base = base

    def __call__(self, node: str) -> str | None:
        return self[node]

    def __missing__(self, node: str) -> str | None:
        found = self[node] = entity_of(node, self.base)
        return found


def summary_json(changes: ChangeSet, version: str) -> bytes:
    return (json.dumps({"version": version, **changes.summary()}, indent=2, sort_keys=True) + "\n").encode()


def summary_html(changes: ChangeSet, version: str, link: Callable[[str], str | None],
                 label: Callable[[str], str]) -> str:
    """A body fragment: what changed since the previous release, each entity by its name (linked when
    still present) with the properties whose statements were added or removed."""
    if changes.previous is None:
        head = f"<p>Release {escape(version)} is the first release: every triple is new.</p>"
    else:
        head = (f"<p>Changes from release {escape(changes.previous)} to {escape(version)}: "
                f"{len(changes.added)} triples added, {len(changes.removed)} removed "
                '(<a href="added.nt">added.nt</a>, <a href="removed.nt">removed.nt</a>).</p>')
    parts = [head] + [f'<p class="warning"><strong>Warning:</strong> {escape(w)}</p>' for w in changes.warnings]
    for title, items in (("Entities added", changes.entities_added), ("Entities changed", changes.entities_changed),
                         ("Entities removed", changes.entities_removed)):
        if not items or (changes.previous is None and title == "Entities added"):
            continue
        rows = []
        for iri in sorted(items, key=lambda i: (label(i).casefold(), i)):
            href = link(iri)
            name = f'<a href="{escape(href)}">{escape(label(iri))}</a>' if href else escape(label(iri))
            added, removed = changes.properties.get(iri, ([], []))
            what = "; ".join(f"{verb}: {', '.join(escape(label(p)) for p in props)}"
                             for verb, props in (("added", added), ("removed", removed)) if props)
            detail = f' — {what}' if what and title == "Entities changed" else ""
            rows.append(f'<li>{name} <span class="muted">{escape(iri)}</span>{detail}</li>')
        parts.append(f"<h2>{title} ({len(items)})</h2><ul>{''.join(rows)}</ul>")
    return "".join(parts)


# -- the change feed: ActivityStreams 2.0, as the IIIF Change Discovery API uses it -------------------
# Chosen over LDES (needs TREE and versioned member IRIs, and its clients are few), ResourceSync
# (lists documents, not the entities they describe) and RDF Patch (triples, which added.nt and
# removed.nt already give): a harvester reads `latest/feed.jsonld`, starts at its `last` page and
# follows `prev` until it reaches entries it has, each entry an entity created, updated or deleted.
ACTIVITY_STREAMS = "https://www.w3.org/ns/activitystreams"
FEED = "feed.jsonld"
FEED_PAGE = "changes/activities.jsonld"
_ACTIVITY = (("entities_added", "Create"), ("entities_changed", "Update"), ("entities_removed", "Delete"))


def feed_documents(changes: ChangeSet, version: str, date: str, label: Callable[[str], str],
                   previous_feed: dict | None) -> dict[str, bytes]:
    """This release's page of activities (one per entity added, changed or removed) and the
    collection over every release so far; links are relative, pages oldest first."""
    items = [{"type": kind, "object": {"id": iri, "type": "Object", "name": label(iri)}, "endTime": date}
             for field_name, kind in _ACTIVITY for iri in getattr(changes, field_name)]
    items.sort(key=lambda a: (a["object"]["id"], a["type"]))
    page = {"@context": ACTIVITY_STREAMS, "id": "activities.jsonld", "type": "OrderedCollectionPage",
            "partOf": f"../{FEED}", "totalItems": len(items), "orderedItems": items,
            "summary": f"Entities created, updated and deleted in release {version}"}
    if changes.previous:
        page["prev"] = f"../../{changes.previous}/{FEED_PAGE}"
    total = len(items) + (previous_feed or {}).get("totalItems", 0)
    first = (previous_feed or {}).get("first", {}).get("id", f"../{version}/{FEED_PAGE}")
    collection = {"@context": ACTIVITY_STREAMS, "id": FEED, "type": "OrderedCollection",
                  "summary": f"Changes to the entities of every release up to {version}", "totalItems": total,
                  "first": {"id": first, "type": "OrderedCollectionPage"},
                  "last": {"id": f"../{version}/{FEED_PAGE}", "type": "OrderedCollectionPage"}}
    return {FEED_PAGE: _json(page), FEED: _json(collection)}


def _json(doc: dict) -> bytes:
    return (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
