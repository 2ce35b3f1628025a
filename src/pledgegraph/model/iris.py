"""The IRI scheme, owned here: every module mints and parses instance IRIs through this one.

Instances are slash IRIs `<base>id/<segment>/<slug>` (the segment of each record kind is declared in
`schema.KINDS`); every node below a record (citations, names, dates, claims, subordination links)
hangs below its record's IRI, so the record a node belongs to is a prefix of the node's IRI.
Concepts are `pgv:<scheme>/<id>`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pledgegraph.model import schema
from pledgegraph.model.vocab import PGV

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
SEGMENT_KIND = {k.segment: k for k in schema.KINDS.values()}
# The path of an entity or of a node below it, as served (`/id/<segment>/<slug>[/<more>…]`).
ENTITY_PATH = re.compile(rf"/id/[a-z]+/{SLUG}(?:/{SLUG})*")


def record_iri(base: str, kind: str, rid: str) -> str:
    """The IRI of a curated record of `kind` with id `rid`."""
    if kind == "dataset":
        return base + "dataset"
    return f"{base}id/{schema.KINDS[kind].segment}/{rid}"


def concept_iri(scheme: str, cid: str) -> str:
    return f"{PGV}{scheme}/{cid}"


@lru_cache(maxsize=16)
def entity_pattern(base: str) -> re.Pattern:
    """Matches entity IRIs `<base>id/<segment>/<slug>` and anything below them (compiled once per base)."""
    return re.compile(re.escape(base) + rf"id/([a-z]+)/({SLUG})")


def entity_of(iri: str, base: str) -> str | None:
    """The entity an IRI belongs to: itself, or the record a nested node hangs below."""
    m = entity_pattern(base).match(iri)
    if not m or m.group(1) not in SEGMENT_KIND:
        return None
    return m.group(0)


def is_entity(iri: str, base: str) -> bool:
    return entity_of(iri, base) == iri


def segment_and_slug(iri: str, base: str) -> tuple[str, str]:
    m = entity_pattern(base).fullmatch(iri)
    if not m:
        raise ValueError(f"not an entity IRI under {base}: {iri}")
    return m.group(1), m.group(2)


def kind_of(iri: str, base: str) -> schema.Kind:
    """The record kind of an entity IRI."""
    return SEGMENT_KIND[segment_and_slug(iri, base)[0]]


def subordination_iri(base: str, child: str, parent: str, key: str) -> str:
    """A dated link of organization `child` under `parent`, below the child's IRI; `key` names what
    establishes it (a branch or acceptance record id) or, for a chain, a digest of its hops."""
    return f"{record_iri(base, 'organization', child)}/under/{parent}/{key}"
