"""The HTTP side of finding entities, for `serve`: `/search` (HTML or JSON) and `/reconcile`
(the Reconciliation Service API 0.2 of `reconcile.py`, as OpenRefine calls it).

`respond` turns a request into (status, body, media type); `serve.App` routes these paths here.
"""

from __future__ import annotations

import json
import urllib.parse
from html import escape

from pledgegraph.delivery.endpoint.reconcile import DEFAULT_LIMIT, Service
from pledgegraph.delivery.release import pages
from pledgegraph.delivery.search import Index, hit_json, kind_named
from pledgegraph.errors import UnusableInput

JSON, HTML = "application/json", "text/html"
PATHS = ("/search", "/reconcile")
SEARCH_FORM = (
    '<form action="/search" method="get" role="search"><label>Find an entity by any of its names: '
    '<input name="q" type="search" required></label> <button>Search</button></form>'
)


def handles(path: str) -> bool:
    return path in PATHS or path.startswith("/reconcile/")


def respond(
    index: Index, root: str, method: str, path: str, query_string: str, body: bytes = b"", accept: str = ""
) -> tuple[int, bytes, str]:
    """The answer to a GET (or, for /reconcile, a form POST) at one of `PATHS`."""
    try:  # the request line arrives decoded as Latin-1; a client may have sent raw UTF-8 in it
        query_string = query_string.encode("latin-1").decode("utf-8")
    except UnicodeError:
        pass
    params = {k: v[-1] for k, v in urllib.parse.parse_qs(query_string, keep_blank_values=True).items()}
    if method == "POST":
        params.update({k: v[-1] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace")).items()})
    try:
        if path == "/search":
            return _search(index, params, accept)
        return _reconcile(Service(index, root), path, params)
    except (ValueError, UnusableInput) as e:
        return 400, f"400 Bad Request: {e}\n".encode(), "text/plain"


def _json(value) -> tuple[int, bytes, str]:
    return 200, json.dumps(value, ensure_ascii=False, sort_keys=True).encode(), JSON


def _search(index: Index, params: dict, accept: str) -> tuple[int, bytes, str]:
    text = params.get("q", "")
    kinds = [kind_named(k) for k in params.get("kind", "").split(",") if k]
    hits = index.search(text, kinds, params.get("lang", ""), _limit(params)) if text.strip() else []
    wants_json = params.get("format") == "json" or (
        params.get("format") != "html" and JSON in accept and HTML not in accept
    )
    if wants_json:
        return _json({"query": text, "hits": [hit_json(h) for h in hits]})
    rows = "".join(
        f'<li><a href="/{escape(h.entity.iri[len(index.base) :])}">{escape(h.entity.label)}</a> '
        f"({escape(h.entity.kind)}, score {h.score:.0f})"
        + (f": matched <q>{escape(h.name)}</q> [{escape(h.lang)}]" if h.name != h.entity.label else "")
        + (f"<br><small>{escape(h.entity.description)}</small>" if h.entity.description else "")
        + "</li>"
        for h in hits
    )
    form = SEARCH_FORM.replace("required>", f'required value="{escape(text)}">')
    found = f"<ol>{rows}</ol>" if hits else ("<p>No entity has a name like that.</p>" if text else "")
    return 200, pages.page(f"Search: {text}" if text else "Search", form + found, home="/").encode(), HTML


def _limit(params: dict) -> int:
    try:
        return max(1, min(int(params.get("limit", DEFAULT_LIMIT)), 100))
    except ValueError:
        raise ValueError("limit must be a number") from None


def _loads(text: str, what: str):
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"{what} is not JSON") from None


def _reconcile(service: Service, path: str, params: dict) -> tuple[int, bytes, str]:
    if path == "/reconcile":
        if "queries" in params:
            return _json(service.reconcile_batch(_loads(params["queries"], "queries")))
        if "query" in params:  # a single query: a JSON object or plain text
            text = params["query"]
            query = _loads(text, "query") if text.lstrip().startswith("{") else {"query": text}
            return _json({"result": service.reconcile(query)})
        if "extend" in params:
            return _json(service.extend(_loads(params["extend"], "extend")))
        return _json(service.manifest())
    if path == "/reconcile/preview":
        html = service.preview(params.get("id", ""))
        if html is None:
            return 404, f"404 Not Found: no entity {params.get('id', '')!r}\n".encode(), "text/plain"
        return 200, html.encode(), HTML
    types = [t for t in params.get("type", "").split(",") if t]
    if path == "/reconcile/suggest/entity":
        return _json(service.suggest_entities(params.get("prefix", ""), types, _limit(params)))
    if path == "/reconcile/suggest/type":
        return _json(service.suggest_types(params.get("prefix", "")))
    if path == "/reconcile/suggest/property":
        return _json(service.suggest_properties(params.get("prefix", "")))
    if path == "/reconcile/properties":
        return _json(service.propose_properties(params.get("type", ""), _limit(params)))
    return 404, f"404 Not Found: nothing at {path}\n".encode(), "text/plain"
