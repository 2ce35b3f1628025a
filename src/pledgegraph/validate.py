"""SHACL validation of the built graph, with every result traced back to its YAML record.

Stage 4 of the pipeline. The pipeline uses our compiled engine (`shacl.py`: one whole-graph SPARQL
query per constraint on pyoxigraph); pySHACL stays as the reference, used by tests to prove both
give the same results, and as the fallback for shapes the engine does not compile. Conformance is
computed from the results (a `sh:Violation` fails, a `sh:Warning` or `sh:Info` does not), never taken
from pySHACL's own `conforms` flag, which can be true while violations are present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from . import explain
from .build import Built
from .errors import ERROR, WARNING, Position, Problem, sorted_unique
from .explain import locate

SH = "http://www.w3.org/ns/shacl#"
SEVERITY = {SH + "Violation": ERROR, SH + "Warning": WARNING, SH + "Info": "info"}
ENGINES = ("fast", "pyshacl")


@dataclass
class Report:
    problems: list[Problem]
    results: list = None  # shacl.Result, sorted

    @property
    def conforms(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.severity] = out.get(p.severity, 0) + 1
        return out

    @property
    def results_turtle(self) -> str:
        """The SHACL validation report (sh:ValidationReport) in Turtle."""
        from .shacl import report_turtle

        return report_turtle(self.results or [], self.conforms)


def rdflib_graph(triples, files: list[Path] = ()):
    """An rdflib Graph of the given pyoxigraph triples plus Turtle files (for pySHACL/owlrl)."""
    import rdflib

    g = rdflib.Graph()
    if triples:
        g.parse(data="\n".join(f"{t} ." for t in triples), format="nt")
    for f in files:
        g.parse(f, format="turtle")
    return g


def origin_of(iri: str, built: Built) -> tuple[str, Position] | None:
    """The record that produced a node: the node itself, or the nearest enclosing node."""
    entity, position, _ = locate(built, iri)
    return (entity, position) if position.line else None


def data_store(built: Built, ontology_files: list[Path]):
    """A pyoxigraph Store holding the data graph SHACL sees: the built triples plus the ontology."""
    import pyoxigraph as ox

    store = extend_store(ox.Store(), built)
    for f in ontology_files:
        store.bulk_load(path=str(f), format=ox.RdfFormat.TURTLE)
    return store


def extend_store(store, built: Built):
    """`store` with `built`'s triples added to its default graph (a union's part by part)."""
    import pyoxigraph as ox

    for part in built.parts or (built,):
        # For an in-memory store, `load` is faster than `bulk_load` (6.6 s vs 9.0 s at 1.56M triples).
        store.load(part.ntriples(), format=ox.RdfFormat.N_TRIPLES)
    return store


def shape_triples(shape_files: list[Path]) -> list:
    import pyoxigraph as ox

    out = []
    for f in shape_files:
        out.extend(ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
    return out


def validate(built: Built, shape_files: list[Path], ontology_files: list[Path],
             focus: Iterable[str] | None = None, engine: str = "fast", store=None) -> Report:
    """Run the SHACL shapes over the asserted graph plus the ontology.

    `focus`: only these focus node IRIs are checked (None: every target). `store`: a Store already
    holding the data graph, to reuse. `engine`: "fast" (ours; pySHACL if the shapes use a feature it
    does not compile) or "pyshacl" (the reference)."""
    from . import shacl

    if engine not in ENGINES:
        raise ValueError(f"unknown SHACL engine {engine!r}")
    shapes = shape_triples(shape_files)
    results = None
    if engine == "fast":
        store = store if store is not None else data_store(built, ontology_files)
        try:
            compiled = shacl.compile_shapes(shapes, store)
        except shacl.Unsupported:
            compiled = None
        if compiled is not None:
            results = shacl.validate_store(store, compiled, focus)
    if results is None:
        results = reference_results(built, shapes, ontology_files, focus)
    return Report(problems_of(results, built), results)


def reference_results(built: Built, shapes: list, ontology_files: list[Path], focus=None) -> list:
    """pySHACL's results, in the engine's Result form."""
    import pyshacl
    import rdflib

    from . import shacl

    data = rdflib_graph(built.triples, ontology_files)
    shapes_graph = rdflib.Graph()
    shapes_graph.parse(data="".join(f"{t} .\n" for t in shapes), format="nt")
    kwargs = {"focus_nodes": [rdflib.URIRef(i) for i in sorted(focus)]} if focus is not None else {}
    if focus is not None and not kwargs["focus_nodes"]:
        return []
    _, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph, inference="none", abort_on_first=False,
                                    allow_warnings=True, advanced=True, meta_shacl=False, **kwargs)
    return shacl.results_from_report(report, shapes_graph)


def problems_of(results: list, built: Built) -> list[Problem]:
    """Engine results as located, readable problems (see explain.py)."""
    return sorted_unique([explain.problem(built, r.focus, r.path or None, r.value or None, r.message,
                                          SEVERITY.get(r.severity, ERROR), r.shape) for r in results])
