"""HTML pages for people: one entity, or an index of all of them, rendered from a pyoxigraph Store.

The same renderer serves the static release and the HTTP server: callers pass `link`, which maps
an entity IRI to the href to use from the page being rendered (relative file paths for a static
site, server paths for `serve`). Every fact is shown with its sources, the verbatim quote and who
in the source said it, so a reader can check it without leaving the page. Pages are
self-contained (inline CSS, no scripts, no external assets) and deterministic: everything is sorted.

The store may hold the data in its default graph or in named graphs (asserted, inferred,
ontology): lookups read every graph. Labels for classes, properties and concepts come from the
ontology when it is loaded, otherwise from the IRI's local name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from html import escape
from itertools import chain
from typing import Any, Callable, Iterable, Sequence

import pyoxigraph as ox

from pledgegraph.model import schema
from pledgegraph.model.formats import FORMATS
from pledgegraph.model.iris import (
    SEGMENT_KIND,
    Owners,
    entity_iri_filter,
    is_below,
    is_entity,
    segment_and_slug,
)
from pledgegraph.model.vocab import DCTERMS, OA, ORG, OWL, PG, PGV, PREFIXES, PROV, RDF, RDFS, SKOS, TIME

Link = Callable[[str], str]

# Predicates shown in their own sections (names, sources), or that only repeat what those show.
_HIDDEN = {
    RDF + "type",
    PG + "citation",
    PROV + "wasDerivedFrom",
    PROV + "qualifiedDerivation",
    PG + "nameAttestation",
    SKOS + "prefLabel",
    SKOS + "altLabel",
    RDFS + "label",
    OWL + "sameAs",
    PG + "quoteText",
    # subordination over time has its own section; one-hop date bounds repeat the dates shown
    PG + "subordinateIn",
    PG + "superiorIn",
    PG + "intermediateIn",
    *(
        PG + p
        for p in (
            "startEarliest",
            "startLatest",
            "endEarliest",
            "endLatest",
            "validFrom",
            "validUntil",
            "dateEarliest",
            "dateLatest",
        )
    ),
    # a curator's possible identities have their own section, marked as such
    PG + "possiblySameAs",
    PG + "possibleIdentity",
}
# Classes every fact (or event) has beside the one that says what it is.
_GENERIC_TYPES = {PG + "Fact", PG + "Occurrence"}
# Incoming links that mean "this document is cited by": listed once per citing entity.
_CITING = {PG + "source", PROV + "wasDerivedFrom", OA + "hasSource"}
# Incoming links that are bookkeeping (reification, annotations), not relations.
_REIFYING = {PG + "claimSubject", PG + "claimObject", OA + "hasBody", OWL + "sameAs"}
_LABELS = (SKOS + "prefLabel", RDFS + "label", DCTERMS + "title")
# Words for reused terms whose own name reads badly on a page (others: their name, split into words).
_TERM_LABELS = {
    PROV + "entity": "source document",
    OA + "hasBody": "supports",
    OA + "hasTarget": "target",
    OA + "hasSource": "in document",
    OA + "hasSelector": "selected by",
    OA + "motivatedBy": "purpose",
    OA + "identifying": "identifying the fact",
    PROV + "wasAttributedTo": "attributed to",
    PROV + "atLocation": "at",
    RDF + "subject": "about",
    RDF + "predicate": "property",
    RDF + "object": "value",
    # SKOS's own labels (names are hidden on entity pages, but the changes page lists them)
    SKOS + "prefLabel": "preferred label",
    SKOS + "altLabel": "alternative label",
    SKOS + "hiddenLabel": "hidden label",
    RDFS + "label": "label",
}

CSS = """
body{font:16px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#222}
a{color:#0645ad}header{border-bottom:1px solid #ccc;margin-bottom:1rem}
h1{margin:.2rem 0 .5rem}h2{border-bottom:1px solid #eee;margin-top:2rem}
.kind{color:#666;text-transform:uppercase;font-size:.8rem;letter-spacing:.05em}
.lang,.muted{color:#777;font-size:.85em}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}
dt{font-weight:600}dd{margin:0}ul.cites{margin:.2rem 0 .6rem;padding-left:1.2rem;font-size:.9em}
blockquote{margin:.2rem 0;padding:.1rem .6rem;border-left:3px solid #c9d3e6;background:#f6f8fc}
.struct{border:1px solid #e3e3e3;border-radius:4px;padding:.4rem .7rem;margin:.3rem 0}
table{border-collapse:collapse}td,th{padding:.2rem .6rem;border-bottom:1px solid #eee;text-align:left;vertical-align:top}
figure{margin:1rem 0;overflow-x:auto}figure svg{max-width:100%;height:auto}nav.alt a{margin-right:.6rem}
"""  # noqa: E501  (one CSS rule a line)


# -- IRIs and lookups --------------------------------------------------------------------------


def entity_iris(store: ox.Store, base: str) -> list[str]:
    """Every entity that has a type in the store, sorted. Oxigraph keeps the subjects shaped like an entity's
    IRI (one `segment/slug` in the entity space) and drops repeats: Python then sees ~19,000 IRIs at 1M,
    not the ~700,000 `rdf:type` triples (1.8 s → 0.5 s of a publish, while the dumps' child starts)."""
    query = f"SELECT DISTINCT ?s WHERE {{ ?s a ?type {entity_iri_filter('s', base)} }}"
    found = (s.value for (s,) in store.query(query, use_default_graph_as_union=True))
    return sorted(iri for iri in found if is_entity(iri, base))


def label_of(store: ox.Store, iri: str, base: str) -> str:
    """The label pages show for an IRI (English preferred label, any label, title, or its id)."""
    return _Graph(store, base, str).label(iri)


class _Index:
    """Every triple of a store read once into dictionaries: a node's values by property.

    A release renders every page, so its lookups (several per node on each page) are dictionary
    reads instead of store scans that each make new terms; answers are sorted once, when first asked.
    Links into a node are not indexed (a third of the time to make it, mostly `rdf:type` links into classes
    no page asks about): `_Graph.incoming` and `subjects` ask the store, for the few nodes each page shows."""

    def __init__(self, triples: Iterable):
        # node -> property -> its values: a list until `objects` sorts it into a tuple
        self.out: dict[str, dict[str, Any]] = {}
        iris: dict = {}  # one object per IRI, however many triples name it (each read makes a new one)
        node, by_property = None, {}
        for t in triples:
            s = t.subject
            if not isinstance(s, ox.NamedNode):
                continue
            subject = s.value
            if subject != node:  # the triples come grouped by subject: one lookup a run
                node = subject
                by_property = self.out.get(subject)  # type: ignore[assignment]
                if by_property is None:
                    by_property = self.out[subject] = {}
            o = t.object
            if type(o) is ox.NamedNode:  # literals are seldom repeated: not worth a lookup each
                o = iris.setdefault(o, o)
            p = t.predicate.value
            values = by_property.get(p)
            if values is None:
                by_property[p] = [o]
            else:
                values.append(o)

    def objects(self, s: str, p: str) -> Sequence:
        """The values of `s`'s property `p`, sorted: the list the index holds is replaced by its sorted tuple
        the first time it is asked for (a page asks ~100 times, the same pairs again on other pages)."""
        by_property = self.out.get(s)
        found = by_property.get(p) if by_property is not None else None
        if found is None:
            return ()
        if type(found) is list:  # most (node, property) pairs have one value: nothing to sort, no key to make
            found = by_property[p] = (found[0],) if len(found) == 1 else _sorted_terms(found)
        return found

    def properties(self, s: str) -> list[str]:
        return sorted(self.out.get(s, ()))

    def values(self, s: str) -> Iterable:
        return chain.from_iterable(self.out.get(s, {}).values())

    def entities(self, owners: Owners) -> list[str]:
        """`entity_iris` of the indexed triples: the subjects with a type that are entities, sorted (at 1M, 1 s of
        store scan less; each subject's entity is then known to `owners`, for the descriptions and the change set)."""
        rdf_type = RDF + "type"
        return sorted(s for s, by_property in self.out.items() if rdf_type in by_property and owners[s] == s)


class _Graph:
    """Read-only views over every graph of a store, deduplicated and sorted: `objects` and `properties` scan
    the store, unless an `_Index` is given, whose own methods then answer instead; `incoming` and `subjects`
    scan the store (a page asks them of its few nodes)."""

    def __init__(
        self, store: ox.Store, base: str, link: Link, index: _Index | None = None, owners: Owners | None = None
    ):
        self.store = store
        self.base = base
        self.link = link
        self.index = index
        self._label_cache: dict[str, str] = {}
        self._kind_cache: dict[str, str] = {}
        self.entity_links: dict[str, str] = {}  # entity -> its link's HTML (`_entity_link`)
        self.owners = Owners(base) if owners is None else owners
        self.related: dict[str, _Related] = {}  # record -> its row in other pages' "Related" tables
        if index is not None:  # the index answers directly (the pages ask ~100 times a page); else the store
            self.objects = index.objects  # type: ignore[method-assign]
            self.properties = index.properties  # type: ignore[method-assign]
            self.values = index.values  # type: ignore[method-assign]

    def objects(self, s: str, p: str) -> Sequence:
        return _sorted_terms([q.object for q in self.store.quads_for_pattern(ox.NamedNode(s), ox.NamedNode(p), None)])

    def properties(self, s: str) -> list[str]:
        return sorted({q.predicate.value for q in self.store.quads_for_pattern(ox.NamedNode(s), None, None)})

    def values(self, s: str) -> Iterable:
        """The values of all `s`'s properties, unsorted, repeats kept (the pictures follow a fact's links)."""
        return (q.object for q in self.store.quads_for_pattern(ox.NamedNode(s), None, None))

    def incoming(self, o: str) -> list[tuple[str, str]]:
        found = {
            (q.subject.value, q.predicate.value)
            for q in self.store.quads_for_pattern(None, None, ox.NamedNode(o))
            if isinstance(q.subject, ox.NamedNode)
        }
        return sorted(found)

    def subjects(self, p: str, o: str) -> list[str]:
        """The nodes whose property `p` has the value `o`, sorted (`incoming` of one property: fewer links
        to read, every node below a record having one from its parent)."""
        found = {
            q.subject.value
            for q in self.store.quads_for_pattern(None, ox.NamedNode(p), ox.NamedNode(o))
            if isinstance(q.subject, ox.NamedNode)
        }
        return sorted(found)

    def value(self, s: str, p: str):
        values = self.objects(s, p)
        return values[0] if values else None

    def types(self, s: str) -> list[str]:
        return [t.value for t in self.objects(s, RDF + "type") if isinstance(t, ox.NamedNode)]

    def label(self, iri: str) -> str:
        """A human label: English preferred label, any label, title, or the IRI's local name."""
        if iri not in self._label_cache:
            self._label_cache[iri] = self._find_label(iri)
        return self._label_cache[iri]

    def _find_label(self, iri: str) -> str:
        for p in _LABELS:
            literals = [o for o in self.objects(iri, p) if isinstance(o, ox.Literal)]
            if literals:
                english = [o for o in literals if (o.language or "").startswith("en")]
                return (english or literals)[0].value
        if self.owner(iri) == iri:  # an entity
            return segment_and_slug(iri, self.base)[1]  # curator-chosen ids read well as they are
        if iri in _TERM_LABELS:
            return _TERM_LABELS[iri]
        name = re.split(r"[/#]", iri.rstrip("/#"))[-1].replace("-", " ")
        if _in_vocabulary(iri):  # hasSubOrganization -> has sub organization
            return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).lower()
        return name

    def owner(self, iri: str) -> str | None:
        """`entity_of(iri)`, remembered: a page asks it of every node linking to its entity, and of every
        value it shows (is it an entity?)."""
        return self.owners[iri]

    def entities(self) -> list[str]:
        """Every entity that has a type, sorted: from the index when there is one, else the store's."""
        return self.index.entities(self.owners) if self.index is not None else entity_iris(self.store, self.base)

    def kind_label(self, iri: str) -> str:
        """The label of a node's kind (remembered: the "Related" tables ask it of every related record)."""
        found = self._kind_cache.get(iri)
        if found is None:
            found = self._kind_cache[iri] = self._find_kind_label(iri)
        return found

    def _find_kind_label(self, iri: str) -> str:
        if self.owner(iri) == iri:
            kind = SEGMENT_KIND[segment_and_slug(iri, self.base)[0]]
            return self.label(PG + kind.cls.split(":", 1)[1])
        pg_types = [t for t in self.types(iri) if t.startswith(PG)]
        specific = [t for t in pg_types if t not in _GENERIC_TYPES] or pg_types
        return self.label(specific[0]) if specific else ""


def _in_vocabulary(iri: str) -> bool:
    """A term of one of the vocabularies we use (as opposed to a web page or document IRI)."""
    return any(iri.startswith(ns) and len(iri) > len(ns) for ns in PREFIXES.values())


def _term_key(term) -> tuple:
    """Sort nested nodes numerically (`…/name/2` before `…/name/10`), everything else as text."""
    return _text_key(str(term))


def _sorted_terms(terms: list) -> tuple:
    """The distinct terms, sorted by `_term_key`: the keys made by C loops (`map`, the cache's hits), not a
    Python call a term."""
    if len(terms) < 2:
        return tuple(terms)
    distinct = list(set(terms))
    keys = list(map(_text_key, map(str, distinct)))
    return tuple(distinct[i] for i in sorted(range(len(distinct)), key=keys.__getitem__))


@lru_cache(maxsize=1 << 16)
def _text_key(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part for part in _DIGITS.split(text))


_DIGITS = re.compile(r"(\d+)")


# -- rendering ---------------------------------------------------------------------------------


def page_graph(
    store: ox.Store,
    base: str,
    link: Link | None = None,
    contents: Iterable | None = None,
    owners: Owners | None = None,
) -> _Graph:
    """What rendering reads, with its caches (an index of the store, labels, summaries of related
    records): pass one to `render_entity` for every page of a release, so the store is read once and
    each record is summarised once, not per page. `contents`: the store's triples, when the caller
    has them already (cheaper than reading them back); `owners`: the caller's map of nodes to entities."""
    return _Graph(store, base, link or (lambda i: i), _Index(store if contents is None else contents), owners)


def render_entity(
    store: ox.Store,
    iri: str,
    base: str,
    link: Link | None = None,
    *,
    figures: Sequence[str] = (),
    alternates: Sequence[tuple[str, str, str]] = (),
    home: str | None = None,
    graph: _Graph | None = None,
) -> str:
    """One entity's page: names, facts with their sources and quotes, and every relation to it.

    `link(entity_iri) -> href` decides where entity links point (default: the IRI itself).
    `figures` are trusted SVG/HTML fragments (e.g. a timeline) inserted after the facts;
    `alternates` are (label, media type, href) for other representations of the same entity;
    `home` is the href of the index page.
    """
    g = graph or page_graph(store, base, link)
    title = g.label(iri)
    body = [
        f'<p class="kind">{escape(g.kind_label(iri))}</p>',
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted"><code>{escape(iri)}</code></p>',
    ]
    if alternates:
        body.append(
            '<nav class="alt">Also as: '
            + " ".join(
                f'<a href="{escape(href)}" type="{escape(mt)}">{escape(lbl)}</a>' for lbl, mt, href in alternates
            )
            + "</nav>"
        )
    body.append(_names_section(g, iri))
    facts = _facts(g, iri)
    if facts:
        body.append("<h2>Facts</h2>" + facts)
    cites = _citations(g, iri)
    if cites:
        body.append("<h2>Sources</h2>" + cites)
    body.append(_subordination_section(g, iri))
    body.append(_possible_identity_section(g, iri))
    body.extend(f"<figure>{f}</figure>" for f in figures)
    body.append(_incoming_section(g, iri))
    head = "".join(f'<link rel="alternate" type="{escape(mt)}" href="{escape(href)}">' for _, mt, href in alternates)
    return page(title, "".join(b for b in body if b), head=head, home=home)


def render_index(
    store: ox.Store,
    base: str,
    link: Link | None = None,
    *,
    title: str = "pledgegraph",
    intro: str = "",
    figures: Sequence[str] = (),
    extra: str = "",
    graph: _Graph | None = None,
    entities: Sequence[str] | None = None,
) -> str:
    """A table of contents: every entity grouped by kind, with its label.

    `intro` and `extra` are trusted HTML placed before and after the lists; `figures` as in
    `render_entity`; `graph`: a `page_graph` of the store, whose index it reads (links are `link`'s);
    `entities`: `entity_iris` of the store when the caller has it (a scan of every type, ~5 s at 1M).
    """
    g = _Graph(store, base, link or (lambda i: i), graph.index if graph else None)
    groups: dict[str, list[str]] = {}
    for iri in entity_iris(store, base) if entities is None else entities:
        groups.setdefault(segment_and_slug(iri, base)[0], []).append(iri)
    parts = [f"<h1>{escape(title)}</h1>", intro]
    parts.extend(f"<figure>{f}</figure>" for f in figures)
    for kind in schema.KINDS.values():
        members = groups.get(kind.segment)
        if not members:
            continue
        items = sorted(members, key=lambda i: (g.label(i).casefold(), i))
        parts.append(
            f'<h2 id="{escape(kind.segment)}">{escape(kind.key.capitalize())} ({len(items)})</h2><ul>'
            + "".join(f"<li>{_entity_link(g, i)}</li>" for i in items)
            + "</ul>"
        )
    parts.append(extra)
    return page(title, "".join(parts))


def page(title: str, body: str, head: str = "", home: str | None = None) -> str:
    """A complete HTML document with our CSS around a trusted `body` fragment."""
    nav = f'<header><a href="{escape(home)}">pledgegraph</a></header>' if home else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style>{head}</head>"
        f"<body>{nav}<main>{body}</main></body></html>\n"
    )


def _entity_link(g: _Graph, iri: str) -> str:
    """A link to an entity's page, made once per `_Graph` (a page links dozens, each linked from many pages)."""
    found = g.entity_links.get(iri)
    if found is None:
        found = g.entity_links[iri] = f'<a href="{escape(g.link(iri))}">{escape(g.label(iri))}</a>'
    return found


def _names_section(g: _Graph, iri: str) -> str:
    rows = []
    for att in g.objects(iri, PG + "nameAttestation"):
        name = g.value(att.value, PG + "claimObject")
        if not isinstance(name, ox.Literal):
            continue
        kind = g.value(att.value, PG + "nameKind")
        preferred = g.value(att.value, PG + "claimPredicate")
        is_preferred = preferred and preferred.value == SKOS + "prefLabel"
        flag = ' <span class="muted">(preferred)</span>' if is_preferred else ""
        rows.append(
            f'<tr><td>{escape(name.value)}{flag}</td><td class="lang">{escape(name.language or "")}</td>'
            f"<td>{escape(g.label(kind.value)) if kind else ''}</td>"
            f"<td>{_citations(g, att.value)}</td></tr>"
        )
    if not rows:
        return ""
    return (
        "<h2>Names</h2><table><thead><tr><th>name</th><th>language</th><th>kind</th><th>sources</th></tr>"
        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _subordination_section(g: _Graph, iri: str) -> str:
    """An organization's place over time: what it was under and what was under it, link by link,
    with the period (an open side marked), the chain and what the link rests on."""
    parts = []
    for heading, own, other in (
        ("Under, over time", "subordinate", "superior"),
        ("Under it, over time", "superior", "subordinate"),
    ):
        links = g.subjects(PG + own, iri)
        rows = []
        for link in links:
            start, end = g.value(link, PG + "validFrom"), g.value(link, PG + "validUntil")
            undated_start = g.value(link, PG + "startUndated") is not None
            period = (
                (("start undated" if undated_start else "?") if start is None else escape(start.value))
                + " – "
                + ("" if end is None else escape(end.value))
            )
            via = " → ".join(_entity_link(g, v.value) for v in sorted(g.objects(link, PG + "via"), key=str))
            rests = ", ".join(_entity_link(g, r.value) for r in sorted(g.objects(link, PG + "restsOn"), key=str))
            other_end = g.value(link, PG + other)
            rows.append(
                (
                    start.value if start is not None else "",
                    f"<tr><td>{_entity_link(g, other_end.value)}</td>"
                    f"<td>{period}</td><td>{via or 'directly'}</td>"
                    f"<td>{rests or 'the links of the chain'}</td></tr>",
                )
            )
        if rows:
            parts.append(
                f"<h2>{heading}</h2><table><thead><tr><th>organization</th><th>period</th><th>via</th>"
                "<th>rests on</th></tr></thead><tbody>" + "".join(r for _, r in sorted(rows)) + "</tbody></table>"
            )
    return "".join(parts)


def _possible_identity_section(g: _Graph, iri: str) -> str:
    """Records a curator thinks may be the same person, with the reasons and what they rest on: shown
    on both records' pages, marked as the curator's inference (no source says so)."""
    rows = []
    for other in sorted(o.value for o in g.objects(iri, PG + "possiblySameAs")):
        nodes = [
            n.value
            for n in g.objects(iri, PG + "possibleIdentity")
            if (c := g.value(n.value, PG + "candidate")) is not None and c.value == other
        ]
        nodes += [
            n.value
            for n in g.objects(other, PG + "possibleIdentity")
            if (c := g.value(n.value, PG + "candidate")) is not None and c.value == iri
        ]
        notes = "".join(f"<p>{escape(note.value)}</p>" for n in nodes for note in g.objects(n, SKOS + "editorialNote"))
        grounds = "".join(_citations(g, n) for n in nodes)
        rows.append(f"<li>{_entity_link(g, other)}{notes}{grounds}</li>")
    if not rows:
        return ""
    return (
        "<h2>Possibly the same as</h2><p class=\"muted\">A curator's inference, not a source's claim: "
        "no source says these are one person, and the records are kept apart.</p><ul>" + "".join(rows) + "</ul>"
    )


def _facts(g: _Graph, node: str) -> str:
    """A node's own statements, each value followed by the sources of its claim, if it has any."""
    claims = _claims_about(g, node)
    rows = []
    for p in _shown(g, node):
        for o in g.objects(node, p):
            value = _value(g, node, o)
            support = "".join(_citations(g, c) for c in claims.get((p, str(o)), ())) if claims else ""
            rows.append(f"<dt>{escape(g.label(p))}</dt><dd>{value}{support}</dd>")
    return '<dl class="facts">' + "".join(rows) + "</dl>" if rows else ""


def _shown(g: _Graph, node: str) -> list[str]:
    """A node's properties that its facts and summary show, sorted (the hidden ones' values are never sorted
    for them: a record's citations, types and names, which other sections show or sort themselves)."""
    return [p for p in g.properties(node) if p not in _HIDDEN]


def _claims_about(g: _Graph, node: str) -> dict[tuple[str, str], list[str]]:
    """(predicate, object) -> the pg:Claim nodes that reify that triple with their own sources."""
    out: dict[tuple[str, str], list[str]] = {}
    for claim in g.subjects(PG + "claimSubject", node):
        if PG + "Claim" not in g.types(claim):
            continue
        pred, obj = g.value(claim, PG + "claimPredicate"), g.value(claim, PG + "claimObject")
        if pred is not None and obj is not None:
            out.setdefault((pred.value, str(obj)), []).append(claim)
    return out


def _value(g: _Graph, owner: str, o) -> str:
    if isinstance(o, ox.Literal):
        lang = f' <span class="lang">@{escape(o.language)}</span>' if o.language else ""
        return escape(o.value) + lang
    if not isinstance(o, ox.NamedNode):
        return escape(str(o))
    iri = o.value
    if g.owner(iri) == iri:  # an entity
        return _entity_link(g, iri)
    if is_below(iri, owner):
        return _nested(g, iri)
    record = g.owner(iri)
    if record is not None:  # a node below another record (its citation, side, death…): named by both
        name = f"{g.kind_label(iri) or 'part'} of {g.label(record)}"
        return f'<a href="{escape(g.link(record))}">{escape(name)}</a>'
    if _in_vocabulary(iri) or g.label(iri) != re.split(r"[/#]", iri.rstrip("/#"))[-1].replace("-", " "):
        return f'<span title="{escape(iri)}">{escape(g.label(iri))}</span>'
    return f'<a href="{escape(iri)}">{escape(iri)}</a>'


def _nested(g: _Graph, iri: str) -> str:
    """A node below the entity: a date, a period, or a structure (death, tenure end…) with its sources."""
    types = g.types(iri)
    if PG + "DateSpecification" in types:
        return _date(g, iri)
    if TIME + "Interval" in types:
        return _period(g, iri)
    return (
        f'<div class="struct"><span class="kind">{escape(g.kind_label(iri))}</span>'
        + _facts(g, iri)
        + _citations(g, iri)
        + "</div>"
    )


def _date(g: _Graph, iri: str) -> str:
    label = g.value(iri, PG + "dateLabel")
    return escape(label.value) if label is not None else ""


def _period(g: _Graph, iri: str) -> str:
    start, end = g.value(iri, TIME + "hasBeginning"), g.value(iri, TIME + "hasEnd")
    text = (
        (_date(g, start.value) if start is not None else "?") + " – " + (_date(g, end.value) if end is not None else "")
    )
    return text.strip()


def _citations(g: _Graph, node: str) -> str:
    """The sources a node rests on, each with who said it, where, and the verbatim quote."""
    items = []
    for cit in g.objects(node, PG + "citation"):
        c = cit.value
        parts = []
        src = g.value(c, PG + "source")
        if src is not None:
            parts.append(_entity_link(g, src.value) if g.owner(src.value) == src.value else escape(src.value))
        said = [_value(g, c, v) for v in g.objects(c, PG + "saidBy")]
        said += [escape(v.value) for v in g.objects(c, PG + "saidByLabel")]
        if said:
            parts.append("said by " + ", ".join(said))
        via = [_value(g, c, v) for v in g.objects(c, PG + "reportedVia")]
        if via:
            parts.append("reported via " + ", ".join(via))
        hedges = [escape(g.label(v.value)) for v in g.objects(c, PG + "hedge")]
        if hedges:
            parts.append('<span class="hedge">the source: ' + ", ".join(hedges) + "</span>")
        location = g.value(c, PG + "location")
        if location is not None:
            parts.append(f'<span class="muted">{escape(location.value)}</span>')
        quotes = "".join(_quote(g, q.value) for q in g.objects(c, PG + "quote"))
        items.append("<li>" + " · ".join(parts) + quotes + "</li>")
    return '<ul class="cites">' + "".join(items) + "</ul>" if items else ""


def _quote(g: _Graph, annotation: str) -> str:
    out = []
    for target in g.objects(annotation, OA + "hasTarget"):
        for selector in g.objects(target.value, OA + "hasSelector"):
            exact = g.value(selector.value, OA + "exact")
            if exact is None:
                continue
            prefix, suffix = g.value(selector.value, OA + "prefix"), g.value(selector.value, OA + "suffix")
            out.append(
                "<blockquote>"
                + (f'<span class="muted">…{escape(prefix.value)}</span>' if prefix is not None else "")
                + f"“{escape(exact.value)}”"
                + (f'<span class="muted">{escape(suffix.value)}…</span>' if suffix is not None else "")
                + "</blockquote>"
            )
    return "".join(out)


def _incoming_section(g: _Graph, iri: str) -> str:
    """Records that point at this one (tenures, pledges, branches…), and what cites it if a source."""
    related: dict[str, set[str]] = {}
    citing: set[str] = set()
    for s, p in g.incoming(iri):
        owner = g.owner(s)
        if owner is None or owner == iri or p in _REIFYING:
            continue
        if p in _CITING:
            citing.add(owner)
            continue
        via = g.label(p) if s == owner else f"{g.label(p)} ({g.kind_label(s)})"
        related.setdefault(owner, set()).add(via)
    parts = []
    if related:
        records = [g.related.get(o) or _Related(g, o) for o in related]
        rows = [
            r.head + r.summary_html(iri) + f"</td><td>{escape(', '.join(sorted(related[r.record])))}</td></tr>"
            for r in sorted(records, key=lambda r: r.key)
        ]
        parts.append(
            "<h2>Related</h2><table><thead><tr><th>kind</th><th>record</th><th>as</th></tr></thead><tbody>"
            + "".join(rows)
            + "</tbody></table>"
        )
    if citing:
        parts.append(
            "<h2>Cited for</h2><ul>"
            + "".join(
                f"<li>{escape(g.kind_label(o))}: {_entity_link(g, o)}</li>"
                for o in sorted(citing, key=lambda o: (g.kind_label(o), g.label(o).casefold(), o))
            )
            + "</ul>"
        )
    return "".join(parts)


def make_related_rows(g: _Graph, records: Iterable[str]) -> None:
    """Each record's row in the "Related" tables of other pages (`_Related`), with the start of its summary line,
    made now rather than when a page first shows it. A release makes them before it forks its second page writer,
    which then inherits them: writing half the pages each, the two writers had each made nearly every row (at 1M,
    18,467 and 17,254 of 19,152)."""
    for record in records:
        if record not in g.related:
            _Related(g, record).summary.without("")


class _Related:
    """A record as a row of the "Related" tables of the pages it links to, worked out once per `_Graph`
    (a record is on the page of each entity it links): where it sorts, the row's start (its kind and link)
    and its summary line, one line about it: when, and the other entities and concepts it links."""

    def __init__(self, g: _Graph, record: str):
        kind = g.kind_label(record)
        self.record = record
        self.key = (kind, _sort_date(g, record), record)
        self.head = f"<tr><td>{escape(kind)}</td><td>{_entity_link(g, record)}"
        links = _summary_links(g, record)
        self.summary = _Summary([o for o, _ in links], lambda i: _summary_bit(g, *links[i]))
        g.related[record] = self

    def summary_html(self, seen_from: str) -> str:
        """The summary line seen from `seen_from`'s page: without the bits about that entity."""
        text = self.summary.without(seen_from)
        return f'<br><span class="muted">{text}</span>' if text else ""


def _summary_links(g: _Graph, record: str) -> list[tuple[str, str]]:
    """(object, property) for each of a record's links a summary shows, in the order it shows them: the
    property of a link to an entity, "" for a date or period below the record or a concept."""
    links = []
    owner = g.owner
    for p in _shown(g, record):
        for o in g.objects(record, p):
            if type(o) is not ox.NamedNode:
                continue
            value = o.value
            if is_below(value, record):
                types = g.types(value)
                if PG + "DateSpecification" in types or TIME + "Interval" in types:
                    links.append((value, ""))
            elif owner(value) == value:  # an entity
                links.append((value, p))
            elif value.startswith(PGV):
                links.append((value, ""))
    return links


def _summary_bit(g: _Graph, o: str, p: str) -> str:
    """One bit of a summary line: "property: entity", a date or period, or a concept's label."""
    if p:
        return f"{escape(g.label(p))}: {_entity_link(g, o)}"
    return escape(g.label(o)) if o.startswith(PGV) else _nested(g, o)


class _Summary:
    """A record's summary line: its first `SHOWN` bits and how many more there are. A record linking
    hundreds of entities (an organization's branches, members and pledges) is a row on each of their pages:
    its whole line there made the pages quadratic in its links (the bench's ~1m: 3.7 GB of pages, the top
    organization's line ~300 KB on thousands of them). Seen from an entity's page the line leaves out the
    bits about that entity, as if they had never been there. A bit's HTML is made when first shown."""

    SEPARATOR = " · "
    SHOWN = 12

    def __init__(self, objects: list[str], bit: Callable[[int], str]):
        self.objects = objects  # the object of each bit, in order
        self.bit = bit  # index -> the bit's HTML
        self.made: list[str] = []  # the first bits' HTML, made so far
        self.about: dict[str, int] = {}  # object -> how many bits are about it
        for o in objects:
            self.about[o] = self.about.get(o, 0) + 1
        self.text: str | None = None  # the line seen from a page it has no bit about

    def without(self, o: str) -> str:
        """The line without the bits whose object is `o`: the first `SHOWN` others, then "and N more"."""
        cut = self.about.get(o, 0)
        if not cut and self.text is not None:
            return self.text
        shown: list[str] = []
        i = 0
        while len(shown) < self.SHOWN and i < len(self.objects):
            if self.objects[i] != o:
                while len(self.made) <= i:
                    self.made.append(self.bit(len(self.made)))
                shown.append(self.made[i])
            i += 1
        rest = len(self.objects) - cut - len(shown)
        text = self.SEPARATOR.join(shown + [f"and {rest} more"] if rest else shown)
        if not cut:
            self.text = text
        return text


def _sort_date(g: _Graph, record: str) -> str:
    """The earliest date a record states (its date or the start of its period), for ordering."""
    for p in (PG + "date", ORG + "memberDuring", PG + "period"):
        node = g.value(record, p)
        if node is None:
            continue
        start = g.value(node.value, TIME + "hasBeginning") or node
        earliest = g.value(start.value, PG + "earliest")
        if earliest is not None:
            return earliest.value
    return "9999"


def alternates_for(
    href_stem: str, formats: Iterable[str] = ("turtle", "jsonld", "ntriples")
) -> list[tuple[str, str, str]]:
    """(label, media type, href) for an entity's RDF representations at `href_stem + suffix`."""
    names = {"turtle": "Turtle", "jsonld": "JSON-LD", "ntriples": "N-Triples", "rdfxml": "RDF/XML"}
    return [(names.get(f, f), FORMATS[f].media_type, href_stem + FORMATS[f].suffix) for f in formats]
