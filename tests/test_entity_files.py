"""The shortcuts an entity's files take, against the plain computations they replace, on any input.

publish writes four files for each entity; the profile of a 100k release put their cost in finding the
Turtle's prefixes term by term and in re-indenting orjson's JSON. Each shortcut is checked here on
generated input, including text made to look like what the shortcut searches for."""

from __future__ import annotations

import json

import pyoxigraph as ox
from hypothesis import example, given
from hypothesis import strategies as st

from conftest import settings_for
from pledgegraph.delivery.export import _used_prefixes, serialize, term_prefixes
from pledgegraph.delivery.release import jsonld
from pledgegraph.model.vocab import PG, PREFIXES, RDF, XSD
from pledgegraph.pipeline import ontology_triples

# text that looks like N-Triples: a namespace in brackets, a typed or tagged literal's end, line ends
_TRICKY = st.sampled_from(['" .', '"@en .', '"^^<' + XSD + "date>", "<" + PREFIXES["org"], "\n", '"', "\\"])
_TEXT = st.lists(st.one_of(st.text(max_size=8), _TRICKY), max_size=4).map("".join)
_NAMESPACES = [*PREFIXES.values(), "https://w3id.org/pledgegraph/id/", "http://example.org/"]
_IRIS = st.builds(
    lambda ns, local: ox.NamedNode(ns + local), st.sampled_from(_NAMESPACES), st.sampled_from(["a", "b/1"])
)
_LITERALS = st.one_of(
    st.builds(ox.Literal, _TEXT),
    st.builds(lambda t, lang: ox.Literal(t, language=lang), _TEXT, st.sampled_from(["en", "ar-Latn"])),
    st.builds(
        lambda t, dt: ox.Literal(t, datatype=ox.NamedNode(dt)),
        _TEXT,
        st.sampled_from([XSD + "date", XSD + "string", RDF + "HTML", "http://example.org/dt"]),
    ),
)
_TRIPLES = st.lists(st.builds(ox.Triple, _IRIS, _IRIS, st.one_of(_IRIS, _LITERALS)), max_size=6)


@example(
    [ox.Triple(ox.NamedNode(RDF + "a"), ox.NamedNode(RDF + "b"), ox.Literal('"^^<' + XSD + "date>", language="en"))]
)
@given(_TRIPLES)
def test_prefixes_found_in_the_ntriples_bytes_are_those_of_the_terms(triples):
    """`term_prefixes` of the N-Triples bytes (an entity's Turtle header) == the term-by-term answer,
    with the datatypes N-Triples leaves out (xsd:string, rdf:langString) counted."""
    assert term_prefixes(serialize(triples, "ntriples")) == _used_prefixes(triples, PREFIXES)


_JSON = st.recursive(
    st.one_of(_TEXT, st.sampled_from(["a  b", "  ", " x ", "é ü", "\u2028"])),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=12,
)


@given(st.dictionaries(_TEXT, _JSON, max_size=3))
def test_indented_json_is_json_dumps_with_indent_one(doc):
    """orjson re-indented (one pass when no string has two spaces in a row, level by level otherwise)
    writes what `json.dumps(indent=1, sort_keys=True, ensure_ascii=False)` writes; level by level also
    when told a string may have two spaces in a row although none has."""
    expected = (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    assert jsonld.indented_json(doc, "  " in json.dumps(doc, ensure_ascii=False)) == expected
    assert jsonld.indented_json(doc, True) == expected


_CONTEXT = jsonld.make_context(ontology_triples(settings_for()))
_TERM_NAMES = st.sampled_from(["label", "source", "Person", "pg", "id", "type", "notATerm"])
_PREDICATES = st.sampled_from(
    [PG + "source", PG + "quoteText", PG + "nameKind", RDF + "type", "http://www.w3.org/2000/01/rdf-schema#label"]
)
_OBJECTS = st.one_of(
    _IRIS,
    st.builds(ox.NamedNode, st.sampled_from([PG + "Person", PG + "Organization", PG + "noSuchTerm"])),
    st.builds(ox.BlankNode, st.sampled_from(["b0", "b1"])),
    _LITERALS,
    st.builds(ox.Literal, st.one_of(_TERM_NAMES, st.sampled_from(["a  b", "  ", "a b"]))),
)
_SUBJECTS = st.one_of(_IRIS, st.builds(ox.BlankNode, st.sampled_from(["b0", "b1"])))


def _strings(value) -> set[str]:
    """Every key and string anywhere in parsed JSON."""
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return set().union(*map(_strings, value))
    return set(value).union(*map(_strings, value.values()))


@given(st.lists(st.builds(ox.Triple, _SUBJECTS, st.builds(ox.NamedNode, _PREDICATES), _OBJECTS), max_size=8))
def test_a_document_is_json_dumps_embedding_the_terms_its_nodes_use(triples):
    """`document`'s bytes are json.dumps(indent=1) of what they hold, every literal's text intact (its
    re-indenting told right whether a string has two spaces in a row), and its embedded context holds
    the context's keys found as a key or a string in its nodes, with every prefix, `id` and `type`."""
    triples = sorted(set(triples), key=str)
    text = jsonld.document(triples, _CONTEXT)
    doc = json.loads(text)
    assert text == (json.dumps(doc, indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode()
    assert {t.object.value for t in triples if isinstance(t.object, ox.Literal)} <= _strings(doc["@graph"])
    always = {k for k in _CONTEXT if k in PREFIXES or k in ("id", "type")}
    assert doc["@context"].keys() == (_strings(doc["@graph"]) & _CONTEXT.keys()) | always
    assert all(doc["@context"][k] == _CONTEXT[k] for k in doc["@context"])
