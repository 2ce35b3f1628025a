"""What a researcher is told and given: advice on queries that go wrong, --labels, show, export
and DESCRIBE, the disagreements, and the endpoint's /ontology and 404 suggestions."""

from __future__ import annotations

import json
import urllib.parse

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph.cli import main

ID = "https://w3id.org/pledgegraph/id/"


def cli(dist, *args):
    return CliRunner().invoke(main, [*args, "--dist", str(dist)], catch_exceptions=False)


# -- advice ---------------------------------------------------------------------------------------


def test_a_misspelt_term_is_named_with_the_right_one(dist):
    result = cli(dist, "query", "SELECT ?p ?to WHERE {\n  ?p a pg:Pledge ;\n     pg:pledgedto ?to }")
    assert result.exit_code == 0 and "(0 rows)" in result.stdout
    assert result.stderr.splitlines() == [
        "warning: `pg:pledgedto` is not a term of the ontology; did you mean `pg:pledgedTo`?",
        "warning: 0 rows: the pattern `?p pg:pledgedto ?to` (line 3) matches nothing in the graph",
    ]


def test_an_unknown_concept_and_entity_get_suggestions(dist):
    result = cli(
        dist,
        "query",
        "SELECT ?t WHERE { ?t org:role pgv:role\\/leadr ; org:organization org:x ; "
        f"org:member <{ID}person/rustam-asildarof> }}",
    )
    assert "`pgv:role\\/leadr` is not a term of the vocabularies; did you mean `pgv:role\\/leader`?" in result.stderr
    assert (
        f"`<{ID}person/rustam-asildarof>` is not a term of the graph (no such entity); did you mean "
        f"`<{ID}person/rustam-asildarov>`?" in result.stderr
    )
    assert "`org:x` appears nowhere in the dataset" in result.stderr


def test_an_empty_join_names_the_pattern_that_breaks_it(dist):
    result = cli(dist, "query", "SELECT * WHERE { ?p pg:pledgedTo ?x . ?x pg:pledgedTo ?p }")
    assert result.stderr == (
        "warning: 0 rows: every pattern matches alone, but `?x pg:pledgedTo ?p` (line 1) "
        "matches nothing together with the patterns before it\n"
    )


def test_a_date_filter_that_drops_everything_is_told_apart(dist):
    result = cli(dist, "query", 'SELECT ?p WHERE { ?p pg:dateEarliest ?d FILTER (?d < "1900-01-01"^^xsd:date) }')
    assert "every triple pattern matches, together too; a FILTER or VALUES removes every row" in result.stderr


def test_a_right_query_gets_no_advice(dist):
    result = cli(
        dist, "query", "SELECT ?p WHERE { ?p a pg:Pledge ; pg:pledgedTo ?to . ?to skos:prefLabel|rdfs:label ?n }"
    )
    assert result.exit_code == 0 and result.stderr == ""


def test_syntax_errors_are_short(dist):
    result = cli(dist, "query", "SELECT ?x WHERE {\n  ?x pg:pledgedTo ?y .\n  FILTER(?y = )\n}")
    assert result.exit_code == 2
    first = result.stderr.splitlines()[0]
    # the check parses with rdflib's grammar before Oxigraph sees the query: line, column, and the words there
    assert first == "error: syntax error at line 3, column 3, near 'FILTER(?y = )'"
    assert "\\u{" not in result.stderr and len(result.stderr) < 400
    result = cli(dist, "query", "SELECT ?x WHERE { ?x pg:pledgedTo ?y . ")
    assert "line 1, column 40, near 'the end'" in result.stderr and "\\u{" not in result.stderr


# -- names, show, export, DESCRIBE ----------------------------------------------------------------


def test_labels_add_a_name_column_after_each_iri_column(dist):
    result = cli(
        dist, "query", "--labels", "--format", "csv", "SELECT ?p ?to WHERE { ?p pg:pledgedTo ?to } ORDER BY ?p LIMIT 1"
    )
    header, row = result.stdout.splitlines()[:2]
    assert header == "p,to,toLabel"  # pledges have no name: no column of blanks
    assert row.endswith(f"{ID}org/islamic-state,Islamic State")
    table = cli(dist, "query", "--labels", "SELECT ?to WHERE { ?p pg:pledgedTo ?to } LIMIT 1").stdout
    assert table.splitlines()[2].split() == ["org/islamic-state", "Islamic", "State"]


def test_every_record_and_concept_has_one_label_property_in_the_default_graph(dist):
    unlabelled = cli(
        dist,
        "query",
        "--format",
        "json",
        """SELECT ?x WHERE {
        { ?x a pg:Organization } UNION { ?x a pg:Person } UNION { ?x a pg:Place } UNION { ?x a pg:Event }
        UNION { ?x a pg:SourceDocument } UNION { ?x a pg:Disagreement } UNION { ?r pg:organizationKind ?x }
        FILTER NOT EXISTS { ?x rdfs:label ?l } }""",
    ).stdout
    assert json.loads(unlabelled)["results"]["bindings"] == []
    periods = cli(
        dist,
        "query",
        "--format",
        "json",
        "SELECT ?f WHERE { ?f org:memberDuring|time:hasTime ?p "
        "FILTER NOT EXISTS { ?f pg:period ?p } ?p a time:Interval }",
    ).stdout
    assert json.loads(periods)["results"]["bindings"] == []


def test_show_prints_the_entity_page(dist):
    result = cli(dist, "show", "org/is-caucasus-province")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[1] == "Islamic State – Caucasus Province" and set(lines[2]) == {"="}
    assert "Вилаят Кавказ Исламского государства (preferred) ru translation" in lines
    assert "“IS announced the group's formation on 23 June 2015”" in lines


def test_export_describe_and_record_subgraph_agree_for_every_record(dist):
    from pledgegraph.delivery.endpoint import store

    loaded = store.load(dist)
    records = [
        r.value
        for r in (
            row[0]
            for row in loaded.store.query(
                f'SELECT DISTINCT ?r WHERE {{ GRAPH ?g {{ ?r a ?c }} FILTER (STRSTARTS(STR(?r), "{ID}") && '
                'REGEX(SUBSTR(STR(?r), STRLEN("' + ID + '") + 1), "^[a-z]+/[a-z0-9-]+$")) }'
            )
        )
    ]
    assert len(records) > 190
    library = store.example(ROOT / "queries", "record-subgraph")
    for iri in records:
        exported = set(store.describe(loaded, iri))
        query = store.check_query(library.text, loaded.graph_iris).bound({"record": f"<{iri}>"})
        own = {t for t in exported if t.subject.value == iri or t.subject.value.startswith(iri + "/")}
        assert set(store.execute(loaded, query).triples) == own, iri  # less the claims others make about it
        described = store.execute(loaded, store.check_query(f"DESCRIBE <{iri}>", loaded.graph_iris))
        assert set(described.triples) == exported, iri
    claims = {t.subject.value for t in store.describe(loaded, ID + "org/vilayat-dagestan")}
    assert ID + "org/vilayat-dagestan/claim/regions/dagestan" in claims  # a claim points at its record, not from it


def test_export_formats(dist):
    turtle = cli(dist, "export", "pledge/caucasus-velayats-pledge-2015-06").stdout
    nt = cli(dist, "export", "pledge/caucasus-velayats-pledge-2015-06", "--format", "ntriples").stdout
    assert set(ox.parse(turtle.encode(), format=ox.RdfFormat.TURTLE)) == set(
        ox.parse(nt.encode(), format=ox.RdfFormat.N_TRIPLES)
    )
    missing = cli(dist, "export", "org/islamic-stat")
    assert missing.exit_code == 2 and "did you mean org/islamic-state" in missing.stderr


# -- disagreements --------------------------------------------------------------------------------


def test_disagreements_query_lists_only_recorded_disagreements(dist):
    rows = json.loads(cli(dist, "query", "--name", "disagreements", "--format", "json").stdout)["results"]["bindings"]
    assert len({r["disagreement"]["value"] for r in rows}) == 5 and len(rows) == 11  # 2+2+2+3+2 sides
    melikov = [r for r in rows if r["who"]["value"] == "Sergei Melikov"]
    assert [(r["against"]["value"], r["statedIn"]["value"]) for r in melikov] == [
        ("Joanna Paraszczuk", ID + "statement/melikov-insurgency-not-active")
    ]


# -- the endpoint ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def app(dist):
    from pledgegraph.delivery.endpoint.serve import App

    app = App(dist, ROOT / "queries", workers=1, timeout=30)
    yield app
    app.close()


def get(app, target, accept=None):
    response = app.handle("GET", target, {"Accept": accept} if accept else {}, lambda n: b"")
    return response.status, response.media_type if hasattr(response, "media_type") else "", response


def test_ontology_page_and_rdf(app, dist):
    status, _, response = get(app, "/ontology.ttl")
    terms = {t.subject.value for t in ox.parse(response.body, format=ox.RdfFormat.TURTLE)}
    assert status == 200 and "https://w3id.org/pledgegraph/ontology#Disagreement" in terms
    status, _, response = get(app, "/ontology", accept="text/turtle")
    assert status == 200 and set(ox.parse(response.body, format=ox.RdfFormat.TURTLE))
    status, _, response = get(app, "/ontology", accept="text/html")
    assert status == 200 and response.body == (dist / "ontology.html").read_bytes()
    assert get(app, "/ontology.exe")[0] == 404


def test_unknown_entity_404_suggests(app):
    status, _, response = get(app, "/id/org/islamic-stat")
    assert status == 404 and b"did you mean org/islamic-state" in response.body


def test_sparql_html_with_labels(app):
    query = "SELECT ?to WHERE { ?p pg:pledgedTo ?to } LIMIT 1"
    target = "/sparql?" + urllib.parse.urlencode({"query": query, "format": "html", "labels": "1"})
    status, _, response = get(app, target)
    assert status == 200 and b'>org/islamic-state</a> <span class="muted">Islamic State</span>' in response.body


def test_a_query_that_finds_nothing_because_of_a_wrong_guess_is_explained(dist):
    # pledges have no name: the advice names the label pattern, not the whole query
    result = cli(dist, "query", "SELECT ?p WHERE { ?p a pg:Pledge ; rdfs:label ?n }")
    assert "`?p rdfs:label ?n` (line 1) matches nothing together with the patterns before it" in result.stderr
