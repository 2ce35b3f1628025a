"""What a query probably got wrong, told to the person who wrote it.

A misspelt term or a pattern the data never matches makes SPARQL return 0 rows and nothing else.
`unknown_terms` names every term of the query that appears nowhere in the dataset (ontology,
asserted, inferred), with the closest known term; `why_empty` finds, for a query that returned
nothing, the first triple pattern that matches nothing alone, or the first one that matches
nothing together with those before it. Both are advice printed beside the answer, never errors:
the query still ran as written.
"""

from __future__ import annotations

import difflib
import logging
import re

import pyoxigraph as ox

from pledgegraph.delivery.endpoint.store import (
    Loaded,
    Query,
    _expand,
    _tokens,
    _unescape,
    declared_prefixes,
    prefix_declarations,
)
from pledgegraph.model.iris import entity_ref
from pledgegraph.model.vocab import PG, PGV, PREFIXES, XSD

_LOCAL_ESCAPE = re.compile(r"\\([_~.\-!$&'()*+,;=/?#@%])")  # a prefixed name's escaped characters
# Namespaces whose terms are ours: an unknown one there is "not a term of the ontology".
_OWN = {PG: "the ontology", PGV: "the vocabularies"}


def known_iris(loaded: Loaded) -> frozenset[str]:
    """Every IRI the dataset mentions, in any graph and position."""
    found: set[str] = set()
    for q in (
        "SELECT DISTINCT ?t WHERE { GRAPH ?g { ?t ?p ?o } }",
        "SELECT DISTINCT ?t WHERE { GRAPH ?g { ?s ?t ?o } }",
        "SELECT DISTINCT ?t WHERE { GRAPH ?g { ?s ?p ?t } FILTER isIRI(?t) }",
    ):
        found.update(row[0].value for row in loaded.store.query(q) if isinstance(row[0], ox.NamedNode))
    return frozenset(found)


def unknown_terms(loaded: Loaded, query: Query) -> list[str]:
    """One warning per IRI or prefixed name of the query that the dataset never mentions."""
    tokens = _tokens(_unescape(query.text))
    prefixes = declared_prefixes(tokens)
    skip = {i + n for i in prefix_declarations(tokens) for n in (1, 2)}
    skip |= {
        i + 1
        for i, (kind, value) in enumerate(tokens)
        if kind == "word" and value.upper() in ("FROM", "BASE", "GRAPH", "NAMED")
    }
    known = None
    warnings, seen = [], set()
    for i, (kind, value) in enumerate(tokens):
        if i in skip or kind not in ("iri", "pname"):
            continue
        iri = value[1:-1] if kind == "iri" else _expand(_LOCAL_ESCAPE.sub(r"\1", value), prefixes)
        if not iri or iri in seen or iri.startswith(XSD) or not re.match(r"https?://", iri):
            continue
        seen.add(iri)
        if _mentioned(loaded.store, iri):
            continue
        if known is None:
            known = known_iris(loaded)
        near = _closest(iri, known)
        shown = _short(iri, prefixes) if kind == "iri" else value
        owner = next((what for ns, what in _OWN.items() if iri.startswith(ns)), None)
        if owner is None and entity_ref(iri, loaded.base) is not None:
            owner = "the graph (no such entity)"
        where = f"is not a term of {owner}" if owner else "appears nowhere in the dataset"
        hint = f"; did you mean `{_short(near, prefixes)}`?" if near else ""
        warnings.append(f"`{shown}` {where}{hint}")
    return warnings


def _mentioned(store: ox.Store, iri: str) -> bool:
    """Whether any graph has `iri` as subject, predicate or object: three index lookups."""
    node = ox.NamedNode(iri)
    return any(
        next(iter(store.quads_for_pattern(*pattern)), None) is not None
        for pattern in ((node, None, None), (None, node, None), (None, None, node))
    )


def _closest(iri: str, known: frozenset[str]) -> str | None:
    """The known IRI in the same namespace nearest to `iri`: same letters ignoring case first."""
    ns = re.match(r".*[#/]", iri).group()
    local = iri[len(ns) :]
    same_ns = {k[len(ns) :]: k for k in known if k.startswith(ns) and "/" not in k[len(ns) :].strip("/")}
    for name, full in same_ns.items():
        if name.lower() == local.lower():
            return full
    near = difflib.get_close_matches(local, list(same_ns), n=1, cutoff=0.7)
    if not near:
        lowered = {n.lower(): n for n in same_ns}
        near = [lowered[m] for m in difflib.get_close_matches(local.lower(), list(lowered), n=1, cutoff=0.7)]
    return same_ns[near[0]] if near else None


def _short(iri: str, prefixes: dict[str, str]) -> str:
    """A prefixed name as a query would spell it (`pgv:role\\/leader`), or <iri>."""
    for prefix, ns in sorted(prefixes.items(), key=lambda kv: -len(kv[1])):
        local = iri[len(ns) :]
        if iri.startswith(ns) and re.fullmatch(r"[\w-]+(/[\w-]+)*", local):
            return f"{prefix}:{local.replace('/', chr(92) + '/')}"
    return f"<{iri}>"


# -- an empty answer ---------------------------------------------------------------------------


def required_patterns(text: str) -> list[tuple[object, tuple]]:
    """The triple patterns every answer row must match, in query order, each with the GRAPH it
    sits in (None for the default graph): OPTIONAL parts and MINUS are left out."""
    from rdflib import Graph
    from rdflib.namespace import NamespaceManager
    from rdflib.plugins.sparql.algebra import translateQuery
    from rdflib.plugins.sparql.parser import parseQuery

    logging.getLogger("rdflib.term").setLevel(logging.ERROR)  # its "not a valid URI" on pgv:role\/leader
    manager = NamespaceManager(Graph(bind_namespaces="none"))
    for prefix, ns in PREFIXES.items():
        manager.bind(prefix, ns, override=True)
    algebra = translateQuery(parseQuery(text), initNs=PREFIXES).algebra
    found: list = []

    def walk(node, graph):
        name = getattr(node, "name", None)
        if name is None:
            return
        if name == "BGP":
            found.extend((graph, t) for t in node.triples)
            return
        if name == "Graph":
            walk(node.p, node.term)
            return
        for key in ("p", "p1") + (("p2",) if name not in ("LeftJoin", "Minus") else ()):
            child = node.get(key) if hasattr(node, "get") else None
            if child is not None:
                walk(child, graph)

    walk(algebra, None)
    return [(g, t, manager) for g, t in found]


def why_empty(loaded: Loaded, query: Query, *, asserted_only: bool = False) -> list[str]:
    """Which triple pattern of a query that returned nothing matches nothing (alone, or together
    with the patterns before it); or that the patterns match and a FILTER, VALUES or a bound
    value removed every row."""
    try:
        return _why_empty(loaded, query, asserted_only)
    except Exception:  # rdflib reads a query Oxigraph accepted differently: no advice, no failure
        return []


def _why_empty(loaded: Loaded, query: Query, asserted_only: bool) -> list[str]:
    patterns = required_patterns(query.text)
    if not patterns:
        return []
    bound = dict(query.bindings)
    options = {"prefixes": PREFIXES, "default_graph": loaded.default_graphs(asserted_only)}
    if query.own_dataset:
        options.pop("default_graph")

    def text_of(graph, triple, manager, sparql: bool) -> str:
        terms = []
        for term in triple:
            name = str(term)
            if type(term).__name__ == "Variable":
                terms.append(bound.get(name, f"?{name}") if sparql else f"?{name}")
            elif type(term).__name__ == "Literal":
                terms.append(term.n3() if sparql else term.n3(manager))
            elif type(term).__name__ == "URIRef":  # rdflib keeps a name's escapes (pgv:role\/leader) in it
                iri = _LOCAL_ESCAPE.sub(r"\1", str(term))
                terms.append(f"<{iri}>" if sparql else _short(iri, PREFIXES))
            else:  # a property path
                terms.append(_LOCAL_ESCAPE.sub(r"\1", term.n3() if sparql else term.n3(manager)))
        body = " ".join(terms)
        if graph is not None:
            g = graph.n3() if sparql else graph.n3(manager)
            body = f"GRAPH {bound.get(str(graph), g) if type(graph).__name__ == 'Variable' else g} {{ {body} }}"
        return body

    def matches(parts: list[str]) -> bool:
        return bool(loaded.store.query("ASK { " + " . ".join(parts) + " }", **options))

    shown = [text_of(g, t, m, False) for g, t, m in patterns]
    asked = [text_of(g, t, m, True) for g, t, m in patterns]
    lonely = [i for i, part in enumerate(asked) if not matches([part])]
    if lonely:
        return [
            f"0 rows: the pattern `{shown[i]}`{_line(query.text, patterns[i][1])} matches nothing"
            + (" in the graph" if not bound else " with the bound values")
            for i in lonely[:3]
        ]
    for k in range(2, len(asked) + 1):
        if not matches(asked[:k]):
            return [
                f"0 rows: every pattern matches alone, but `{shown[k - 1]}`"
                f"{_line(query.text, patterns[k - 1][1])} matches nothing together with the patterns before it"
            ]
    what = ", ".join(f"?{v}" for v in bound)
    return [
        "0 rows: every triple pattern matches, together too; "
        + (f"a FILTER, VALUES or the bound value of {what}" if what else "a FILTER or VALUES")
        + " removes every row"
        + " (undated facts have no pg:validFrom/pg:dateEarliest: OPTIONAL the date and test !BOUND)"
    ]


def _line(text: str, triple) -> str:
    """' (line N)' for the first line naming the pattern's predicate, when one does."""
    predicate = triple[1]
    if type(predicate).__name__ != "URIRef":
        return ""
    local = re.split(r"[#/]", str(predicate))[-1]
    for n, line in enumerate(text.splitlines(), start=1):
        if re.search(rf"[:<#/]{re.escape(local)}\b", line.split("#")[0] if not line.lstrip().startswith("<") else line):
            return f" (line {n})"
    return ""
