"""The graph over HTTP: the SPARQL 1.1 Protocol at /sparql, and every entity IRI dereferenceable.

`App` turns a request (method, path, headers, body) into a `Response`; `make_server` puts it
behind `http1` (asyncio and httptools' C parser), which survives hostile clients: a connection
costs no thread, the time to send complete headers is one deadline from connection open (not
reset by each byte), header size is capped, and Content-Length is parsed strictly.
It also applies what a public endpoint needs (the limits below): a deadline for each request's body
and for writing its answer, a body size cap, at most `MAX_PER_CLIENT` requests in flight per
client address (429 beyond) and `MAX_ACTIVE` in all (503 beyond). Queries run in the killable
worker processes of `workers.QueryPool`, which parse and check them (`store.check_query`), cap
their time, rows and bytes, and share workers fairly between clients and between cheap and heavy
queries; entity pages and descriptions are read from this process's own copy of the store, per
request, on a small thread pool. `status_for` is the one place exceptions become HTTP statuses.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import http.server
import json
import os
import re
import socket
import sys
import threading
import urllib.parse
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from functools import cached_property
from html import escape
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from pledgegraph.delivery.endpoint import http1, lookup
from pledgegraph.delivery.endpoint.labels import answer_names, prefixed
from pledgegraph.delivery.endpoint.show import did_you_mean
from pledgegraph.delivery.endpoint.store import DATASET_FILE, GRAPH_RESULT_FORMATS, Loaded, describe, examples, load
from pledgegraph.delivery.endpoint.store import bindings as bindings_for
from pledgegraph.delivery.endpoint.workers import QueryPool
from pledgegraph.delivery.export import serialize
from pledgegraph.delivery.release import catalog, pages
from pledgegraph.delivery.release.catalog import DatasetInfo
from pledgegraph.delivery.release.publish import dataset_info
from pledgegraph.delivery.release.webservers import ENTITY_FORMATS, ONTOLOGY_FORMATS
from pledgegraph.delivery.search import Index
from pledgegraph.errors import (
    Busy,
    NotAcceptable,
    PledgegraphError,
    QueryError,
    QueryRefused,
    QuerySyntaxError,
    QueryTimeout,
    TooLarge,
)
from pledgegraph.layout import GRAPH_NAMES, graph_iri
from pledgegraph.model.formats import FORMATS, by_suffix
from pledgegraph.model.iris import ENTITY_PATH, entity_of, entity_ref
from pledgegraph.model.vocab import DCTERMS, PREFIXES, RDF

MAX_BODY = 256 * 1024  # request body bytes (413 beyond, unread)
MAX_HEADERS = 64 * 1024  # request line and headers bytes (as the standard library allowed)
MAX_ANSWER = 16 * 1024 * 1024  # answer bytes (422 beyond); an HTML page renders at most a tenth as JSON
MAX_PER_CLIENT = 8  # requests in flight per client address (429 beyond)
MAX_ACTIVE = 128  # requests in flight in all (503 beyond)
BACKLOG = 1024  # connections the kernel queues before we accept them
HEADER_SECONDS = 10.0  # from connection open (or the last answer) to complete headers
BODY_SECONDS = 10.0  # to receive a request body
SEND_SECONDS = 30.0  # to write an answer out
SERVER_MEMORY_MB = 2048  # address space of the server process beyond its data (`server_memory_mb`)
# The server's own copy of the store (and, before round 4, every entity's description) took 13-22 bytes of address
# space per byte of the build's TriG (100k: 13 MiB of TriG, ~300 MiB; 1M: 128 MiB, 1.73 GiB; docs/performance.md).
SERVER_MB_PER_TRIG_MB = 24
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS_NS = "http://www.w3.org/ns/formats/"
VOID = PREFIXES["void"]

HTML = "text/html"
RESULT_MEDIA_TYPES = {
    "json": "application/sparql-results+json",
    "xml": "application/sparql-results+xml",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
}
# Media types -> our format, by kind of answer: tables (SELECT, ASK) and graphs (CONSTRUCT, DESCRIBE).
# Plain JSON/XML are accepted for tables as many clients send them; N3 is answered as Turtle (a subset).
_TABLE_TYPES = {**{mt: f for f, mt in RESULT_MEDIA_TYPES.items()}, "application/json": "json", "application/xml": "xml"}
_GRAPH_TYPES = {**{FORMATS[f].media_type: f for f in GRAPH_RESULT_FORMATS}, "text/n3": "turtle"}
_GRAPH_MEDIA_TYPES = {FORMATS[f].media_type: f for f in GRAPH_RESULT_FORMATS}
# What `format=` (or `output=`) may say, as SPARQLWrapper, Virtuoso, Fuseki and people spell it:
# name or media type -> (table format, graph format); "xml" and "json" fit either kind of answer.
FORMAT_NAMES: dict[str, tuple[str | None, str | None]] = {
    "json": ("json", "jsonld"),
    "xml": ("xml", "rdfxml"),
    "csv": ("csv", None),
    "tsv": ("tsv", None),
    "turtle": (None, "turtle"),
    "ttl": (None, "turtle"),
    "n3": (None, "turtle"),
    "ntriples": (None, "ntriples"),
    "nt": (None, "ntriples"),
    "n-triples": (None, "ntriples"),
    "jsonld": (None, "jsonld"),
    "json-ld": (None, "jsonld"),
    "rdfxml": (None, "rdfxml"),
    "rdf+xml": (None, "rdfxml"),
    "rdf": (None, "rdfxml"),
    "html": ("html", "html"),
    HTML: ("html", "html"),
    "application/json": ("json", "jsonld"),
    "application/xml": ("xml", "rdfxml"),
    **{mt: (f, None) for f, mt in RESULT_MEDIA_TYPES.items()},
    **{mt: (None, f) for mt, f in _GRAPH_TYPES.items()},
}
# In the release's order (`webservers`: the page first, ties to the earlier offer), then what serve adds.
_ENTITY_OFFERS = [FORMATS[f].media_type for f in ENTITY_FORMATS + ("rdfxml",)]
_ONTOLOGY_OFFERS = [FORMATS[f].media_type for f in ONTOLOGY_FORMATS + ("ntriples",)]
_SD_FORMATS = {
    "json": "SPARQL_Results_JSON",
    "xml": "SPARQL_Results_XML",
    "csv": "SPARQL_Results_CSV",
    "tsv": "SPARQL_Results_TSV",
    "turtle": "Turtle",
    "ntriples": "N-Triples",
    "jsonld": "JSON-LD",
    "rdfxml": "RDF_XML",
}
_HOST = re.compile(r"[A-Za-z0-9.\-]+(?::\d{1,5})?|\[[0-9A-Fa-f:.]+\](?::\d{1,5})?")
_LINKABLE = re.compile(r"https?://", re.IGNORECASE)  # never a javascript:, data: or other scheme as a link
_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)


def server_memory_mb(dist: Path) -> int:
    """The address-space cap of the `pledgegraph serve` process for the build in `dist`: SERVER_MEMORY_MB for
    requests, plus what the data takes in it (sized from the build's TriG, before anything is loaded)."""
    try:
        trig_mb = (Path(dist) / DATASET_FILE).stat().st_size / (1024 * 1024)
    except OSError:
        trig_mb = 0  # no build: serve fails on that with its own message
    return SERVER_MEMORY_MB + round(SERVER_MB_PER_TRIG_MB * trig_mb)


class HttpError(Exception):
    """A request the server answers with a 4xx status of its own (not a query problem)."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.headers = status, headers or {}


# A query past its time limit is 503 with the reason, as Fuseki answers (408 invites browsers to send it
# again); an answer past the row or byte cap is 422: the query is understood but will not be answered
# in full (413 is about request bodies, which stay 413).
_STATUS = (
    (QuerySyntaxError, 400),
    (QueryRefused, 400),
    (QueryTimeout, 503),
    (TooLarge, 422),
    (NotAcceptable, 406),
    (QueryError, 400),
    (Busy, 503),
)


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
        if self.status == 304:  # no content, so no Content-Type or Content-Length (RFC 9110 §15.4.5)
            return {"Access-Control-Allow-Origin": "*", **self.headers}
        text = self.media_type.startswith("text/") or self.media_type.endswith(("json", "+xml"))
        headers = {
            "Content-Type": self.media_type + ("; charset=utf-8" if text else ""),
            "Content-Length": str(len(self.body)),
            "X-Content-Type-Options": "nosniff",
            "Access-Control-Allow-Origin": "*",
        }
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


def answer_formats(accept: str | None, named: list[str]) -> tuple[str | None, str | None]:
    """(table format, graph format) for a query's answer; "html" for the query page; None: nothing fits.

    `Accept` first: a media type it names (q > 0, and liked better than HTML) for a kind of answer
    decides that kind. `format=` (`named`: its values, and `output=`'s) decides the rest: clients
    such as SPARQLWrapper send both, and browsers send only wildcards and HTML, so a form's or a
    link's `format=json` still gives JSON. Without either, Accept is negotiated with the HTML page
    on offer (no Accept: JSON, Turtle)."""
    ranges = {
        part.split(";")[0].strip().lower()
        for part in (accept or "").split(",")
        if not re.search(r";\s*q\s*=\s*0(?:\.0*)?\s*(?:;|$)", part)
    }

    def named_in_accept(types: dict[str, str]) -> str | None:  # HTML preferred (a browser's application/xml
        chosen = negotiate(accept, list(types) + [HTML]) if ranges & set(types) else None  # ;q=0.9): not named
        return types.get(chosen or "")

    table, graph = named_in_accept(_TABLE_TYPES), named_in_accept(_GRAPH_TYPES)
    if named and (table is None or graph is None):
        known = [FORMAT_NAMES[n.strip().lower()] for n in named if n.strip().lower() in FORMAT_NAMES]
        if not known and (table, graph) == (None, None):
            raise HttpError(
                406,
                f"format={named[0]} is not known here: use one of "
                + ", ".join(sorted(name for name in FORMAT_NAMES if "/" not in name))
                + ", or a media type",
            )
        if known:
            return table or known[0][0], graph or known[0][1]
    if table is None:
        chosen = negotiate(accept, list(_TABLE_TYPES) + [HTML])
        table = "html" if chosen == HTML else _TABLE_TYPES.get(chosen or "")
    if graph is None:
        chosen = negotiate(accept, list(_GRAPH_MEDIA_TYPES) + [HTML])
        graph = "html" if chosen == HTML else _GRAPH_TYPES.get(chosen or "")
    return table, graph


# Answers worth compressing (RDF, results, pages, scripts); at least this long.
_COMPRESSIBLE = re.compile(r"text/.*|application/(.*[+/])?(json|xml|n-triples|n-quads|trig|javascript)")
_GZIP_FROM = 1024
_KEPT_ON_304 = ("ETag", "Last-Modified", "Vary", "Link", "Cache-Control")


def cached(response: Response, headers, modified: int) -> Response:
    """HTTP caching for a GET or HEAD: a strong ETag (the SHA-256 of the bytes, as the release's DCAT
    checksums), Last-Modified (when the build was written: everything served comes from it), 304
    for a matching If-None-Match (or, without one, If-Modified-Since not before it), and gzip when
    Accept-Encoding allows it (its own ETag; Vary: Accept-Encoding on every compressible answer)."""
    if response.status != 200:
        return response
    digest = hashlib.sha256(response.body).hexdigest()[:32]
    out = dict(response.headers)
    out["Last-Modified"] = formatdate(modified, usegmt=True)
    body = response.body
    if _COMPRESSIBLE.fullmatch(response.media_type):
        out["Vary"] = ", ".join(v for v in (out.get("Vary"), "Accept-Encoding") if v)
        if len(body) >= _GZIP_FROM and _accepts_gzip(headers.get("Accept-Encoding")):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            out["Content-Encoding"] = "gzip"
            digest += "-gzip"
    out["ETag"] = f'"{digest}"'
    if _not_modified(headers, out["ETag"], modified):
        return Response(304, headers={k: v for k, v in out.items() if k in _KEPT_ON_304})
    return Response(200, body, response.media_type, out)


def _accepts_gzip(accept_encoding: str | None) -> bool:
    codings = {}
    for part in (accept_encoding or "").lower().split(","):
        name, *params = [p.strip() for p in part.split(";")]
        q = next((p.partition("=")[2] for p in params if p.startswith("q=")), "1")
        try:
            codings[name] = float(q)
        except ValueError:
            codings[name] = 0.0
    return codings.get("gzip", codings.get("x-gzip", codings.get("*", 0.0))) > 0


def _not_modified(headers, etag: str, modified: int) -> bool:
    """RFC 9110 §13.2.2: If-None-Match decides when present (weak comparison), else If-Modified-Since."""
    if_none_match = headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or etag in tags
    since = headers.get("If-Modified-Since")
    if since:
        try:
            return modified <= parsedate_to_datetime(since).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False  # an unreadable date is ignored, as the RFC says
    return False


class App:
    """Everything the server does, without the socket handling; see `make_server`."""

    def __init__(
        self,
        dist: Path,
        queries_dir: Path,
        *,
        workers: int = 2,
        timeout: float = 10.0,
        max_rows: int | None = None,
        max_body: int = MAX_BODY,
        max_answer: int = MAX_ANSWER,
        keep_answers_mb: int = 64,
    ):
        # The query workers start first, their fork server loading the store (once for all of them). This
        # process loads its own copy (entity pages, VoID and the rest wait for it: `loaded`) in a thread at the
        # lowest priority, so it takes only a core nothing else wants and never delays the workers' load
        # (1M: 19 s to /sparql with both loads at once). Entity descriptions are made per request.
        self.dist = Path(dist)
        self._loading: Future[Loaded] = Future()
        threading.Thread(target=self._load, name="pledgegraph-load", daemon=True).start()
        with ThreadPoolExecutor(1, thread_name_prefix="pledgegraph-start") as starter:
            starting = starter.submit(
                QueryPool,
                dist,
                workers=workers,
                timeout=timeout,
                max_rows=max_rows,
                max_bytes=max_answer,
                queries_dir=queries_dir,
                answers_mb=keep_answers_mb,
            )
            try:
                self.max_body, self.max_answer = max_body, max_answer
                self.examples = examples(queries_dir) if Path(queries_dir).is_dir() else []
                self.names = Index.load(dist)
            except BaseException:
                starting.add_done_callback(lambda started: started.exception() or started.result().close())
                raise
            self.pool = starting.result()
        self.base = self.pool.base
        self.modified = int((self.dist / DATASET_FILE).stat().st_mtime)  # when this build was written: Last-Modified

    def _load(self) -> None:
        if sys.platform == "linux":  # where a thread has a priority of its own (elsewhere the id is no process's)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        try:
            self._loading.set_result(load(self.dist))
        except BaseException as e:  # the workers loaded the same file: only a change under us gets here
            self._loading.set_exception(e)

    @property
    def loaded(self) -> Loaded:
        """This process's own store of the build, once the start-up thread has loaded it."""
        return self._loading.result()

    @cached_property
    def graph_sizes(self) -> dict[str, int]:
        return {name: self._graph_size(name) for name in GRAPH_NAMES}

    def _graph_size(self, name: str) -> int:
        count = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph_iri(self.base, name)}> {{ ?s ?p ?o }} }}"
        return int(next(iter(self.loaded.store.query(count)))["n"].value)

    def close(self) -> None:
        self.pool.close()

    # -- dispatch -----------------------------------------------------------------------------

    def handle(
        self, method: str, target: str, headers, read_body: Callable[[int], bytes], client: str = ""
    ) -> Response:
        """The answer to one request, with the HTTP caching every GET and HEAD gets (`cached`)."""
        response = self._dispatch(method, target, headers, read_body, client)
        return cached(response, headers, self.modified) if method in ("GET", "HEAD") else response

    def _dispatch(
        self, method: str, target: str, headers, read_body: Callable[[int], bytes], client: str = ""
    ) -> Response:
        try:
            path, _, query_string = target.partition("?")
            path = urllib.parse.unquote(path)
            if method == "OPTIONS":  # a browser's CORS preflight before a cross-origin POST
                return Response(
                    204,
                    headers={
                        "Allow": "GET, HEAD, POST, OPTIONS",
                        "Access-Control-Allow-Methods": "GET, HEAD, POST",
                        "Access-Control-Allow-Headers": "Accept, Content-Type",
                        "Access-Control-Max-Age": "86400",
                    },
                )
            if method not in ("GET", "HEAD", "POST"):
                raise HttpError(
                    405, f"{method} is not supported: this service is read-only", {"Allow": "GET, HEAD, POST"}
                )
            if path == "/sparql":
                return self.sparql(method, query_string, headers, read_body, client)
            if lookup.handles(path):  # name search and the Reconciliation API
                host = headers.get("Host") or ""
                status, body, media_type = lookup.respond(
                    self.names,
                    f"http://{host if _HOST.fullmatch(host) else 'localhost'}",
                    method,
                    path,
                    query_string,
                    self._body(headers, read_body) if method == "POST" else b"",
                    headers.get("Accept") or "",
                )
                return Response(status, body, media_type, {"Vary": "Accept"} if path == "/search" else {})
            if method == "POST":
                raise HttpError(405, "POST is only accepted at /sparql and /reconcile", {"Allow": "GET, HEAD"})
            if path == "/":
                return Response(200, self.index_page().encode(), HTML)
            if ENTITY_PATH.fullmatch(path.rsplit(".", 1)[0]):
                return self.entity(path, headers.get("Accept"))
            if path.partition(".")[0] == "/ontology":
                return self.ontology(path, headers.get("Accept"))
            if path.startswith(("/vocab/", "/ontology/")) and self._in_ontology(self.base + path[1:]):
                return self.see_ontology(headers.get("Accept"))  # a concept, a scheme, an ontology version
            if path in self._void_subjects:  # the dataset, its release and its named graphs
                return self.see_void(headers.get("Accept"))
            if path == "/.well-known/void":
                return self.void(headers.get("Accept"), headers.get("Host"))
            raise HttpError(404, f"nothing at {path}: entities live at /id/<kind>/<id>, queries at /sparql")
        except (PledgegraphError, HttpError) as e:
            return Response(status_for(e), _error_text(status_for(e), e).encode(), headers=getattr(e, "headers", {}))

    # -- SPARQL protocol ----------------------------------------------------------------------

    def sparql(self, method: str, query_string: str, headers, read_body, client: str = "") -> Response:
        params = http1.form_fields(query_string)
        if method == "POST":
            content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
            body = self._body(headers, read_body)
            if content_type == "application/x-www-form-urlencoded":  # the URL's parameters count too
                params.update(http1.form_fields(_text(body)))  # (default-graph-uri…)
            elif content_type == "application/sparql-query":
                params["query"] = [_text(body)]
            elif content_type == "application/sparql-update":
                raise QueryRefused("updates are not accepted: this graph is read-only")
            else:
                raise HttpError(
                    415,
                    "send a query as application/sparql-query or as an "
                    "application/x-www-form-urlencoded form with query=…",
                )
        if "update" in params:
            raise QueryRefused("updates are not accepted: this graph is read-only")
        queries = params.get("query", [])
        if len(queries) > 1:
            raise HttpError(400, "give exactly one query= parameter")
        bindings = None
        if params.get("name") and not queries:  # a library query by name, with bind=VAR=VALUE parameters
            example = self._example(params["name"][0])
            queries, bindings = [example.text], bindings_for(example, params.get("bind", []), self.base)
        elif params.get("bind"):
            raise HttpError(400, "bind= goes with name= (a library query); put values in the query itself")
        table, graph = answer_formats(headers.get("Accept"), params.get("format", []) + params.get("output", []))
        vary = {"Vary": "Accept"}
        if not queries:
            if method == "POST":
                raise HttpError(400, "no query: send query=… (form) or the query as the body")
            if graph == "html":
                return Response(200, self.query_page().encode(), HTML, vary)
            if graph is None:
                raise HttpError(406, "this is RDF, available as " + ", ".join(list(_GRAPH_MEDIA_TYPES) + [HTML]))
            return Response(200, self.service_description(headers.get("Host"), graph), FORMATS[graph].media_type, vary)
        text = queries[0]
        options = {
            "default_graphs": params.get("default-graph-uri") or None,
            "named_graphs": params.get("named-graph-uri") or None,
            "bindings": bindings,
        }
        if table == "html" and graph == "html":
            # a page: the worker answers in JSON or Turtle, bounded so the page stays under the cap
            form, answer = self.pool.run(
                text, {"table": "json", "graph": "turtle"}, client, max_bytes=self.max_answer // 10, **options
            )
            if form in ("construct", "describe"):
                results = f"<pre>{escape(answer.decode())}</pre>"
            else:
                table_doc = json.loads(answer)
                names = answer_names(self.loaded, table_doc) if params.get("labels", [""])[0] else None
                results = self._results_html(table_doc, names)
            return Response(200, self.query_page(text, results).encode(), HTML, vary)
        table, graph = (None if table == "html" else table), (None if graph == "html" else graph)
        if table is None and graph is None:
            raise HttpError(
                406,
                "answers are available as "
                + ", ".join(list(RESULT_MEDIA_TYPES.values()) + list(_GRAPH_MEDIA_TYPES) + [HTML]),
            )
        form, answer = self.pool.run(text, {"table": table, "graph": graph}, client, **options)
        media_type = FORMATS[graph].media_type if form in ("construct", "describe") else RESULT_MEDIA_TYPES[table]
        return Response(200, answer, media_type, vary)

    def _example(self, name: str):
        known = {e.name: e for e in self.examples}
        if name not in known:
            raise HttpError(404, f"no library query named {name!r}; the library: " + ", ".join(sorted(known)))
        return known[name]

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
            raise HttpError(413, f"the request body is {length} bytes; at most {self.max_body} are accepted")
        return read_body(length)

    def service_description(self, host: str | None, fmt: str) -> bytes:
        """SPARQL 1.1 Service Description of this endpoint and its dataset."""
        root = f"http://{host if host and _HOST.fullmatch(host) else 'localhost'}/sparql"
        n = ox.NamedNode
        endpoint, dataset, default = n(root), n(root + "#dataset"), n(root + "#default-graph")
        rdf_type = n(RDF + "type")
        triples = [
            ox.Triple(endpoint, rdf_type, n(SD + "Service")),
            ox.Triple(endpoint, n(SD + "endpoint"), endpoint),
            ox.Triple(endpoint, n(SD + "supportedLanguage"), n(SD + "SPARQL11Query")),
            ox.Triple(endpoint, n(SD + "defaultDataset"), dataset),
            ox.Triple(dataset, rdf_type, n(SD + "Dataset")),
            ox.Triple(dataset, n(SD + "defaultGraph"), default),
            ox.Triple(default, rdf_type, n(SD + "Graph")),
            ox.Triple(
                default,
                n(DCTERMS + "description"),
                ox.Literal("The asserted and the inferred graphs together.", language="en"),
            ),
        ]
        triples += [ox.Triple(endpoint, n(SD + "resultFormat"), n(FORMATS_NS + f)) for f in _SD_FORMATS.values()]
        for name in GRAPH_NAMES:
            entry, graph = n(f"{root}#graph-{name}"), n(f"{root}#graph-{name}-content")
            triples += [
                ox.Triple(dataset, n(SD + "namedGraph"), entry),
                ox.Triple(entry, rdf_type, n(SD + "NamedGraph")),
                ox.Triple(entry, n(SD + "name"), n(graph_iri(self.base, name))),
                ox.Triple(entry, n(SD + "graph"), graph),
                ox.Triple(graph, rdf_type, n(SD + "Graph")),
                ox.Triple(
                    graph,
                    n(VOID + "triples"),
                    ox.Literal(str(self.graph_sizes[name]), datatype=n(PREFIXES["xsd"] + "integer")),
                ),
            ]
        return serialize(sorted(triples, key=str), fmt, {**PREFIXES, "sd": SD, "formats": FORMATS_NS})

    # -- the ontology ---------------------------------------------------------------------------

    def ontology(self, path: str, accept: str | None) -> Response:
        """/ontology: the ontology's documentation (the build's ontology.html) or its RDF (the
        ontology graph: terms and vocabularies), by suffix or by Accept."""
        _, dot, suffix = path.partition(".")
        if dot:
            fmt = "html" if suffix == "html" else getattr(by_suffix("." + suffix), "name", None)
            if fmt not in GRAPH_RESULT_FORMATS + ("html",):
                raise HttpError(
                    404,
                    f"no /ontology.{suffix}: use /ontology.html, "
                    + ", ".join("/ontology" + FORMATS[f].suffix for f in GRAPH_RESULT_FORMATS),
                )
        else:
            offers = [HTML] + _ONTOLOGY_OFFERS
            chosen = negotiate(accept, offers)
            if chosen is None:
                raise HttpError(406, "the ontology is available as " + ", ".join(offers), {"Vary": "Accept"})
            fmt = "html" if chosen == HTML else _GRAPH_MEDIA_TYPES[chosen]
        headers = {} if dot else {"Vary": "Accept"}
        if fmt == "html":
            page = self._ontology_page
            if not page.is_file():
                raise HttpError(404, "this build has no ontology.html: its RDF is at /ontology.ttl")
            return Response(200, page.read_bytes(), HTML, headers)
        graph = ox.NamedNode(graph_iri(self.base, "ontology"))
        triples = sorted(
            {
                ox.Triple(q.subject, q.predicate, q.object)
                for q in self.loaded.store.quads_for_pattern(None, None, None, graph)
            },
            key=str,
        )
        return Response(200, serialize(triples, fmt), FORMATS[fmt].media_type, headers)

    # -- the other IRIs of the data: vocabularies, the dataset, its graphs -----------------------

    def _in_ontology(self, iri: str) -> bool:
        """Whether the ontology document says anything of `iri` (a term, its version IRIs)."""
        graph, node = ox.NamedNode(graph_iri(self.base, "ontology")), ox.NamedNode(iri)
        return any(
            next(self.loaded.store.quads_for_pattern(s, None, o, graph), None) is not None
            for s, o in ((node, None), (None, node))
        )

    @property
    def _void_subjects(self) -> set[str]:
        return {"/dataset", f"/dataset/{self.info.version}"} | {f"/graph/{name}" for name in GRAPH_NAMES}

    def see_ontology(self, accept: str | None) -> Response:
        """303 to the ontology document in the format asked for (it holds the vocabularies)."""
        offers = ([HTML] if self._ontology_page.is_file() else []) + _ONTOLOGY_OFFERS
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise HttpError(
                406, "this IRI is described in the ontology, available as " + ", ".join(offers), {"Vary": "Accept"}
            )
        target = "/ontology" + (".html" if chosen == HTML else FORMATS[_GRAPH_MEDIA_TYPES[chosen]].suffix)
        return Response(303, f"see {target}\n".encode(), headers={"Location": target, "Vary": "Accept"})

    def see_void(self, accept: str | None) -> Response:
        """303 to the VoID description (RDF) or to the index page (HTML), as the release does."""
        offers = [HTML] + [FORMATS[f].media_type for f in GRAPH_RESULT_FORMATS]
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise HttpError(406, "this IRI is described by VoID, available as " + ", ".join(offers), {"Vary": "Accept"})
        target = "/" if chosen == HTML else "/.well-known/void"
        return Response(303, f"see {target}\n".encode(), headers={"Location": target, "Vary": "Accept"})

    def void(self, accept: str | None, host: str | None) -> Response:
        """VoID of the served dataset (`catalog.void_triples`, as the release's, without dumps), with
        this endpoint as its `void:sparqlEndpoint`; Turtle unless Accept asks for other RDF."""
        offers = [FORMATS[f].media_type for f in GRAPH_RESULT_FORMATS]
        chosen = negotiate(accept, offers)
        if chosen is None:
            raise HttpError(406, "VoID is available as " + ", ".join(offers), {"Vary": "Accept"})
        endpoint = f"http://{host if host and _HOST.fullmatch(host) else 'localhost'}/sparql"
        triples = self._void + [
            ox.Triple(
                ox.NamedNode(self.info.release_iri()), ox.NamedNode(VOID + "sparqlEndpoint"), ox.NamedNode(endpoint)
            )
        ]
        fmt = _GRAPH_MEDIA_TYPES[chosen]
        return Response(200, serialize(sorted(triples, key=str), fmt), FORMATS[fmt].media_type, {"Vary": "Accept"})

    @cached_property
    def _void(self) -> list[ox.Triple]:
        graphs = {
            name: [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in self.loaded.store.quads_for_pattern(None, None, None, ox.NamedNode(graph_iri(self.base, name)))
            ]
            for name in GRAPH_NAMES
        }
        data = sorted(set(map(str, graphs["asserted"])) | set(map(str, graphs["inferred"])))
        counts = catalog.Counts(data, self.base)
        return catalog.void_triples(self.info, counts, len(data), graphs, self.loaded.entities, [], [], None)

    @cached_property
    def info(self) -> DatasetInfo:
        graph = ox.NamedNode(graph_iri(self.base, "asserted"))
        return dataset_info(
            self.base,
            [
                ox.Triple(q.subject, q.predicate, q.object)
                for q in self.loaded.store.quads_for_pattern(None, None, None, graph)
            ],
        )

    @property
    def _ontology_page(self) -> Path:
        return self.dist / "ontology.html"

    # -- entities -----------------------------------------------------------------------------

    def entity(self, path: str, accept: str | None) -> Response:
        stem, dot, suffix = path.partition(".")
        iri = self.base + stem[1:]
        triples = describe(self.loaded, iri)
        if not triples:
            raise HttpError(404, f"no entity <{iri}> in this graph" + did_you_mean(self.loaded, iri))
        if dot:
            fmt = "html" if suffix == "html" else getattr(by_suffix("." + suffix), "name", None)
            if fmt not in GRAPH_RESULT_FORMATS + ("html",):
                raise HttpError(
                    404,
                    f"no .{suffix} representation: use .html, "
                    + ", ".join(FORMATS[f].suffix for f in GRAPH_RESULT_FORMATS),
                )
        else:
            offers = [HTML] + _ENTITY_OFFERS
            chosen = negotiate(accept, offers)
            if chosen is None:
                raise HttpError(406, f"<{iri}> is available as " + ", ".join(offers), {"Vary": "Accept"})
            fmt = "html" if chosen == HTML else _GRAPH_MEDIA_TYPES[chosen]
        headers = {"Vary": "Accept", "Link": f'<{iri}>; rel="canonical"'} if not dot else {}
        if fmt != "html":
            return Response(200, serialize(triples, fmt), FORMATS[fmt].media_type, headers)
        owner = entity_of(iri, self.base)
        if owner != iri:  # a node inside a record: its page is the record's
            target = self.link(owner) + (".html" if dot else "")
            return Response(303, f"see {target}\n".encode(), headers={"Location": target})
        html = pages.render_entity(
            self.loaded.store, iri, self.base, self.link, alternates=pages.alternates_for(stem), home="/"
        )
        return Response(200, html.encode(), HTML, headers)

    def link(self, iri: str) -> str:
        """Entity IRIs under the base are served here; anything else is linked as it is."""
        return "/" + iri[len(self.base) :] if entity_ref(iri, self.base) is not None else iri

    # -- HTML ---------------------------------------------------------------------------------

    def index_page(self) -> str:
        intro = (
            "<p>A cited linked-data graph of militant organizations, provinces, leaders and pledges of "
            'allegiance. Ask it anything at <a href="/sparql">/sparql</a>; reconcile names with it '
            '(OpenRefine) at <a href="/reconcile">/reconcile</a>.</p>' + lookup.SEARCH_FORM
        )
        return pages.render_index(self.loaded.store, self.base, self.link, intro=intro)

    def query_page(self, text: str = "", results: str = "") -> str:
        """A form that works with no script and no network; results, when given, below it."""
        if not text:
            text = (
                self.examples[0].text
                if self.examples
                else "SELECT ?s ?label WHERE {\n  ?s skos:prefLabel ?label\n} LIMIT 20"
            )
        options = "".join(
            f'<option value="{f}">{f}</option>'
            for f in ("html", "json", "xml", "csv", "tsv", "turtle", "ntriples", "jsonld", "rdfxml")
        )
        links = "".join(
            f'<li><a href="/sparql?{escape(urllib.parse.urlencode({"query": e.text, "format": "html"}))}">'
            f"{escape(e.name)}</a> {escape(e.title)}</li>"
            for e in self.examples
        )
        prefixes = " ".join(f"<code>{escape(p)}:</code>" for p in PREFIXES)
        body = (
            "<h1>SPARQL</h1>"
            '<form method="post" action="/sparql" accept-charset="utf-8">'
            f'<textarea name="query" rows="14" style="width:100%;font-family:monospace">{escape(text)}</textarea>'
            f'<p><label>Answer as <select name="format">{options}</select></label> '
            '<label><input type="checkbox" name="labels" value="1"> names beside IRIs</label> '
            '<button type="submit">Run</button></p></form>'
            f'<p class="muted">Predeclared prefixes: {prefixes}. The default graph holds the asserted and '
            "inferred facts; each query has a time limit and a size cap.</p>"
            + (f"<h2>Answer</h2>{results}" if results else "")
            + (f"<h2>Examples</h2><ul>{links}</ul>" if links else "")
        )
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>pledgegraph SPARQL</title><style>{pages.CSS}</style></head>"
            f'<body><header><a href="/">pledgegraph</a></header><main>{body}</main></body></html>\n'
        )

    def _results_html(self, answer: dict, names: dict[str, str] | None = None) -> str:
        if "boolean" in answer:
            return f"<p>{'true' if answer['boolean'] else 'false'}</p>"
        variables = answer["head"]["vars"]
        rows = answer["results"]["bindings"]
        head = "".join(f"<th>?{escape(v)}</th>" for v in variables)
        body = "".join(
            "<tr>" + "".join(f"<td>{self._term_html(row.get(v), names)}</td>" for v in variables) + "</tr>"
            for row in rows
        )
        return f'<p class="muted">{len(rows)} row(s)</p><table><tr>{head}</tr>{body}</table>'

    def _term_html(self, term: dict | None, names: dict[str, str] | None = None) -> str:
        if not term:
            return ""
        value = term["value"]
        if term["type"] == "uri" and _LINKABLE.match(value) and names is not None:  # `labels=1`: KIND/ID or
            # prefixed name, and the name
            name = f' <span class="muted">{escape(names[value])}</span>' if value in names else ""
            return f'<a href="{escape(self.link(value))}">{escape(prefixed(value, self.base))}</a>{name}'
        if term["type"] == "uri" and _LINKABLE.match(value):
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


class Server:
    """`App` over HTTP/1.1 (`http1`) on a socket bound at construction (so `server_address` is known)."""

    def __init__(self, address, app: App, log: Callable[[str], None] | None = None):
        self.app = app
        host, port = address
        self.socket = socket.create_server(
            (host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET, backlog=BACKLOG
        )
        self.server_address = self.socket.getsockname()
        limits = http1.Limits(
            max_headers=MAX_HEADERS,
            max_body=app.max_body,
            header_seconds=HEADER_SECONDS,
            body_seconds=BODY_SECONDS,
            send_seconds=SEND_SECONDS,
            max_per_client=MAX_PER_CLIENT,
            max_active=MAX_ACTIVE,
        )
        self.http = http1.Http1(app.handle, limits, log)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()

    def serve_forever(self) -> None:
        with asyncio.Runner(loop_factory=http1.new_event_loop) as runner:
            runner.run(self._serve())

    async def _serve(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        self._started.set()
        try:
            await self.http.serve(self.socket, BACKLOG, self._stop)
        finally:  # close the workers now: requests still waiting for one give up at once, so the
            self.app.close()  # threads they hold end before the event loop waits for them

    def shutdown(self) -> None:
        if self._started.wait(10) and self._loop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)

    def server_close(self) -> None:
        self.socket.close()
        self.http.executor.shutdown(wait=False, cancel_futures=True)
        self.app.close()


def make_server(
    dist: Path,
    queries_dir: Path,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    log: Callable[[str], None] | None = None,
    **limits,
) -> Server:
    """A ready server (workers started, socket bound); call `serve_forever()`, then `server_close()`."""
    app = App(dist, queries_dir, **limits)
    try:
        return Server((host, port), app, log)
    except OSError:
        app.close()
        raise
