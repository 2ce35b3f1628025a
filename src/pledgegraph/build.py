"""Records -> RDF triples. Stage 2 of the pipeline; all IRI minting lives here.

Instances are slash IRIs `<base>id/<kind>/<slug>`; every node below a record (citations, names,
dates, periods, claims, nested items) gets an IRI under its record's, so the output has no blank
nodes. Provenance follows one scheme everywhere:
- a node's own triples are supported by its `pg:citation`s (each a `pg:Citation` naming the
  `pg:source` document, who in it `pg:saidBy` it, and the verbatim quote as a Web Annotation);
- a value given with its own sources (`{value:, sources:}`, and every name) also becomes a
  `pg:Claim` reifying that one triple (rdf:subject/predicate/object) with its own citations.
Every cited node also gets `prov:wasDerivedFrom` its source documents, for one-pattern lookups.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyoxigraph as ox

from . import schema
from .dates import DAY, MONTH, DateSpec
from .errors import Position
from .records import Claimed, Dataset, Item, Record
from .schema import Field
from .vocab import DEFAULT_BASE, OA, PG, PGV, PROV, RDF, SKOS, TIME, XSD, expand

ENGLISH_FIELDS = {"description", "summary", "label"}
PERIOD_PREDICATE = {"tenure": "http://www.w3.org/ns/org#memberDuring"}
_XSD_FOR = {DAY: ("date", "inXSDDate", "unitDay"), MONTH: ("gYearMonth", "inXSDgYearMonth", "unitMonth")}
_XSD_YEAR = ("gYear", "inXSDgYear", "unitYear")


@dataclass
class Built:
    """The asserted graph as sorted, unique triples, and where each node came from."""

    triples: list[ox.Triple]
    origins: dict[str, tuple[str, Position]]  # node IRI -> (record id, position in YAML)
    base: str
    # For messages: which part of the format each node comes from (a kind or struct name such as
    # `pledge` or `citation`, or a field path such as `organization.founded` for date nodes), and
    # where each field of a node was written, keyed (node IRI, field name), so a result points at
    # the field's own line.
    node_rules: dict[str, str] = field(default_factory=dict)
    field_positions: dict[tuple[str, str], Position] = field(default_factory=dict)


def record_iri(base: str, kind: str, rid: str) -> str:
    if kind == "dataset":
        return base + "dataset"
    return f"{base}id/{schema.KINDS[kind].segment}/{rid}"


def concept_iri(scheme: str, cid: str) -> str:
    return f"{PGV}{scheme}/{cid}"


class _Emitter:
    def __init__(self, dataset: Dataset, base: str):
        self.dataset = dataset
        self.base = base
        self.out: set[ox.Triple] = set()
        self.origins: dict[str, tuple[str, Position]] = {}
        self.node_rules: dict[str, str] = {}
        self.field_positions: dict[tuple[str, str], Position] = {}
        self._nodes: dict[str, ox.NamedNode] = {}
        self.rdf_type = self.node(RDF + "type")
        self.xsd_string = self.node(XSD + "string")

    def node(self, iri: str) -> ox.NamedNode:
        n = self._nodes.get(iri)
        if n is None:
            n = self._nodes[iri] = ox.NamedNode(iri)
        return n

    def term(self, curie: str) -> ox.NamedNode:
        return self.node(expand(curie))

    def add(self, s: ox.NamedNode, p: ox.NamedNode, o) -> None:
        self.out.add(ox.Triple(s, p, o))

    def typed(self, value: str, xsd: str) -> ox.Literal:
        return ox.Literal(value, datatype=self.node(XSD + xsd))

    # -- records ------------------------------------------------------------------------------

    def record(self, r: Record) -> None:
        kind = schema.KINDS[r.kind]
        s = self.node(record_iri(self.base, r.kind, r.id))
        self.origins[s.value] = (r.id, r.position)
        self.node_rules[s.value] = r.kind
        self.add(s, self.rdf_type, self.term(kind.cls))
        self.fields(s, r, kind.fields, r)

    def fields(self, s: ox.NamedNode, item: Item, specs: tuple[Field, ...], record: Record) -> None:
        counters: dict[str, int] = {}
        for spec in specs:
            value = item.data.get(spec.name)
            if value is None:
                continue
            self.field_positions[(s.value, spec.name)] = item.where(spec.name)
            if spec.name in ("from", "until"):
                continue
            if spec.type == "citations":
                self.citations(s, value, record)
            elif spec.name == "names":
                self.names(s, value, record)
            elif spec.claimed:
                for claim in value:
                    self.claimed(s, spec, claim, record, counters)
            else:
                for v in value if spec.many else [value]:
                    self.value(s, spec, v, record, counters)
        if "from" in item.data or "until" in item.data:
            self.period(s, item, record)

    def value(self, s: ox.NamedNode, spec: Field, v, record: Record, counters: dict[str, int]) -> ox.NamedNode | None:
        p = self.term(spec.predicate) if spec.predicate else None
        t = spec.base_type
        if t == "struct":
            struct = schema.STRUCTS[spec.target]
            counters[spec.name] = n = counters.get(spec.name, 0) + 1
            child = self.node(f"{s.value}/{struct.segment}/{n}")
            self.origins[child.value] = (record.id, v.position)
            self.node_rules[child.value] = struct.name
            self.add(child, self.rdf_type, self.term(struct.cls))
            self.add(s, p, child)
            self.fields(child, v, struct.fields, record)
            return child
        o = self.object(s, spec, v, record)
        if p is not None:
            self.add(s, p, o)
        return o

    def object(self, s: ox.NamedNode, spec: Field, v, record: Record, node_name: str = ""):
        """The RDF object for one value; a date becomes a node named `node_name` (default: the field)."""
        t = spec.base_type
        if t == "ref":
            target = self.dataset.by_id[v]
            return self.node(record_iri(self.base, target.kind, v))
        if t == "concept":
            iri = concept_iri(spec.target, v)
            implied = self.dataset.vocabulary.implied_classes.get(iri)
            if implied:
                self.add(s, self.rdf_type, self.node(implied))
            return self.node(iri)
        if t == "date":
            if record.kind == "dataset":  # DCAT/VoID readers expect plain xsd dates here
                return self.typed(v.point.text, _XSD_FOR.get(v.point.precision, _XSD_YEAR)[0])
            return self.date(f"{s.value}/{node_name or spec.name}", v, record)
        if t == "string":
            return ox.Literal(v, language="en") if spec.name in ENGLISH_FIELDS else ox.Literal(v)
        if t == "filename":
            return ox.Literal(v)
        if t == "int":
            return self.typed(str(v), "integer")
        if t == "bool":
            return self.typed("true" if v else "false", "boolean")
        if t == "url":
            return self.node(v)
        if t == "lang":
            return self.typed(v, "language")
        raise AssertionError(spec.type)

    def claimed(self, s, spec: Field, claim: Claimed, record: Record, counters: dict[str, int]) -> None:
        # Disagreeing dates each get their own node (…/founded, …/founded-2), never one merged node.
        counters["value:" + spec.name] = k = counters.get("value:" + spec.name, 0) + 1
        o = self.object(s, spec, claim.value, record, spec.name if k == 1 else f"{spec.name}-{k}")
        if isinstance(o, ox.NamedNode) and spec.base_type == "date":
            self.origins[o.value] = (record.id, claim.position)
            self.node_rules[o.value] = f"{self.node_rules[s.value]}.{spec.name}"
        p = self.term(spec.predicate)
        self.add(s, p, o)
        if not claim.sources:
            return  # supported by the record's own citations
        counters["claim:" + spec.name] = n = counters.get("claim:" + spec.name, 0) + 1
        c = self.node(f"{s.value}/claim/{spec.name}-{n}")
        self.origins[c.value] = (record.id, claim.position)
        self.node_rules[c.value] = f"{self.node_rules[s.value]}.{spec.name}"
        self.reify(c, PG + "Claim", s, p, o)
        self.citations(c, claim.sources, record)

    def reify(self, c: ox.NamedNode, cls: str, s, p, o) -> None:
        self.add(c, self.rdf_type, self.node(cls))
        self.add(c, self.node(RDF + "subject"), s)
        self.add(c, self.node(RDF + "predicate"), p)
        self.add(c, self.node(RDF + "object"), o)

    def names(self, s: ox.NamedNode, names: list[Item], record: Record) -> None:
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
        for i, (n, is_pref) in enumerate(zip(names, chosen), start=1):
            lit = ox.Literal(n.data["name"], language=n.data["lang"])
            pred = self.node(SKOS + ("prefLabel" if is_pref else "altLabel"))
            if is_pref or (n.data["name"], n.data["lang"]) not in pref_literals:
                self.add(s, pred, lit)
            a = self.node(f"{s.value}/name/{i}")
            self.origins[a.value] = (record.id, n.position)
            self.node_rules[a.value] = "name"
            self.field_positions.update({(a.value, k): p for k, p in n.field_positions.items()})
            self.reify(a, PG + "NameAttestation", s, pred, lit)
            self.add(s, self.node(PG + "nameAttestation"), a)
            if "kind" in n.data:
                self.add(a, self.node(PG + "nameKind"), self.node(concept_iri("name-kind", n.data["kind"])))
            self.citations(a, n.data["sources"], record)

    def citations(self, fact: ox.NamedNode, cites: list[Item], record: Record) -> None:
        seen: dict[str, int] = {}
        for c in cites:
            src_id = c.data["source"]
            seen[src_id] = k = seen.get(src_id, 0) + 1
            cit = self.node(f"{fact.value}/cite/{src_id}" + (f"-{k}" if k > 1 else ""))
            src = self.node(record_iri(self.base, "source", src_id))
            self.origins[cit.value] = (record.id, c.position)
            self.node_rules[cit.value] = "citation"
            self.field_positions.update({(cit.value, k): p for k, p in c.field_positions.items()})
            self.add(fact, self.node(PG + "citation"), cit)
            self.add(fact, self.node(PROV + "wasDerivedFrom"), src)
            self.add(cit, self.rdf_type, self.node(PG + "Citation"))
            self.add(cit, self.node(PG + "source"), src)
            for spec in schema.STRUCTS["citation"].fields:
                if spec.predicate and spec.name != "source" and spec.name in c.data:
                    self.add(cit, self.term(spec.predicate), self.object(cit, spec, c.data[spec.name], record))
            if "quote" in c.data:
                self.quote(fact, cit, src, c.data)

    def quote(self, fact, cit: ox.NamedNode, src: ox.NamedNode, data: dict) -> None:
        """The quote as a W3C Web Annotation: body = the fact, target = the words in the source.

        Motivated by oa:identifying ("identify what is described in the Target"): the body is the
        fact the passage states; it does not describe the passage (oa:describing) or comment on it.
        """
        ann = self.node(cit.value + "/quote")
        target = self.node(ann.value + "/target")
        selector = self.node(ann.value + "/selector")
        self.add(cit, self.node(PG + "quote"), ann)
        self.add(ann, self.rdf_type, self.node(OA + "Annotation"))
        self.add(ann, self.node(OA + "motivatedBy"), self.node(OA + "identifying"))
        self.add(ann, self.node(OA + "hasBody"), fact)
        self.add(ann, self.node(OA + "hasTarget"), target)
        self.add(target, self.rdf_type, self.node(OA + "SpecificResource"))
        self.add(target, self.node(OA + "hasSource"), src)
        self.add(target, self.node(OA + "hasSelector"), selector)
        self.add(selector, self.rdf_type, self.node(OA + "TextQuoteSelector"))
        for key in ("exact", "prefix", "suffix"):
            text = data.get("quote" if key == "exact" else key)
            if text:
                self.add(selector, self.node(OA + key), ox.Literal(text))

    def period(self, s: ox.NamedNode, item: Item, record: Record) -> None:
        period = self.node(s.value + "/period")
        self.add(s, self.node(PERIOD_PREDICATE.get(record.kind if item is record else "", PG + "period")), period)
        self.add(period, self.rdf_type, self.node(TIME + "Interval"))
        for key, pred in (("from", "hasBeginning"), ("until", "hasEnd")):
            if key in item.data:
                self.add(period, self.node(TIME + pred), self.date(f"{s.value}/{key}", item.data[key], record))

    def date(self, iri: str, d: DateSpec, record: Record) -> ox.NamedNode:
        node = self.node(iri)
        self.add(node, self.rdf_type, self.node(PG + "DateSpecification"))
        self.add(node, self.node(PG + "dateQualifier"), self.node(concept_iri("date-qualifier", d.qualifier)))
        if d.point is not None:
            xsd, prop, unit = _XSD_FOR.get(d.point.precision, _XSD_YEAR)
            self.add(node, self.node(TIME + prop), self.typed(d.point.text, xsd))
            self.add(node, self.node(TIME + "unitType"), self.node(TIME + unit))
        if d.earliest is not None:
            self.add(node, self.node(PG + "earliest"), self.typed(d.earliest.isoformat(), "date"))
        if d.latest is not None:
            self.add(node, self.node(PG + "latest"), self.typed(d.latest.isoformat(), "date"))
        self.add(node, self.node(PG + "dateLabel"), ox.Literal(d.label))
        return node


def build(dataset: Dataset, base: str = DEFAULT_BASE) -> Built:
    """Turn checked records into the asserted graph."""
    e = _Emitter(dataset, base)
    for r in dataset.records:
        e.record(r)
    triples = sorted(e.out, key=str)
    return Built(triples, e.origins, base, e.node_rules, e.field_positions)
