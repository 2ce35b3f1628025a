"""OWL 2 RL inference: the set-at-a-time reasoner agrees with owlrl, emits valid RDF, and makes
generic ORG / PROV queries find our data."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
import rdflib
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import settings_for
from pledgegraph.stages.reason import Closure, infer, load_rules, owlrl_entailed, read_ontology
from pledgegraph.stages.validate import rdflib_graph

OWL = rdflib.OWL


def as_rdflib(triples) -> set:
    return set(rdflib_graph(triples))


@pytest.fixture(scope="module")
def ontology():
    return read_ontology(settings_for().ontology_files)


def test_inferred_triples_equal_owlrl_closure_minus_junk_on_shipped_data(shipped, ontology):
    expected = owlrl_entailed(rdflib_graph(shipped.built.triples), rdflib_graph(ontology))
    got = as_rdflib(shipped.inferred.triples)
    assert len(got) == len(shipped.inferred), "inferred triples are unique"
    assert sorted(map(str, got - expected))[:5] == [] and sorted(map(str, expected - got))[:5] == []
    assert got == expected


def test_inferred_output_is_valid_sorted_and_new(shipped):
    inferred = shipped.inferred.triples
    assert inferred == sorted(inferred, key=str)
    assert all(isinstance(t.subject, ox.NamedNode) for t in inferred)
    assert not [t for t in inferred if t.predicate.value == str(OWL.sameAs)]
    assert not set(inferred) & set(shipped.built.triples)


SMALL_ONTOLOGY = """
@prefix : <http://example.org/> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:A rdfs:subClassOf :B . :B owl:equivalentClass :C . :C rdfs:subClassOf :D .
:p rdfs:subPropertyOf :q ; rdfs:domain :A ; rdfs:range :B .
:q owl:inverseOf :qi . :qi rdfs:range :D .
:r a owl:TransitiveProperty ; owl:equivalentProperty :r2 .
:s a owl:SymmetricProperty .
:chain owl:propertyChainAxiom ( :p :r :s ) ; rdfs:subPropertyOf :r .
:lit rdfs:range :D ; rdfs:domain :C .
"""
SMALL_DATA = """
@prefix : <http://example.org/> .
:x :p :y . :y :r :z . :z :r :w . :w :s :v . :v :r :x .
:y :lit "a literal" . :u a :A .
"""


def test_every_rule_kind_agrees_with_owlrl_on_a_small_case():
    """Subclass, equivalence, subproperty, domain, range, inverse, transitive, symmetric, chains."""
    onto = list(ox.parse(SMALL_ONTOLOGY, format=ox.RdfFormat.TURTLE))
    data = [q.triple for q in ox.parse(SMALL_DATA, format=ox.RdfFormat.TURTLE)]
    onto = [q.triple for q in onto]
    lines = infer([str(t) for t in data], load_rules(onto), exclude=[str(t) for t in onto])
    got = set(rdflib.Graph().parse(data="".join(f"{line} .\n" for line in lines), format="nt"))
    expected = owlrl_entailed(
        rdflib.Graph().parse(data=SMALL_DATA, format="turtle"),
        rdflib.Graph().parse(data=SMALL_ONTOLOGY, format="turtle"),
    )
    assert got == expected
    ex = rdflib.Namespace("http://example.org/")
    assert (ex.x, ex.chain, ex.v) in got and (ex.v, ex.s, ex.w) in got and (ex.y, ex.r, ex.w) in got


def _answers(shipped, query: str) -> set:
    store = ox.Store()
    store.extend([ox.Quad(t.subject, t.predicate, t.object) for t in shipped.built.triples + shipped.inferred.triples])
    return {tuple(str(v) for v in row) for row in store.query(query)}


def test_a_query_in_org_and_prov_terms_finds_our_data(shipped):
    base = "https://w3id.org/pledgegraph/id/"
    members = _answers(
        shipped,
        """PREFIX org: <http://www.w3.org/ns/org#>
        SELECT ?person ?org WHERE { ?person org:hasMembership ?m . ?m a org:Membership ; org:organization ?org .
                                    ?person org:memberOf ?org . ?org org:hasMember ?person }""",
    )
    # the direct layer: memberships holding on the release date, of holders no source reports dead
    assert (f"<{base}person/aleksandr-bortnikov>", f"<{base}org/fsb>") in members
    assert not any(person == f"<{base}person/rustam-asildarov>" for person, _ in members)  # reported killed
    subs = _answers(
        shipped,
        """PREFIX org: <http://www.w3.org/ns/org#>
        SELECT ?sub ?parent WHERE { ?sub org:subOrganizationOf ?parent ; org:transitiveSubOrganizationOf ?parent .
                                    ?parent org:hasSubOrganization ?sub }""",
    )
    assert (f"<{base}org/is-caucasus-province>", f"<{base}org/islamic-state>") in subs
    attributed = _answers(
        shipped,
        """PREFIX prov: <http://www.w3.org/ns/prov#>
        SELECT ?fact ?agent WHERE { ?fact a prov:Entity ; prov:wasAttributedTo ?agent . ?agent a prov:Agent }""",
    )
    assert (f"<{base}pledge/caucasus-velayats-pledge-2015-06>", f"<{base}org/vilayat-dagestan>") in attributed
    assert (f"<{base}acceptance/is-acceptance-2015-06-23>", f"<{base}person/abu-mohammad-al-adnani>") in attributed


_NODES = [f"<http://example.org/n{i}>" for i in range(6)]
_PREDICATES = [f"<http://example.org/{p}>" for p in ("p", "q", "qi", "r", "r2", "s", "chain", "lit")]
_CLASSES = [f"<http://example.org/{c}>" for c in ("A", "B", "C", "D")]
_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
_line = st.one_of(
    st.builds(
        lambda s, p, o: f"{s} {p} {o}",
        st.sampled_from(_NODES),
        st.sampled_from(_PREDICATES),
        st.sampled_from(_NODES + ['"a literal"']),
    ),
    st.builds(lambda s, c: f"{s} {_TYPE} {c}", st.sampled_from(_NODES), st.sampled_from(_CLASSES)),
)


@settings(max_examples=300, deadline=None)
@given(st.sets(_line, max_size=14), st.sets(_line, max_size=6), st.sets(_line, max_size=6))
def test_an_edit_gives_what_closing_the_edited_graph_from_scratch_gives(start, removed, added):
    """DRed: withdraw, rederive, insert — the same inferred lines as a fresh closure, and the
    reported changes are exactly the difference."""
    onto = [q.triple for q in ox.parse(SMALL_ONTOLOGY, format=ox.RdfFormat.TURTLE)]
    rules, exclude = load_rules(onto), [str(t) for t in onto]
    removed = removed & start  # an edit removes lines that were there and adds ones that were not
    added = added - start
    closure = Closure(sorted(start), rules, exclude)
    old = set(closure.inferred())
    lost, gained = closure.update(sorted(removed), sorted(added))
    expected = Closure(sorted((start - removed) | added), rules, exclude).inferred()
    assert closure.inferred() == expected
    assert (set(lost), set(gained)) == (old - set(expected), set(expected) - old)


@settings(max_examples=200, deadline=None)
@given(st.sets(_line, max_size=16))
def test_a_one_off_closure_keeping_only_rule_facts_infers_what_an_editable_one_does(lines):
    """`build` closes with editable=False: facts no property rule reads are not kept, only their
    domains and ranges are applied as they pass; the inferred lines must be the same."""
    onto = [q.triple for q in ox.parse(SMALL_ONTOLOGY, format=ox.RdfFormat.TURTLE)]
    rules, exclude = load_rules(onto), [str(t) for t in onto]
    assert "<http://example.org/lit>" not in rules.property_rule_terms()  # exercised: domain and range only
    lean = Closure(sorted(lines), rules, exclude, editable=False)
    assert lean.inferred() == Closure(sorted(lines), rules, exclude).inferred()
    with pytest.raises(ValueError, match="editable=False"):
        lean.update([], [])


PLAIN_ORG = """
@prefix org: <http://www.w3.org/ns/org#> .
@prefix ex: <http://example.org/> .
ex:membership a org:Membership ; org:member ex:acme ; org:organization ex:holding ; org:role ex:partner .
ex:acme a org:Organization .
ex:holding org:hasSubOrganization ex:acme .
"""


def test_plain_org_data_is_typed_no_further_than_org_types_it(ontology):
    """ORG data from elsewhere (an organization that is a member of another, through a membership
    that is no tenure of ours) gets only what ORG itself entails: no pg: class, in particular not
    pg:Person for the member nor pg:Tenure for the membership."""
    data = [q.triple for q in ox.parse(PLAIN_ORG, format=ox.RdfFormat.TURTLE)]
    lines = infer([str(t) for t in data], load_rules(ontology), exclude=[str(t) for t in ontology])
    types = {tuple(line.split(" ", 2)[::2]) for line in lines if f" <{rdflib.RDF.type}> " in line}
    ex, org, foaf = "http://example.org/", "http://www.w3.org/ns/org#", "http://xmlns.com/foaf/0.1/"
    assert types == {(f"<{ex}acme>", f"<{foaf}Agent>"), (f"<{ex}holding>", f"<{org}Organization>")}
    assert f"<{ex}acme> <https://w3id.org/pledgegraph/ontology#heldPostIn> <{ex}holding>" in lines  # still found
