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

from collections import Counter
from itertools import chain

import pyoxigraph as ox

from pledgegraph.model import schema
from pledgegraph.model.dates import DAY, MONTH, DateSpec
from pledgegraph.errors import Position
from pledgegraph.gcpause import paused_gc
from pledgegraph.model import timeline
from pledgegraph.model.iris import concept_iri, record_iri, subordination_iri
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


class Built:
    """The asserted graph as sorted, unique triples, and where each node came from.

    The builder makes N-Triples lines (`lines`, sorted, without the final " ."): strings are
    ~10x cheaper to make, deduplicate and sort than pyoxigraph terms, N-Triples output is their
    concatenation, and stores bulk-load them. `triples` (pyoxigraph Triples in the same order) is
    parsed from them the first time it is asked for. A union of graphs (`union`) is merged only
    when its lines are asked for: a store can take the parts one by one."""

    def __init__(self, triples: list[ox.Triple] | None, origins: dict[str, tuple[str, Position]], base: str,
                 lines: list[str] | None = None, node_rules: dict[str, str] | None = None,
                 field_positions: dict[tuple[str, str], Position] | None = None, parts: tuple = ()):
        if triples is None and lines is None and not parts:
            raise ValueError("Built needs triples, lines or parts")
        self._triples = triples
        self._lines = lines
        self.parts: tuple[Built, ...] = parts
        self._order: list[int] | None = None
        self._ntriples: bytes | None = None
        self.origins = origins  # node IRI -> (record id, position in YAML)
        self.base = base
        # For messages: which part of the format each node comes from (a kind or struct name such as
        # `pledge` or `citation`, or a field path such as `organization.founded` for date nodes), and
        # where each field of a node was written, keyed (node IRI, field name).
        self.node_rules = node_rules if node_rules is not None else {}
        self.field_positions = field_positions if field_positions is not None else {}

    def with_lines(self, lines: list[str]) -> "Built":
        """The same records' graph with other triples (e.g. asserted + inferred), same tracing maps."""
        return Built(None, self.origins, self.base, lines, self.node_rules, self.field_positions)

    def union(self, other: "Built") -> "Built":
        """This graph and a disjoint one (e.g. asserted + inferred) as one, same tracing maps."""
        return Built(None, self.origins, self.base, None, self.node_rules, self.field_positions, (self, other))

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            if self.parts:
                self._lines = self._merged(list(chain.from_iterable(part.lines for part in self.parts)))
            else:
                self._lines = [str(t) for t in self._triples]
        return self._lines

    @property
    def triples(self) -> list[ox.Triple]:
        if self._triples is None:
            if self.parts:
                self._triples = self._merged(list(chain.from_iterable(part.triples for part in self.parts)))
            else:
                self._triples = [q.triple for q in ox.parse(self.ntriples(), format=ox.RdfFormat.N_TRIPLES)]
        return self._triples

    def ntriples(self) -> bytes:
        """The graph as N-Triples, one sorted line per triple (the `ntriples` output)."""
        if self._ntriples is None:
            if self.parts:  # its writers have the terms: pyoxigraph writes them faster than str.join
                self._ntriples = ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES)
            else:
                lines = self.lines
                self._ntriples = (" .\n".join(lines) + " .\n").encode() if lines else b""
        return self._ntriples

    def _merged(self, concatenated: list) -> list:
        """The parts' items (lines or terms, concatenated part after part) in the
        union's sorted order. The parts are sorted and disjoint, so sorting their lines is one merge
        in C, done once; each part is parsed once, and the union shares its parts' terms."""
        if self._order is None:
            lines = list(chain.from_iterable(part.lines for part in self.parts))
            self._order = sorted(range(len(lines)), key=lines.__getitem__)
        return [concatenated[i] for i in self._order]

    def __len__(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        return sum(map(len, self.parts)) if self.parts else len(self._triples)


# N-Triples string escapes, exactly as pyoxigraph writes them (so output bytes do not change).
_ESCAPES = {**{c: f"\\u{c:04X}" for c in [*range(0x20), 0x7F, 0xFFFE, 0xFFFF]},
            0x08: "\\b", 0x09: "\\t", 0x0A: "\\n", 0x0C: "\\f", 0x0D: "\\r", 0x22: '\\"', 0x5C: "\\\\"}


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
        sides = [f"<{iri}/side/{n}>" for n in range(1, len(r.data.get("sides", [])) + 1)]
        for a in sides:
            for b in sides:
                if a != b:
                    self.add(a, _CONTRADICTS, b)

    def fields(self, iri: str, item: Item, specs: tuple[Field, ...], record: Record) -> None:
        counters: dict[str, int] = {}
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
                    self.claimed(iri, spec, claim, record, counters, schema.RANKS.index(claim.rank) == best
                                 and claim.rank != "deprecated")
            else:
                for v in value if spec.many else [value]:
                    self.value(iri, spec, v, record, counters)
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
        for pred, day in ((_START_EARLIEST, span.start_earliest), (_START_LATEST, span.start_latest),
                          (_END_EARLIEST, span.end_earliest), (_END_LATEST, span.end_latest),
                          (_VALID_FROM, span.valid_from), (_VALID_UNTIL, span.valid_until)):
            if day is not None:
                self.add(s, pred, self.typed(day.isoformat(), "date"))
        if not span.start_dated:
            self.add(s, _START_UNDATED, _TRUE)
        if not span.end_dated:
            self.add(s, _END_UNDATED, _TRUE)

    def value(self, iri: str, spec: Field, v, record: Record, counters: dict[str, int]) -> None:
        p = self.term(spec.predicate) if spec.predicate else None
        if spec.base_type == "struct":
            struct = schema.STRUCTS[spec.target]
            counters[spec.name] = n = counters.get(spec.name, 0) + 1
            child = f"{iri}/{struct.segment}/{n}"
            self.origins[child] = (record.id, v.position)
            self.node_rules[child] = struct.name
            self.add(f"<{child}>", self.rdf_type, self.term(struct.cls))
            self.add(f"<{iri}>", p, f"<{child}>")
            self.fields(child, v, struct.fields, record)
            return
        o = self.object(iri, spec, v, record)
        if p is not None:
            self.add(f"<{iri}>", p, o)

    def object(self, iri: str, spec: Field, v, record: Record, node_name: str = "") -> str:
        """The RDF object for one value; a date becomes a node named `node_name` (default: the field)."""
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
            return self.date(f"{iri}/{node_name or spec.name}", v, record)
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

    def claimed(self, iri: str, spec: Field, claim: Claimed, record: Record, counters: dict[str, int],
                stated: bool) -> None:
        """One claimed value: its claim node (with rank and sources), and the plain triple when it is
        among the field's best-ranked values (`stated`)."""
        # Disagreeing dates each get their own node (…/founded, …/founded-2), never one merged node.
        counters["value:" + spec.name] = k = counters.get("value:" + spec.name, 0) + 1
        o = self.object(iri, spec, claim.value, record, spec.name if k == 1 else f"{spec.name}-{k}")
        if spec.base_type == "date" and o.startswith("<"):
            self.origins[o[1:-1]] = (record.id, claim.position)
            self.node_rules[o[1:-1]] = f"{self.node_rules[iri]}.{spec.name}"
        p = self.term(spec.predicate)
        if stated:
            self.add(f"<{iri}>", p, o)
        if not claim.sources and claim.rank == "normal":
            return  # supported by the record's own citations
        counters["claim:" + spec.name] = n = counters.get("claim:" + spec.name, 0) + 1
        c = f"{iri}/claim/{spec.name}-{n}"
        self.origins[c] = (record.id, claim.position)
        self.node_rules[c] = f"{self.node_rules[iri]}.{spec.name}"
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
        for i, (n, is_pref) in enumerate(zip(names, chosen), start=1):
            lit = nt_literal(n.data["name"], language=n.data["lang"])
            pred = _PREF_LABEL if is_pref else _ALT_LABEL
            if is_pref or (n.data["name"], n.data["lang"]) not in pref_literals:
                self.add(s, pred, lit)
            if is_pref:
                self.add(s, _RDFS_LABEL, lit)
            a = f"{iri}/name/{i}"
            self.origins[a] = (record.id, n.position)
            self.node_rules[a] = "name"
            self.field_positions.update({(a, k): p for k, p in n.field_positions.items()})
            self.reify(f"<{a}>", PG + "NameAttestation", s, pred, lit)
            self.add(s, _NAME_ATTESTATION, f"<{a}>")
            if "kind" in n.data:
                self.add(f"<{a}>", _NAME_KIND, f"<{self.concept(concept_iri('name-kind', n.data['kind']))}>")
            self.citations(a, n.data["sources"], record)

    def citations(self, fact: str, cites: list[Item], record: Record) -> None:
        seen: dict[str, int] = {}
        add = self.add
        f = f"<{fact}>"
        for c in cites:
            src_id = c.data["source"]
            seen[src_id] = k = seen.get(src_id, 0) + 1
            cit_iri = f"{fact}/cite/{src_id}" + (f"-{k}" if k > 1 else "")
            cit = f"<{cit_iri}>"
            src = f"<{record_iri(self.base, 'source', src_id)}>"
            self.origins[cit_iri] = (record.id, c.position)
            self.node_rules[cit_iri] = "citation"
            self.field_positions.update({(cit_iri, k): p for k, p in c.field_positions.items()})
            add(f, _CITATION, cit)
            add(f, _DERIVED_FROM, src)
            add(cit, self.rdf_type, _CITATION_CLASS)
            add(cit, _SOURCE, src)
            for spec in _CITATION_FIELDS:
                if spec.name in c.data:
                    add(cit, self.term(spec.predicate), self.object(cit_iri, spec, c.data[spec.name], record))
            if "quote" in c.data:
                add(cit, _QUOTE_TEXT, nt_literal(c.data["quote"]))
                self.quote(f, cit_iri, src, c.data)
        hedges = [c.data.get("hedge") for c in cites]
        if hedges and all(hedges):  # every source only reports, alleges or predicts it: mark the fact
            for h in sorted(set(hedges)):
                add(f, _HEDGED_BY_SOURCES, f"<{concept_iri('hedge', h)}>")

    def quote(self, fact: str, cit: str, src: str, data: dict) -> None:
        """The quote as a W3C Web Annotation: body = the fact, target = the words in the source.

        Motivated by oa:identifying ("identify what is described in the Target"): the body is the
        fact the passage states; it does not describe the passage (oa:describing) or comment on it.
        """
        ann = f"<{cit}/quote>"
        target = f"<{cit}/quote/target>"
        selector = f"<{cit}/quote/selector>"
        add, a = self.add, self.rdf_type
        add(f"<{cit}>", _QUOTE, ann)
        add(ann, a, _OA + "Annotation>")
        add(ann, _OA + "motivatedBy>", _OA + "identifying>")
        add(ann, _OA + "hasBody>", fact)
        add(ann, _OA + "hasTarget>", target)
        add(target, a, _OA + "SpecificResource>")
        add(target, _OA + "hasSource>", src)
        add(target, _OA + "hasSelector>", selector)
        add(selector, a, _OA + "TextQuoteSelector>")
        for key in ("exact", "prefix", "suffix"):
            text = data.get("quote" if key == "exact" else key)
            if text:
                add(selector, _OA + key + ">", nt_literal(text))

    def period(self, iri: str, item: Item, record: Record) -> None:
        period = f"{iri}/period"
        self.add(f"<{iri}>", f"<{PG}period>", f"<{period}>")
        also = PERIOD_ALSO.get(record.kind) if item is record else None
        if also:
            self.add(f"<{iri}>", f"<{also}>", f"<{period}>")
        self.add(f"<{period}>", self.rdf_type, f"<{TIME}Interval>")
        for key, pred in (("from", "hasBeginning"), ("until", "hasEnd")):
            if key in item.data:
                self.add(f"<{period}>", f"<{TIME}{pred}>", self.date(f"{iri}/{key}", item.data[key], record))

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
_OA = f"<{OA}"
_QUOTE_TEXT, _EDTF, _RANK = f"<{PG}quoteText>", f"<{PG}edtf>", f"<{PG}rank>"
_TRUE, _FALSE = nt_literal("true", datatype=XSD + "boolean"), nt_literal("false", datatype=XSD + "boolean")
_UNDATED, _DATE_EARLIEST, _DATE_LATEST = f"<{PG}undated>", f"<{PG}dateEarliest>", f"<{PG}dateLatest>"
_START_EARLIEST, _START_LATEST, _END_EARLIEST, _END_LATEST = (
    f"<{PG}{p}>" for p in ("startEarliest", "startLatest", "endEarliest", "endLatest"))
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


@paused_gc()
def build(dataset: Dataset, base: str = DEFAULT_BASE) -> Built:
    """Turn checked records into the asserted graph, with the links and the direct layer derived
    from them at build time (`timeline.py`)."""
    e = _Emitter(dataset, base)
    for r in dataset.records:
        e.record(r)
    e.derived()
    return _graph(e)


class _CountingEmitter(_Emitter):
    def __init__(self, dataset: Dataset, base: str):
        super().__init__(dataset, base)
        self.counts: Counter[str] = Counter()

    def add(self, s: str, p: str, o: str) -> None:
        line = f"{s} {p} {o}"
        self.out.add(line)
        self.counts[line] += 1


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
