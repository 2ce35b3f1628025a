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

tests/test_reason.py proves the result equals owlrl's full closure minus its junk on the shipped data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import pyoxigraph as ox

from .build import Built
from .gcpause import paused_gc
from .vocab import OWL, RDF, RDFS

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
        typed[t.object.value].add(str(t.subject))
    lists = {t.subject: t.object for t in by_pred[RDF + "first"]}
    rests = {t.subject: t.object for t in by_pred[RDF + "rest"]}
    chains = []
    for t in by_pred[OWL + "propertyChainAxiom"]:
        body, node = [], t.object
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
def infer(lines: list[str], rules: Rules, exclude=()) -> list[str]:
    """The N-Triples lines (without " .") OWL 2 RL entails from `lines` under `rules`, minus those
    given, sorted.

    `exclude` holds lines published elsewhere (the ontology), so they are not repeated here.
    Only what is new is ever turned back into lines: the asserted facts are not rewritten.
    """
    facts: dict[Term, Pairs] = defaultdict(set)
    asserted_types: dict[Term, set[Term]] = defaultdict(set)
    for line in lines:
        s, p, o = line.split(" ", 2)
        if p == _TYPE:
            asserted_types[s].add(o)
        else:
            facts[p].add((s, o))
    derived = _close_properties(facts, rules)
    types: dict[Term, set[Term]] = defaultdict(set)
    for node, classes in asserted_types.items():
        types[node].update(classes)
    for p, pairs in facts.items():
        for cls in rules.domains.get(p, ()):
            for s, _ in pairs:
                types[s].add(cls)
        for cls in rules.ranges.get(p, ()):
            for _, o in pairs:
                if o[0] != '"':
                    types[o].add(cls)
    excluded = set(exclude)
    out = [line for p, pairs in derived.items() for s, o in pairs if (line := f"{s} {p} {o}") not in excluded]
    for node, classes in types.items():
        closed = classes.union(*(rules.superclasses.get(c, ()) for c in classes))
        closed -= asserted_types.get(node, set())
        out += [line for c in closed if (line := f"{node} {_TYPE} {c}") not in excluded]
    return sorted(out)


def _close_properties(facts: dict[Term, Pairs], rules: Rules) -> dict[Term, Pairs]:
    """Subproperty, inverse, symmetric, transitive and chain rules to a fixpoint, semi-naively.

    Adds to `facts` and returns what was added."""
    chains_using: dict[Term, list] = defaultdict(list)
    for head, body in rules.chains:
        for i, p in enumerate(body):
            chains_using[p].append((head, body, i))
    derived: dict[Term, Pairs] = defaultdict(set)
    delta = {p: set(pairs) for p, pairs in facts.items()}
    while delta:
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
            for head, body, i in chains_using.get(p, ()):
                paths = pairs
                for q in body[i + 1:]:
                    forward = _index(facts, q, indexes)
                    paths = {(a, c) for a, b in paths for c in forward.get(b, ())}
                for q in reversed(body[:i]):
                    backward = _index(facts, q, indexes, backward=True)
                    paths = {(z, c) for a, c in paths for z in backward.get(a, ())}
                new[head] |= paths
        delta = {}
        for p, pairs in new.items():
            fresh = pairs - facts[p]
            if fresh:
                facts[p] |= fresh
                derived[p] |= fresh
                delta[p] = fresh
    return derived


def _index(facts, p, cache: dict, backward: bool = False) -> dict:
    """subject -> objects (or object -> subjects) of one property, built once per round."""
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
    return built.with_lines(infer(built.lines, load_rules(ontology), exclude=[str(t) for t in ontology]))
