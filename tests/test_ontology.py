"""The ontology as a product: OOPS!-style pitfall checks as SPARQL over ontology/, the OWL profile
the reasoner relies on, metadata, and every term the data, shapes and builder use being declared."""

from __future__ import annotations

import pytest
import rdflib

from conftest import ROOT
from pledgegraph.model import schema
from pledgegraph.model.vocab import PG, PGV, expand, sparql_prologue
from pledgegraph.stages.validate import rdflib_graph

BUILTIN = (
    "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "http://www.w3.org/2000/01/rdf-schema#",
    "http://www.w3.org/2002/07/owl#",
    "http://www.w3.org/2001/XMLSchema#",
    "http://www.w3.org/ns/shacl#",
)
# Ranges whose instances a user navigates from: a relation into one of them needs its inverse (P13).
ENTITY_RANGES = (
    "pg:Organization",
    "pg:Person",
    "prov:Agent",
    "pg:Place",
    "pg:Event",
    "pg:Pledge",
    "pg:Tenure",
    "pg:Acceptance",
)


@pytest.fixture(scope="module")
def onto() -> rdflib.Graph:
    return rdflib_graph([], sorted((ROOT / "ontology").glob("*.ttl")))


def select(graph: rdflib.Graph, query: str) -> list[tuple[str, ...]]:
    return sorted(tuple(str(v) for v in row) for row in graph.query(sparql_prologue() + query))


TERMS = """?term a ?kind . FILTER (STRSTARTS(STR(?term), STR(pg:)))
           VALUES ?kind { owl:Class owl:ObjectProperty owl:DatatypeProperty owl:AnnotationProperty }"""


def test_p08_every_term_has_an_english_label_and_a_definition(onto):
    assert (
        select(
            onto,
            f"""SELECT ?term WHERE {{ {TERMS}
        FILTER NOT EXISTS {{ ?term rdfs:label ?l . FILTER (lang(?l) = "en") }} }}""",
        )
        == []
    )
    assert (
        select(
            onto,
            f"""SELECT ?term WHERE {{ {TERMS}
        FILTER NOT EXISTS {{ ?term skos:definition ?d . FILTER (lang(?d) = "en" && STRLEN(?d) >= 20) }} }}""",
        )
        == []
    )


def test_every_concept_has_a_label_a_definition_and_a_scheme(onto):
    assert (
        select(
            onto,
            """SELECT ?c WHERE { ?c a skos:Concept .
        FILTER NOT EXISTS { ?c skos:prefLabel ?l ; skos:definition ?d ;
          skos:inScheme ?s . ?s a skos:ConceptScheme } }""",
        )
        == []
    )


def test_p11_every_property_has_a_domain_and_a_range(onto):
    assert (
        select(
            onto,
            """SELECT ?p WHERE { ?p a ?kind . FILTER (STRSTARTS(STR(?p), STR(pg:)))
        VALUES ?kind { owl:ObjectProperty owl:DatatypeProperty }
        FILTER NOT EXISTS { ?p rdfs:domain ?d ; rdfs:range ?r } }""",
        )
        == []
    )


def test_domains_and_ranges_are_named_classes_owl_rl_can_use(onto):
    assert select(onto, """SELECT ?p ?c WHERE { ?p rdfs:domain|rdfs:range ?c . FILTER (isBlank(?c)) }""") == []


def test_p13_relations_into_entities_declare_their_inverse(onto):
    ranges = " ".join(ENTITY_RANGES)
    assert (
        select(
            onto,
            f"""SELECT ?p WHERE {{ ?p a owl:ObjectProperty ; rdfs:range ?r .
        FILTER (STRSTARTS(STR(?p), STR(pg:))) VALUES ?r {{ {ranges} }}
        FILTER NOT EXISTS {{ ?p owl:inverseOf|^owl:inverseOf ?q }}
        FILTER NOT EXISTS {{ ?p a owl:SymmetricProperty }} }}""",
        )
        == []
    )


def test_p05_inverses_swap_domain_and_range(onto):
    assert (
        select(
            onto,
            """SELECT ?p ?q WHERE { ?p owl:inverseOf ?q .
        ?p rdfs:domain ?pd ; rdfs:range ?pr . ?q rdfs:domain ?qd ; rdfs:range ?qr .
        FILTER (?pd != ?qr || ?pr != ?qd) }""",
        )
        == []
    )


def test_p06_no_cycles_in_the_class_hierarchy(onto):
    assert select(onto, "SELECT ?c WHERE { ?c rdfs:subClassOf+ ?c }") == []


def test_p32_no_two_terms_share_a_label(onto):
    assert (
        select(
            onto,
            f"""SELECT ?term ?other ?l WHERE {{ {TERMS} ?term rdfs:label ?l .
        ?other rdfs:label ?l . FILTER (?other != ?term && STR(?term) < STR(?other)) }}""",
        )
        == []
    )
    assert (
        select(
            onto,
            """SELECT ?c ?d ?l WHERE { ?c skos:inScheme ?s ; skos:prefLabel ?l .
        ?d skos:inScheme ?s ; skos:prefLabel ?l . FILTER (STR(?c) < STR(?d)) }""",
        )
        == []
    )


def test_equivalent_class_is_not_misused(onto):
    """No synonyms among our own classes (P02), no equivalence to a property or individual, and no
    equivalence that also states a one-way subclass (a sign subClassOf was meant)."""
    assert (
        select(
            onto,
            """SELECT ?a ?b WHERE { ?a owl:equivalentClass ?b .
        FILTER ((STRSTARTS(STR(?a), STR(pg:)) && STRSTARTS(STR(?b), STR(pg:)))
                || NOT EXISTS { ?a a owl:Class } || NOT EXISTS { ?b a owl:Class }
                || EXISTS { ?a rdfs:subClassOf ?b } || EXISTS { ?b rdfs:subClassOf ?a }) }""",
        )
        == []
    )


def test_only_the_owl_constructs_the_reasoner_implements(onto):
    """pledgegraph.stages.reason applies subclass/subproperty/equivalence/inverse/symmetric/transitive/chains,
    domains and ranges; anything else OWL RL knows would be silently ignored at data level. The one
    exception, owl:AllDisjointClasses, entails nothing and is checked by pgs:DisjointClassesShape
    (which reads only that form: pairwise owl:disjointWith stays out)."""
    unsupported = (
        "owl:unionOf owl:intersectionOf owl:someValuesFrom owl:allValuesFrom owl:hasValue "
        "owl:maxCardinality owl:maxQualifiedCardinality owl:hasKey owl:sameAs owl:oneOf "
        "owl:complementOf owl:disjointWith owl:propertyDisjointWith"
    )
    assert select(onto, f"SELECT ?s ?p WHERE {{ ?s ?p ?o VALUES ?p {{ {unsupported} }} }}") == []
    assert (
        select(
            onto,
            """SELECT ?p WHERE { ?p a ?k VALUES ?k { owl:FunctionalProperty
        owl:InverseFunctionalProperty owl:IrreflexiveProperty owl:AsymmetricProperty owl:Restriction } }""",
        )
        == []
    )


def _disjoint_groups(onto) -> list[set[str]]:
    rows = select(
        onto,
        """SELECT ?axiom ?c WHERE { ?axiom a owl:AllDisjointClasses ;
        owl:members/rdf:rest*/rdf:first ?c }""",
    )
    groups: dict[str, set[str]] = {}
    for axiom, c in rows:
        groups.setdefault(axiom, set()).add(c)
    return list(groups.values())


def test_top_classes_and_every_kind_of_fact_are_disjoint(onto):
    """Person, organization, place, source document and fact are pairwise disjoint, and so is every
    kind of fact (each class directly under pg:Fact or pg:Occurrence): a new kind must join the list."""
    groups = _disjoint_groups(onto)
    top = {PG + c for c in ("Person", "Organization", "Place", "SourceDocument", "Fact", "Citation")}
    assert any(top <= g for g in groups)
    kinds = {
        c
        for (c,) in select(
            onto,
            """SELECT ?c WHERE { ?c a owl:Class ;
        rdfs:subClassOf ?parent VALUES ?parent { pg:Fact pg:Occurrence } FILTER (?c != pg:Occurrence) }""",
        )
    }
    assert len(kinds) >= 15 and any(kinds == g for g in groups)


def test_ontology_metadata(onto):
    (row,) = select(
        onto,
        """SELECT ?v ?vi ?title ?desc ?lic ?creator ?prefix ?ns WHERE {
        <https://w3id.org/pledgegraph/ontology> a owl:Ontology ; owl:versionIRI ?v ; owl:versionInfo ?vi ;
        dcterms:title ?title ; dcterms:description ?desc ; dcterms:license ?lic ;
        <http://purl.org/dc/elements/1.1/creator> ?creator ;
        vann:preferredNamespacePrefix ?prefix ; vann:preferredNamespaceUri ?ns }""",
    )
    assert row[0].endswith("/" + row[1]) and row[6] == "pg" and row[7] == PG


def test_deprecated_terms_keep_label_and_definition(onto):
    assert (
        select(
            onto,
            """SELECT ?t WHERE { ?t owl:deprecated true .
        FILTER NOT EXISTS { ?t rdfs:label ?l ; skos:definition ?d } }""",
        )
        == []
    )


def test_ontology_is_consistent_under_owl_rl(onto):
    import owlrl

    g = rdflib.Graph()
    for t in onto:
        g.add(t)
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
    errors = list(g.objects(None, rdflib.URIRef("http://www.daml.org/2002/03/agents/agent-ont#error")))
    assert errors == []
    assert list(g.subjects(rdflib.RDF.type, rdflib.OWL.Nothing)) == []


def declared(onto) -> set[str]:
    kinds = {str(rdflib.OWL[k]) for k in ("Class", "ObjectProperty", "DatatypeProperty", "AnnotationProperty")}
    return {str(s) for s, o in onto.subject_objects(rdflib.RDF.type) if str(o) in kinds}


def used_terms(graph: rdflib.Graph) -> set[str]:
    """Predicates and classes a graph uses."""
    terms = {str(p) for p in graph.predicates()}
    terms |= {str(o) for o in graph.objects(None, rdflib.RDF.type)}
    return {t for t in terms if not t.startswith(BUILTIN)}


def test_terms_used_by_schema_and_build_output_are_declared(onto, shipped):
    terms = {expand(f.predicate) for _, f in schema.all_fields() if f.predicate}
    terms |= {expand(k.cls) for k in schema.KINDS.values()} | {expand(s.cls) for s in schema.STRUCTS.values()}
    terms |= used_terms(rdflib_graph(shipped.built.triples + shipped.inferred.triples))
    terms = {t for t in terms if not t.startswith(BUILTIN)}
    assert sorted(terms - declared(onto)) == []


def test_terms_used_by_shapes_are_declared(onto):
    shapes = rdflib_graph([], sorted((ROOT / "shapes").glob("*.ttl")))
    sh = rdflib.Namespace("http://www.w3.org/ns/shacl#")
    terms = {str(o) for o in shapes.objects(None, sh.targetClass)} | {str(o) for o in shapes.objects(None, sh["class"])}
    terms |= {str(o) for o in shapes.objects(None, sh.path) if isinstance(o, rdflib.URIRef)}
    terms |= {str(o) for o in shapes.objects(None, rdflib.RDF.first) if isinstance(o, rdflib.URIRef)}
    terms = {t for t in terms if not t.startswith(BUILTIN)}
    assert sorted(terms - declared(onto)) == []


def test_kind_concepts_imply_declared_classes(onto):
    assert (
        select(
            onto,
            """SELECT ?c ?cls WHERE { ?c pg:impliesClass ?cls .
        FILTER NOT EXISTS { ?cls a owl:Class } }""",
        )
        == []
    )
    assert all(c.startswith(PGV) for (c,) in select(onto, "SELECT ?c WHERE { ?c a skos:Concept }"))
