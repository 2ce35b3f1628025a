"""SHACL results in a curator's words: the YAML line, the field, the value, no IRIs.

A validation engine reports a focus node, a property path, a value and a message. This module
turns those into a `Problem` that points at the line of the record, nested item or field that
produced the node (using the origins the builder recorded), names the rule as the YAML field path
(`pledge.to`, `citation.quote`) and shows values as the ids a curator wrote. It takes plain terms
(strings, rdflib or pyoxigraph terms), so it does not care which engine produced the results.
"""

from __future__ import annotations

import json
import re

from pledgegraph.model import schema
from pledgegraph.stages.build import Built
from pledgegraph.errors import ERROR, Position, Problem
from pledgegraph.model.vocab import PG, PGV, PREFIXES, PROV, SKOS, expand

# Predicates that are not a field's own predicate but stand for one.
_FIELD_ALIASES = {SKOS + "prefLabel": "names", SKOS + "altLabel": "names", PROV + "wasDerivedFrom": "sources",
                  PG + "quote": "quote", PG + "claimObject": "name"}  # a name attestation's value: `name`
_IRI_RE = re.compile(r"<?(https?://[^\s<>\"]+)>?")


def problem(built: Built, focus, path=None, value=None, message: str = "", severity: str = ERROR,
            shape=None) -> Problem:
    """One validation result as a located, readable Problem."""
    focus_iri = _text(focus)
    path_iri = _text(path) if path is not None else ""
    entity, position, rule = locate(built, focus_iri, path_iri)
    if value is not None and _text(value) == focus_iri:  # a node-level result: the value is the record
        value = None
    if not rule:
        rule = term_text(path_iri, built.base) if path_iri else (term_text(_text(shape), built.base)
                                                                if shape is not None else "")
    return Problem(position, readable(message or "does not conform", built.base), severity=severity,
                   entity=entity, rule=rule,
                   value=term_text(_text(value), built.base) if value is not None else "")


def locate(built: Built, focus: str, path: str = "") -> tuple[str, Position, str]:
    """(record id, position, field path) of a node: its own origin, or the nearest enclosing node's."""
    node, below = focus, []
    while node not in built.node_rules and node not in built.origins:
        if "/" not in node[len(built.base):]:
            return term_text(focus, built.base), Position("<graph>"), ""
        node, segment = node.rsplit("/", 1)
        below.insert(0, segment)
    entity, position = built.origins.get(node, ("", Position("<graph>")))
    owner = built.node_rules.get(node, "")
    if "." in owner:  # a claim: the node stands for one value of one field
        return entity, position, owner
    fields = _fields_of(owner)
    name = below[0] if below and below[0] in fields else _field_for(fields, path)
    if not name:
        return entity, position, ""
    return entity, built.field_positions.get((node, name), position), f"{owner}.{name}"


def _fields_of(owner: str) -> dict[str, schema.Field]:
    spec = schema.KINDS.get(owner) or schema.STRUCTS.get(owner)
    return {f.name: f for f in spec.fields} if spec else {}


def _field_for(fields: dict[str, schema.Field], predicate: str) -> str:
    if not predicate:
        return ""
    for f in fields.values():
        if f.predicate and expand(f.predicate) == predicate:
            return f.name
    alias = _FIELD_ALIASES.get(predicate, "")
    return alias if alias in fields else ""


def term_text(iri_or_literal: str, base: str) -> str:
    """An IRI as a curator writes it: a record id, a concept id or a prefixed name."""
    text = iri_or_literal
    if text.startswith(base + "id/"):
        return text[len(base) + 3:].split("/", 1)[-1]
    if text.startswith(PGV):
        return text[len(PGV):].split("/", 1)[-1]
    for prefix, ns in PREFIXES.items():
        if text.startswith(ns) and len(text) > len(ns):
            return f"{prefix}:{text[len(ns):]}"
    if text.startswith(base) and "#" in text:  # our own terms, e.g. a shape: its local name
        return text.rsplit("#", 1)[1]
    return text


def readable(message: str, base: str) -> str:
    """A message with any IRIs in it (engines' default messages have them) shortened."""
    return _IRI_RE.sub(lambda m: term_text(m.group(1), base), message)


def _text(term) -> str:
    """The IRI or lexical form of an rdflib term (a str), a pyoxigraph term (.value), or a plain or
    N-Triples string (`<iri>`, `"text"@en`, `"1"^^<…#integer>`), whichever engine produced it."""
    text = str(term) if isinstance(term, str) else str(getattr(term, "value", term))
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1]
    if text.startswith('"') and text.rfind('"') > 0:
        return json.loads(text[:text.rfind('"') + 1])
    return text
