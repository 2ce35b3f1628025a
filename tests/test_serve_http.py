"""`pledgegraph serve` as standard clients use it, on loopback: SPARQLWrapper and rdflib's SPARQLStore
with their defaults, `format=` as clients spell it, the protocol's graph parameters and base IRI, the
same entity RDF as the release for every entity, every IRI of the data dereferenceable, and HTTP
caching (ETag, Last-Modified, 304, gzip, HEAD)."""

from __future__ import annotations

import gzip
import http.client
import json
import urllib.parse

import pyoxigraph as ox
import pytest
import rdflib
from rdflib.compare import isomorphic
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import SPARQLWrapper

from pledgegraph.delivery.release.pages import entity_iris
from pledgegraph.model.iris import SEGMENT_KIND
from test_serve import server  # noqa: F401 (a fixture: this module gets a server of its own)

BASE = "https://w3id.org/pledgegraph/"
PLEDGE = BASE + "id/pledge/caucasus-velayats-pledge-2015-06"
ENTITY = "/id/org/islamic-state"
SELECT = f"SELECT ?to WHERE {{ <{PLEDGE}> pg:pledgedTo ?to }}"
ASK = f"ASK {{ <{PLEDGE}> a pg:Pledge }}"
CONSTRUCT = f"CONSTRUCT {{ ?p a pg:Pledge }} WHERE {{ VALUES ?p {{ <{PLEDGE}> }} ?p a pg:Pledge }}"
DESCRIBE = f"DESCRIBE <{BASE}{ENTITY[1:]}>"
PLEDGE_TYPE = (rdflib.URIRef(PLEDGE), rdflib.RDF.type, rdflib.URIRef(BASE + "ontology#Pledge"))
HTML, TTL, NT, JSONLD, RDFXML = (
    "text/html",
    "text/turtle",
    "application/n-triples",
    "application/ld+json",
    "application/rdf+xml",
)
SRJ, SRX, CSV, TSV = (
    "application/sparql-results+json",
    "application/sparql-results+xml",
    "text/csv",
    "text/tab-separated-values",
)


@pytest.fixture(scope="module")
def endpoint(server) -> str:  # noqa: F811 (the imported fixture)
    return f"http://127.0.0.1:{server.server_address[1]}/sparql"


def fetch(srv, path, method="GET", body=None, **headers):
    conn = http.client.HTTPConnection(*srv.server_address[:2], timeout=30)
    try:
        conn.request(method, path, body=body, headers={k.replace("_", "-"): v for k, v in headers.items()})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def sparql(query, **params):
    return "/sparql?" + urllib.parse.urlencode({"query": query, **params}, doseq=True)


# -- standard clients with their defaults ---------------------------------------------------------


def test_sparqlwrapper_defaults_select_ask_construct_describe(endpoint, release):
    """SPARQLWrapper as shipped: XML results for SELECT/ASK, RDF/XML (format=rdf+xml) for graphs."""

    def run(query):
        wrapper = SPARQLWrapper(endpoint)
        wrapper.setQuery(query)
        return wrapper.query().convert()

    select = run(SELECT)  # a DOM of SPARQL results XML
    assert [u.firstChild.data for u in select.getElementsByTagName("uri")] == [BASE + "id/org/islamic-state"]
    assert run(ASK).getElementsByTagName("boolean")[0].firstChild.data == "true"
    assert set(run(CONSTRUCT)) == {PLEDGE_TYPE}
    described = run(DESCRIBE)
    released = rdflib.Graph().parse(release / "org/islamic-state.nt", format="nt")
    assert len(released) > 400 and isomorphic(described, released)


def test_sparqlstore_defaults_select_ask_construct_describe(endpoint, release):
    graph = rdflib.Graph(store=SPARQLStore(endpoint))
    assert [str(row[0]) for row in graph.query(SELECT)] == [BASE + "id/org/islamic-state"]
    assert graph.query(ASK).askAnswer is True
    assert set(graph.query(CONSTRUCT).graph) == {PLEDGE_TYPE}
    released = rdflib.Graph().parse(release / "org/islamic-state.nt", format="nt")
    assert isomorphic(graph.query(DESCRIBE).graph, released)


# -- format= and Accept ----------------------------------------------------------------------------

TABLE_NAMES = {
    "json": SRJ,
    "xml": SRX,
    "csv": CSV,
    "tsv": TSV,
    SRJ: SRJ,
    SRX: SRX,
    "application/json": SRJ,
    CSV: CSV,
    TSV: TSV,
}
GRAPH_NAMES = {
    "turtle": TTL,
    "ttl": TTL,
    "n3": TTL,
    "text/n3": TTL,
    "ntriples": NT,
    "nt": NT,
    NT: NT,
    "json-ld": JSONLD,
    "jsonld": JSONLD,
    JSONLD: JSONLD,
    "rdf+xml": RDFXML,
    "xml": RDFXML,
    "rdf": RDFXML,
    RDFXML: RDFXML,
    "json": JSONLD,
}
_RESULTS = {
    SRJ: ox.QueryResultsFormat.JSON,
    SRX: ox.QueryResultsFormat.XML,
    CSV: ox.QueryResultsFormat.CSV,
    TSV: ox.QueryResultsFormat.TSV,
}


@pytest.mark.parametrize("name", sorted(TABLE_NAMES))
def test_format_names_for_tables(server, name):  # noqa: F811 (the imported fixture)
    status, headers, body = fetch(server, sparql(SELECT, format=name))
    assert status == 200 and headers["content-type"].split(";")[0] == TABLE_NAMES[name]
    if TABLE_NAMES[name] == CSV:  # lossy: Oxigraph reads no CSV results
        assert body.decode().splitlines() == ["to", BASE + "id/org/islamic-state"]
        return
    answer = ox.parse_query_results(body, format=_RESULTS[TABLE_NAMES[name]])
    assert [s["to"].value for s in answer] == [BASE + "id/org/islamic-state"]


@pytest.mark.parametrize("name", sorted(GRAPH_NAMES))
def test_format_names_for_graphs(server, name):  # noqa: F811 (the imported fixture)
    status, headers, body = fetch(server, sparql(CONSTRUCT, format=name))
    media_type = headers["content-type"].split(";")[0]
    assert status == 200 and media_type == GRAPH_NAMES[name]
    graph = rdflib.Graph().parse(
        data=body, format={TTL: "turtle", NT: "nt", JSONLD: "json-ld", RDFXML: "xml"}[media_type]
    )
    assert set(graph) == {PLEDGE_TYPE}


def test_accept_first_then_format(server):  # noqa: F811 (the imported fixture)
    # a specific Accept wins over format=; SPARQLWrapper repeats format= with a media type
    status, headers, _ = fetch(server, sparql(SELECT, format="xml"), Accept=SRJ)
    assert status == 200 and headers["content-type"].startswith(SRJ)
    status, headers, _ = fetch(server, sparql(CONSTRUCT, format=["rdf+xml", RDFXML]), Accept=TTL)
    assert status == 200 and headers["content-type"].startswith(TTL)
    # a browser's Accept (HTML and wildcards) names no answer format: format= decides
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    status, headers, _ = fetch(server, sparql(SELECT, format="json"), Accept=browser)
    assert status == 200 and headers["content-type"].startswith(SRJ)
    status, headers, body = fetch(server, sparql(SELECT), Accept=browser)
    assert status == 200 and headers["content-type"].startswith(HTML) and "Accept" in headers["vary"]
    status, _, body = fetch(server, sparql(SELECT, format="yaml"))
    assert status == 406 and b"format=yaml" in body and body.count(b"\n") == 1


# -- protocol details --------------------------------------------------------------------------------


def test_graph_parameters_in_the_url_count_on_a_form_post(server):  # noqa: F811 (the imported fixture)
    """W3C protocol test `query-post-form` with `default-graph-uri` in the URL: the ontology graph
    alone has classes; the default graph (asserted + inferred) has none."""
    form = urllib.parse.urlencode({"query": "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"})
    answers = {}
    for name in ("ontology", None):
        target = "/sparql" + (
            "?" + urllib.parse.urlencode({"default-graph-uri": BASE + f"graph/{name}"}) if name else ""
        )
        status, _, body = fetch(
            server, target, "POST", form, Content_Type="application/x-www-form-urlencoded", Accept=SRJ
        )
        assert status == 200
        answers[name] = int(json.loads(body)["results"]["bindings"][0]["n"]["value"])
    sizes = server.app.graph_sizes
    assert answers == {"ontology": sizes["ontology"], None: sizes["asserted"] + sizes["inferred"]}


def test_relative_iris_resolve_against_the_base(server):  # noqa: F811 (the imported fixture)
    status, _, body = fetch(server, sparql("CONSTRUCT { <s> <p> 1 } WHERE {}"), Accept=NT)
    assert status == 200 and body.decode().strip() == (
        f'<{BASE}s> <{BASE}p> "1"^^<http://www.w3.org/2001/XMLSchema#integer> .'
    )
    status, _, body = fetch(server, sparql("ASK { <id/org/islamic-state> a ?type }"), Accept=SRJ)
    assert json.loads(body)["boolean"] is True


# -- entities: the same RDF as the release --------------------------------------------------------


def test_every_entity_serves_the_rdf_the_release_has(server, release):  # noqa: F811 (the imported fixture)
    """For every entity the release has, `serve` answers the same graph in each RDF format (no blank
    nodes in either, so the graphs are isomorphic exactly when their triples are equal)."""
    released = sorted(p for p in release.glob("*/*.nt") if p.parent.name in SEGMENT_KIND)
    assert len(released) == len(entity_iris(server.app.loaded.store, server.app.base)) >= 200
    formats = (
        (NT, ".nt", ox.RdfFormat.N_TRIPLES),
        (TTL, ".ttl", ox.RdfFormat.TURTLE),
        (JSONLD, ".jsonld", ox.RdfFormat.JSON_LD),
    )
    for path in released:
        stem = path.relative_to(release).with_suffix("")
        for accept, suffix, fmt in formats:
            status, headers, body = fetch(server, f"/id/{stem}", Accept=accept)
            assert status == 200 and headers["content-type"].startswith(accept), stem
            served = {q.triple for q in ox.parse(body, format=fmt)}
            expected = {q.triple for q in ox.parse(path=str(release / f"{stem}{suffix}"), format=fmt)}
            assert not any(
                isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode) for t in served | expected
            )
            assert served == expected, f"{stem}{suffix}: {len(served)} served, {len(expected)} released"


def test_claims_about_an_entity_come_with_it(server):  # noqa: F811 (the imported fixture)
    """A place's description holds the claim another record makes about it (an organization based
    in it, `pg:claimObject`), with the claim's own sources."""
    place = BASE + "id/place/united-states"
    claim = BASE + "id/org/us-department-of-state/claim/based-in/united-states"
    status, _, body = fetch(server, "/id/place/united-states", Accept=NT)
    triples = {q.triple for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)}
    assert status == 200
    assert ox.Triple(ox.NamedNode(claim), ox.NamedNode(BASE + "ontology#claimObject"), ox.NamedNode(place)) in triples
    assert any(t.subject.value.startswith(claim + "/") for t in triples)  # its citation and quote


# -- every IRI of the data that is not an entity dereferences ---------------------------------------


def _non_entity_iris(dist) -> dict[str, int]:
    """IRI (without fragment) under the base but outside `id/` -> references to it in the build's TriG."""
    found: dict[str, int] = {}
    for quad in ox.parse(path=str(dist / "pledgegraph.trig"), format=ox.RdfFormat.TRIG):
        for term in (quad.subject, quad.predicate, quad.object, quad.graph_name):
            if (
                isinstance(term, ox.NamedNode)
                and term.value.startswith(BASE)
                and not term.value.startswith(BASE + "id/")
                and term.value != BASE
            ):
                iri = term.value.split("#")[0]
                found[iri] = found.get(iri, 0) + 1
    return found


def test_ontology_vocabulary_graph_and_dataset_iris_dereference(server, dist):  # noqa: F811 (the imported fixture)
    iris = _non_entity_iris(dist)
    assert sum(iris.values()) > 5000 and {BASE + "ontology", BASE + "dataset", BASE + "graph/asserted"} <= set(iris)
    described: dict[str, set[str]] = {}  # where a 303 leads -> the IRIs its RDF mentions
    for iri in sorted(iris):
        status, headers, body = fetch(server, "/" + iri[len(BASE) :], Accept=TTL)
        where = iri
        if status == 303:
            assert "Accept" in headers["vary"], iri
            where = headers["location"]
            if where not in described:
                status, headers, body = fetch(server, where, Accept=TTL)
        if where not in described:
            assert status == 200 and headers["content-type"].startswith(TTL), iri
            described[where] = {
                term.value.split("#")[0]
                for q in ox.parse(body, format=ox.RdfFormat.TURTLE)
                for term in (q.subject, q.object)
                if isinstance(term, ox.NamedNode)
            }
        assert iri in described[where], f"{iri} is not described where it leads"
    for path, accept in (("/vocab/medium", HTML), ("/graph/asserted", HTML)):
        status, headers, _ = fetch(server, path, Accept=accept)
        assert status == 303 and fetch(server, headers["location"])[0] == 200
    assert fetch(server, "/vocab/medium/no-such-medium", Accept=TTL)[0] == 404
    assert fetch(server, "/dataset/9.9.9", Accept=TTL)[0] == 404
    assert fetch(server, "/dataset", Accept="image/png")[0] == 406


def test_void_names_this_endpoint_and_counts_the_data(server):  # noqa: F811 (the imported fixture)
    status, headers, body = fetch(server, "/.well-known/void")
    assert status == 200 and headers["content-type"].startswith(TTL)
    triples = list(ox.parse(body, format=ox.RdfFormat.TURTLE))
    void = "http://rdfs.org/ns/void#"
    port = server.server_address[1]
    assert any(
        t.predicate.value == void + "sparqlEndpoint" and t.object.value == f"http://127.0.0.1:{port}/sparql"
        for t in triples
    )
    counts = {t.subject.value: int(t.object.value) for t in triples if t.predicate.value == void + "triples"}
    sizes = server.app.graph_sizes
    assert counts[BASE + "dataset/0.1.0"] == sizes["asserted"] + sizes["inferred"]


# -- the negotiation matrix of tests/test_web_servers.py, on serve ---------------------------------

# Each (path, Accept) of the release's matrix, as serve answers it: entities and the ontology in place
# (200, the type the release's 303 leads to), the other IRIs with a 303 as the release; serve also
# offers RDF/XML for entities (the release has no such file), and has no DCAT catalogue (release only).
B = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
SERVE_MATRIX = [
    (ENTITY, None, 200, HTML),
    (ENTITY, "*/*", 200, HTML),
    (ENTITY, B, 200, HTML),
    (ENTITY, TTL, 200, TTL),
    (ENTITY, JSONLD, 200, JSONLD),
    (ENTITY, NT, 200, NT),
    (ENTITY, "TEXT/Turtle; charset=utf-8", 200, TTL),
    (ENTITY, "text/turtle;q=0.5, application/ld+json", 200, JSONLD),
    (ENTITY, "application/n-triples;q=0.9,text/turtle;q=0.95", 200, TTL),
    (ENTITY, "text/html;q=0.1, application/n-triples", 200, NT),
    (ENTITY, "*/*;q=0.1, text/turtle", 200, TTL),
    (ENTITY, "text/html;q=0, */*", 200, TTL),
    (ENTITY, "application/*", 200, JSONLD),
    (ENTITY, "text/*;q=0.5, application/ld+json;q=0.4", 200, HTML),
    (ENTITY, "application/rdf+xml, text/turtle;q=0.8, application/n-triples;q=0.9", 200, RDFXML),
    (ENTITY, RDFXML, 200, RDFXML),
    (ENTITY, "application/sparql-results+json", 406, None),
    (ENTITY, "text/turtle;q=0", 406, None),
    (ENTITY + ".ttl", RDFXML, 200, TTL),
    (ENTITY + ".jsonld", None, 200, JSONLD),
    (ENTITY + ".nt", None, 200, NT),
    (ENTITY + ".html", TTL, 200, HTML),
    (ENTITY + ".xls", None, 404, None),
    ("/id/org/no-such-organization", TTL, 404, None),
    ("/id/org/../../etc/passwd", TTL, 404, None),
    ("/id/nokind/islamic-state", TTL, 404, None),
    ("/ontology", None, 200, HTML),
    ("/ontology", TTL, 200, TTL),
    ("/ontology", RDFXML, 200, RDFXML),
    ("/ontology", JSONLD, 200, JSONLD),
    ("/ontology", NT, 200, NT),
    ("/ontology.rdf", None, 200, RDFXML),
    ("/vocab/medium", TTL, 303, "/ontology.ttl"),
    ("/vocab/medium/audio", RDFXML, 303, "/ontology.rdf"),
    ("/vocab/medium/no-such-medium", TTL, 404, None),
    ("/ontology/0.1.0", TTL, 303, "/ontology.ttl"),
    ("/ontology/9.9.9", TTL, 404, None),
    ("/graph/asserted", TTL, 303, "/.well-known/void"),
    ("/graph/inferred", None, 303, "/"),
    ("/dataset", TTL, 303, "/.well-known/void"),
    ("/catalog", TTL, 404, None),
    ("/dataset/0.1.0", TTL, 303, "/.well-known/void"),
    ("/dataset/9.9.9", TTL, 404, None),
    ("/.well-known/void", None, 200, TTL),
    # /sparql: the service description, the query page, and answers by Accept
    ("/sparql", None, 200, TTL),
    ("/sparql", B, 200, HTML),
    ("/sparql", JSONLD, 200, JSONLD),
    ("/sparql", SRJ, 406, None),
    (SELECT, None, 200, SRJ),
    (SELECT, B, 200, HTML),
    (SELECT, SRX, 200, SRX),
    (SELECT, CSV, 200, CSV),
    (SELECT, TSV, 200, TSV),
    (SELECT, "application/json", 200, SRJ),
    (SELECT, "text/csv;q=0.5, " + SRX, 200, SRX),
    (SELECT, TTL, 406, None),
    (CONSTRUCT, None, 200, TTL),
    (CONSTRUCT, B, 200, HTML),
    (CONSTRUCT, NT, 200, NT),
    (CONSTRUCT, JSONLD, 200, JSONLD),
    (CONSTRUCT, RDFXML, 200, RDFXML),
    (CONSTRUCT, "text/n3", 200, TTL),
    (CONSTRUCT, CSV, 406, None),
]


@pytest.mark.parametrize(
    "path, accept, status, expected", SERVE_MATRIX, ids=[f"{m[0][:40]}|{m[1]}" for m in SERVE_MATRIX]
)
def test_negotiation_matrix(server, path, accept, status, expected):  # noqa: F811 (the imported fixture)
    target = sparql(path) if not path.startswith("/") else path
    got, headers, body = fetch(server, target, **({"Accept": accept} if accept is not None else {}))
    assert got == status, body[:300]
    if status == 200:
        assert headers["content-type"].split(";")[0] == expected
        if not target.endswith((".ttl", ".jsonld", ".nt", ".html", ".rdf", "/void")):
            assert "Accept" in [v.strip() for v in headers["vary"].split(",")]
    elif status == 303:
        assert headers["location"] == expected and "Accept" in headers["vary"]
        assert fetch(server, expected, **({"Accept": accept} if accept is not None else {}))[0] == 200
    else:
        assert b"<html" not in body.lower() and body.count(b"\n") == 1


# -- HTTP caching ----------------------------------------------------------------------------------

CACHED = [
    ("/", None),
    (ENTITY, TTL),
    (ENTITY, HTML),
    (ENTITY + ".jsonld", None),
    ("/ontology", TTL),
    ("/.well-known/void", None),
    ("/sparql", None),
    ("/sparql", TTL),
    (None, SRJ),
    (None, HTML),
]


@pytest.mark.parametrize("path, accept", CACHED, ids=[f"{p}|{a}" for p, a in CACHED])
def test_etag_last_modified_304_gzip_and_head(server, path, accept):  # noqa: F811 (the imported fixture)
    path = path or sparql(SELECT)
    h = {"Accept": accept} if accept else {}
    status, headers, body = fetch(server, path, **h)
    assert status == 200 and headers["etag"].startswith('"') and headers["last-modified"].endswith("GMT")
    assert "content-encoding" not in headers
    assert "Accept-Encoding" in headers["vary"]
    if accept or path.startswith("/sparql"):
        assert "Accept" in [v.strip() for v in headers["vary"].split(",")]
    # conditional GET: the ETag (also weak, or in a list), else the date
    for condition in (
        {"If-None-Match": headers["etag"]},
        {"If-None-Match": f'"x", W/{headers["etag"]}'},
        {"If-Modified-Since": headers["last-modified"]},
    ):
        status, again, rest = fetch(server, path, **h, **condition)
        assert status == 304 and rest == b"" and again["etag"] == headers["etag"], condition
    assert fetch(server, path, **h, If_None_Match='"other"')[0] == 200
    assert fetch(server, path, **h, If_None_Match='"other"', If_Modified_Since=headers["last-modified"])[0] == 200
    assert fetch(server, path, **h, If_Modified_Since="Thu, 01 Jan 1998 00:00:00 GMT")[0] == 200
    # gzip when accepted: the same bytes inside, an ETag of its own
    status, zipped, packed = fetch(server, path, **h, Accept_Encoding="gzip, deflate")
    if len(body) >= 1024:
        assert zipped["content-encoding"] == "gzip" and gzip.decompress(packed) == body
        assert zipped["etag"] != headers["etag"]
        assert fetch(server, path, **h, Accept_Encoding="gzip", If_None_Match=zipped["etag"])[0] == 304
    assert "content-encoding" not in fetch(server, path, **h, Accept_Encoding="gzip;q=0, identity")[1]
    # HEAD: the headers of GET, no body
    status, head, nothing = fetch(server, path, "HEAD", **h)
    assert status == 200 and nothing == b"" and head["etag"] == headers["etag"]
    assert head["content-length"] == str(len(body)) and head["content-type"] == headers["content-type"]


def test_errors_and_posts_are_not_cached(server):  # noqa: F811 (the imported fixture)
    status, headers, _ = fetch(server, "/id/org/no-such-org")
    assert status == 404 and "etag" not in headers
    status, headers, _ = fetch(server, "/sparql", "POST", SELECT, Content_Type="application/sparql-query")
    assert status == 200 and "etag" not in headers
