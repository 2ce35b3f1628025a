"""`pledgegraph serve` over real HTTP on loopback: the SPARQL protocol, content negotiation,
refusals, the time limit, and an entity page as a browser renders it."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

import pyoxigraph as ox
import pytest

from conftest import CHROMIUM, ROOT, headless_chromium
from pledgegraph.delivery.endpoint import oneshot, store
from pledgegraph.delivery.endpoint.serve import MAX_HEADERS, make_server, negotiate

BASE = "https://w3id.org/pledgegraph/"
PROVINCE = "/id/org/is-caucasus-province"
TIMEOUT = 1.5
MAX_ROWS = 1000
SELECT = (
    "SELECT ?pledge ?to WHERE { VALUES ?pledge { "
    "<https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } ?pledge pg:pledgedTo ?to }"
)
EXPENSIVE = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l }"


@pytest.fixture(scope="module")
def server(dist):
    srv = make_server(dist, ROOT / "queries", "127.0.0.1", 0, workers=2, timeout=TIMEOUT, max_rows=MAX_ROWS)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    thread.join(5)


def request(server, method, path, body=None, headers=None, timeout=30):
    conn = http.client.HTTPConnection(*server.server_address[:2], timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read(), response
    finally:
        conn.close()


def get(server, path, accept=None, **params):
    target = path + ("?" + urllib.parse.urlencode(params) if params else "")
    return request(server, "GET", target, headers={"Accept": accept} if accept else {})


def vary(response) -> set[str]:
    return {v.strip() for v in (response.getheader("Vary") or "").split(",")}


def rows(body: bytes) -> list[dict]:
    return [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]


# -- the SPARQL protocol -------------------------------------------------------------------------


def test_get_post_form_and_post_direct_give_the_same_answer(server):
    expected = [{"pledge": BASE + "id/pledge/caucasus-velayats-pledge-2015-06", "to": BASE + "id/org/islamic-state"}]
    status, ctype, body, _ = get(server, "/sparql", "application/sparql-results+json", query=SELECT)
    assert status == 200 and ctype.startswith("application/sparql-results+json") and rows(body) == expected
    form = urllib.parse.urlencode({"query": SELECT})
    status, _, body2, _ = request(
        server, "POST", "/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 200 and body2 == body
    status, _, body3, _ = request(
        server, "POST", "/sparql", SELECT.encode(), {"Content-Type": "application/sparql-query"}
    )
    assert status == 200 and body3 == body


@pytest.mark.parametrize(
    "accept, media_type, results_format",
    [
        ("application/sparql-results+xml", "application/sparql-results+xml", ox.QueryResultsFormat.XML),
        ("text/tab-separated-values", "text/tab-separated-values", ox.QueryResultsFormat.TSV),
        ("application/json", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
        ("*/*", "application/sparql-results+json", ox.QueryResultsFormat.JSON),
        (
            "text/csv;q=0.5, application/sparql-results+xml;q=0.9",
            "application/sparql-results+xml",
            ox.QueryResultsFormat.XML,
        ),
    ],
)
def test_results_format_by_accept(server, accept, media_type, results_format):
    status, ctype, body, response = get(server, "/sparql", accept, query=SELECT)
    assert status == 200 and ctype.split(";")[0] == media_type and "Accept" in vary(response)
    parsed = list(ox.parse_query_results(body, format=results_format))
    assert [s["to"].value for s in parsed] == [BASE + "id/org/islamic-state"]


def test_csv_and_ask(server):
    status, ctype, body, _ = get(server, "/sparql", "text/csv", query=SELECT)
    assert status == 200 and ctype.startswith("text/csv") and body.splitlines()[0] == b"pledge,to"
    status, _, body, _ = get(server, "/sparql", "application/sparql-results+json", query="ASK { ?p a pg:Pledge }")
    assert json.loads(body) == {"head": {}, "boolean": True}


@pytest.mark.parametrize(
    "accept, rdf_format",
    [
        ("text/turtle", ox.RdfFormat.TURTLE),
        ("application/n-triples", ox.RdfFormat.N_TRIPLES),
        ("application/ld+json", ox.RdfFormat.JSON_LD),
        (None, ox.RdfFormat.TURTLE),
    ],
)
def test_construct_by_accept(server, accept, rdf_format):
    status, ctype, body, _ = get(
        server,
        "/sparql",
        accept,
        query="CONSTRUCT { ?p a pg:Pledge } WHERE { VALUES ?p { "
        "<https://w3id.org/pledgegraph/id/pledge/caucasus-velayats-pledge-2015-06> } ?p a pg:Pledge }",
    )
    assert status == 200 and ctype.split(";")[0] == rdf_format.media_type
    triples = {q.triple for q in ox.parse(body, format=rdf_format)}
    assert triples == {
        ox.Triple(
            ox.NamedNode(BASE + "id/pledge/caucasus-velayats-pledge-2015-06"),
            ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
            ox.NamedNode(BASE + "ontology#Pledge"),
        )
    }


def test_unsatisfiable_accept_is_406(server):
    assert get(server, "/sparql", "text/csv", query="CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")[0] == 406
    assert get(server, "/sparql", "image/png", query=SELECT)[0] == 406


def test_service_description_on_bare_get(server):
    status, ctype, body, _ = get(server, "/sparql", "text/turtle")
    assert status == 200 and ctype.startswith("text/turtle")
    sd = "http://www.w3.org/ns/sparql-service-description#"
    triples = {q.triple for q in ox.parse(body, format=ox.RdfFormat.TURTLE)}
    host, port = server.server_address[:2]
    endpoint = ox.NamedNode(f"http://{host}:{port}/sparql")
    assert ox.Triple(endpoint, ox.NamedNode(sd + "endpoint"), endpoint) in triples
    assert ox.Triple(endpoint, ox.NamedNode(sd + "supportedLanguage"), ox.NamedNode(sd + "SPARQL11Query")) in triples
    names = {t.object.value for t in triples if t.predicate.value == sd + "name"}
    assert names == {BASE + "graph/asserted", BASE + "graph/inferred", BASE + "graph/ontology"}


def test_query_page_works_offline(server):
    status, ctype, body, response = get(server, "/sparql", "text/html,application/xhtml+xml,*/*;q=0.8")
    page = body.decode()
    assert status == 200 and ctype.startswith("text/html")
    assert '<form method="post" action="/sparql"' in page and "<textarea" in page
    assert "<script" not in page and "src=" not in page and "@import" not in page
    assert "default-src 'none'" in response.getheader("Content-Security-Policy")
    status, _, body, _ = get(server, "/sparql", None, query=SELECT, format="html")
    assert status == 200 and 'href="/id/org/islamic-state"' in body.decode()


# -- refusals, limits -----------------------------------------------------------------------------


@pytest.fixture
def listener():
    """A loopback socket that records whether anything connected to it."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    sock.settimeout(0.2)
    yield sock
    sock.close()


def connected(sock) -> bool:
    try:
        sock.accept()[0].close()
        return True
    except socket.timeout:
        return False


@pytest.mark.parametrize(
    "text, message",
    [
        ("SELECT * WHERE { SERVICE <http://127.0.0.1:{port}/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("SELECT * WHERE { service silent <http://127.0.0.1:{port}/> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("SELECT * WHERE { SERVICE <http://192.0.2.1:{port}/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("SELECT * WHERE { \\u0053ERVICE <http://127.0.0.1:{port}/> { ?s ?p ?o } }", "SERVICE is not allowed"),
        ("LOAD <http://127.0.0.1:{port}/data.ttl>", "updates are not accepted"),
        ("INSERT DATA { <http://a> <http://b> <http://c> }", "updates are not accepted"),
        ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", "only this dataset's graphs"),
        (
            "SELECT * FROM NAMED <http://127.0.0.1:{port}/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
            "only this dataset's graphs",
        ),
    ],
)
def test_refused_before_any_connection(server, listener, text, message):
    query = text.replace("{port}", str(listener.getsockname()[1]))
    start = time.monotonic()
    status, ctype, body, _ = get(server, "/sparql", None, query=query)
    assert status == 400 and ctype.startswith("text/plain") and message in body.decode()
    assert time.monotonic() - start < 1.0
    assert not connected(listener)


def test_update_requests_refused(server):
    status, _, body, _ = request(
        server, "POST", "/sparql", b"DELETE WHERE { ?s ?p ?o }", {"Content-Type": "application/sparql-update"}
    )
    assert status == 400 and b"read-only" in body
    form = urllib.parse.urlencode({"update": "CLEAR ALL"})
    assert request(server, "POST", "/sparql", form, {"Content-Type": "application/x-www-form-urlencoded"})[0] == 400
    assert request(server, "PUT", "/sparql", b"x")[0] == 405
    assert request(server, "DELETE", PROVINCE)[0] == 405


_SANDBOXED = """
import ctypes, sys
import pyoxigraph as ox
from pledgegraph.system import forbid_network
assert forbid_network()
libc = ctypes.CDLL(None, use_errno=True)
assert libc.syscall(425, 8, ctypes.create_string_buffer(120)) == -1 and ctypes.get_errno() == 38  # io_uring: ENOSYS
try:
    list(ox.Store().query("SELECT * WHERE { SERVICE <http://127.0.0.1:%d/> { ?s ?p ?o } }"))
except OSError as e:
    print("refused:", e)
"""


def test_sandbox_blocks_a_service_call_that_got_past_the_check(server, listener):
    """Defence in depth: were a SERVICE ever to slip past check_query, a worker's sandbox lets
    Oxigraph open no socket (nor io_uring) to make the call."""
    port = listener.getsockname()[1]
    assert server.app.pool.sandboxed
    result = subprocess.run([sys.executable, "-c", _SANDBOXED % port], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "refused:" in result.stdout, result.stderr
    assert not connected(listener)


def test_word_service_in_a_string_is_fine(server):
    status, _, body, _ = get(
        server, "/sparql", None, query='SELECT ?x WHERE { BIND("Federal Security Service" AS ?x) }'
    )
    assert status == 200 and rows(body) == [{"x": "Federal Security Service"}]


def test_syntax_error_is_400_with_position(server):
    status, _, body, _ = get(server, "/sparql", None, query="SELECT ?s WHERE {\n  ?s ?p ?o .\n  FILTR(?o)\n}")
    assert status == 400 and b"line 3, column 3, near 'FILTR(?o)'" in body


def test_time_limit_stops_the_query_and_the_server_goes_on(server):
    start = time.monotonic()
    status, _, body, _ = get(server, "/sparql", None, query=EXPENSIVE)
    elapsed = time.monotonic() - start
    assert status == 503 and b"stopped" in body and body.count(b"\n") == 1  # not 408: browsers resend those
    assert TIMEOUT <= elapsed < TIMEOUT + 1.0
    for _ in range(3):  # the other worker answers at once; the killed one is replaced meanwhile
        assert get(server, "/sparql", None, query=SELECT)[0] == 200


def test_row_cap_is_422_and_body_cap_413(server):
    status, _, body, _ = get(server, "/sparql", None, query="SELECT * WHERE { ?s ?p ?o }")
    assert status == 422 and f"more than {MAX_ROWS} rows".encode() in body
    assert get(server, "/sparql", None, query=f"SELECT * WHERE {{ ?s ?p ?o }} LIMIT {MAX_ROWS}")[0] == 200
    huge = b"#" * (server.app.max_body + 1)
    status, _, body, _ = request(server, "POST", "/sparql", huge, {"Content-Type": "application/sparql-query"})
    assert status == 413 and b"request body" in body


def test_graph_parameters_limited_to_the_dataset(server):
    ontology_only = get(
        server, "/sparql", None, query="ASK { ?c a owl:Class }", **{"default-graph-uri": BASE + "graph/ontology"}
    )
    assert json.loads(ontology_only[2])["boolean"] is True
    assert json.loads(get(server, "/sparql", None, query="ASK { ?c a owl:Class }")[2])["boolean"] is False
    assert get(server, "/sparql", None, query="ASK {}", **{"default-graph-uri": "file:///etc/passwd"})[0] == 400


# -- dereferencing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "accept, suffix, rdf_format",
    [
        ("text/turtle", ".ttl", ox.RdfFormat.TURTLE),
        ("application/ld+json", ".jsonld", ox.RdfFormat.JSON_LD),
        ("application/n-triples", ".nt", ox.RdfFormat.N_TRIPLES),
    ],
)
def test_entity_rdf_by_accept_and_suffix(server, accept, suffix, rdf_format):
    iri = ox.NamedNode(BASE + PROVINCE[1:])
    by_accept = get(server, PROVINCE, accept)
    by_suffix = get(server, PROVINCE + suffix)
    for status, ctype, body, _ in (by_accept, by_suffix):
        assert status == 200 and ctype.split(";")[0] == rdf_format.media_type
        triples = {q.triple for q in ox.parse(body, format=rdf_format)}
        labels = {t.object.language for t in triples if t.subject == iri and t.predicate.value.endswith("#prefLabel")}
        assert {"en", "ar", "ru", "ce"} <= labels
        # names and citations nested below the entity come with it
        assert any(t.subject.value.startswith(iri.value + "/name/") for t in triples)
    assert by_accept[2] == by_suffix[2]


def test_entity_html_and_negotiation(server):
    status, ctype, body, response = get(server, PROVINCE, "text/html,*/*;q=0.8")
    assert status == 200 and ctype.startswith("text/html") and "Accept" in vary(response)
    assert get(server, PROVINCE + ".html")[2] == body
    page = body.decode()
    assert 'href="/id/org/islamic-state"' in page and 'href="/id/org/is-caucasus-province.ttl"' in page


def test_unknown_entities_404_and_unsupported_types_406(server):
    assert get(server, "/id/org/no-such-org")[0] == 404
    assert get(server, "/id/org/no-such-org.ttl")[0] == 404
    assert get(server, PROVINCE + ".pdf")[0] == 404
    assert get(server, "/id/org/../../etc/passwd")[0] == 404
    assert get(server, "/nothing-here")[0] == 404
    assert get(server, PROVINCE, "image/png")[0] == 406
    assert get(server, PROVINCE, "text/turtle;q=0, text/html;q=0")[0] == 406


def test_nested_node_html_redirects_to_its_record(server):
    name = PROVINCE + "/name/en-islamic-state-caucasus-province-83d12f2f"  # "Islamic State – Caucasus Province"@en
    status, _, _, response = get(server, name, "text/html")
    assert status == 303 and response.getheader("Location") == PROVINCE
    assert get(server, name, "text/turtle")[0] == 200


def test_negotiate():
    offers = ["text/turtle", "text/html"]
    assert negotiate(None, offers) == "text/turtle"
    assert negotiate("*/*", offers) == "text/turtle"
    assert negotiate("text/*;q=0.5, text/html", offers) == "text/html"
    assert negotiate("text/html;q=0, */*;q=0.1", offers) == "text/turtle"
    assert negotiate("application/json", offers) is None


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed: run scripts/install-test-deps.sh")
def test_entity_page_in_headless_chromium(server, tmp_path):
    host, port = server.server_address[:2]
    result = headless_chromium(tmp_path / "profile", "--dump-dom", f"http://{host}:{port}{PROVINCE}")
    dom = result.stdout
    assert "<h1>Islamic State – Caucasus Province</h1>" in dom, result.stderr[-2000:]
    for name in ("الدولة الإسلامية - ولاية القوقاز", "Вилаят Кавказ Исламского государства", "Wilayat Qawqaz"):
        assert name in dom
    assert "<blockquote" in dom  # the quoted words of the sources
    assert 'href="/id/org/islamic-state"' in dom


# -- the same answers both ways --------------------------------------------------------------------


def test_every_library_query_answers_the_same_via_cli_and_http(server, dist):
    """Each library query as its users run it, its parameters bound (at their defaults, as `query --name` binds
    them): run unbound, `record-subgraph` asks for every record's nodes, the whole graph."""
    library = store.examples(ROOT / "queries")
    assert library
    for example in library:
        text = store.bound_text(example.text, store.bindings(example, []))
        status, _, body, _ = get(server, "/sparql", "application/sparql-results+json, text/turtle;q=0.9", query=text)
        assert status == 200, (example.name, body)
        graph = store.check_query(text, server.app.loaded.graph_iris).graph_result
        assert body == oneshot.run_once(dist, text, "turtle" if graph else "json"), example.name


def test_json_answers_written_by_oxigraph_are_the_python_writers_bytes(dist):
    """The endpoint writes SELECT and ASK answers in JSON with Oxigraph's own writer as rows stream out
    (`store.answer_bytes`); the bytes must be those of the JSON writer in Python (`Answer.serialize`,
    `json.dumps`), on every library query, on literals that need escaping, and the cap must still hold."""
    from pledgegraph.errors import TooLarge

    loaded = store.load(dist)
    tricky = (
        "SELECT ?a ?b ?c ?none WHERE { VALUES (?a ?b ?c) { "
        '("tab\\t quote\\" slash\\\\ / \\u0001 \\u2028 é 😀"@en-GB 42 <urn:x>) (true "2015-07-01"^^xsd:date UNDEF) } '
        "OPTIONAL { ?none a pg:Nothing } }"
    )
    texts = [(e.name, e.text, store.bindings(e, [])) for e in store.examples(ROOT / "queries")]
    texts += [("tricky", tricky, {}), ("ask", "ASK { ?p a pg:Pledge }", {}), ("empty", "ASK {}", {})]
    compared = 0
    for name, text, bound in texts:
        query = store.check_query(text, loaded.graph_iris)
        if query.graph_result:
            continue
        written = store.answer_bytes(loaded, query, "json", bindings=bound)
        assert written == store.execute(loaded, query, bindings=bound).serialize("json"), name
        compared += 1
    assert compared >= 15
    query = store.check_query("SELECT * WHERE { ?s ?p ?o }", loaded.graph_iris)
    with pytest.raises(TooLarge, match="larger than 10,000 bytes"):
        store.answer_bytes(loaded, query, "json", max_bytes=10_000)


def test_serve_command_starts_and_stops(dist, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from pledgegraph.cli import main

    # in process, `serve` would cap this test process's address space for every later test
    monkeypatch.setattr("pledgegraph.system.limit_memory", lambda *args, **kwargs: None)
    missing = CliRunner().invoke(main, ["serve", "--dist", str(tmp_path / "none"), "--port", "0"])
    assert missing.exit_code == 2 and "run `pledgegraph build` first" in missing.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cli = shutil.which("pledgegraph") or str(ROOT / ".venv" / "bin" / "pledgegraph")
    process = subprocess.Popen(
        [cli, "serve", "--port", str(port), "--dist", str(dist)], stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        assert "SPARQL at /sparql" in process.stderr.readline()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": "ASK { ?p a pg:Pledge }"}))
        assert json.loads(conn.getresponse().read())["boolean"] is True
        # no row cap by default (size and time bound an answer): every triple, in full, not a 422
        conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": "SELECT * WHERE { ?s ?p ?o }"}))
        response = conn.getresponse()
        assert response.status == 200 and len(rows(response.read())) > 10_000
    finally:
        process.terminate()
        assert process.wait(10) is not None


# -- safe encodings and strict framing (issue 18, break 7) ------------------------------------------

FORMULAS = (
    "SELECT ?a ?b ?c ?d ?e ?n WHERE { VALUES (?a ?b ?c ?d ?e ?n) "
    '{ ("=HYPERLINK(\\"http://x.invalid/\\",\\"y\\")" "+cmd|calc" "@SUM(1)" "-2+3" "plain" -5) } }'
)


def test_csv_and_tsv_cells_cannot_start_a_formula(server):
    """OWASP's advice for CSV injection: a leading apostrophe; plain numbers stay as they are."""
    import csv
    import io

    status, _, body, _ = get(server, "/sparql", "text/csv", query=FORMULAS)
    assert status == 200
    row = list(csv.reader(io.StringIO(body.decode())))[1]
    assert row == ['\'=HYPERLINK("http://x.invalid/","y")', "'+cmd|calc", "'@SUM(1)", "'-2+3", "plain", "-5"]
    status, _, body, _ = get(server, "/sparql", "text/tab-separated-values", query=FORMULAS)
    assert status == 200
    row = body.decode().splitlines()[1].split("\t")  # TSV writes literals quoted: "'=HYPERLINK(…)"
    assert [c[:2] for c in row[:4]] == ["\"'"] * 4 and row[4] == '"plain"' and row[5] == "-5"


def test_xml_answers_carry_no_character_xml_forbids(server):
    from xml.etree import ElementTree

    query = 'SELECT ?x WHERE { BIND("a\\uFFFFb\\u0001c\\uFFFE" AS ?x) }'
    status, _, body, _ = get(server, "/sparql", "application/sparql-results+xml", query=query)
    assert status == 200
    literal = ElementTree.fromstring(body).find(".//{http://www.w3.org/2005/sparql-results#}literal")
    assert literal.text == "a\ufffdb\ufffdc\ufffd"
    status, _, body, _ = get(
        server,
        "/sparql",
        "application/rdf+xml",
        query='CONSTRUCT { <urn:s> <urn:p> ?x } WHERE { BIND("\\uFFFF" AS ?x) }',
    )
    assert status == 200 and ElementTree.fromstring(body) is not None


def test_javascript_iris_are_not_links_on_the_query_page(server):
    query = "SELECT ?x WHERE { VALUES ?x { <javascript:alert(1)> <JavaScript:alert(2)> <data:text/html,x> } }"
    status, _, body, _ = get(server, "/sparql", None, query=query, format="html")
    page = body.decode()
    assert status == 200 and "javascript:alert(1)" in page
    assert 'href="javascript' not in page.lower() and 'href="data:' not in page


@pytest.mark.parametrize("lengths", [["+6"], ["1_0"], ["6", "7"], ["0x6"], [" -6"]])
def test_content_length_is_parsed_strictly(server, lengths):
    head = "".join(f"Content-Length: {n}\r\n" for n in lengths)
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(
            f"POST /sparql HTTP/1.1\r\nHost: x\r\nContent-Type: application/sparql-query\r\n{head}\r\nASK {{}}".encode()
        )
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 400"), reply[:100]


def test_headers_over_the_cap_are_431(server):
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(b"GET /sparql HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * (MAX_HEADERS + 1) + b"\r\n\r\n")
        reply = s.recv(4096)
    assert reply.startswith(b"HTTP/1.1 431"), reply[:100]


def test_pipelined_requests_are_answered_in_order(server):
    """Two requests in one packet (HTTP/1.1 pipelining): two answers, in the order asked, then the close asked for."""
    asks = [urllib.parse.quote(q) for q in ("ASK { ?p a pg:Pledge }", "ASK { <urn:none> ?p ?o }")]
    head = "Host: x\r\nAccept: application/sparql-results+json\r\n"
    with socket.create_connection(server.server_address[:2], timeout=10) as s:
        s.sendall(
            f"GET /sparql?query={asks[0]} HTTP/1.1\r\n{head}\r\n"
            f"HEAD /sparql?query={asks[0]} HTTP/1.1\r\n{head}\r\n"
            f"GET /sparql?query={asks[1]} HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode()
        )
        reply = b""
        while chunk := s.recv(65536):
            reply += chunk
    answers = reply.split(b"HTTP/1.1 ")[1:]
    assert [a.split(b" ", 1)[0] for a in answers] == [b"200"] * 3
    assert b'"boolean":true' in answers[0].replace(b" ", b"") and answers[1].endswith(b"\r\n\r\n")
    assert b'"boolean":false' in answers[2].replace(b" ", b"") and b"Connection: close" in answers[2]


def test_library_query_by_name_with_bindings(server):
    """`/sparql?name=…&bind=var=value`: the same library queries and parameters as `query --bind`."""
    target = "/sparql?" + urllib.parse.urlencode(
        [("name", "under-at-date"), ("bind", "org=org/islamic-state"), ("bind", "date=2016-01-01")]
    )
    status, _, body, _ = request(server, "GET", target, headers={"Accept": "application/sparql-results+json"})
    assert status == 200
    units = {r["unit"].rsplit("/", 1)[1] for r in rows(body)}
    assert units == {
        "is-caucasus-province",
        "vilayat-nokhchicho",
        "vilayat-dagestan",
        "vilayat-galgaicho",
        "vilayat-kbk",
    }
    status, _, body, _ = request(
        server, "GET", "/sparql?name=under-at-date&bind=nope%3D1", headers={"Accept": "application/sparql-results+json"}
    )
    assert status == 400 and b"no parameter ?nope" in body
    status, _, _, _ = request(server, "GET", "/sparql?name=no-such-query")
    assert status == 404


def test_query_workers_never_answer_from_an_earlier_build_of_the_same_directory(dist, tmp_path):
    """The fork server keeps the store it preloaded for the first pool (`zygote`); a pool started after
    the build changed must answer from the new build, and a pool on another build from that one."""
    from pledgegraph.delivery.endpoint.workers import QueryPool

    copy = tmp_path / "dist"
    shutil.copytree(dist, copy)
    ask = "ASK { <urn:pledgegraph:test> <urn:pledgegraph:p> 'rebuilt' }"
    formats = {"table": "json", "graph": None}
    with QueryPool(copy, workers=1, heavy=1) as pool:
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is False
    with (copy / store.DATASET_FILE).open("a") as trig:  # a later build: one more triple
        trig.write(f"\n<{BASE}graph/asserted> {{ <urn:pledgegraph:test> <urn:pledgegraph:p> 'rebuilt' }}\n")
    with QueryPool(copy, workers=1, heavy=1) as pool:
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is True
    with QueryPool(dist, workers=1, heavy=1) as pool:
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is False


def test_kept_answers_are_given_again_only_for_the_build_that_answered_them(dist, tmp_path):
    """The pool keeps answers (`workers._Answers`): a repeated query is answered without a worker, but after
    a rebuild in place the kept answer of the old build is never given, and NOW() is never kept."""
    from pledgegraph.delivery.endpoint.workers import QueryPool
    from pledgegraph.errors import QueryError

    copy = tmp_path / "dist"
    shutil.copytree(dist, copy)
    ask = "ASK { <urn:pledgegraph:test> <urn:pledgegraph:p> 'rebuilt' }"
    now = "SELECT (NOW() AS ?t) WHERE {}"
    formats = {"table": "json", "graph": None}
    with QueryPool(copy, workers=1, heavy=1) as pool:
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is False
        first_now = pool.run(now, formats)[1]
        workers = list(pool._all)
        for worker in workers:  # no worker left: what answers now is the kept copy
            worker.process.kill()
            worker.process.join(5)
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is False
        with pytest.raises(QueryError):  # NOW() was not kept: it needs a worker, and that one died
            pool.run(now, formats)
        with (copy / store.DATASET_FILE).open("a") as trig:  # a later build: one more triple
            trig.write(f"\n<{BASE}graph/asserted> {{ <urn:pledgegraph:test> <urn:pledgegraph:p> 'rebuilt' }}\n")
        for worker in list(pool._all):  # the workers that held the old build go; their successors load the new one
            pool._retire(worker)
        deadline = time.monotonic() + 60
        while True:
            try:
                assert json.loads(pool.run(ask, formats)[1])["boolean"] is True
                break
            except QueryError:  # a successor still loading, or a dead worker picked before it was retired
                assert time.monotonic() < deadline
                time.sleep(0.2)
        assert pool.run(now, formats)[1] != first_now


def test_a_query_asked_while_a_worker_answers_it_waits_for_that_answer(dist):
    """A burst of one query (four clients asking the same heavy query at once) is answered by one worker: the
    requests that come while it runs wait for its answer instead of each taking a worker or being turned away
    (Busy); when it fails, they fail the same way without running it again."""
    import threading

    from pledgegraph.delivery.endpoint.workers import QueryPool
    from pledgegraph.errors import TooLarge

    formats = {"table": "json", "graph": None}
    with QueryPool(dist, workers=1, heavy=1) as pool:
        answered, slow_answer = [], pool._answer_with_worker

        def counted(*args):
            answered.append(args[1])
            time.sleep(0.5)  # the others arrive while it runs
            return slow_answer(*args)

        pool._answer_with_worker = counted

        def burst(text: str, cap: int | None) -> list:
            results, start = [], threading.Barrier(4)

            def ask():
                start.wait()
                try:
                    results.append(pool.run(text, formats, client="127.0.0.1", max_bytes=cap))
                except TooLarge as e:
                    results.append(e)

            threads = [threading.Thread(target=ask) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            return results

        count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
        results = burst(count, None)
        assert answered == [count] and len(results) == 4 and len(set(results)) == 1, (answered, results)
        assert int(json.loads(results[0][1])["results"]["bindings"][0]["n"]["value"]) > 1000
        answered.clear()
        results = burst("SELECT * WHERE { ?s ?p ?o }", 100)  # too large an answer
        assert len(answered) == 1 and len(results) == 4 and all(isinstance(r, TooLarge) for r in results)
        assert len({str(r) for r in results}) == 1
        answered.clear()
        pool.answers.max_bytes = 0  # nothing kept: the answer is handed over to those waiting all the same
        results = burst(count + " # again", None)
        assert len(answered) == 1 and len(results) == 4 and len(set(results)) == 1, (answered, results)


def test_no_answer_is_kept_when_serve_is_told_to_keep_none(dist):
    """`serve --keep-answers-mb 0` (`answers_mb=0`): every answer is computed by a worker, so with every
    worker gone a repeated query fails instead of being answered from a kept copy."""
    from pledgegraph.delivery.endpoint.workers import QueryPool
    from pledgegraph.errors import QueryError

    ask = "ASK { ?s ?p ?o }"
    formats = {"table": "json", "graph": None}
    with QueryPool(dist, workers=1, heavy=1, answers_mb=0) as pool:
        assert json.loads(pool.run(ask, formats)[1])["boolean"] is True
        for worker in list(pool._all):
            worker.process.kill()
            worker.process.join(5)
        with pytest.raises(QueryError):
            pool.run(ask, formats)
        assert pool.answers.size == 0


def test_a_worker_memory_cap_is_room_for_queries_beyond_the_store_it_holds(dist):
    """`memory_mb` is what a query may take on top of the loaded store, so the cap grows with the data (an
    absolute 64 MB would leave a worker holding the store no room at all): a query answers, one needing far
    more than that fails alone in its worker, and the pool answers again after it."""
    from pledgegraph.delivery.endpoint.workers import QueryPool
    from pledgegraph.errors import QueryError

    count = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
    formats = {"table": "json", "graph": None}
    with QueryPool(dist, workers=1, heavy=1, memory_mb=64, timeout=60) as pool:
        triples = int(json.loads(pool.run(count, formats)[1])["results"]["bindings"][0]["n"]["value"])
        assert triples > 10_000
        with pytest.raises(QueryError):  # a string of every object, once per triple: gigabytes
            pool.run("SELECT (GROUP_CONCAT(STR(?o)) AS ?all) WHERE { ?s ?p ?o . ?a ?b ?c }", formats)
        assert int(json.loads(pool.run(count, formats)[1])["results"]["bindings"][0]["n"]["value"]) == triples


def test_each_entity_is_described_as_the_release_describes_it(dist):
    """`serve` describes one entity per request, from the store (`Loaded.description`); the release
    describes every entity in one pass over every triple (`describe.descriptions`, the reference):
    for every entity of the shipped build, and for IRIs that are no entity, the two agree."""
    from pledgegraph.delivery.release.describe import descriptions
    from pledgegraph.delivery.release.pages import entity_iris

    loaded = store.load(dist)
    data = {
        ox.Triple(q.subject, q.predicate, q.object)
        for graph in loaded.default_graphs()
        for q in loaded.store.quads_for_pattern(None, None, None, graph)
    }
    reference = descriptions(data, loaded.base, entity_iris(loaded.store, loaded.base))
    assert len(reference) > 200 and sum(map(len, reference.values())) > 10_000
    for iri, triples in reference.items():
        assert loaded.description(iri) == triples, iri
    for missing in ("id/org/no-such-organization", "id/org/islamic-state/name/nonesuch", "ontology"):
        assert loaded.description(loaded.base + missing) == []


def test_record_subgraph_finds_every_node_below_every_record(dist):
    """The library's `record-subgraph`, however it finds them (a walk along the links joining a record's own
    nodes would be faster than its FILTER on every subject's IRI): for every entity of the shipped build it
    must give exactly the triples whose subject is the record or below its IRI."""
    from pledgegraph.delivery.release.pages import entity_iris
    from pledgegraph.model.iris import entity_of

    loaded = store.load(dist)
    example = store.example(ROOT / "queries", "record-subgraph")
    query = store.check_query(example.text, loaded.graph_iris)
    below: dict[str, set] = {}
    entities = entity_iris(loaded.store, loaded.base)
    for graph in loaded.default_graphs():
        for q in loaded.store.quads_for_pattern(None, None, None, graph):
            record = entity_of(q.subject.value, loaded.base)
            if record in entities:
                below.setdefault(record, set()).add(ox.Triple(q.subject, q.predicate, q.object))
    assert len(below) == len(entities) > 200
    for iri in sorted(entities):
        answer = store.execute(loaded, query, bindings={"record": f"<{iri}>"})
        assert set(answer.triples) == below[iri], iri


def test_a_worker_stopped_by_two_threads_closes_its_pipe_once():
    """A retirement and a start-up wait can stop the same worker at once; its pipe's descriptor must be
    closed once only (a second close could hit another worker's pipe that took the number meanwhile)."""
    import threading

    from pledgegraph.delivery.endpoint.workers import _Worker

    closes = []

    class Process:
        def kill(self):
            pass

        def join(self, timeout):
            time.sleep(0.01)  # both threads are inside stop() at once

    class Pipe:
        def close(self):
            closes.append(threading.get_ident())

    worker = object.__new__(_Worker)
    worker.process, worker.conn = Process(), Pipe()
    worker._stopping, worker._stopped = threading.Lock(), False
    threads = [threading.Thread(target=worker.stop) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(closes) == 1
