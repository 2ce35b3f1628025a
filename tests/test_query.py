"""`pledgegraph query`: answers in every format, the example library, refusals and clear errors."""

from __future__ import annotations

import csv
import io
import json

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from conftest import ROOT
from pledgegraph.cli import main

BASE = "https://w3id.org/pledgegraph/"
PLEDGE = BASE + "id/pledge/caucasus-velayats-pledge-2015-06"


@pytest.fixture
def dist(dist):
    return dist


def query(dist, *args, stdin=None):
    return CliRunner().invoke(main, ["query", "--dist", str(dist), *args], input=stdin, catch_exceptions=False)


def test_table_lists_pledgers(dist):
    result = query(
        dist,
        "SELECT ?who WHERE { VALUES ?p { <https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } "
        "?p a pg:Pledge ; pg:pledger ?who } ORDER BY ?who",
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "?who" and set(lines[1]) == {"-"}
    assert lines[2:6] == [BASE + f"id/org/vilayat-{v}" for v in ("dagestan", "galgaicho", "kbk", "nokhchicho")]
    assert lines[-1] == "(4 rows)"


@pytest.mark.parametrize("fmt", ["json", "xml", "tsv"])  # CSV is write-only (see below)
def test_results_formats_parse_back(dist, fmt):
    text = (
        "SELECT ?pledge ?to WHERE { VALUES ?pledge { "
        "<https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } ?pledge pg:pledgedTo ?to }"
    )
    result = query(dist, "--format", fmt, text)
    assert result.exit_code == 0, result.output
    parsed = ox.parse_query_results(result.stdout_bytes, format=getattr(ox.QueryResultsFormat, fmt.upper()))
    rows = [(str(s["pledge"].value), str(s["to"].value)) for s in parsed]
    assert rows == [(PLEDGE, BASE + "id/org/islamic-state")]


def test_csv_has_plain_values(dist):
    result = query(
        dist, "--format", "csv", f"SELECT ?label WHERE {{ <{BASE}id/org/caucasus-emirate> skos:prefLabel ?label }}"
    )
    assert list(csv.reader(io.StringIO(result.output))) == [["label"], ["Caucasus Emirate"]]


def test_construct_and_describe_are_rdf(dist):
    turtle = query(dist, f"DESCRIBE <{PLEDGE}>")
    assert turtle.exit_code == 0
    triples = [q.triple for q in ox.parse(turtle.stdout_bytes, format=ox.RdfFormat.TURTLE)]
    assert (
        ox.Triple(
            ox.NamedNode(PLEDGE), ox.NamedNode(BASE + "ontology#pledgedTo"), ox.NamedNode(BASE + "id/org/islamic-state")
        )
        in triples
    )
    nt = query(
        dist,
        "--format",
        "ntriples",
        "CONSTRUCT { ?p a pg:Pledge } WHERE { VALUES ?p { "
        "<https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } ?p a pg:Pledge }",
    )
    assert nt.output == f"<{PLEDGE}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <{BASE}ontology#Pledge> .\n"
    wrong = query(
        dist,
        "--format",
        "csv",
        "CONSTRUCT { ?p a pg:Pledge } WHERE { VALUES ?p { "
        "<https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } ?p a pg:Pledge }",
    )
    assert wrong.exit_code == 2 and "answer is RDF" in wrong.output


def test_query_from_file_and_stdin(dist, tmp_path):
    path = tmp_path / "ask.rq"
    path.write_text("ASK { ?p a pg:Pledge }")
    assert query(dist, "-f", str(path)).stdout == "true\n"
    assert query(dist, "-", stdin="ASK { ?p a pg:Acceptance }").stdout == "true\n"
    assert query(dist, "ASK { ?p a pg:Nothing }").stdout == "false\n"  # stderr: pg:Nothing is no term


def test_own_prefix_overrides_predeclared(dist):
    result = query(
        dist, "--format", "json", "PREFIX pg: <http://example.org/x#> SELECT ?t WHERE { BIND(pg:Pledge AS ?t) }"
    )
    assert json.loads(result.stdout)["results"]["bindings"][0]["t"]["value"] == "http://example.org/x#Pledge"


def test_syntax_error_shows_line_and_column(dist):
    result = query(dist, "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTR(?o)\n}")
    assert result.exit_code == 2
    assert "syntax error at line 3, column 3, near 'FILTR(?o)'" in result.output


def test_missing_build_says_what_to_do(tmp_path):
    result = query(tmp_path / "nowhere", "ASK {}")
    assert result.exit_code == 2 and "run `pledgegraph build` first" in result.output


@pytest.mark.parametrize(
    "text, message",
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "updates are not accepted (INSERT)"),
        ("LOAD <file:///etc/passwd>", "updates are not accepted (LOAD)"),
        ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", "FROM <file:///etc/passwd>"),
        (
            "PREFIX ex: <http://example.org/> SELECT * FROM NAMED ex:g WHERE { ?s ?p ?o }",
            "FROM NAMED <http://example.org/g>",
        ),
    ],
)
def test_refused_queries(dist, text, message):
    result = query(dist, text)
    assert result.exit_code == 2 and message in result.output


def test_from_our_own_graphs_is_allowed(dist):
    text = f"SELECT (COUNT(*) AS ?n) FROM <{BASE}graph/ontology> WHERE {{ ?c a owl:Class }}"
    result = query(dist, "--format", "csv", text)
    assert result.exit_code == 0 and int(result.output.split()[-1]) > 10


def test_asserted_flag_leaves_out_inferred_triples(tmp_path):
    """A dist whose inferred graph holds one triple: the default graph sees it, --asserted does not."""
    dist = tmp_path / "dist"
    dist.mkdir()
    (dist / "pledgegraph.trig").write_text(
        f"<{BASE}graph/asserted> {{ <{BASE}id/org/a> a <{BASE}ontology#Organization> . }}\n"
        f"<{BASE}graph/inferred> {{ <{BASE}id/org/a> a <http://www.w3.org/ns/org#Organization> . }}\n"
    )
    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s a ?type }"
    assert query(dist, "--format", "csv", count).output.split() == ["n", "2"]
    assert query(dist, "--format", "csv", "--asserted", count).output.split() == ["n", "1"]


def test_library_lists_titles_and_runs_by_name(dist, monkeypatch):
    monkeypatch.chdir(ROOT)
    listing = query(dist, "--list")
    assert listing.exit_code == 0
    names = {line.split()[0]: line for line in listing.output.splitlines()}
    assert "names-of-an-entity" in names and "Every name of an entity" in names["names-of-an-entity"]
    answer = query(dist, "--format", "json", "--name", "names-of-an-entity")
    langs = {b["lang"]["value"] for b in json.loads(answer.output)["results"]["bindings"]}
    assert {"ar", "ru", "ce", "en"} <= langs
    typo = query(dist, "--name", "names-of-an-entiti")
    assert typo.exit_code == 2 and "did you mean names-of-an-entity" in typo.output


def test_every_library_query_has_a_title_and_runs(dist):
    from pledgegraph.delivery.endpoint.oneshot import run_once
    from pledgegraph.delivery.endpoint.store import examples

    library = examples(ROOT / "queries")
    assert library
    for example in library:
        assert example.title and example.description, example.name
        run_once(dist, example.text, None)  # its default format: a table, or Turtle for CONSTRUCT


PLAIN_TEXTS = [
    "ASK {}",
    "SELECT ?s WHERE { ?s a pg:Pledge } LIMIT 3",
    "PREFIX ex: <http://example.org/#> BASE <http://example.org/> CONSTRUCT { ?s ex:p ?o } WHERE { ?s ?p ?o }",
    "# a comment first\nDESCRIBE <https://w3id.org/pledgegraph/id/org/islamic-state>",
    "SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTR(?o)\n}",  # a syntax error: Oxigraph finds it, rdflib words it
]
NOT_PLAIN_TEXTS = [
    "SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    "SELECT * WHERE { service silent <http://127.0.0.1:9/> { ?s ?p ?o } }",
    "SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }",
    'SELECT * WHERE { BIND("\\u005Cu0022" AS ?a) }',  # an escape left after the first replacement
    'SELECT * WHERE { BIND("#" AS ?a) } # SERVICE in what one lexer reads as a comment',
    "SELECT * WHERE { BIND('''a string ''' AS ?a) FILTER(?a = \"SeRvIcE\") }",
    "SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }",
    "select * fRoM <file:///etc/passwd> where { ?s ?p ?o }",
    "PREFIX ex: <http://example.org/> SELECT * FROM NAMED ex:g WHERE { ?s ?p ?o }",
    "INSERT DATA { <http://a> <http://b> <http://c> }",
    "LOAD <file:///etc/passwd>",
    "PREFIX ex: <http://example.org/> DROP ALL",
    "WITH <http://a> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
    "SELECT * WHERE " + "{" * 300 + "}" * 300,  # Oxigraph's parser recurses per level
]


def test_plain_queries_skip_rdflib_and_get_its_verdict(dist):
    """`check_query` skips rdflib's parse for a plain query (`_plain_query`): its verdict is the one
    rdflib's parse gives (the reference, `full=True`) for every library query and the plain texts above,
    and nothing any check could refuse (SERVICE, however spelt or hidden, an escape, FROM, an update,
    deep nesting) is plain. A plain query with a syntax error gets rdflib's message, at its line."""
    from pledgegraph.delivery.endpoint import store
    from pledgegraph.delivery.endpoint.oneshot import run_once
    from pledgegraph.errors import QueryRefused, QuerySyntaxError

    graphs = [BASE + "graph/asserted"]
    library = [example.text for example in store.examples(ROOT / "queries")]
    plain = [text for text in library + PLAIN_TEXTS if store._plain_query(text) is not None]
    assert len(plain) == len(library) + len(PLAIN_TEXTS)
    for text in plain[:-1]:
        assert store.check_query(text, graphs) == store.check_query(text, graphs, full=True), text
    with pytest.raises(QuerySyntaxError, match=r"at line 3, column 3, near 'FILTR\(\?o\)'"):
        run_once(dist, PLAIN_TEXTS[-1], None)
    for text in NOT_PLAIN_TEXTS:
        assert store._plain_query(text) is None, text
    for lookalike in ("\u017fERVICE", "SERV\u0130CE"):  # plain to us (ASCII "service" only); Oxigraph's
        # keywords are ASCII too, so to it they are a syntax error (rdflib, which upper-cases ſ to S, refuses)
        with pytest.raises((QuerySyntaxError, QueryRefused)):
            run_once(dist, f"SELECT * WHERE {{ {lookalike} <http://127.0.0.1:9/> {{ ?s ?p ?o }} }}", None)
    for text in library:  # SERVICE hidden anywhere in a library query: a comment, a string, an IRI
        for hidden in ("# SERVICE <http://x/> {}\n", 'BIND("SERVICE" AS ?hidden)', "<http://x/service>"):
            assert store._plain_query(text.replace("WHERE {", "WHERE { " + hidden, 1)) is None


def test_a_query_calling_now_rand_uuid_or_bnode_is_never_kept():
    """serve keeps a query's answer only when running it again gives the same one (`Query.repeatable`): a
    call of NOW, RAND, UUID, STRUUID or BNODE, in any case, with white space or a comment before its
    bracket, makes it not repeatable; the names inside other words do not."""
    from pledgegraph.delivery.endpoint.store import Query

    calls = ["NOW()", "now ()", "Rand(\n)", "UUID #a comment\n()", "STRUUID\t#c1\n  #c2\n()", "BNODE('x')"]
    for call in calls:
        assert not Query(f"SELECT ({call} AS ?v) WHERE {{}}", "select").repeatable, call
    for text in ("SELECT ?nowhere ?brand WHERE { ?nowhere ?p ?brand }", "SELECT (STRLEN('x') AS ?n) WHERE {}"):
        assert Query(text, "select").repeatable, text
