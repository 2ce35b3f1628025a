"""Our JSON-LD context, and documents compacted with it: readable JSON keys for our terms.

The context is generated from the ontology: one term per pg: class and property (object
properties coerce their values to IRIs), the common terms of the vocabularies we reuse, and our
prefixes. pyld (an independent processor) expands our documents to check them; it only ever sees
documents we hand it: its document loader serves a fixed mapping of URLs to local documents and
refuses everything else, so nothing is fetched.
"""

from __future__ import annotations

import json
from typing import Iterable

import pyoxigraph as ox

from pledgegraph.errors import UnusableInput
from pledgegraph.model.vocab import OWL, PG, PREFIXES, RDF, XSD, expand

# Terms of reused vocabularies that get a short key, as (key, CURIE, values are always IRIs).
REUSED_TERMS = (
    ("label", "rdfs:label", False), ("prefLabel", "skos:prefLabel", False), ("altLabel", "skos:altLabel", False),
    ("inScheme", "skos:inScheme", True), ("wasDerivedFrom", "prov:wasDerivedFrom", True),
    ("hasBody", "oa:hasBody", True), ("hasTarget", "oa:hasTarget", True), ("hasSource", "oa:hasSource", True),
    ("hasSelector", "oa:hasSelector", True), ("motivatedBy", "oa:motivatedBy", True), ("exact", "oa:exact", False),
    ("prefix", "oa:prefix", False), ("suffix", "oa:suffix", False), ("title", "dcterms:title", False),
    ("license", "dcterms:license", True), ("issued", "dcterms:issued", False),
    ("modified", "dcterms:modified", False), ("creator", "dcterms:creator", True),
    ("publisher", "dcterms:publisher", True), ("language", "dcterms:language", False),
    ("references", "dcterms:references", True), ("isReplacedBy", "dcterms:isReplacedBy", True),
    ("hasBeginning", "time:hasBeginning", True), ("hasEnd", "time:hasEnd", True),
    ("inXSDDate", "time:inXSDDate", False), ("inXSDgYear", "time:inXSDgYear", False),
    ("inXSDgYearMonth", "time:inXSDgYearMonth", False), ("unitType", "time:unitType", True),
    ("member", "org:member", True), ("organization", "org:organization", True), ("role", "org:role", True),
    ("memberDuring", "org:memberDuring", True), ("description", "schema:description", False),
    ("url", "schema:url", True), ("versionInfo", "owl:versionInfo", False), ("deprecated", "owl:deprecated", False),
)


_KEYED = (OWL + "ObjectProperty", OWL + "DatatypeProperty", OWL + "AnnotationProperty", OWL + "Class")


def make_context(ontology: Iterable[ox.Triple]) -> dict:
    """The `@context` object: our prefixes, `id`/`type` aliases, a term per pg: class and property."""
    kinds: dict[str, str] = {}
    for t in ontology:
        if t.predicate.value == RDF + "type" and isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(PG):
            kinds.setdefault(t.subject.value, "")
            if t.object.value in _KEYED:
                kinds[t.subject.value] = t.object.value
    terms: dict[str, object] = {"id": "@id", "type": "@type"}
    terms.update(sorted(PREFIXES.items()))
    for iri, kind in sorted(kinds.items()):
        key = iri[len(PG):]
        if not kind or key in terms:
            continue
        terms[key] = {"@id": "pg:" + key, "@type": "@id"} if kind == OWL + "ObjectProperty" else "pg:" + key
    for key, curie, iri_valued in REUSED_TERMS:
        if key not in terms:
            terms[key] = {"@id": curie, "@type": "@id"} if iri_valued else curie
    return terms


def local_loader(documents: dict[str, dict]):
    """A pyld document loader serving only `documents` (URL -> JSON); any other URL is an error."""

    def load(url, options=None):
        if url not in documents:
            raise UnusableInput(f"JSON-LD processing tried to load {url}: only local documents are allowed")
        return {"contextUrl": None, "documentUrl": url, "document": documents[url]}

    return load


def compact(triples: Iterable[ox.Triple], context: dict) -> list[dict]:
    """Triples as node objects compacted with `context`, sorted by id with sorted values.

    Written here rather than by pyld's compaction, which took 2.3 s for 1,800 triples: with a
    flat context of terms and prefixes, compaction is a lookup per predicate. pyld stays the
    independent check: the tests expand these documents with it and compare graphs.
    """
    terms = _terms_by_iri(context)
    nodes: dict[str, dict[str, list]] = {}
    for t in triples:
        node = nodes.setdefault(_node_id(t.subject), {})
        p = t.predicate.value
        if p == RDF + "type" and isinstance(t.object, ox.NamedNode):
            node.setdefault("type", []).append(terms.get(t.object.value, (None, False))[0]
                                               or _curie(t.object.value))
            continue
        key, coerced = terms.get(p, (None, False))
        o = t.object
        if isinstance(o, ox.NamedNode):
            key = key or _curie(p)
            value = _curie(o.value) if coerced else {"id": _curie(o.value)}
        elif isinstance(o, ox.BlankNode):  # the ontology's OWL lists (property chains)
            key = key or _curie(p)
            value = _node_id(o) if coerced else {"id": _node_id(o)}
        else:
            key = key if key and not coerced else _curie(p)
            value = _literal(o)
        node.setdefault(key, []).append(value)
    out = []
    for subject in sorted(nodes):
        node = {"id": subject}
        for key, values in nodes[subject].items():
            values = sorted(values, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
            node[key] = values[0] if len(values) == 1 else values
        out.append(node)
    return out


def _terms_by_iri(context: dict) -> dict[str, tuple[str, bool]]:
    """Property/class IRI -> (its term, whether the term coerces values to IRIs)."""
    out = {}
    for key, value in context.items():
        curie = value["@id"] if isinstance(value, dict) else value
        if key in PREFIXES or curie.startswith("@"):
            continue
        out[expand(curie)] = (key, isinstance(value, dict) and value.get("@type") == "@id")
    return out


def _node_id(term) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


def _curie(iri: str) -> str:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns):].startswith("/"):
            return f"{prefix}:{iri[len(ns):]}"
    return iri


def _literal(lit: ox.Literal):
    if lit.language:
        return {"@value": lit.value, "@language": lit.language}
    if lit.datatype.value == XSD + "string":
        return lit.value
    return {"@value": lit.value, "type": _curie(lit.datatype.value)}


def document(nodes: list[dict], context: dict) -> bytes:
    """A self-contained JSON-LD document: `@context` embedded, holding the terms the nodes use and
    every prefix, so a processor with no network (stock pyld, jsonld.js offline) expands it."""
    used = _used_terms(nodes)
    embedded = {k: v for k, v in context.items() if k in used or k in PREFIXES or k in ("id", "type")}
    doc = {"@context": embedded, "@graph": nodes}
    return (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def _used_terms(value) -> set[str]:
    """Keys and string values anywhere in compacted JSON (terms appear as either)."""
    if isinstance(value, dict):
        return set(value) | {t for v in value.values() for t in _used_terms(v)}
    if isinstance(value, list):
        return {t for v in value for t in _used_terms(v)}
    return {value} if isinstance(value, str) else set()


def context_document(context: dict) -> bytes:
    return (json.dumps({"@context": context}, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def to_nquads(doc: dict, documents: dict[str, dict], base: str = "") -> str:
    """Expand a JSON-LD document with pyld (contexts served from `documents`) to N-Quads."""
    from pyld import jsonld

    return jsonld.to_rdf(doc, {"format": "application/n-quads", "documentLoader": local_loader(documents),
                               "base": base})

