"""OWL 2 RL inference over the built graph. Stage 3 of the pipeline: build -> reason -> validate.

owlrl is the reference for OWL 2 RL semantics, but it re-scans the whole graph every round (minutes
at 100k triples) and emits junk (`x owl:sameAs x`, literals as subjects). So the work is split:

1. the ontology's hierarchy is read into `Rules`: subclass and subproperty closures (equivalences
   count both ways), domains, ranges, inverses, symmetric and transitive properties and property
   chains — the only OWL constructs `ontology/` uses (tests/test_ontology.py keeps it so);
2. the rules are applied to the data set-at-a-time: property rules to a fixpoint, semi-naively
   (each round joins only the new triples against hash indexes), then class membership from asserted
   types, domains and ranges, closed under subclass. Cost grows with the triples and their
   consequences, not with rounds over the whole graph.

Terms are handled as N-Triples strings (`<iri>`, `"literal"…`), the builder's own lines split in
three: string hashing and comparison are several times cheaper than pyoxigraph terms, and nothing
is parsed (at a million triples, parsing alone took longer than the inference).

tests/test_reason.py proves the result equals owlrl's full closure minus its junk on the shipped data;
`reason_owlrl` is that reference (`--reasoner owlrl`).
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import pyoxigraph as ox

from pledgegraph.gcpause import paused_gc
from pledgegraph.model.graph import Built, LineFile
from pledgegraph.model.vocab import OWL, RDF, RDFS

_TYPE = f"<{RDF}type>"

Term = str  # in N-Triples syntax
Pairs = set[tuple[Term, Term]]


@dataclass(frozen=True)
class Rules:
    """What the data-level rules need from the ontology, closed once."""

    superclasses: dict[Term, frozenset[Term]] = field(default_factory=dict)
    superproperties: dict[Term, frozenset[Term]] = field(default_factory=dict)
    domains: dict[Term, frozenset[Term]] = field(default_factory=dict)
    ranges: dict[Term, frozenset[Term]] = field(default_factory=dict)
    inverses: dict[Term, frozenset[Term]] = field(default_factory=dict)
    symmetric: frozenset[Term] = frozenset()
    transitive: frozenset[Term] = frozenset()
    chains: tuple[tuple[Term, tuple[Term, ...]], ...] = ()

    def property_rule_terms(self) -> frozenset[Term]:
        """The properties a property rule reads or derives (the others matter only by domain and range)."""
        terms = set(self.superproperties) | set(self.inverses) | self.symmetric | self.transitive
        for supers in (*self.superproperties.values(), *self.inverses.values()):
            terms |= supers
        for head, body in self.chains:
            terms |= {head, *body}
        return frozenset(terms)


def read_ontology(files: list[Path]) -> list[ox.Triple]:
    """The ontology files' triples, sorted. Its only blank nodes (OWL lists such as property chains)
    get canonical (RDFC-1.0) labels, so outputs are the same from run to run."""
    dataset = ox.Dataset([q for path in files for q in ox.parse(path=str(path), format=ox.RdfFormat.TURTLE)])
    dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
    return sorted({q.triple for q in dataset}, key=str)


def load_rules(ontology: list[ox.Triple]) -> Rules:
    """Close the ontology's class and property hierarchy and collect the rules for the data."""
    by_pred: dict[str, list[ox.Triple]] = defaultdict(list)
    for t in ontology:
        by_pred[t.predicate.value].append(t)

    def edges(*preds: str, both: tuple[str, ...] = ()) -> dict:
        graph: dict = defaultdict(set)
        for p in preds + both:
            for t in by_pred[p]:
                if isinstance(t.subject, ox.NamedNode) and isinstance(t.object, ox.NamedNode):
                    graph[str(t.subject)].add(str(t.object))
                    if p in both:
                        graph[str(t.object)].add(str(t.subject))
        return graph

    superclasses = _closure(edges(RDFS + "subClassOf", both=(OWL + "equivalentClass",)))
    superproperties = _closure(edges(RDFS + "subPropertyOf", both=(OWL + "equivalentProperty",)))

    def with_supers(graph: dict) -> dict:
        return {p: frozenset(c | {s for x in c for s in superclasses.get(x, ())}) for p, c in graph.items()}

    typed: dict[str, set] = defaultdict(set)
    for t in by_pred[RDF + "type"]:
        typed[t.object.value].add(str(t.subject))  # type: ignore[union-attr]  # rdf:type's objects are IRIs
    lists: dict[Any, Any] = {t.subject: t.object for t in by_pred[RDF + "first"]}
    rests: dict[Any, Any] = {t.subject: t.object for t in by_pred[RDF + "rest"]}
    chains = []
    for t in by_pred[OWL + "propertyChainAxiom"]:
        body, node = [], t.object  # type: list[str], Any
        while node in lists:
            body.append(str(lists[node]))
            node = rests.get(node)
        chains.append((str(t.subject), tuple(body)))
    return Rules(
        superclasses=superclasses,
        superproperties=superproperties,
        domains=with_supers(edges(RDFS + "domain")),
        ranges=with_supers(edges(RDFS + "range")),
        inverses={p: frozenset(q) for p, q in edges(both=(OWL + "inverseOf",)).items()},
        symmetric=frozenset(typed[OWL + "SymmetricProperty"]),
        transitive=frozenset(typed[OWL + "TransitiveProperty"]),
        chains=tuple(sorted(chains, key=str)),
    )


def _closure(graph: dict) -> dict[Term, frozenset[Term]]:
    """Every node's strict ancestors (cycles, e.g. from equivalences, are fine)."""
    out = {}
    for start in graph:
        seen, stack = set(), list(graph[start])
        while stack:
            n = stack.pop()
            if n not in seen:
                seen.add(n)
                stack.extend(graph.get(n, ()))
        seen.discard(start)
        out[start] = frozenset(seen)
    return out


@paused_gc()
def infer(lines: Iterable[str], rules: Rules, exclude=()) -> list[str]:
    """The N-Triples lines (without " .") OWL 2 RL entails from `lines` under `rules`, minus those
    given, sorted.

    `exclude` holds lines published elsewhere (the ontology), so they are not repeated here.
    """
    return Closure(lines, rules, exclude, editable=False).inferred()


class Closure:
    """What `rules` entail from a set of asserted lines, kept up to date as lines come and go.

    Property facts (`facts`: predicate -> (subject, object) pairs, asserted or entailed; `derived`:
    the entailed ones) are closed semi-naively. Classes depend on nothing but a node's own facts
    (its asserted types, the domains of what it states, the ranges of what points at it, closed
    under subclass), so they are computed per node. Only what is new is turned back into lines.

    `update` applies an edit by DRed (delete and rederive): what the removed facts entail is
    withdrawn, what still has another derivation comes back, and the added facts are closed
    semi-naively; the classes of the nodes involved are recomputed. tests/test_reason.py checks it
    against closing the edited graph from scratch.
    """

    @paused_gc()
    def __init__(self, lines, rules: Rules, exclude=(), editable: bool = True):
        """`editable=False` (a one-off closure, as `build` makes): only the facts a property rule
        reads or derives are kept; the others (most of the graph: quotes, dates, labels) only give
        their nodes classes by domain and range, taken as they pass. Such a closure cannot `update`."""
        self.rules = rules
        self.editable = editable
        self.excluded = set(exclude)
        self.facts: dict[Term, Pairs] = defaultdict(set)
        # node -> classes. A graph has millions of nodes but a few dozen distinct sets of classes:
        # each node holds one shared frozenset (`_ClassSets`), not a set of its own (a third of the
        # reasoner's memory before), and its IRI is interned once for all the maps.
        self.asserted_types: dict[Term, frozenset[Term]] = {}
        self.types: dict[Term, frozenset[Term]] = {}
        classes = _ClassSets()
        kept = None if editable else rules.property_rule_terms()
        domains, ranges, intern = rules.domains, rules.ranges, sys.intern
        asserted, types, facts, widen = self.asserted_types, self.types, self.facts, classes.widen
        for line in lines:
            s, p, o = line.split(" ", 2)
            if p == _TYPE:
                s = intern(s)
                asserted[s] = widen(asserted.get(s), frozenset((o,)))
            elif kept is None or p in kept:
                facts[p].add((intern(s), intern(o)))
            else:
                if p in domains:
                    s = intern(s)
                    types[s] = widen(types.get(s), domains[p])
                if p in ranges and o[0] != '"':
                    o = intern(o)
                    types[o] = widen(types.get(o), ranges[p])
        self.derived = _close_properties(facts, rules, {p: set(pairs) for p, pairs in facts.items()})
        for node, given in asserted.items():
            types[node] = widen(types.get(node), given)
        for p, pairs in facts.items():
            if p in domains:
                for s, _ in pairs:
                    types[s] = widen(types.get(s), domains[p])
            if p in ranges:
                for _, o in pairs:
                    if o[0] != '"':
                        types[o] = widen(types.get(o), ranges[p])
        closed = classes.closer(rules.superclasses)
        for node, given in types.items():
            types[node] = closed(given)
        self._uses: tuple[dict, dict] | None = None  # made by the first update

    def inferred(self) -> list[str]:
        """Every entailed line that is not asserted (nor excluded), sorted."""
        out = [f"{s} {p} {o}" for p, pairs in self.derived.items() for s, o in pairs]
        for node, classes in self.types.items():
            asserted = self.asserted_types.get(node, ())
            out += [f"{node} {_TYPE} {c}" for c in classes if c not in asserted]
        return sorted(line for line in out if line not in self.excluded)

    @paused_gc()
    def update(self, removed: list[str], added: list[str]) -> tuple[list[str], list[str]]:
        """Apply an edit (asserted lines removed, asserted lines added; disjoint). Returns the
        inferred lines it withdraws and those it adds."""
        if not self.editable:
            raise ValueError("this closure was made with editable=False: it keeps too little to update")
        facts, derived, rules = self.facts, self.derived, self.rules
        uses = self.track_nodes()
        before: dict[tuple[Term, tuple[Term, Term]], int] = {}

        def status(p, pair) -> int:  # 0 absent, 1 asserted, 2 entailed only
            return 2 if pair in derived.get(p, ()) else 1 if pair in facts.get(p, ()) else 0

        def touch(pairs_by_p) -> None:
            for p, pairs in pairs_by_p.items():
                for pair in pairs:
                    before.setdefault((p, pair), status(p, pair))

        gone, new, types_gone, types_new = _split(removed), _split(added), defaultdict(set), defaultdict(set)
        for node, cls in gone.pop(_TYPE, ()):
            types_gone[node].add(cls)
        for node, cls in new.pop(_TYPE, ()):
            types_new[node].add(cls)
        gone = {p: {x for x in pairs if status(p, x) == 1} for p, pairs in gone.items()}
        new = {p: {x for x in pairs if status(p, x) != 1} for p, pairs in new.items()}
        touch(gone)
        touch(new)

        # Delete: withdraw everything the removed facts took part in deriving (an over-estimate) ...
        withdrawn: dict[Term, Pairs] = defaultdict(set)
        frontier = gone
        while frontier:
            entailed = _consequences(frontier, facts, rules)
            frontier = {}
            for p, pairs in entailed.items():
                hit = (pairs & derived.get(p, set())) - withdrawn[p]
                if hit:
                    withdrawn[p] |= hit
                    frontier[p] = hit
        touch(withdrawn)
        for p in set(gone) | set(withdrawn):
            facts[p] -= gone.get(p, set()) | withdrawn[p]
            derived[p] -= withdrawn[p]
        # ... rederive what still follows in one step from what is left, ...
        indexes: dict = {}
        back = {p: {x for x in pairs if self._derivable(p, x, indexes)} for p, pairs in _merge(withdrawn, gone).items()}
        # ... then insert that and the added facts, and close semi-naively.
        for p, pairs in new.items():
            derived[p] -= pairs
            facts[p] |= pairs
        for p, pairs in back.items():
            derived[p] |= pairs
            facts[p] |= pairs
        for p, pairs in _close_properties(facts, rules, _merge(new, back)).items():
            for pair in pairs:
                before.setdefault((p, pair), 0)
            derived[p] |= pairs

        lost: list[str] = []
        gained: list[str] = []
        nodes = set(types_gone) | set(types_new)
        for (p, pair), was in before.items():
            now = status(p, pair)
            if (was == 2) != (now == 2):
                (gained if now == 2 else lost).append(f"{pair[0]} {p} {pair[1]}")
            if (was > 0) != (now > 0):
                nodes |= _count_use(uses, p, pair, rules, 1 if now else -1)
        for node in nodes:
            old = self.types.get(node, frozenset()) - self.asserted_types.get(node, frozenset())
            self.asserted_types[node] = frozenset(
                (self.asserted_types.get(node, frozenset()) - types_gone[node]) | types_new[node]
            )
            self.types[node] = frozenset(self._classes_of(node, uses))
            inferred = self.types[node] - self.asserted_types[node]
            lost += [f"{node} {_TYPE} {c}" for c in old - inferred]
            gained += [f"{node} {_TYPE} {c}" for c in inferred - old]
        return (sorted(x for x in lost if x not in self.excluded), sorted(x for x in gained if x not in self.excluded))

    def track_nodes(self) -> tuple[dict, dict]:
        """How many pairs of each property with a domain (range) each node is the subject (object) of:
        what `update` needs to recompute a node's classes. Made on first use (seconds at 1M triples)."""
        if self._uses is None:
            self._uses = (defaultdict(lambda: defaultdict(int)), defaultdict(lambda: defaultdict(int)))
            for p, pairs in self.facts.items():
                if p in self.rules.domains:
                    for node, n in Counter(s for s, _ in pairs).items():
                        self._uses[0][node][p] = n
                if p in self.rules.ranges:
                    for node, n in Counter(o for _, o in pairs if o[0] != '"').items():
                        self._uses[1][node][p] = n
        return self._uses

    def _classes_of(self, node: Term, uses: tuple[dict, dict]) -> set[Term]:
        rules = self.rules
        classes = set(self.asserted_types.get(node, ()))
        for p, n in uses[0].get(node, {}).items():
            if n:
                classes |= rules.domains[p]
        for p, n in uses[1].get(node, {}).items():
            if n:
                classes |= rules.ranges[p]
        return classes.union(*(rules.superclasses.get(c, ()) for c in list(classes)))

    def _derivable(self, head: Term, pair: tuple[Term, Term], indexes: dict) -> bool:
        """Whether one rule derives `pair` of `head` from the current facts."""
        rules, facts = self.rules, self.facts
        s, o = pair
        if any(pair in facts.get(q, ()) for q, supers in rules.superproperties.items() if head in supers):
            return True
        if any((o, s) in facts.get(q, ()) for q, inverse in rules.inverses.items() if head in inverse):
            return True
        if head in rules.symmetric and (o, s) in facts.get(head, ()):
            return True
        if head in rules.transitive and any((m, o) in facts[head] for m in _index(facts, head, indexes).get(s, ())):
            return True
        for chain_head, body in rules.chains:
            if chain_head == head:
                ends = {s}
                for q in body:
                    forward = _index(facts, q, indexes)
                    ends = {y for x in ends for y in forward.get(x, ())}
                if o in ends:
                    return True
        return False


class _ClassSets:
    """Shared frozensets of classes: `widen(a, b)` is a ∪ b, the same object each time for the same
    sets (a node's classes are widened once per line naming it; the answers repeat), so millions of
    nodes share a few dozen sets."""

    def __init__(self) -> None:
        self.unions: dict[tuple[frozenset[Term] | None, frozenset[Term]], frozenset[Term]] = {}
        self.shared: dict[frozenset[Term], frozenset[Term]] = {}

    def widen(self, a: frozenset[Term] | None, b: frozenset[Term]) -> frozenset[Term]:
        key = (a, b)
        found = self.unions.get(key)
        if found is None:
            union = b if a is None else a | b
            found = self.unions[key] = self.shared.setdefault(union, union)
        return found

    def closer(self, superclasses: dict[Term, frozenset[Term]]):
        """A set's closure under subclass, computed once per distinct set."""
        done: dict[frozenset[Term], frozenset[Term]] = {}

        def closed(given: frozenset[Term]) -> frozenset[Term]:
            found = done.get(given)
            if found is None:
                found = done[given] = given.union(*(superclasses.get(c, ()) for c in given))
            return found

        return closed


def _split(lines) -> dict[Term, Pairs]:
    out: dict[Term, Pairs] = defaultdict(set)
    for line in lines:
        s, p, o = line.split(" ", 2)
        out[p].add((s, o))
    return out


def _merge(a: dict[Term, Pairs], b: dict[Term, Pairs]) -> dict[Term, Pairs]:
    out = {p: set(pairs) for p, pairs in a.items() if pairs}
    for p, pairs in b.items():
        if pairs:
            out.setdefault(p, set()).update(pairs)
    return out


def _count_use(uses: tuple[dict, dict], p: Term, pair: tuple[Term, Term], rules: Rules, step: int) -> set[Term]:
    """Count one pair of `p` in or out of its nodes' uses; the nodes whose classes may change."""
    s, o = pair
    nodes = set()
    if p in rules.domains:
        uses[0][s][p] += step
        nodes.add(s)
    if p in rules.ranges and o[0] != '"':
        uses[1][o][p] += step
        nodes.add(o)
    return nodes


def _close_properties(facts: dict[Term, Pairs], rules: Rules, delta: dict[Term, Pairs]) -> dict[Term, Pairs]:
    """Subproperty, inverse, symmetric, transitive and chain rules to a fixpoint, semi-naively from
    `delta` (facts already in `facts`). Adds to `facts` and returns what was added."""
    added: dict[Term, Pairs] = defaultdict(set)
    while delta:
        new = _consequences(delta, facts, rules)
        delta = {}
        for p, pairs in new.items():
            fresh = pairs - facts[p]
            if fresh:
                facts[p] |= fresh
                added[p] |= fresh
                delta[p] = fresh
    return added


def _consequences(delta: dict[Term, Pairs], facts: dict[Term, Pairs], rules: Rules) -> dict[Term, Pairs]:
    """One round: every pair a rule derives with at least one premise in `delta`, the others in `facts`."""
    indexes: dict = {}
    new: dict[Term, Pairs] = defaultdict(set)
    for p, pairs in delta.items():
        for q in rules.superproperties.get(p, ()):
            new[q] |= pairs
        if p in rules.inverses or p in rules.symmetric:
            reversed_pairs = {(o, s) for s, o in pairs if o[0] != '"'}
            for q in rules.inverses.get(p, ()):
                new[q] |= reversed_pairs
            if p in rules.symmetric:
                new[p] |= reversed_pairs
        if p in rules.transitive:
            forward, backward = _index(facts, p, indexes), _index(facts, p, indexes, backward=True)
            for s, o in pairs:
                new[p].update((s, y) for y in forward.get(o, ()))
                new[p].update((x, o) for x in backward.get(s, ()))
        for head, body in rules.chains:
            for i, q in enumerate(body):
                if q != p:
                    continue
                paths = pairs
                for r in body[i + 1 :]:
                    forward = _index(facts, r, indexes)
                    paths = {(a, c) for a, b in paths for c in forward.get(b, ())}
                for r in reversed(body[:i]):
                    backward = _index(facts, r, indexes, backward=True)
                    paths = {(z, c) for a, c in paths for z in backward.get(a, ())}
                new[head] |= paths
    return new


def _index(facts, p, cache: dict, backward: bool = False) -> dict:
    """subject -> objects (or object -> subjects) of one property, built once per round (or per use)."""
    key = (p, backward)
    if key not in cache:
        idx: dict = defaultdict(list)
        for s, o in facts.get(p, ()):
            if backward:
                idx[o].append(s)
            else:
                idx[s].append(o)
        cache[key] = idx
    return cache[key]


def reason(built: Built, ontology_files: list[Path]) -> Built:
    """The pipeline stage: what the ontology lets us infer from the asserted graph, as a graph of
    its own (same tracing maps, so problems on inferred triples still point at the YAML)."""
    ontology = read_ontology(ontology_files)
    lines = infer(built.lines, load_rules(ontology), exclude=[str(t) for t in ontology])
    # A graph too large to hold (its asserted lines on disk) gets its inferred lines on disk too:
    # the process then holds neither while it validates and writes.
    return built.with_lines(LineFile.written(lines) if built.line_file is not None else lines)


def reason_owlrl(built: Built, ontology_files: list[Path]) -> Built:
    """The reference (`--reasoner owlrl`): what owlrl's OWL 2 RL closure entails, as `reason` gives it.
    Slow: owlrl re-scans the whole graph each round."""
    import rdflib

    data = rdflib.Graph().parse(data=built.ntriples(), format="nt")
    ontology = rdflib.Graph().parse(
        data=ox.serialize(read_ontology(ontology_files), format=ox.RdfFormat.N_TRIPLES), format="nt"
    )
    kept = rdflib.Graph()
    for t in owlrl_entailed(data, ontology):
        kept.add(t)
    written = kept.serialize(format="nt", encoding="utf-8")
    return built.with_lines(sorted({str(t) for t in ox.parse(written, format=ox.RdfFormat.N_TRIPLES)}))


def owlrl_entailed(data, ontology) -> set:
    """What owlrl's full OWL 2 RL closure of data + ontology adds beyond the ontology's own closure
    and the data, minus owlrl's junk. Junk, precisely:
      - triples whose subject is a literal (e.g. `"2015" rdf:type xsd:gYear`): not RDF at all;
      - `x owl:sameAs x`: reflexive identity, true of every node (rule eq-ref);
      - `x rdf:type owl:Thing`: true of every individual (rule cls-thing / prp-dom on owl:Thing);
      - triples about XSD datatypes (`xsd:decimal owl:disjointWith xsd:string`): owlrl's datatype
        axioms, added as it meets a datatype in the data.
    The ontology's own closure is subtracted because it is published in the ontology graph, not
    derived from the data."""
    import owlrl
    import rdflib

    def closed(graph: rdflib.Graph) -> rdflib.Graph:
        g = rdflib.Graph()
        for t in graph:
            g.add(t)
        for t in ontology:
            g.add(t)
        owlrl.DeductiveClosure(owlrl.OWLRL_Semantics).expand(g)
        return g

    full, schema_only = closed(data), closed(rdflib.Graph())
    if list(full.subjects(rdflib.RDF.type, rdflib.URIRef(_OWLRL_ERRORS + "ErrorMessage"))):
        raise ValueError("owlrl finds the data inconsistent with the ontology")
    return {
        (s, p, o)
        for s, p, o in set(full) - set(schema_only) - set(data)
        if not isinstance(s, rdflib.Literal)
        and not str(s).startswith(str(rdflib.XSD))
        and not (p == rdflib.OWL.sameAs and s == o)
        and not (p == rdflib.RDF.type and o == rdflib.OWL.Thing)
    }


_OWLRL_ERRORS = "http://www.daml.org/2002/03/agents/agent-ont#"
