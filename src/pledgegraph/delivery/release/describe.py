"""What an entity's RDF holds, wherever it is served: its own triples, those of every node below it
(names, citations, quotes, dates, claims), and the claims about it that other records make.

A claim (`pg:Claim`, or a name's `pg:NameAttestation`) names one triple (`pg:claimSubject`,
`pg:claimPredicate`, `pg:claimObject`) with its own sources; the claim hangs below the record that
makes it, so a record's claim that another entity is its `pg:claimObject` (an organization operating
in a place) would otherwise be missing from that entity's description, with its sources.
"""

from __future__ import annotations

from typing import Iterable

import pyoxigraph as ox

from pledgegraph.model.iris import Owners, at_or_below
from pledgegraph.model.vocab import PG, RDF

# What makes another record's claim part of an entity's description (publish and serve both follow it)
CLAIM_LINKS = (PG + "claimSubject", PG + "claimObject")
CLAIM_TYPES = (PG + "Claim", PG + "NameAttestation")
_RDF_TYPE = RDF + "type"


def descriptions(
    triples: Iterable[ox.Triple],
    base: str,
    entities: Iterable[str],
    ordered: bool = False,
    owners: Owners | None = None,
) -> dict[str, list[ox.Triple]]:
    """Entity IRI -> its description, sorted (every entity in `entities` has one, maybe empty).

    `ordered`: `triples` come sorted by `str` without repeats (the release's data): an entity's own triples are then
    already in order, so only a description that gains another record's claims is sorted again (each of
    the two processes of a 1M publish sorted 1.8 million triples by their text). `owners`: the caller's map
    of nodes to their entities, filled in for every subject here."""
    wanted = dict.fromkeys(entities)
    own: dict[str, list[ox.Triple]] = {iri: [] for iri in wanted}
    by_node: dict[str, list[ox.Triple]] = {}
    statements: set[str] = set()
    about: list[tuple[str, str]] = []  # (claim node, entity it is about)
    owners = Owners(base) if owners is None else owners  # triples come grouped by subject: one lookup a run
    node, owner, owned, listed = None, None, None, []
    for t in triples:
        subject = t.subject.value
        if subject != node:  # a run of one subject's triples: its entity and lists looked up once
            node = subject
            owner = owners[node]
            if owner is None:
                continue
            owned = own.get(owner)
            listed = by_node.setdefault(node, [])
        elif owner is None:
            continue
        if owned is not None:
            owned.append(t)
        listed.append(t)
        p = t.predicate.value
        if p == _RDF_TYPE:
            if t.object.value in CLAIM_TYPES:
                statements.add(node)
        elif p in CLAIM_LINKS and isinstance(t.object, ox.NamedNode):
            about.append((node, t.object.value))
    below: dict[str, list[str]] = {}
    for node in by_node:
        below.setdefault(owners[node], []).append(node)  # type: ignore[arg-type]
    claimed: dict[str, set[ox.Triple]] = {}
    for claim, target in about:
        if claim not in statements or target not in own or owners[claim] == target:
            continue
        claimed.setdefault(target, set()).update(
            t
            for node in below[owners[claim]]
            if at_or_below(node, claim)
            for t in by_node[node]  # type: ignore[index]
        )
    for target in own if not ordered else claimed:
        own[target] = sorted(claimed.get(target, set()).union(own[target]), key=str)
    return own
