"""Our JSON-LD context, and documents compacted with it: readable JSON keys for our terms.

The context is generated from the ontology: one term per pg: class and property (object
properties coerce their values to IRIs), the common terms of the vocabularies we reuse, and our
prefixes. pyld (an independent processor) expands our documents to check them; it only ever sees
documents we hand it: its document loader serves a fixed mapping of URLs to local documents and
refuses everything else, so nothing is fetched.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Callable, Iterable

import orjson
import pyoxigraph as ox

from pledgegraph.errors import UnusableInput
from pledgegraph.model.vocab import OWL, PG, PREFIXES, RDF, XSD, expand

# Terms of reused vocabularies that get a short key, as (key, CURIE, values are always IRIs).
REUSED_TERMS = (
    ("label", "rdfs:label", False),
    ("prefLabel", "skos:prefLabel", False),
    ("altLabel", "skos:altLabel", False),
    ("inScheme", "skos:inScheme", True),
    ("wasDerivedFrom", "prov:wasDerivedFrom", True),
    ("hasBody", "oa:hasBody", True),
    ("hasTarget", "oa:hasTarget", True),
    ("hasSource", "oa:hasSource", True),
    ("hasSelector", "oa:hasSelector", True),
    ("motivatedBy", "oa:motivatedBy", True),
    ("exact", "oa:exact", False),
    ("prefix", "oa:prefix", False),
    ("suffix", "oa:suffix", False),
    ("title", "dcterms:title", False),
    ("license", "dcterms:license", True),
    ("issued", "dcterms:issued", False),
    ("modified", "dcterms:modified", False),
    ("creator", "dcterms:creator", True),
    ("publisher", "dcterms:publisher", True),
    ("language", "dcterms:language", False),
    ("references", "dcterms:references", True),
    ("isReplacedBy", "dcterms:isReplacedBy", True),
    ("hasBeginning", "time:hasBeginning", True),
    ("hasEnd", "time:hasEnd", True),
    ("inXSDDate", "time:inXSDDate", False),
    ("inXSDgYear", "time:inXSDgYear", False),
    ("inXSDgYearMonth", "time:inXSDgYearMonth", False),
    ("unitType", "time:unitType", True),
    ("member", "org:member", True),
    ("organization", "org:organization", True),
    ("role", "org:role", True),
    ("memberDuring", "org:memberDuring", True),
    ("description", "schema:description", False),
    ("url", "schema:url", True),
    ("versionInfo", "owl:versionInfo", False),
    ("deprecated", "owl:deprecated", False),
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
        key = iri[len(PG) :]
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


def document(triples: Iterable[ox.Triple], context: dict) -> bytes:
    """Triples as a self-contained JSON-LD document: their node objects (`_compact`) with the `@context`
    embedded, holding the terms the nodes use and every prefix, so a processor with no network (stock
    pyld, jsonld.js offline) expands it."""
    nodes, used, spaced = _compact(triples, context)
    embedded = {k: context[k] for k in used}  # the keys' order: the JSON sorts them
    embedded.update(_always_embedded(context))
    return indented_json({"@context": embedded, "@graph": nodes}, spaced)


def _compact(triples: Iterable[ox.Triple], context: dict) -> tuple[list[dict], set[str], bool]:
    """Triples as node objects compacted with `context`, sorted by id with sorted values; the context's
    keys found in them as a key or a string value (terms appear as either); whether a string in them
    holds two spaces in a row (for `indented_json`).

    Written here rather than by pyld's compaction, which took 2.3 s for 1,800 triples: with a
    flat context of terms and prefixes, compaction is a lookup per predicate. pyld stays the
    independent check: the tests expand these documents with it and compare graphs.

    A triple costs two dict lookups, by its predicate and object terms (pyoxigraph builds a new Python
    object for each term read): an object's JSON value is made once per document, and the strings and
    spaces are looked for in those distinct values, not in every node's."""
    plans, terms = _plans(context), _terms_by_iri(context)
    values: tuple[dict, ...] = tuple({} for _ in _MODES)  # per mode: object term -> (its key's index, value)
    nodes: dict[str, dict[str, list]] = {}
    subject, node = None, {}
    for t in triples:
        s = t.subject
        if s != subject:  # triples come grouped by subject (sorted): one node lookup a subject
            subject, node = s, nodes.setdefault(_node_id(s), {})
        plan = plans.get(t.predicate)
        if plan is None:
            plan = plans[t.predicate] = _plan(t.predicate.value, terms)
        o = t.object
        entry = values[plan[3]].get(o)
        if entry is None:
            entry = values[plan[3]][o] = _value(o, plan[3], terms)
        node.setdefault(plan[entry[0]], []).append(entry[1])
    strings: set[str] = set(nodes)
    spaced = False  # IRIs (ids, keys, the context's CURIEs) hold no spaces: only literals' strings may
    for cache in values:
        for _, value in cache.values():
            if isinstance(value, dict):
                strings.update(value)
                for v in value.values():
                    strings.add(v)
                    spaced = spaced or "  " in v
            else:
                strings.add(value)
                spaced = spaced or "  " in value
    out = []
    for subject_id in sorted(nodes):
        node = nodes[subject_id]
        strings.update(node)
        for key, items in node.items():
            node[key] = items[0] if len(items) == 1 else sorted(items, key=_value_key)
        node["id"] = subject_id
        out.append(node)
    if out:
        strings.add("id")
    return out, strings & context.keys(), spaced


# How a predicate's IRI objects are written (a plan's last item, an index into `_compact`'s caches):
# as node references {"id": …}, as coerced CURIEs, or as types (rdf:type's, which no context of ours
# gives a term: its blank nodes are written as references).
_MODES = _REFERENCE, _COERCED, _TYPE = range(3)


def _plan(p: str, terms: dict[str, tuple[str, bool]]) -> tuple[str, str, str, int]:
    """A predicate's keys for IRI, literal and blank node objects, and its mode."""
    key, coerced = terms.get(p, (None, False))
    iri_key, literal_key = key or _curie(p), key if key and not coerced else _curie(p)
    if p == _RDF_TYPE:
        return "type", literal_key, iri_key, _TYPE
    return iri_key, literal_key, iri_key, _COERCED if coerced else _REFERENCE


def _value(o, mode: int, terms: dict[str, tuple[str, bool]]) -> tuple[int, object]:
    """An object's JSON value, with the index of its key in its predicate's plan."""
    if isinstance(o, ox.NamedNode):
        if mode == _TYPE:
            return 0, terms.get(o.value, (None, False))[0] or _curie(o.value)
        return 0, _curie(o.value) if mode == _COERCED else {"id": _curie(o.value)}
    if isinstance(o, ox.BlankNode):  # the ontology's OWL lists (property chains)
        return 2, _node_id(o) if mode == _COERCED else {"id": _node_id(o)}
    return 1, _literal(o)


_RDF_TYPE = RDF + "type"


def _value_key(value) -> str:
    """How values sort: by their JSON text, `json.dumps(value, sort_keys=True, ensure_ascii=False)`; a string's,
    and those of `compact`'s node references and value objects, put together from json's own string encoder."""
    if isinstance(value, str):
        return _json_string(value)
    if len(value) == 1 and "id" in value:
        return '{"id": ' + _json_string(value["id"]) + "}"
    if len(value) == 2 and "@value" in value:
        if "@language" in value:
            return (
                '{"@language": '
                + _json_string(value["@language"])
                + ', "@value": '
                + _json_string(value["@value"])
                + "}"
            )
        if "type" in value:
            return '{"@value": ' + _json_string(value["@value"]) + ', "type": ' + _json_string(value["type"]) + "}"
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _per_context(cache: dict[int, tuple[dict, object]], context: dict, make: Callable[[dict], object]):
    """`make(context)`, worked out once per context object in use (one per release): `cache` is keyed by
    identity and holds the context itself, so an id is never reused while its entry lives."""
    cached = cache.get(id(context))
    if cached is None or cached[0] is not context:
        if len(cache) > 8:
            cache.clear()
        cached = cache[id(context)] = (context, make(context))
    return cached[1]


_TERMS_CACHE: dict[int, tuple[dict, object]] = {}
_PLANS_CACHE: dict[int, tuple[dict, object]] = {}
_ALWAYS_CACHE: dict[int, tuple[dict, object]] = {}


def _terms_by_iri(context: dict) -> dict[str, tuple[str, bool]]:
    """Property/class IRI -> (its term, whether the term coerces values to IRIs)."""
    return _per_context(_TERMS_CACHE, context, _make_terms_by_iri)  # type: ignore[return-value]


def _plans(context: dict) -> dict[ox.NamedNode, tuple[str, str, str, int]]:
    """Predicate -> its `_plan`: filled by `_compact` as it meets predicates, kept for the context's next
    document (a release writes one an entity)."""
    return _per_context(_PLANS_CACHE, context, lambda c: {})  # type: ignore[return-value]


def _make_terms_by_iri(context: dict) -> dict[str, tuple[str, bool]]:
    out = {}
    for key, value in context.items():
        curie = value["@id"] if isinstance(value, dict) else value
        if key in PREFIXES or curie.startswith("@"):
            continue
        out[expand(curie)] = (key, isinstance(value, dict) and value.get("@type") == "@id")
    return out


def _node_id(term) -> str:
    return f"_:{term.value}" if isinstance(term, ox.BlankNode) else term.value


_NAMESPACES = tuple(PREFIXES.values())


@lru_cache(maxsize=1 << 17)
def _curie(iri: str) -> str:
    if not iri.startswith(_NAMESPACES):  # an entity's IRI: one test (at 1M, more IRIs than the cache holds)
        return iri
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(iri) > len(ns) and not iri[len(ns) :].startswith("/"):
            return f"{prefix}:{iri[len(ns) :]}"
    return iri


def _literal(lit: ox.Literal):
    if lit.language:
        return {"@value": lit.value, "@language": lit.language}
    if lit.datatype.value == XSD + "string":
        return lit.value
    return {"@value": lit.value, "type": _curie(lit.datatype.value)}


def _always_embedded(context: dict) -> dict:
    """What every document's embedded context holds whatever its nodes use: the prefixes, `id` and `type`."""
    return _per_context(  # type: ignore[return-value]
        _ALWAYS_CACHE, context, lambda c: {k: v for k, v in c.items() if k in PREFIXES or k in ("id", "type")}
    )


def indented_json(doc: dict, spaced: bool = True) -> bytes:
    """`json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\\n"`, UTF-8, made by orjson
    (json's indenting encoder is pure Python: most of a release's JSON-LD time). orjson indents by two
    spaces; each line's indent is halved. A line starts with its indent, the only run of spaces
    after a newline (a newline inside a string is escaped), so the runs are replaced deepest first,
    each by a control byte JSON never leaves raw, then by the final indent. A document with no two spaces
    in a row in any string (`spaced` false: most) needs one pass, every pair of spaces made one (at 100k,
    0.13 s for the 1,937 entity documents against 0.40 s)."""
    # the final newline added by orjson: `+ b"\n"` copied the whole text again (147 MB at 1M)
    text = orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_APPEND_NEWLINE)
    if not spaced:  # the only runs of spaces are indents: each pair of spaces becomes one
        return text.replace(b"  ", b" ")
    depth = 0
    while b"\n" + b"  " * (depth + 1) in text:
        depth += 1
    if depth >= 0x20:  # deeper than any document we write: control bytes would run out
        return (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    for level in range(depth, 0, -1):
        text = text.replace(b"\n" + b"  " * level, b"\n" + bytes([level]))
    for level in range(1, depth + 1):
        text = text.replace(b"\n" + bytes([level]), b"\n" + b" " * level)
    return text


def context_document(context: dict) -> bytes:
    return (json.dumps({"@context": context}, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()


def to_nquads(doc: dict, documents: dict[str, dict], base: str = "") -> str:
    """Expand a JSON-LD document with pyld (contexts served from `documents`) to N-Quads."""
    from pyld import jsonld

    return jsonld.to_rdf(
        doc, {"format": "application/n-quads", "documentLoader": local_loader(documents), "base": base}
    )
