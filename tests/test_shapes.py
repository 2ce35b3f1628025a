"""SHACL shapes: the shapes graph is valid SHACL, and every node shape is fed a conforming and a
non-conforming example, checking the exact results it reports.

The conforming example is tests/fixtures/shapes/data/: the project's first data slice (frozen
here so curation does not move the expected results) plus zz-every-kind.yaml (one synthetic record
of each kind that slice lacks), run through the real pipeline, so it is what validation sees:
asserted + inferred + ontology. Each non-conforming example is that graph
with one SPARQL update applied; the test validates it against that one shape alone."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

from conftest import ROOT, settings_for
from pledgegraph.model.vocab import sparql_prologue
from pledgegraph.pipeline import check
from pledgegraph.stages.validate import rdflib_graph

SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
PGS = "https://w3id.org/pledgegraph/shapes#"
ID = "https://w3id.org/pledgegraph/id/"
FIXTURE = Path(__file__).parent / "fixtures" / "shapes" / "data"
PLEDGE, ACCEPTANCE = "<pledge/caucasus-velayats-pledge-2015-06>", "<acceptance/is-acceptance-2015-06-23>"
TENURE = "<tenure/asildarov-is-caucasus-province-leader>"

# shape -> (SPARQL update making the example non-conforming, the exact results it then adds:
#           {(focus node below …/id/, result path or "", severity)})
CASES = {
    "SourcedShape": (f"DELETE WHERE {{ {PLEDGE} pg:citation ?c }}",
                     {("pledge/caucasus-velayats-pledge-2015-06", "pg:citation", "Violation")}),
    "CorroboratedShape": (f"DELETE {{ {PLEDGE} prov:wasDerivedFrom ?s }} WHERE {{ {PLEDGE} prov:wasDerivedFrom ?s "
                          "FILTER (?s != <source/islamic-state-of-russia>) }",
                          {("pledge/caucasus-velayats-pledge-2015-06", "prov:wasDerivedFrom", "Warning")}),
    "CitationShape": ("DELETE WHERE { <pledge/caucasus-velayats-pledge-2015-06/cite/islamic-state-of-russia/d6281e52> pg:source ?s }",
                      {("pledge/caucasus-velayats-pledge-2015-06/cite/islamic-state-of-russia/d6281e52", "pg:source", "Violation")}),
    "QuoteSelectorShape": (
        "DELETE { ?sel oa:exact ?q } INSERT { ?sel oa:exact ?long } WHERE { "
        "<pledge/caucasus-velayats-pledge-2015-06/cite/islamic-state-of-russia/d6281e52/quote/selector> oa:exact ?q "
        "BIND (<pledge/caucasus-velayats-pledge-2015-06/cite/islamic-state-of-russia/d6281e52/quote/selector> AS ?sel) "
        "BIND (CONCAT(?q, ?q, ?q, ?q) AS ?long) }",
        {("pledge/caucasus-velayats-pledge-2015-06/cite/islamic-state-of-russia/d6281e52/quote/selector", "oa:exact", "Violation")}),
    "ClaimShape": ("DELETE WHERE { <org/caucasus-emirate/claim/founded/2007> pg:claimPredicate ?p }",
                   {("org/caucasus-emirate/claim/founded/2007", "pg:claimPredicate", "Violation")}),
    "NameAttestationShape": ('DELETE { ?n pg:claimObject ?o } INSERT { ?n pg:claimObject "Rustam Asildarov" } WHERE { '
                             "<person/rustam-asildarov/name/en-rustam-asildarov-c1a93301> pg:claimObject ?o BIND (<person/rustam-asildarov/name/en-rustam-asildarov-c1a93301> AS ?n) }",
                             {("person/rustam-asildarov/name/en-rustam-asildarov-c1a93301", "pg:claimObject", "Violation")}),
    "SubordinationShape": ("DELETE WHERE { <org/is-caucasus-province/under/islamic-state/branch-is-caucasus-province-branch-of-islamic-state> pg:depth ?d }",
                           {("org/is-caucasus-province/under/islamic-state/branch-is-caucasus-province-branch-of-islamic-state",
                             "pg:depth", "Violation")}),
    "NamedShape": ('INSERT DATA { <place/dagestan> skos:prefLabel "Daghestan"@en }',
                   {("place/dagestan", "skos:prefLabel", "Violation")}),
    "OrganizationShape": ("DELETE WHERE { <org/islamic-state> pg:organizationKind ?k }",
                          {("org/islamic-state", "pg:organizationKind", "Violation")}),
    "PersonShape": ("INSERT DATA { <person/rustam-asildarov> pg:origin <org/islamic-state> }",
                    {("person/rustam-asildarov", "pg:origin", "Violation")}),
    "PlaceShape": ("INSERT DATA { <place/dagestan> pg:placeKind <https://w3id.org/pledgegraph/vocab/place-kind/city> }",
                   {("place/dagestan", "pg:placeKind", "Violation")}),
    "SourceDocumentShape": ('INSERT DATA { <source/islamic-state-of-russia> dcterms:title "Another title" }',
                            {("source/islamic-state-of-russia", "dcterms:title", "Violation")}),
    "DatasetShape": ("DELETE { ?d dcterms:license ?l } WHERE { ?d a pg:Dataset ; dcterms:license ?l }",
                     {("../dataset", "dcterms:license", "Violation")}),
    "PledgeShape": (f"INSERT DATA {{ {PLEDGE} pg:pledgedTo <org/caucasus-emirate> }}",
                    {("pledge/caucasus-velayats-pledge-2015-06", "pg:pledgedTo", "Violation")}),
    "AcceptanceShape": (f"DELETE WHERE {{ {ACCEPTANCE} pg:accepts ?p }}",
                        {("acceptance/is-acceptance-2015-06-23", "pg:accepts", "Violation")}),
    "TenureShape": (f"DELETE {{ {TENURE} org:role ?r }} INSERT {{ {TENURE} org:role <https://w3id.org/pledgegraph/vocab/medium/audio> }} "
                    f"WHERE {{ {TENURE} org:role ?r }}",
                    {("tenure/asildarov-is-caucasus-province-leader", "org:role", "Violation")}),
    "TenureEndShape": ("DELETE WHERE { <tenure/asildarov-is-caucasus-province-leader/end/killed-d41bd443> pg:endManner ?m }",
                       {("tenure/asildarov-is-caucasus-province-leader/end/killed-d41bd443", "pg:endManner", "Violation")}),
    "BranchShape": ("INSERT DATA { <branch/is-caucasus-province-branch-of-islamic-state> pg:parent <org/caucasus-emirate> }",
                    {("branch/is-caucasus-province-branch-of-islamic-state", "pg:parent", "Violation")}),
    "OrganizationRelationShape": ("DELETE WHERE { <relation/fixture-relation> pg:relationKind ?k }",
                                  {("relation/fixture-relation", "pg:relationKind", "Violation")}),
    "EventShape": ("DELETE WHERE { <event/fixture-event> rdfs:label ?l }",
                   {("event/fixture-event", "rdfs:label", "Violation")}),
    "CasualtyReportShape": ('DELETE { ?c pg:casualtyCount ?n } INSERT { ?c pg:casualtyCount -1 } WHERE { '
                            "<event/fixture-event/casualties/killed-951f4edb> pg:casualtyCount ?n BIND (<event/fixture-event/casualties/killed-951f4edb> AS ?c) }",
                            {("event/fixture-event/casualties/killed-951f4edb", "pg:casualtyCount", "Violation")}),
    "ResponsibilityClaimShape": ("DELETE WHERE { <event/fixture-event/claim/islamic-state-bc573121> pg:claimant ?a }",
                                 {("event/fixture-event/claim/islamic-state-bc573121", "pg:claimant", "Violation")}),
    "AttributionShape": ("DELETE WHERE { <event/fixture-event/attribution/islamic-state-e019f790> pg:attributedTo ?a }",
                         {("event/fixture-event/attribution/islamic-state-e019f790", "pg:attributedTo", "Violation")}),
    "DisputeShape": ('INSERT DATA { <event/fixture-event/dispute/local-officials-f11e81f8> pg:alternativeExplanation "an accident" }',
                     {("event/fixture-event/dispute/local-officials-f11e81f8", "pg:alternativeExplanation", "Violation")}),
    "DeathShape": ("INSERT DATA { <person/rustam-asildarov/death/2016-12-04-7592f28e> pg:place <place/chechnya> }",
                   {("person/rustam-asildarov/death/2016-12-04-7592f28e", "pg:place", "Violation")}),
    "EstimateShape": ("DELETE { ?e pg:minValue ?n } INSERT { ?e pg:minValue 30 } WHERE { "
                      "<estimate/fixture-estimate> pg:minValue ?n BIND (<estimate/fixture-estimate> AS ?e) }",
                      {("estimate/fixture-estimate", "pg:minValue", "Violation")}),
    "DesignationShape": ("DELETE WHERE { <designation/fixture-designation> pg:designatedBy ?b }",
                         {("designation/fixture-designation", "pg:designatedBy", "Violation")}),
    "StatementShape": ("DELETE WHERE { <statement/fixture-statement> schema:description ?d }",
                       {("statement/fixture-statement", "schema:description", "Violation")}),
    "DisagreementShape": ("DELETE WHERE { <disagreement/fixture-disagreement> pg:side <disagreement/fixture-disagreement/side/others-3816ed24> }",
                          {("disagreement/fixture-disagreement", "pg:side", "Violation")}),
    "PositionShape": ('INSERT DATA { <disagreement/fixture-disagreement/side/fixture-state-body-6c2c7fbc> pg:heldBy <place/dagestan> }',
                      {("disagreement/fixture-disagreement/side/fixture-state-body-6c2c7fbc", "pg:heldBy", "Violation")}),
    "DateShape": ('INSERT DATA { <pledge/caucasus-velayats-pledge-2015-06/date> pg:earliest "2015-06-01"^^xsd:date ; '
                  'time:inXSDDate "2015-06"^^xsd:gYearMonth }',
                  {("pledge/caucasus-velayats-pledge-2015-06/date", "pg:earliest", "Violation"),
                   ("pledge/caucasus-velayats-pledge-2015-06/date", "time:inXSDDate", "Violation")}),
    "IntervalShape": ("INSERT DATA { <relation/fixture-relation/period> time:hasEnd <relation/fixture-relation/from> }",
                      {("relation/fixture-relation/period", "time:hasEnd", "Violation")}),
    "PeriodOrderShape": ('INSERT DATA { <tenure/asildarov-is-caucasus-province-leader/until> pg:latest "2015-01-01"^^xsd:date }',
                         {("tenure/asildarov-is-caucasus-province-leader/period", "", "Violation")}),
    "TenureEndOrderShape": ('INSERT DATA { <tenure/asildarov-is-caucasus-province-leader/end/killed-d41bd443/date> '
                            'pg:latest "2015-01-01"^^xsd:date }',
                            {("tenure/asildarov-is-caucasus-province-leader", "", "Violation")}),
    "PledgeAfterFoundingShape": ('INSERT DATA { <org/islamic-state> pg:foundingDate <org/islamic-state/f> . '
                                 '<org/islamic-state/f> pg:earliest "2016-01-01"^^xsd:date }',
                                 {("pledge/caucasus-velayats-pledge-2015-06", "", "Violation")}),
    # a pledge that names no pledger and gives no `pledger_group` (RFE/RL's "several ... groups" has one)
    "PledgeHasPledgerShape": (f"DELETE WHERE {{ {PLEDGE} pg:pledger ?who }}",
                              {("pledge/caucasus-velayats-pledge-2015-06", "", "Violation")}),
    "AcceptanceAfterFoundingShape": ('INSERT DATA { <org/islamic-state> pg:foundingDate <org/islamic-state/f> . '
                                     '<org/islamic-state/f> pg:earliest "2016-01-01"^^xsd:date }',
                                     {("acceptance/is-acceptance-2015-06-23", "", "Violation")}),
    "PledgeBeforeDeathShape": (f"DELETE {{ ?d pg:latest ?l }} INSERT {{ {PLEDGE} pg:pledger <person/rustam-asildarov> . "
                               '?d pg:latest "2015-01-01"^^xsd:date } WHERE { <person/rustam-asildarov> '
                               "pg:reportedDeath/pg:date ?d . ?d pg:latest ?l }",
                               {("pledge/caucasus-velayats-pledge-2015-06", "", "Violation")}),
    "AcceptanceBeforeDeathShape": ("INSERT DATA { <person/abu-mohammad-al-adnani> pg:reportedDeath <person/x/d> . "
                                   '<person/x/d> pg:date <person/x/d/date> . <person/x/d/date> pg:latest "2015-01-01"^^xsd:date }',
                                   {("acceptance/is-acceptance-2015-06-23", "", "Violation")}),
    "AcceptanceAfterPledgeShape": ('INSERT DATA { <acceptance/is-acceptance-2015-06-23/date> pg:latest "2015-06-01"^^xsd:date }',
                                   {("acceptance/is-acceptance-2015-06-23", "", "Violation")}),
    "BranchCycleShape": ("INSERT DATA { <branch/x> pg:branch <org/islamic-state> ; pg:parent <org/is-caucasus-province> }",
                         {("org/islamic-state", "", "Violation"), ("org/is-caucasus-province", "", "Violation")}),
    # what inference makes of an organization given as a tenure's predecessor (range pg:Person)
    "DisjointClassesShape": ("INSERT DATA { <org/islamic-state> a pg:Person }",
                             {("org/islamic-state", "", "Violation")}),
    "OriginalScriptShape": ('DELETE WHERE { <person/fixture-person> skos:prefLabel "Фикстура"@ru }',
                            {("person/fixture-person", "", "Warning")}),
}
# What each shape reports on the conforming example: warnings the first slice really earns.
BASELINE = {
    "CorroboratedShape": {("branch/is-caucasus-province-branch-of-islamic-state", "prov:wasDerivedFrom", "Warning"),
                          ("person/rustam-asildarov/death/2016-12-04-7592f28e", "prov:wasDerivedFrom", "Warning"),
                          ("tenure/asildarov-is-caucasus-province-leader/end/killed-d41bd443", "prov:wasDerivedFrom", "Warning")},
    "OriginalScriptShape": {(f"person/{p}", "", "Warning") for p in (
        "rustam-asildarov", "abu-mohammad-al-adnani", "abu-bakr-al-baghdadi", "joanna-paraszczuk", "alexey-malashenko")},
}


@pytest.fixture(scope="module")
def shapes() -> rdflib.Graph:
    return rdflib_graph([], sorted((ROOT / "shapes").glob("*.ttl")))


@pytest.fixture(scope="module")
def conforming() -> rdflib.Graph:
    result = check(settings_for(FIXTURE))
    assert result.report.conforms
    return rdflib_graph(result.built.triples + result.inferred.triples, settings_for().ontology_files)


def one_shape(shapes: rdflib.Graph, name: str) -> rdflib.Graph:
    """The shape, everything below it (blank nodes), and the prefix declarations it uses."""
    out = rdflib.Graph()
    todo = [rdflib.URIRef(PGS + name), rdflib.URIRef(PGS)]
    while todo:
        node = todo.pop()
        for p, o in shapes.predicate_objects(node):
            out.add((node, p, o))
            if isinstance(o, rdflib.BNode):
                todo.append(o)
    return out


def results(data: rdflib.Graph, shape: rdflib.Graph) -> set[tuple[str, str, str]]:
    import pyshacl

    # inplace: in advanced mode pySHACL otherwise copies the data graph on every call, for SHACL rules
    # (sh:rule), which our shapes do not have, so nothing writes to it
    _, report, _ = pyshacl.validate(data, shacl_graph=shape, inference="none", advanced=True,
                                    allow_warnings=True, inplace=True)
    out = set()
    for r in report.subjects(rdflib.RDF.type, SH.ValidationResult):
        focus = str(report.value(r, SH.focusNode)).replace(ID, "").replace("https://w3id.org/pledgegraph/", "../")
        path = report.value(r, SH.resultPath)
        severity = str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[1]
        assert report.value(r, SH.resultMessage), "every constraint has a message"
        out.add((focus, data.namespace_manager.normalizeUri(path) if path is not None else "", severity))
    return out


def test_shapes_have_no_rules_that_would_write_to_the_shared_graph(shapes):
    assert not set(shapes.subjects(SH.rule, None))


def test_shapes_graph_is_valid_shacl(shapes):
    import pyshacl

    shacl_shacl = Path(pyshacl.__file__).parent / "assets" / "shacl-shacl.ttl"  # ships with pySHACL
    conforms, _, text = pyshacl.validate(shapes, shacl_graph=rdflib.Graph().parse(shacl_shacl), inference="none")
    assert conforms, text


def test_every_node_shape_has_a_case(shapes):
    node_shapes = {str(s)[len(PGS):] for s in shapes.subjects(rdflib.RDF.type, SH.NodeShape)}
    assert node_shapes == set(CASES)


def test_every_constraint_has_a_message(shapes):
    constraints = set(shapes.objects(None, SH.property)) | set(shapes.objects(None, SH.sparql))
    constraints |= {s for s in shapes.subjects(SH.pattern, None) if (s, rdflib.RDF.type, SH.NodeShape) in shapes}
    assert constraints and all(shapes.value(c, SH.message) for c in constraints)


@pytest.mark.parametrize("name", sorted(CASES))
def test_shape_on_conforming_and_non_conforming_examples(name, shapes, conforming):
    shape = one_shape(shapes, name)
    baseline = BASELINE.get(name, set())
    assert results(conforming, shape) == baseline
    update, expected = CASES[name]
    broken = rdflib.Graph()
    broken += conforming
    broken.namespace_manager = conforming.namespace_manager
    broken.update(sparql_prologue() + f"BASE <{ID}>\n" + update)
    assert results(broken, shape) - baseline == expected
