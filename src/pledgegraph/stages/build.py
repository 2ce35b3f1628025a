"""Records -> RDF triples. Stage 2 of the pipeline, with the IRIs of `iris.py`.

Instances are slash IRIs `<base>id/<kind>/<slug>`; every node below a record (citations, names,
dates, periods, claims, nested items) gets an IRI under its record's, so the output has no blank
nodes. Provenance follows one scheme everywhere:
- a node's own triples are supported by its `pg:citation`s (each a `pg:Citation` naming the
  `pg:source` document, who in it `pg:saidBy` it, the verbatim `pg:quoteText`, and the quote as a
  Web Annotation);
- a value given with its own sources (`{value:, sources:}`, and every name) also becomes a
  `pg:Claim` naming that one triple (pg:claimSubject/claimPredicate/claimObject) with its own citations
  and rank.
Every cited node also gets `prov:wasDerivedFrom` its source documents, for one-pattern lookups.
Dated facts get plain date bounds one hop from them; subordination links and the direct layer are
derived across records (`timeline.py`) and emitted here too.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from pledgegraph.errors import Position
from pledgegraph.gcpause import paused_gc
from pledgegraph.model import graph, schema, timeline
from pledgegraph.model.dates import DAY, MONTH, DateSpec
from pledgegraph.model.graph import Built, LineSorter
from pledgegraph.model.iris import (
    citation_iri,
    claim_iri,
    concept_iri,
    date_iri,
    name_iri,
    period_iri,
    quote_iris,
    record_iri,
    struct_iri,
    subordination_iri,
)
from pledgegraph.model.records import Claimed, Dataset, Item, Record
from pledgegraph.model.schema import Field
from pledgegraph.model.vocab import DEFAULT_BASE, OA, ORG, PG, PROV, RDF, RDFS, SKOS, TIME, XSD, expand

ENGLISH_FIELDS = {"description", "summary", "label", "keywords", "question", "says"}
# Every period is `pg:period`; a tenure's is also ORG's own `org:memberDuring`.
PERIOD_ALSO = {"tenure": "http://www.w3.org/ns/org#memberDuring"}
# The field that names a record of a kind without `names:` (rdfs:label beside it; events have `label`).
LABEL_FIELD = {"source": "title", "dataset": "title", "disagreement": "question"}
_XSD_FOR = {DAY: ("date", "inXSDDate", "unitDay"), MONTH: ("gYearMonth", "inXSDgYearMonth", "unitMonth")}
_XSD_YEAR = ("gYear", "inXSDgYear", "unitYear")


# N-Triples string escapes, exactly as pyoxigraph writes them (so output bytes do not change).
_ESCAPES = {
    **{c: f"\\u{c:04X}" for c in [*range(0x20), 0x7F, 0xFFFE, 0xFFFF]},
    0x08: "\\b",
    0x09: "\\t",
    0x0A: "\\n",
    0x0C: "\\f",
    0x0D: "\\r",
    0x22: '\\"',
    0x5C: "\\\\",
}


def nt_literal(value: str, language: str = "", datatype: str = "") -> str:
    """A literal in N-Triples syntax (language tags lowercased, xsd:string implicit), as pyoxigraph's str()."""
    text = '"' + value.translate(_ESCAPES) + '"'
    if language:
        return f"{text}@{language.lower()}"
    if datatype and datatype != XSD + "string":
        return f"{text}^^<{datatype}>"
    return text


class _Emitter:
    """Emits N-Triples lines. Terms are N-Triples strings: `<iri>` or a literal from nt_literal."""

    def __init__(self, dataset: Dataset, base: str):
        self.dataset = dataset
        self.base = base
        self.out: set[str] = set()
        self.origins: dict[str, tuple[str, Position]] = {}
        self.node_rules: dict[str, str] = {}
        self.field_positions: dict[tuple[str, str], Position] = {}
        self.rdf_type = self.node(RDF + "type")
        self._terms: dict[str, str] = {}

    @staticmethod
    def node(iri: str) -> str:
        return f"<{iri}>"

    def term(self, curie: str) -> str:
        t = self._terms.get(curie)
        if t is None:
            t = self._terms[curie] = f"<{expand(curie)}>"
        return t

    def add(self, s: str, p: str, o: str) -> None:
        self.out.add(f"{s} {p} {o}")

    def rule(self, parent: str, name: str) -> str:
        """The YAML field path of a node below `parent` in its field `name`: one string per path
        (a few dozen in all), not one per node."""
        return sys.intern(f"{self.node_rules[parent]}.{name}")

    @staticmethod
    def typed(value: str, xsd: str) -> str:
        return nt_literal(value, datatype=XSD + xsd)

    # -- records ------------------------------------------------------------------------------

    def record(self, r: Record) -> None:
        kind = schema.KINDS[r.kind]
        iri = record_iri(self.base, r.kind, r.id)
        self.origins[iri] = (r.id, r.position)
        self.node_rules[iri] = r.kind
        s = f"<{iri}>"
        self.add(s, self.rdf_type, self.term(kind.cls))
        self.fields(iri, r, kind.fields, r)
        for identity in r.data.get("possibly_same_as", ()):  # the direct, symmetric link beside the reasons
            other = f"<{record_iri(self.base, 'person', identity.data['person'])}>"
            self.add(s, _POSSIBLY_SAME_AS, other)
            self.add(other, _POSSIBLY_SAME_AS, s)
        if r.kind in LABEL_FIELD:
            text = r.data[LABEL_FIELD[r.kind]]
            self.add(s, _RDFS_LABEL, nt_literal(text, language="en" if LABEL_FIELD[r.kind] in ENGLISH_FIELDS else ""))
        if r.kind == "disagreement":
            self.contradictions(iri, r)

    def contradictions(self, iri: str, r: Record) -> None:
        """Each side of a disagreement `pg:contradicts` every other side (both ways, so the
        asserted graph alone answers "against whom")."""
        position = schema.STRUCTS["position"]
        sides = [f"<{struct_iri(iri, position, side.data)}>" for side in r.data.get("sides", [])]
        for a in sides:
            for b in sides:
                if a != b:
                    self.add(a, _CONTRADICTS, b)

    def fields(self, iri: str, item: Item, specs: tuple[Field, ...], record: Record) -> None:
        data = item.data
        for spec in specs:
            value = data.get(spec.name)
            if value is None:
                continue
            self.field_positions[(iri, spec.name)] = item.where(spec.name)
            if spec.name in ("from", "until"):
                continue
            if spec.type == "citations":
                self.citations(iri, value, record)
            elif spec.name == "names":
                self.names(iri, value, record)
            elif spec.claimed:
                best = min(schema.RANKS.index(c.rank) for c in value)
                for claim in value:
                    self.claimed(
                        iri, spec, claim, record, schema.RANKS.index(claim.rank) == best and claim.rank != "deprecated"
                    )
            else:
                for v in value if spec.many else [value]:
                    self.value(iri, spec, v, record)
        if "from" in data or "until" in data:
            self.period(iri, item, record)
        self.bounds(iri, item, specs)

    def bounds(self, iri: str, item: Item, specs: tuple[Field, ...]) -> None:
        """Plain date bounds one hop from a dated fact, or the marker that a side is undated."""
        names = {f.name for f in specs}
        s = f"<{iri}>"
        if "from" in names:
            self.span(s, timeline.span_of(item))
        elif "date" in names and getattr(item, "kind", "") not in _UNDATED_KINDS:
            when = item.data.get("date")
            if when is None:
                self.add(s, _UNDATED, _TRUE)
            else:
                if when.earliest is not None:
                    self.add(s, _DATE_EARLIEST, self.typed(when.earliest.isoformat(), "date"))
                if when.latest is not None:
                    self.add(s, _DATE_LATEST, self.typed(when.latest.isoformat(), "date"))

    def span(self, s: str, span: "timeline.Span") -> None:
        for pred, day in (
            (_START_EARLIEST, span.start_earliest),
            (_START_LATEST, span.start_latest),
            (_END_EARLIEST, span.end_earliest),
            (_END_LATEST, span.end_latest),
            (_VALID_FROM, span.valid_from),
            (_VALID_UNTIL, span.valid_until),
        ):
            if day is not None:
                self.add(s, pred, self.typed(day.isoformat(), "date"))
        if not span.start_dated:
            self.add(s, _START_UNDATED, _TRUE)
        if not span.end_dated:
            self.add(s, _END_UNDATED, _TRUE)

    def value(self, iri: str, spec: Field, v, record: Record) -> None:
        p = self.term(spec.predicate) if spec.predicate else None
        if spec.base_type == "struct":
            struct = schema.STRUCTS[spec.target]
            child = struct_iri(iri, struct, v.data)
            self.origins[child] = (record.id, v.position)
            self.node_rules[child] = self.rule(iri, spec.name)
            self.add(f"<{child}>", self.rdf_type, self.term(struct.cls))
            assert p is not None  # a nested item hangs from its field's predicate
            self.add(f"<{iri}>", p, f"<{child}>")
            self.fields(child, v, struct.fields, record)
            return
        o = self.object(iri, spec, v, record)
        if p is not None:
            self.add(f"<{iri}>", p, o)

    def object(self, iri: str, spec: Field, v, record: Record, claimed: bool = False) -> str:
        """The RDF object for one value; a date becomes a node named after the field (and, when
        `claimed`, after the date too: a field's disagreeing dates are distinct nodes)."""
        t = spec.base_type
        if t == "ref":
            target = self.dataset.by_id[v]
            return f"<{record_iri(self.base, target.kind, v)}>"
        if t == "concept":
            concept = self.concept(concept_iri(spec.target, v))
            implied = self.dataset.vocabulary.implied_classes.get(concept)
            if implied:
                self.add(f"<{iri}>", self.rdf_type, f"<{implied}>")
            return f"<{concept}>"
        if t == "date":
            if record.kind == "dataset":  # DCAT/VoID readers expect plain xsd dates here
                return self.typed(v.point.text, _XSD_FOR.get(v.point.precision, _XSD_YEAR)[0])
            return self.date(date_iri(iri, spec.name, v if claimed else None), v, record)
        if t == "string":
            return nt_literal(v, language="en") if spec.name in ENGLISH_FIELDS else nt_literal(v)
        if t == "filename":
            return nt_literal(v)
        if t == "int":
            return self.typed(str(v), "integer")
        if t == "bool":
            return self.typed("true" if v else "false", "boolean")
        if t == "url":
            return str(ox.NamedNode(v))  # validates the IRI
        if t == "lang":
            return self.typed(v, "language")
        raise AssertionError(spec.type)

    def concept(self, concept: str) -> str:
        """A vocabulary concept used by the data, with its labels in the asserted graph (so a
        query over the default graph finds them without naming the ontology graph)."""
        for text, lang in self.dataset.vocabulary.labels.get(concept, ()):
            lit = nt_literal(text, language=lang)
            self.add(f"<{concept}>", _PREF_LABEL, lit)
            self.add(f"<{concept}>", _RDFS_LABEL, lit)
        return concept

    def claimed(self, iri: str, spec: Field, claim: Claimed, record: Record, stated: bool) -> None:
        """One claimed value: its claim node (with rank and sources), and the plain triple when it is
        among the field's best-ranked values (`stated`)."""
        o = self.object(iri, spec, claim.value, record, claimed=True)
        if spec.base_type == "date" and o.startswith("<"):
            self.origins[o[1:-1]] = (record.id, claim.position)
            self.node_rules[o[1:-1]] = self.rule(iri, spec.name)
        p = self.term(spec.predicate)
        if stated:
            self.add(f"<{iri}>", p, o)
        if not claim.sources and claim.rank == "normal":
            return  # supported by the record's own citations
        c = claim_iri(iri, spec.name, claim.value)
        self.origins[c] = (record.id, claim.position)
        self.node_rules[c] = self.rule(iri, spec.name)
        self.reify(f"<{c}>", PG + "Claim", f"<{iri}>", p, o)
        self.add(f"<{c}>", _RANK, f"<{self.concept(concept_iri('rank', claim.rank))}>")
        self.citations(c, claim.sources or record.data.get("sources", []), record)

    def reify(self, c: str, cls: str, s: str, p: str, o: str) -> None:
        add = self.add
        add(c, self.rdf_type, f"<{cls}>")
        add(c, _CLAIM_SUBJECT, s)
        add(c, _CLAIM_PREDICATE, p)
        add(c, _CLAIM_OBJECT, o)

    def names(self, iri: str, names: list[Item], record: Record) -> None:
        explicit = {n.data["lang"] for n in names if n.data.get("preferred")}
        preferred_langs: set[str] = set()
        pref_literals = set()
        chosen = []
        for n in names:
            lang = n.data["lang"]
            is_pref = n.data.get("preferred", False) or (lang not in explicit and lang not in preferred_langs)
            if is_pref:
                preferred_langs.add(lang)
                pref_literals.add((n.data["name"], lang))
            chosen.append(is_pref)
        s = f"<{iri}>"
        for n, is_pref in zip(names, chosen):
            lit = nt_literal(n.data["name"], language=n.data["lang"])
            pred = _PREF_LABEL if is_pref else _ALT_LABEL
            if is_pref or (n.data["name"], n.data["lang"]) not in pref_literals:
                self.add(s, pred, lit)
            if is_pref:
                self.add(s, _RDFS_LABEL, lit)
            a = name_iri(iri, n.data["lang"], n.data["name"])
            self.origins[a] = (record.id, n.position)
            self.node_rules[a] = self.rule(iri, "names")
            self.field_positions.update({(a, k): p for k, p in n.field_positions.items()})
            self.reify(f"<{a}>", PG + "NameAttestation", s, pred, lit)
            self.add(s, _NAME_ATTESTATION, f"<{a}>")
            if "kind" in n.data:
                self.add(f"<{a}>", _NAME_KIND, f"<{self.concept(concept_iri('name-kind', n.data['kind']))}>")
            self.citations(a, n.data["sources"], record)

    def citations(self, fact: str, cites: list[Item], record: Record) -> None:
        add, out = self.add, self.out.add
        rule = self.rule(fact, "sources")
        f = f"<{fact}>"
        for c in cites:
            src_id = c.data["source"]
            cit_iri = citation_iri(fact, c.data)
            cit = f"<{cit_iri}>"
            src = f"<{record_iri(self.base, 'source', src_id)}>"
            self.origins[cit_iri] = (record.id, c.position)
            self.node_rules[cit_iri] = rule
            self.field_positions.update({(cit_iri, k): p for k, p in c.field_positions.items()})
            out(f"{f} {_CITATION} {cit}")
            out(f"{f} {_DERIVED_FROM} {src}")
            out(f"{cit} {_TYPE} {_CITATION_CLASS}")
            out(f"{cit} {_SOURCE} {src}")
            for spec in _CITATION_FIELDS:
                if spec.name in c.data:
                    add(cit, self.term(spec.predicate), self.object(cit_iri, spec, c.data[spec.name], record))
            if "quote" in c.data:
                out(f"{cit} {_QUOTE_TEXT} {nt_literal(c.data['quote'])}")
                self.quote(f, cit_iri, src, c.data)
        hedges = [c.data.get("hedge") for c in cites]
        if hedges and all(hedges):  # every source only reports, alleges or predicts it: mark the fact
            for h in sorted({h for h in hedges if h}):
                add(f, _HEDGED_BY_SOURCES, f"<{concept_iri('hedge', h)}>")

    def quote(self, fact: str, cit: str, src: str, data: dict) -> None:
        """The quote as a W3C Web Annotation: body = the fact, target = the words in the source.

        Motivated by oa:identifying ("identify what is described in the Target"): the body is the
        fact the passage states; it does not describe the passage (oa:describing) or comment on it.
        """
        ann, target, selector = (f"<{node}>" for node in quote_iris(cit))
        out = self.out.add  # one line per call, without a method call per triple (the commonest node)
        out(f"<{cit}> {_QUOTE} {ann}")
        out(f"{ann} {_TYPE} {_OA_ANNOTATION}")
        out(f"{ann} {_OA_MOTIVATED_BY} {_OA_IDENTIFYING}")
        out(f"{ann} {_OA_HAS_BODY} {fact}")
        out(f"{ann} {_OA_HAS_TARGET} {target}")
        out(f"{target} {_TYPE} {_OA_SPECIFIC_RESOURCE}")
        out(f"{target} {_OA_HAS_SOURCE} {src}")
        out(f"{target} {_OA_HAS_SELECTOR} {selector}")
        out(f"{selector} {_TYPE} {_OA_TEXT_QUOTE_SELECTOR}")
        for key, predicate in _OA_SELECTOR_TEXTS:
            text = data.get(key)
            if text:
                out(f"{selector} {predicate} {nt_literal(text)}")

    def period(self, iri: str, item: Item, record: Record) -> None:
        period = period_iri(iri)
        self.add(f"<{iri}>", f"<{PG}period>", f"<{period}>")
        also = PERIOD_ALSO.get(record.kind) if item is record else None
        if also:
            self.add(f"<{iri}>", f"<{also}>", f"<{period}>")
        self.add(f"<{period}>", self.rdf_type, f"<{TIME}Interval>")
        for key, pred in (("from", "hasBeginning"), ("until", "hasEnd")):
            if key in item.data:
                self.add(f"<{period}>", f"<{TIME}{pred}>", self.date(date_iri(iri, key), item.data[key], record))

    def date(self, iri: str, d: DateSpec, record: Record) -> str:
        node = f"<{iri}>"
        add = self.add
        add(node, self.rdf_type, f"<{PG}DateSpecification>")
        add(node, f"<{PG}dateQualifier>", f"<{self.concept(concept_iri('date-qualifier', d.qualifier))}>")
        if d.point is not None:
            xsd, prop, unit = _XSD_FOR.get(d.point.precision, _XSD_YEAR)
            add(node, f"<{TIME}{prop}>", self.typed(d.point.text, xsd))
            add(node, f"<{TIME}unitType>", f"<{TIME}{unit}>")
        if d.earliest is not None:
            add(node, f"<{PG}earliest>", self.typed(d.earliest.isoformat(), "date"))
        if d.latest is not None:
            add(node, f"<{PG}latest>", self.typed(d.latest.isoformat(), "date"))
        add(node, f"<{PG}dateLabel>", nt_literal(d.label))
        add(node, _EDTF, self.typed(d.edtf, "string"))
        return node

    # -- derived: subordination links and the direct layer (see timeline.py) -----------------------

    def derived(self) -> None:
        links = timeline.direct_links(self.dataset)
        links += timeline.chains(links)
        for link in links:
            self.link(link)
        day = timeline.release_date(self.dataset)
        if day is None:
            return
        org = lambda rid: f"<{record_iri(self.base, 'organization', rid)}>"  # noqa: E731
        person = lambda rid: f"<{record_iri(self.base, 'person', rid)}>"  # noqa: E731
        now = timeline.current(self.dataset, links, day)
        self.add(f"<{record_iri(self.base, 'dataset', '')}>", _AS_OF, self.typed(day.isoformat(), "date"))
        for child, parent in now.parents:
            self.add(org(child), _SUB_ORGANIZATION_OF, org(parent))
        for child, ancestor in now.above:
            self.add(org(child), _UNDER, org(ancestor))
        for who, where in now.heads:
            self.add(person(who), _HEAD_OF, org(where))
        for who, where in now.members:
            self.add(person(who), _MEMBER_OF, org(where))
        for r in self.dataset.records:
            if r.kind == "person":
                self.add(person(r.id), _REPORTED_DEAD, _TRUE if r.id in now.dead else _FALSE)

    def link(self, link: "timeline.Link") -> str:
        iri = subordination_iri(self.base, link.child, link.parent, link.key)
        s, add = f"<{iri}>", self.add
        child = record_iri(self.base, "organization", link.child)
        self.origins.setdefault(iri, (link.child, self.dataset.by_id[link.child].position))
        self.node_rules[iri] = "subordination"
        add(s, self.rdf_type, _SUBORDINATION)
        add(s, _SUBORDINATE, f"<{child}>")
        add(s, _SUPERIOR, f"<{record_iri(self.base, 'organization', link.parent)}>")
        add(s, _DIRECT, _TRUE if link.direct else _FALSE)
        add(s, _DEPTH, self.typed(str(max(1, len(link.hops))), "integer"))
        for rid in link.rests_on:
            add(s, _RESTS_ON, f"<{record_iri(self.base, self.dataset.by_id[rid].kind, rid)}>")
        for rid in link.ended_by:
            add(s, _ENDED_BY, f"<{record_iri(self.base, self.dataset.by_id[rid].kind, rid)}>")
        for src in link.sources:
            add(s, _DERIVED_FROM, f"<{record_iri(self.base, 'source', src)}>")
        for hop in link.hops:
            add(s, _HOP, f"<{subordination_iri(self.base, hop.child, hop.parent, hop.key)}>")
        for hop in link.hops[1:]:
            add(s, _VIA, f"<{record_iri(self.base, 'organization', hop.child)}>")
        self.span(s, link.span)
        return iri


_CLAIM_SUBJECT, _CLAIM_PREDICATE, _CLAIM_OBJECT = (f"<{PG}claim{p}>" for p in ("Subject", "Predicate", "Object"))
_PREF_LABEL, _ALT_LABEL = f"<{SKOS}prefLabel>", f"<{SKOS}altLabel>"
_RDFS_LABEL = f"<{RDFS}label>"
_CONTRADICTS = f"<{PG}contradicts>"
_NAME_ATTESTATION, _NAME_KIND = f"<{PG}nameAttestation>", f"<{PG}nameKind>"
_CITATION, _CITATION_CLASS, _SOURCE, _QUOTE = f"<{PG}citation>", f"<{PG}Citation>", f"<{PG}source>", f"<{PG}quote>"
_DERIVED_FROM = f"<{PROV}wasDerivedFrom>"
_TYPE = f"<{RDF}type>"
_OA_ANNOTATION, _OA_SPECIFIC_RESOURCE, _OA_TEXT_QUOTE_SELECTOR, _OA_IDENTIFYING = (
    f"<{OA}{n}>" for n in ("Annotation", "SpecificResource", "TextQuoteSelector", "identifying")
)
_OA_MOTIVATED_BY, _OA_HAS_BODY, _OA_HAS_TARGET, _OA_HAS_SOURCE, _OA_HAS_SELECTOR = (
    f"<{OA}{n}>" for n in ("motivatedBy", "hasBody", "hasTarget", "hasSource", "hasSelector")
)
# a quote's words in the data -> the selector's property for them
_OA_SELECTOR_TEXTS = (("quote", f"<{OA}exact>"), ("prefix", f"<{OA}prefix>"), ("suffix", f"<{OA}suffix>"))
_QUOTE_TEXT, _EDTF, _RANK = f"<{PG}quoteText>", f"<{PG}edtf>", f"<{PG}rank>"
_TRUE, _FALSE = nt_literal("true", datatype=XSD + "boolean"), nt_literal("false", datatype=XSD + "boolean")
_UNDATED, _DATE_EARLIEST, _DATE_LATEST = f"<{PG}undated>", f"<{PG}dateEarliest>", f"<{PG}dateLatest>"
_START_EARLIEST, _START_LATEST, _END_EARLIEST, _END_LATEST = (
    f"<{PG}{p}>" for p in ("startEarliest", "startLatest", "endEarliest", "endLatest")
)
_VALID_FROM, _VALID_UNTIL = f"<{PG}validFrom>", f"<{PG}validUntil>"
_START_UNDATED, _END_UNDATED = f"<{PG}startUndated>", f"<{PG}endUndated>"
_SUBORDINATION, _SUBORDINATE, _SUPERIOR = f"<{PG}Subordination>", f"<{PG}subordinate>", f"<{PG}superior>"
_DIRECT, _DEPTH, _HOP, _VIA = f"<{PG}direct>", f"<{PG}depth>", f"<{PG}hop>", f"<{PG}via>"
_RESTS_ON, _ENDED_BY = f"<{PG}restsOn>", f"<{PG}endedBy>"
_AS_OF, _UNDER, _REPORTED_DEAD = f"<{PG}directLayerDate>", f"<{PG}under>", f"<{PG}reportedDead>"
_SUB_ORGANIZATION_OF, _HEAD_OF, _MEMBER_OF = (f"<{ORG}{p}>" for p in ("subOrganizationOf", "headOf", "memberOf"))
# Kinds whose `date` is not the date of a fact (a document's publication date): no undated marker.
_UNDATED_KINDS = frozenset({"source", "dataset"})
_POSSIBLY_SAME_AS, _HEDGED_BY_SOURCES = f"<{PG}possiblySameAs>", f"<{PG}hedgedBySources>"
_CITATION_FIELDS = [f for f in schema.STRUCTS["citation"].fields if f.predicate and f.name != "source"]


# Records from which `build` (given a way to fork) shares them with a forked process: at the ~100k
# size (1,938 records) the fork and the transfer of its lines back take ~0.1 s of 0.8 s.
PARALLEL_RECORDS = 1_000
SHARE_CHUNK = 16  # records taken at a time from either end of the list

# A forked emitter's value: its lines (sorted, unique; or the paths of the sorted runs it spilled), and
# its nodes' origins, field paths and field positions, positions as (file, line, column) tuples,
# which pickle 4-8 times faster than `Position`s.
_Emitted = tuple[list[str] | list[Path], dict, dict[str, str], dict]


@paused_gc()
def build(
    dataset: Dataset,
    base: str = DEFAULT_BASE,
    fork: Callable[[Callable[[], _Emitted]], Callable[[], _Emitted]] | None = None,
) -> Built:
    """Turn checked records into the asserted graph, with the links and the direct layer derived
    from them at build time (`timeline.py`). Past `graph.SPILL_LINES` lines held at once, the lines
    go to disk in sorted runs and the graph's lines are one sorted file (`graph.LineFile`).

    With `fork` (which starts a function in a forked process now and returns a function that waits
    for its value) and `PARALLEL_RECORDS` records or more, the forked process emits records from the
    end of the list while this one emits from the start, a chunk at a time, until they meet (records
    differ in cost by kind, so a fixed half would leave one process waiting). Records emit their lines
    independently, and the node maps join in record order: the graph is the same."""
    e, sorter, records = _Emitter(dataset, base), LineSorter(), dataset.records
    if fork is None or len(records) < PARALLEL_RECORDS:
        _emit(e, records, sorter)
    else:
        ends = _Ends(len(records))
        other = fork(lambda: _emitted(dataset, base, ends))
        while chunk := ends.take(front=True):
            _emit(e, records[chunk[0] : chunk[1]], sorter)
        sorter.include(_join(e, other()))
    e.derived()
    return Built(None, e.origins, e.base, sorter.finish(e.out), e.node_rules, e.field_positions)


class _Ends:
    """The records not yet emitted, `[start, end)` in shared memory: the parent takes chunks from
    the start, the forked emitter from the end."""

    def __init__(self, count: int):
        import multiprocessing

        self.ends = multiprocessing.Array("q", [0, count])

    def take(self, front: bool) -> tuple[int, int] | None:
        with self.ends.get_lock():
            start, end = self.ends[0], self.ends[1]
            if start >= end:
                return None
            if front:
                self.ends[0] = min(start + SHARE_CHUNK, end)
                return start, self.ends[0]
            self.ends[1] = max(end - SHARE_CHUNK, start)
            return self.ends[1], end


def _emit(e: "_Emitter", records: list[Record], sorter: LineSorter) -> None:
    spill_at = graph.SPILL_LINES
    for r in records:
        e.record(r)
        if len(e.out) >= spill_at:
            sorter.spill(e.out)


def _emitted(dataset: Dataset, base: str, ends: _Ends) -> _Emitted:
    """What the forked emitter hands back (see `_Emitted`): the chunks it took from the end, each
    emitted with node maps of its own, whose maps join in record order (the last chunk taken first)."""
    e, sorter, records = _Emitter(dataset, base), LineSorter(), dataset.records
    chunks = []
    while chunk := ends.take(front=False):
        e.origins, e.node_rules, e.field_positions = {}, {}, {}
        _emit(e, records[chunk[0] : chunk[1]], sorter)
        chunks.append((e.origins, e.node_rules, e.field_positions))
    origins: dict[str, tuple] = {}
    node_rules: dict[str, str] = {}
    positions: dict[tuple[str, str], tuple] = {}
    for chunk_origins, chunk_rules, chunk_positions in reversed(chunks):
        origins.update((node, (rid, p.file, p.line, p.column)) for node, (rid, p) in chunk_origins.items())
        node_rules.update(chunk_rules)
        positions.update((key, (p.file, p.line, p.column)) for key, p in chunk_positions.items())
    lines: list[str] | list[Path] = sorter.handed_over(e.out) if sorter.runs else sorted(e.out)
    return lines, origins, node_rules, positions


def _join(e: "_Emitter", emitted: _Emitted) -> list[str] | list[Path]:
    """Add a forked emitter's node maps to `e`'s (emitted after `e`'s records, so later in order);
    its lines."""
    lines, origins, node_rules, positions = emitted
    e.origins.update((node, (rid, Position(*at))) for node, (rid, *at) in origins.items())
    e.node_rules.update(node_rules)
    e.field_positions.update((key, Position(*at)) for key, at in positions.items())
    return lines


class _CountedLines(set):
    """The emitted lines, and how many times each was emitted (the hot paths add to `out` directly)."""

    def __init__(self) -> None:
        super().__init__()
        self.counts: Counter[str] = Counter()

    def add(self, line: str) -> None:
        super().add(line)
        self.counts[line] += 1


class _CountingEmitter(_Emitter):
    def __init__(self, dataset: Dataset, base: str):
        super().__init__(dataset, base)
        self.out = _CountedLines()
        self.counts = self.out.counts


@paused_gc()
def build_counted(dataset: Dataset, base: str = DEFAULT_BASE, derived: bool = False) -> tuple[Built, Counter[str]]:
    """`build` in parts, and how many times the records emit each line: several records may state
    the same triple, so an edit removes a line only when no record states it any more (`validate
    --watch`). The part is the records' own triples, or (`derived`) only what is derived across
    all of them (subordination links, the direct layer), which `--watch` makes again after each edit."""
    e = _CountingEmitter(dataset, base)
    if derived:
        e.derived()
    else:
        for r in dataset.records:
            e.record(r)
    return _graph(e), e.counts


def _graph(e: _Emitter) -> Built:
    return Built(None, e.origins, e.base, sorted(e.out), e.node_rules, e.field_positions)
