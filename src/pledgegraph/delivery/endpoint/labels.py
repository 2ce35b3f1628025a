"""Names for IRIs: what `--labels` puts next to them, and how an entity is written for people.

Every record with a name has `rdfs:label` (beside `skos:prefLabel`; a source its title, an event
its label), and so do the vocabulary concepts and ontology terms, so one property names anything.
A label column `?<var>Label` follows every column holding IRIs, as Wikidata's label service does;
the English label wins, then one without a language, then the first in order. Entities are
written as KIND/ID (`org/islamic-state`), the form `--bind`, `show` and `export` take.
"""

from __future__ import annotations

from dataclasses import replace

import pyoxigraph as ox

from pledgegraph.delivery.endpoint.store import Answer, Loaded
from pledgegraph.layout import graph_iri
from pledgegraph.model.iris import entity_ref
from pledgegraph.model.vocab import PREFIXES, RDFS

_BATCH = 500


def names(loaded: Loaded, iris: list[str]) -> dict[str, str]:
    """The label of each IRI that has one (asserted, inferred and ontology graphs)."""
    graphs = loaded.default_graphs() + [ox.NamedNode(graph_iri(loaded.base, "ontology"))]
    best: dict[str, tuple[int, str]] = {}
    wanted = sorted(set(iris))
    for start in range(0, len(wanted), _BATCH):
        values = " ".join(f"<{i}>" for i in wanted[start : start + _BATCH])
        rows = loaded.store.query(
            f"SELECT ?x ?l WHERE {{ VALUES ?x {{ {values} }} ?x <{RDFS}label> ?l }}", default_graph=graphs
        )
        for row in rows:
            label = row[1]
            rank = 0 if label.language == "en" else 1 if not label.language else 2
            key = (rank, label.value)
            if row[0].value not in best or key < best[row[0].value]:
                best[row[0].value] = key
    return {iri: text for iri, (_, text) in best.items()}


def with_labels(answer: Answer, loaded: Loaded) -> Answer:
    """The answer with a `?<var>Label` column after each column that holds IRIs, and entities
    shown as KIND/ID in tables."""
    if answer.form not in ("select",) or not answer.rows:
        return replace(answer, short_base=loaded.base)
    iri_columns = [
        i for i in range(len(answer.variables)) if any(isinstance(row[i], ox.NamedNode) for row in answer.rows)
    ]
    found = names(
        loaded, [row[i].value for row in answer.rows for i in iri_columns if isinstance(row[i], ox.NamedNode)]
    )
    iri_columns = [
        i for i in iri_columns if any(isinstance(row[i], ox.NamedNode) and row[i].value in found for row in answer.rows)
    ]  # no column of blanks
    variables, rows = [], [[] for _ in answer.rows]
    for i, var in enumerate(answer.variables):
        variables.append(var)
        for out, row in zip(rows, answer.rows):
            out.append(row[i])
        if i in iri_columns:
            variables.append(var + "Label")
            for out, row in zip(rows, answer.rows):
                term = row[i]
                text = found.get(term.value) if isinstance(term, ox.NamedNode) else None
                out.append(ox.Literal(text) if text else None)
    return replace(answer, variables=variables, rows=[tuple(r) for r in rows], short_base=loaded.base)


def prefixed(iri: str, base: str) -> str:
    """An IRI as people read it: KIND/ID for entities, a prefixed name for terms, else <iri>."""
    ref = entity_ref(iri, base)
    if ref:
        return ref
    for prefix, ns in PREFIXES.items():
        local = iri[len(ns) :]
        if iri.startswith(ns) and local and all(c.isalnum() or c in "-_" for c in local):
            return f"{prefix}:{local}"
    return f"<{iri}>"


def answer_names(loaded: Loaded, answer: dict) -> dict[str, str]:
    """The names of the IRIs in a SPARQL JSON results document (for the HTML answer of /sparql)."""
    iris = [
        term["value"]
        for row in answer.get("results", {}).get("bindings", [])
        for term in row.values()
        if term.get("type") == "uri"
    ]
    return names(loaded, iris)
