"""The change set between two releases: triples added and removed, and which entities changed.

A harvester that holds the previous release applies `removed.nt` then `added.nt` (both sorted
N-Triples, no blank nodes, so plain set difference is exact) to get this one. People read the
summary: entities added, removed, and changed, each with its counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Callable, Iterable

import pyoxigraph as ox

from pledgegraph.delivery.release import jsonld
from pledgegraph.model.iris import Owners, is_below


@dataclass(frozen=True)
class FactChange:
    """The values one property of one node lost and gained: changed when both, else added or removed.
    `path` is the chain of properties from the entity down to the node (empty for the entity itself)."""

    path: tuple[str, ...]
    predicate: str
    removed: tuple[ox.Term, ...]
    added: tuple[ox.Term, ...]


@dataclass
class ChangeSet:
    previous: str | None
    added: list[ox.Triple]
    removed: list[ox.Triple]
    entities_added: list[str] = field(default_factory=list)
    entities_removed: list[str] = field(default_factory=list)
    entities_changed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # e.g. this release replaced one of the same version
    # entity -> what changed on it or on the nodes below it, fact by fact
    facts: dict[str, list[FactChange]] = field(default_factory=dict)

    def summary(self) -> dict:
        return {
            "warnings": self.warnings,
            "previous_version": self.previous,
            "triples_added": len(self.added),
            "triples_removed": len(self.removed),
            "entities_added": self.entities_added,
            "entities_removed": self.entities_removed,
            "entities_changed": self.entities_changed,
        }


def diff(
    previous: str | None,
    old: list[ox.Triple],
    new: list[ox.Triple],
    base: str,
    new_subjects: Iterable[str] | None = None,
    owners: Owners | None = None,
) -> ChangeSet:
    """What changed from `old` to `new`; `new` comes sorted by `str` without repeats (publish's data).
    `new_subjects`, the IRIs of `new`'s subjects, when the caller has them (publish counts them for VoID);
    `owners`, the caller's map of nodes to their entities (publish's already holds every subject's)."""
    old_set, new_set = set(old), set(new) if old else set()  # a first release: every triple added, none removed
    # a first release's added triples are `new` itself, not a copy: publish asks this after forking its writers,
    # and a copy would write every triple's reference count, copying each page of them (~95,000 pages at 1M)
    added = [t for t in new if t not in old_set] if old else new
    removed = sorted((t for t in old if t not in new_set), key=str)
    owner = Owners(base) if owners is None else owners
    old_entities = {e for s in {t.subject.value for t in old} if (e := owner[s])}
    if new_subjects is None:
        new_subjects = {t.subject.value for t in new}
    new_entities = {e for s in new_subjects if (e := owner[s])}
    kept = old_entities & new_entities  # only these have facts that changed (the page lists the others)
    # (subject, predicate) -> (removed objects, added objects)
    touched: dict[tuple[str, str], tuple[list, list]] = {}
    for side, triples in ((1, added), (0, removed)) if kept else ():  # a first release keeps none
        for t in triples:
            if owner[t.subject.value] in kept:
                touched.setdefault((t.subject.value, t.predicate.value), ([], []))[side].append(t.object)
    # a node below an entity -> (its parent, the property linking them), to say where a change is
    parent_of = {
        t.object.value: (t.subject.value, t.predicate.value)
        for t in ((*old, *new) if touched else ())
        if isinstance(t.object, ox.NamedNode) and is_below(t.object.value, t.subject.value)
    }
    facts: dict[str, list[FactChange]] = {}
    for (subject, predicate), (gone, came) in sorted(touched.items()):
        entity, path, node = owner[subject], [], subject
        while node != entity and node in parent_of:
            node, link = parent_of[node]
            path.insert(0, link)
        facts.setdefault(entity, []).append(FactChange(tuple(path), predicate, tuple(gone), tuple(came)))
    return ChangeSet(
        previous,
        added,
        removed,
        facts=facts,
        entities_added=sorted(new_entities - old_entities),
        entities_removed=sorted(old_entities - new_entities),
        entities_changed=sorted(facts),
    )


def summary_json(changes: ChangeSet, version: str) -> bytes:
    return (json.dumps({"version": version, **changes.summary()}, indent=2, sort_keys=True) + "\n").encode()


def summary_html(
    changes: ChangeSet, version: str, link: Callable[[str], str | None], label: Callable[[str], str]
) -> str:
    """A body fragment: what changed since the previous release, each entity by its name (linked when
    still present) with its facts that changed (old value → new), were added or were removed."""
    if changes.previous is None:
        head = f"<p>Release {escape(version)} is the first release: every triple is new.</p>"
    else:
        head = (
            f"<p>Changes from release {escape(changes.previous)} to {escape(version)}: "
            f"{len(changes.added)} triples added, {len(changes.removed)} removed "
            '(<a href="added.nt">added.nt</a>, <a href="removed.nt">removed.nt</a>).</p>'
        )
    parts = [head] + [f'<p class="warning"><strong>Warning:</strong> {escape(w)}</p>' for w in changes.warnings]
    for title, items in (
        ("Entities added", changes.entities_added),
        ("Entities changed", changes.entities_changed),
        ("Entities removed", changes.entities_removed),
    ):
        if not items or (changes.previous is None and title == "Entities added"):
            continue
        rows = []
        for iri in sorted(items, key=lambda i: (label(i).casefold(), i)):
            href = link(iri)
            name = f'<a href="{escape(href)}">{escape(label(iri))}</a>' if href else escape(label(iri))
            detail = "".join(f"<li>{_fact_html(fact, label)}</li>" for fact in changes.facts.get(iri, ()))
            rows.append(
                f"<li>{name}" + (f"<ul>{detail}</ul>" if detail and title == "Entities changed" else "") + "</li>"
            )
        parts.append(f"<h2>{title} ({len(items)})</h2><ul>{''.join(rows)}</ul>")
    return "".join(parts)


def _fact_html(fact: FactChange, label: Callable[[str], str]) -> str:
    """`founded › date as stated: 2015-06-23 → 2015-06-24`, or `added`/`removed` with the values."""
    where = escape(" › ".join(label(p) for p in (*fact.path, fact.predicate)))

    def values(terms: tuple) -> str:
        return ", ".join(_value_html(t, label) for t in sorted(terms, key=str))

    if fact.removed and fact.added:
        return f"{where}: {values(fact.removed)} → {values(fact.added)}"
    return f"{where}: " + (f"added {values(fact.added)}" if fact.added else f"removed {values(fact.removed)}")


def _value_html(term, label: Callable[[str], str]) -> str:
    if isinstance(term, ox.Literal):
        text = term.value if len(term.value) <= 120 else term.value[:119] + "…"
        return f"“{escape(text)}”"
    return escape(label(term.value)) if isinstance(term, ox.NamedNode) else escape(str(term))


# -- the change feed: ActivityStreams 2.0, as the IIIF Change Discovery API uses it -------------------
# Chosen over LDES (needs TREE and versioned member IRIs, and its clients are few), ResourceSync
# (lists documents, not the entities they describe) and RDF Patch (triples, which added.nt and
# removed.nt already give): a harvester reads `latest/feed.jsonld`, starts at its `last` page and
# follows `prev` until it reaches entries it has, each entry an entity created, updated or deleted.
ACTIVITY_STREAMS = "https://www.w3.org/ns/activitystreams"
FEED = "feed.jsonld"
FEED_PAGE = "changes/activities.jsonld"
_ACTIVITY = (("entities_added", "Create"), ("entities_changed", "Update"), ("entities_removed", "Delete"))


def feed_documents(
    changes: ChangeSet, version: str, date: str, label: Callable[[str], str], previous_feed: dict | None
) -> dict[str, bytes]:
    """This release's page of activities (one per entity added, changed or removed) and the
    collection over every release so far; links are relative, pages oldest first."""
    items = [
        {"type": kind, "object": {"id": iri, "type": "Object", "name": label(iri)}, "endTime": date}
        for field_name, kind in _ACTIVITY
        for iri in getattr(changes, field_name)
    ]
    items.sort(key=lambda a: (a["object"]["id"], a["type"]))
    page = {
        "@context": ACTIVITY_STREAMS,
        "id": "activities.jsonld",
        "type": "OrderedCollectionPage",
        "partOf": f"../{FEED}",
        "totalItems": len(items),
        "orderedItems": items,
        "summary": f"Entities created, updated and deleted in release {version}",
    }
    if changes.previous:
        page["prev"] = f"../../{changes.previous}/{FEED_PAGE}"
    total = len(items) + (previous_feed or {}).get("totalItems", 0)
    first = (previous_feed or {}).get("first", {}).get("id", f"../{version}/{FEED_PAGE}")
    collection = {
        "@context": ACTIVITY_STREAMS,
        "id": FEED,
        "type": "OrderedCollection",
        "summary": f"Changes to the entities of every release up to {version}",
        "totalItems": total,
        "first": {"id": first, "type": "OrderedCollectionPage"},
        "last": {"id": f"../{version}/{FEED_PAGE}", "type": "OrderedCollectionPage"},
    }
    # made by orjson (json's indenting encoder is pure Python: 0.27 s for the 19,152 activities at 1M, at the end)
    return {FEED_PAGE: jsonld.indented_json(page), FEED: jsonld.indented_json(collection)}
