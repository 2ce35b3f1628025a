"""The graph over HTTP: the SPARQL 1.1 Protocol at /sparql, and every entity IRI dereferenceable.

`App` turns a request (method, path, headers, body) into a `Response`; `make_server` puts it
behind the standard library's ThreadingHTTPServer. Threads only wait: queries run in the killable
worker processes of `workers.QueryPool`; entity pages and descriptions are index lookups in this
process. The service is read-only and meant to be safe to expose: `store.check_query` refuses
updates, SERVICE, LOAD and foreign graphs before anything runs; every query has a time limit that
kills it, answers have a row cap, request bodies a size cap, connections a count cap and slow
clients a socket timeout. `status_for` is the one place exceptions become HTTP statuses.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from . import lookup, pages
from .errors import (Busy, PledgegraphError, QueryError, QueryRefused, QuerySyntaxError, QueryTimeout,
                     TooLarge)
from .export import serialize
from .formats import FORMATS, by_suffix
from .search import Index
from .settings import GRAPH_NAMES, graph_iri
from .store import GRAPH_RESULT_FORMATS, check_query, describe, examples, load
from .vocab import DCTERMS, PREFIXES, RDF
from .workers import QueryPool

MAX_BODY = 256 * 1024
MAX_CONNECTIONS = 64
SOCKET_TIMEOUT = 20.0
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
VOID = PREFIXES["void"]

HTML = "text/html"
RESULT_MEDIA_TYPES = {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                      "csv": "text/csv", "tsv": "text/tab-separated-values"}
# Also accepted in Accept for table answers: plain JSON/XML, as many clients send them.
_RESULT_ALIASES = {"application/json": "json", "application/xml": "xml"}
_GRAPH_MEDIA_TYPES = {FORMATS[f].media_type: f for f in GRAPH_RESULT_FORMATS}
_SD_FORMATS = {"json": "SPARQL_Results_JSON", "xml": "SPARQL_Results_XML", "csv": "SPARQL_Results_CSV",
               "tsv": "SPARQL_Results_TSV", "turtle": "Turtle", "ntriples": "N-Triples", "jsonld": "JSON-LD",
               "rdfxml": "RDF_XML"}
_ENTITY_PATH = re.compile(r"/id/[a-z]+/[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*")
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_HTML_POLICY = ("default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
                "base-uri 'none'; frame-ancestors 'none'")


class HttpError(Exception):
    """A request the server answers with a 4xx status of its own (not a query problem)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}


_STATUS = ((QuerySyntaxError, 400), (QueryRefused, 400), (QueryTimeout, 408), (TooLarge, 413),
           (QueryError, 400), (Busy, 503))


def status_for(error: Exception) -> int:
    """The HTTP status for an exception: the one table every error response goes through."""
    if isinstance(error, HttpError):
        return error.status
    return next((status for cls, status in _STATUS if isinstance(error, cls)), 500)


@dataclass
class Response:
    status: int
    body: bytes = b""
    media_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)

    def all_headers(self) -> dict[str, str]:
        text = self.media_type.startswith("text/") or self.media_type.endswith(("json", "+xml"))
        headers = {"Content-Type": self.media_type + ("; charset=utf-8" if text else ""),
                   "Content-Length": str(len(self.body)), "X-Content-Type-Options": "nosniff",
                   "Access-Control-Allow-Origin": "*"}
        if self.media_type == HTML:
            headers["Content-Security-Policy"] = _HTML_POLICY
        headers.update(self.headers)
        return headers


def negotiate(accept: str | None, offers: list[str]) -> str | None:
    """The offer the Accept header likes best (q-values, `type/*`, `*/*`); ties go to the earlier offer."""
    if not accept or not accept.strip():
        return offers[0] if offers else None
    ranges = []
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = max(0.0, min(1.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append((media.lower(), q))

    def quality(offer: str) -> float:
        kind = offer.split("/")[0] + "/*"
        best = None
        for media, q in ranges:  # the most specific matching range decides
            rank = 3 if media == offer else 2 if media == kind else 1 if media == "*/*" else 0
            if rank and (best is None or rank > best[0]):
                best = (rank, q)
        return best[1] if best else 0.0

    scored = [(quality(o), -i, o) for i, o in enumerate(offers)]
    q, _, offer = max(scored)
    return offer if q > 0 else None


class App:
    """Everything the server does, without the socket handling; see `make_server`."""

    def __init__(self, dist: Path, queries_dir: Path, *, workers: int = 2, timeout: float = 10.0,
                 max_rows: int = 10_000, max_body: int = MAX_BODY):
        self.loaded = load(dist)
        self.base = self.loaded.base
        self.max_body = max_body
        self.examples = examples(queries_dir) if Path(queries_dir).is_dir() else []
        self.graph_sizes = {name: sum(1 for _ in self.loaded.store.quads_for_pattern(
            None, None, None, ox.NamedNode(graph_iri(self.base, name)))) for name in GRAPH_NAMES}
        self.names = Index.load(dist)
        self.pool = QueryPool(dist, workers=workers, timeout=timeout, max_rows=max_rows)

    def close(self) -> None:
        self.pool.close()

    # -- dispatch -----------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers, read_body: Callable[[int], bytes]) -> Response:
        try:
            path, _, query_string = target.partition("?")
            path = urllib.parse.unquote(path)
            if method == "OPTIONS":  # a browser's CORS preflight before a cross-origin POST
                return Response(204, headers={"Allow": "GET, HEAD, POST, OPTIONS",
                                              "Access-Control-Allow-Methods": "GET, HEAD, POST",
                                              "Access-Control-Allow-Headers": "Accept, Content-Type",
                                              "Access-Control-Max-Age": "86400"})
            if method not in ("GET", "HEAD", "POST"):
                raise HttpError(405, f"{method} is not supported: this service is read-only",
                                {"Allow": "GET, HEAD, POST"})
            if path == "/sparql":
                return self.sparql(method, query_string, headers, read_body)
            if lookup.handles(path):  # name search and the Reconciliation API
                host = headers.get("Host") or ""
                status, body, media_type = lookup.respond(
                    self.names, f"http://{host if _HOST.fullmatch(host) else 'localhost'}", method, path,
                    query_string, self._body(headers, read_body) if method == "POST" else b"",
                    headers.get("Accept") or "")
                return Response(status, body, media_type)
            if method == "POST":
                raise HttpError(405, "POST is only accepted at /sparql and /reconcile", {"Allow": "GET, HEAD"})
            if path == "/":
                return Response(200, self.index_page().encode(), HTML)
            if _ENTITY_PATH.fullmatch(path.rsplit(".", 1)[0]):
                return self.entity(path, headers.get("Accept"))
            raise HttpError(404, f"nothing at {path}: entities live at /id/<kind>/<id>, queries at /sparql")
        except (PledgegraphError, HttpError) as e:
            return Response(status_for(e), _error_text(status_for(e), e).encode(),
                            headers=getattr(e, "headers", {}))

    # -- SPARQL protocol ----------------------------------------------------------------------

    def sparql(self, method: str, query_string: str, headers, read_body) -> Response:
        params = urllib.parse.parse_qs(query_string, keep_blank_values=True)
        if method == "POST":
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(headers, read_body)
            if content_type == "application/x-www-form-urlencoded":
                params = urllib.parse.parse_qs(_text(body), keep_blank_values=True)
            elif content_type == "application/sparql-query":
                params["query"] = [_text(body)]
            elif content_type == "application/sparql-update":
                raise QueryRefused("updates are not accepted: this graph is read-only")
            else:
                raise HttpError(415, "send a query as application/sparql-query or as an "
                                     "application/x-www-form-urlencoded form with query=…")
        if "update" in params:
            raise QueryRefused("updates are not accepted: this graph is read-only")
        queries = params.get("query", [])
        if len(queries) > 1:
            raise HttpError(400, "give exactly one query= parameter")
        accept = headers.get("Accept")
        wanted = params.get("format", [""])[0]
        if not queries:
            if method == "POST":
                raise HttpError(400, "no query: send query=… (form) or the query as the body")
            fmt = self._graph_format(accept, wanted, html=True)
            if fmt == "html":
                return Response(200, self.query_page().encode(), HTML)
            return Response(200, self.service_description(headers.get("Host"), fmt),
                            FORMATS[fmt].media_type, {"Vary": "Accept"})
        query = check_query(queries[0], self.loaded.graph_iris)
        options = {"default_graphs": params.get("default-graph-uri") or None,
                   "named_graphs": params.get("named-graph-uri") or None}
        if query.graph_result:
            fmt = "html" if wanted == "html" else self._graph_format(accept, wanted, html=True)
            if fmt == "html":
                turtle = self.pool.run(query, "turtle", **options)
                return Response(200, self.query_page(query.text, f"<pre>{escape(turtle.decode())}</pre>").encode(), HTML)
            return Response(200, self.pool.run(query, fmt, **options), FORMATS[fmt].media_type, {"Vary": "Accept"})
        fmt = wanted or self._result_format(accept)
        if fmt == "html":
            answer = json.loads(self.pool.run(query, "json", **options))
            return Response(200, self.query_page(query.text, self._results_html(answer)).encode(), HTML)
        if fmt not in RESULT_MEDIA_TYPES:
            raise HttpError(406, f"a {query.form.upper() or 'SELECT'} answer is available as "
                                 + ", ".join(list(RESULT_MEDIA_TYPES.values()) + [HTML]))
        return Response(200, self.pool.run(query, fmt, **options), RESULT_MEDIA_TYPES[fmt], {"Vary": "Accept"})

    def _body(self, headers, read_body) -> bytes:
        if headers.get("Transfer-Encoding"):
            raise HttpError(411, "send the body with a Content-Length (chunked bodies are not accepted)")
        try:
            length = int(headers.get("Content-Length", ""))
        except ValueError:
            raise HttpError(411, "a POST needs a Content-Length") from None
        if length < 0:
            raise HttpError(400, "bad Content-Length")
        if length > self.max_body:
            raise TooLarge(f"the request body is {length} bytes; at most {self.max_body} are accepted")
        return read_body(length)

    def _result_format(self, accept: str | None) -> str:
        offers = list(RESULT_MEDIA_TYPES.values()) + list(_RESULT_ALIASES) + [HTML]
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise HttpError(406, "SELECT and ASK answers are available as " + ", ".join(offers))
        return "html" if chosen == HTML else _RESULT_ALIASES.get(chosen) or next(
            f for f, mt in RESULT_MEDIA_TYPES.items() if mt == chosen)

    def _graph_format(self, accept: str | None, wanted: str = "", html: bool = False) -> str:
        if wanted:
            if wanted in GRAPH_RESULT_FORMATS or (html and wanted == "html"):
                return wanted
            raise HttpError(406, f"format={wanted} is not available here: use one of "
                                 + ", ".join(GRAPH_RESULT_FORMATS))
        offers = list(_GRAPH_MEDIA_TYPES) + ([HTML] if html else [])
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise HttpError(406, "this is RDF, available as " + ", ".join(offers))
        return "html" if chosen == HTML else _GRAPH_MEDIA_TYPES[chosen]

    def service_description(self, host: str | None, fmt: str) -> bytes:
        """SPARQL 1.1 Service Description of this endpoint and its dataset."""
        root = f"http://{host if host and _HOST.fullmatch(host) else 'localhost'}/sparql"
        n = ox.NamedNode
        endpoint, dataset, default = n(root), n(root + "#dataset"), n(root + "#default-graph")
        rdf_type = n(RDF + "type")
        triples = [ox.Triple(endpoint, rdf_type, n(SD + "Service")),
                   ox.Triple(endpoint, n(SD + "endpoint"), endpoint),
                   ox.Triple(endpoint, n(SD + "supportedLanguage"), n(SD + "SPARQL11Query")),
                   ox.Triple(endpoint, n(SD + "defaultDataset"), dataset),
                   ox.Triple(dataset, rdf_type, n(SD + "Dataset")),
                   ox.Triple(dataset, n(SD + "defaultGraph"), default),
                   ox.Triple(default, rdf_type, n(SD + "Graph")),
                   ox.Triple(default, n(DCTERMS + "description"),
                             ox.Literal("The asserted and the inferred graphs together.", language="en"))]
        triples += [ox.Triple(endpoint, n(SD + "resultFormat"), n(FORMATS_NS + f)) for f in _SD_FORMATS.values()]
        for name in GRAPH_NAMES:
            entry, graph = n(f"{root}#graph-{name}"), n(f"{root}#graph-{name}-content")
            triples += [ox.Triple(dataset, n(SD + "namedGraph"), entry),
                        ox.Triple(entry, rdf_type, n(SD + "NamedGraph")),
                        ox.Triple(entry, n(SD + "name"), n(graph_iri(self.base, name))),
                        ox.Triple(entry, n(SD + "graph"), graph),
                        ox.Triple(graph, rdf_type, n(SD + "Graph")),
                        ox.Triple(graph, n(VOID + "triples"), ox.Literal(str(self.graph_sizes[name]),
                                                                          datatype=n(PREFIXES["xsd"] + "integer")))]
        return serialize(sorted(triples, key=str), fmt, {**PREFIXES, "sd": SD, "formats": FORMATS_NS})

    # -- entities -----------------------------------------------------------------------------

    def entity(self, path: str, accept: str | None) -> Response:
        stem, dot, suffix = path.partition(".")
        iri = self.base + stem[1:]
        triples = describe(self.loaded, iri)
        if not triples:
            raise HttpError(404, f"no entity <{iri}> in this graph")
        if dot:
            fmt = "html" if suffix == "html" else getattr(by_suffix("." + suffix), "name", None)
            if fmt not in GRAPH_RESULT_FORMATS + ("html",):
                raise HttpError(404, f"no .{suffix} representation: use .html, "
                                     + ", ".join(FORMATS[f].suffix for f in GRAPH_RESULT_FORMATS))
        else:
            offers = [FORMATS["turtle"].media_type, HTML] + [FORMATS[f].media_type for f in GRAPH_RESULT_FORMATS[1:]]
            chosen = negotiate(accept, offers)
            if chosen is None:
                raise HttpError(406, f"<{iri}> is available as " + ", ".join(offers))
            fmt = "html" if chosen == HTML else _GRAPH_MEDIA_TYPES[chosen]
        headers = {"Vary": "Accept", "Link": f'<{iri}>; rel="canonical"'} if not dot else {}
        if fmt != "html":
            return Response(200, serialize(triples, fmt), FORMATS[fmt].media_type, headers)
        owner = pages.entity_of(iri, self.base)
        if owner != iri:  # a node inside a record: its page is the record's
            target = self.link(owner) + (".html" if dot else "")
            return Response(303, f"see {target}\n".encode(), headers={"Location": target})
        html = pages.render_entity(self.loaded.store, iri, self.base, self.link,
                                   alternates=pages.alternates_for(stem), home="/")
        return Response(200, html.encode(), HTML, headers)

    def link(self, iri: str) -> str:
        """Entity IRIs under the base are served here; anything else is linked as it is."""
        return "/" + iri[len(self.base):] if iri.startswith(self.base + "id/") else iri

    # -- HTML ---------------------------------------------------------------------------------

    def index_page(self) -> str:
        intro = ('<p>A cited linked-data graph of militant organizations, provinces, leaders and pledges of '
                 'allegiance. Ask it anything at <a href="/sparql">/sparql</a>; reconcile names with it '
                 '(OpenRefine) at <a href="/reconcile">/reconcile</a>.</p>' + lookup.SEARCH_FORM)
        return pages.render_index(self.loaded.store, self.base, self.link, intro=intro)

    def query_page(self, text: str = "", results: str = "") -> str:
        """A form that works with no script and no network; results, when given, below it."""
        if not text:
            text = self.examples[0].text if self.examples else "SELECT ?s ?label WHERE {\n  ?s skos:prefLabel ?label\n} LIMIT 20"
        options = "".join(f'<option value="{f}">{f}</option>'
                          for f in ("html", "json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld"))
        links = "".join(
            f'<li><a href="/sparql?{escape(urllib.parse.urlencode({"query": e.text, "format": "html"}))}">'
            f"{escape(e.name)}</a> {escape(e.title)}</li>" for e in self.examples)
        prefixes = " ".join(f"<code>{escape(p)}:</code>" for p in PREFIXES)
        body = ("<h1>SPARQL</h1>"
                '<form method="post" action="/sparql" accept-charset="utf-8">'
                f'<textarea name="query" rows="14" style="width:100%;font-family:monospace">{escape(text)}</textarea>'
                f'<p><label>Answer as <select name="format">{options}</select></label> '
                '<button type="submit">Run</button></p></form>'
                f'<p class="muted">Predeclared prefixes: {prefixes}. The default graph holds the asserted and '
                "inferred facts; each query has a time limit and a row cap.</p>"
                + (f"<h2>Answer</h2>{results}" if results else "")
                + (f"<h2>Examples</h2><ul>{links}</ul>" if links else ""))
        return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
                '<meta name="viewport" content="width=device-width,initial-scale=1">'
                f"<title>pledgegraph SPARQL</title><style>{pages.CSS}</style></head>"
                f'<body><header><a href="/">pledgegraph</a></header><main>{body}</main></body></html>\n')

    def _results_html(self, answer: dict) -> str:
        if "boolean" in answer:
            return f"<p>{'true' if answer['boolean'] else 'false'}</p>"
        variables = answer["head"]["vars"]
        rows = answer["results"]["bindings"]
        head = "".join(f"<th>?{escape(v)}</th>" for v in variables)
        body = "".join("<tr>" + "".join(f"<td>{self._term_html(row.get(v))}</td>" for v in variables) + "</tr>"
                       for row in rows)
        return f"<p class=\"muted\">{len(rows)} row(s)</p><table><tr>{head}</tr>{body}</table>"

    def _term_html(self, term: dict | None) -> str:
        if not term:
            return ""
        value = term["value"]
        if term["type"] == "uri":
            return f'<a href="{escape(self.link(value))}">{escape(value)}</a>'
        if term["type"] == "literal" and "xml:lang" in term:
            return f'{escape(value)} <span class="lang">@{escape(term["xml:lang"])}</span>'
        return escape(value if term["type"] != "triple" else json.dumps(value))


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "the request body is not UTF-8") from None


def _error_text(status: int, error: Exception) -> str:
    reason = http.server.BaseHTTPRequestHandler.responses.get(status, ("Error",))[0]
    return f"{status} {reason}: {error}\n"


# -- the socket side ---------------------------------------------------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every response carries a Content-Length
    server_version = "pledgegraph"
    sys_version = ""
    timeout = SOCKET_TIMEOUT       # a client that stalls while sending is cut off
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stall

    def do_GET(self):
        self._answer()

    def do_POST(self):
        self._answer()

    def do_HEAD(self):
        self._answer(body=False)

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET  # App answers 405 (or the CORS preflight)

    def _answer(self, body: bool = True):
        app: App = self.server.app
        response = app.handle(self.command, self.path, self.headers, self.rfile.read)
        if self.command == "POST" and response.status in (411, 413, 415):
            self.close_connection = True  # the unread body would be taken for the next request
        self.send_response(response.status)
        for name, value in response.all_headers().items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if body:
            self.wfile.write(response.body)

    def log_message(self, format, *args):
        log = self.server.log
        if log:
            log(f"{self.address_string()} {format % args}")


class Server(http.server.ThreadingHTTPServer):
    """One thread per connection, at most MAX_CONNECTIONS at once (the rest get 503 straight away)."""

    daemon_threads = True

    def __init__(self, address, app: App, log: Callable[[str], None] | None = None):
        self.app, self.log = app, log
        self._slots = threading.BoundedSemaphore(MAX_CONNECTIONS)
        super().__init__(address, _Handler)

    def process_request(self, request, client_address):
        if not self._slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n"
                                b"Retry-After: 1\r\n\r\n")
            finally:
                self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def server_close(self):
        super().server_close()
        self.app.close()


def make_server(dist: Path, queries_dir: Path, host: str = "127.0.0.1", port: int = 8080, *,
                log: Callable[[str], None] | None = None, **limits) -> Server:
    """A ready server (workers started, socket bound); call `serve_forever()`, then `server_close()`."""
    app = App(dist, queries_dir, **limits)
    try:
        return Server((host, port), app, log)
    except OSError:
        app.close()
        raise
