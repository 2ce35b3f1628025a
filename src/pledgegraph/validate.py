"""SHACL validation of the built graph, with every result traced back to its YAML record.

Stage 4 of the pipeline. Conformance is computed from the results (a `sh:Violation` fails,
a `sh:Warning` or `sh:Info` does not), never taken from pySHACL's own `conforms` flag, which can
be true while violations are present.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import explain
from .build import Built
from .errors import ERROR, WARNING, Position, Problem, sorted_unique
from .explain import locate

SH = "http://www.w3.org/ns/shacl#"
SEVERITY = {SH + "Violation": ERROR, SH + "Warning": WARNING, SH + "Info": "info"}


@dataclass
class Report:
    problems: list[Problem]
    results_turtle: str = ""

    @property
    def conforms(self) -> bool:
        return not any(p.severity == ERROR for p in self.problems)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for p in self.problems:
            out[p.severity] = out.get(p.severity, 0) + 1
        return out


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


def validate(built: Built, shape_files: list[Path], ontology_files: list[Path],
             focus: set[str] | None = None) -> Report:
    """Run the SHACL shapes over the asserted graph plus the ontology.

    With `focus` (node IRIs), only those nodes are validated (against the whole graph), so a
    re-check of a few records gives the same results for them as a full run, faster.
    """
    import pyshacl
    import rdflib

    if focus is not None and not focus:
        return Report([])
    data = rdflib_graph(built.triples, ontology_files)
    shapes = rdflib_graph([], shape_files)
    _, results, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", abort_on_first=False,
                                     allow_warnings=True, advanced=True, meta_shacl=False,
                                     focus_nodes=sorted(focus) if focus else None)
    sh = rdflib.Namespace(SH)
    problems = []
    for r in results.subjects(rdflib.RDF.type, sh.ValidationResult):
        focus = results.value(r, sh.focusNode)
        severity = SEVERITY.get(str(results.value(r, sh.resultSeverity)), ERROR)
        path = results.value(r, sh.resultPath)
        value = results.value(r, sh.value)
        message = str(results.value(r, sh.resultMessage) or "")
        shape = results.value(r, sh.sourceShape)
        problems.append(explain.problem(built, focus, path, value, message, severity, shape))
    return Report(sorted_unique(problems), results.serialize(format="turtle"))
