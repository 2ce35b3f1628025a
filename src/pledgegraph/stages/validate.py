"""SHACL validation of the built graph, with every result traced back to its YAML record.

Stage 4 of the pipeline, and its one validation path: `Validator` is made once per shapes graph and
data store, and used by `validate` (full, `--changed`, `--since`), `validate --watch` (session.py),
`build` and the bench. It runs our compiled engine (`shacl.py`: one whole-graph SPARQL query per
constraint on pyoxigraph) on the shapes the engine compiles, and pySHACL, the reference, on the
shapes it refuses and on those that read literals the store does not keep as written
(`DataGraph.rewritten`) — or on every shape with `engine="pyshacl"`. What pySHACL checked, and why,
is in `Report.fallback`, and the CLI says so. Conformance is computed from the results (a `sh:Violation`
fails, a `sh:Warning` or `sh:Info` does not), never taken from pySHACL's own `conforms` flag, which
can be true while violations are present.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from pledgegraph.errors import ERROR, WARNING, Position, Problem, sorted_unique
from pledgegraph.layout import SHACL_ENGINES
from pledgegraph.model.graph import Built, LineFile, lines_read_with_predicates, locate, ntriples_chunks
from pledgegraph.stages import explain
from pledgegraph.stages.reason import read_ontology
from pledgegraph.stages.shacl import rewritten_in_ntriples

if TYPE_CHECKING:
    import pyoxigraph as ox

SH = "http://www.w3.org/ns/shacl#"
SEVERITY = {SH + "Violation": ERROR, SH + "Warning": WARNING, SH + "Info": "info"}


@dataclass
class Report:
    problems: list[Problem]
    results: list | None = None  # shacl.Result, sorted
    fallback: str = ""  # which shapes pySHACL checked, and why ("" when the engine checked them all)

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
        from pledgegraph.stages.shacl import report_turtle

        return report_turtle(self.results or [], self.conforms)


def rdflib_graph(triples, files: Iterable[Path] = ()):
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


@dataclass
class DataGraph:
    """The data graph SHACL sees (data + inferred + ontology): loaded in a Store for the engine, and
    as written (N-Triples) for pySHACL. `rewritten`: its literals the store holds in another form,
    each with the predicates that hold it. `kept`: the predicates (N-Triples) of the only data
    triples the store holds (`predicates_read`), None: all of them; the ontology is held whole."""

    store: ox.Store
    written: Callable[[], bytes]
    rewritten: dict[str, set[str]] = field(default_factory=dict)
    on_disk: bool = False
    kept: frozenset[str] | None = None

    def load(self, ntriples: bytes) -> None:
        import pyoxigraph as ox

        # For an in-memory store, `load` is faster than `bulk_load` (6.6 s vs 9.0 s at 1.56M triples);
        # on disk, `bulk_load` writes sorted files instead of a transaction's log.
        (self.store.bulk_load if self.on_disk else self.store.load)(ntriples, format=ox.RdfFormat.N_TRIPLES)
        for literal, predicates in rewritten_in_ntriples(ntriples).items():
            self.rewritten.setdefault(literal, set()).update(predicates)

    def load_file(self, path: Path) -> None:
        """`load` of an N-Triples file: the store reads it itself, never as bytes in this process."""
        import mmap

        import pyoxigraph as ox

        (self.store.bulk_load if self.on_disk else self.store.load)(path=str(path), format=ox.RdfFormat.N_TRIPLES)
        if path.stat().st_size:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as ntriples:
                for literal, predicates in rewritten_in_ntriples(ntriples).items():
                    self.rewritten.setdefault(literal, set()).update(predicates)

    def load_lines(self, lines: Iterable[str]) -> None:
        """`load` of N-Triples lines (without their final " ."), those of `kept` predicates only,
        a chunk at a time: never the whole graph's bytes at once."""
        kept = self.kept
        if kept is not None and isinstance(lines, LineFile):
            for chunk in _kept_chunks(lines.path, kept):
                self.load(chunk)
            return
        if kept is not None:  # a line is `<s> <p> o`: no space in a subject or a predicate
            lines = (line for line in lines if line.split(" ", 2)[1] in kept)
        for chunk in ntriples_chunks(lines):
            self.load(chunk)

    def removed(self) -> None:
        """Triples were removed from the store: find again the literals it rewrites (if it had any)."""
        if self.rewritten:
            self.rewritten = rewritten_in_ntriples(self.written())


def _kept_chunks(path: Path, kept: frozenset[str], size: int = 100_000) -> Iterator[bytes]:
    """The lines of a `LineFile` whose predicate is `kept`, as N-Triples bytes, `size` lines at a time."""
    lines = lines_read_with_predicates(path, kept)
    while batch := list(islice(lines, size)):
        yield b"".join(batch)


RDF_TYPE = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#type>"
RDFS_SUBCLASS_OF = "<http://www.w3.org/2000/01/rdf-schema#subClassOf>"


def predicates_read(shape_files: list[Path], ontology_files: list[Path]) -> frozenset[str] | None:
    """The predicates (N-Triples) of every data triple our engine's queries can read, so that the
    SHACL store need hold no other (at ~1m, 62% of the triples): those the compiled shapes name,
    rdf:type (the `a` of class targets and sh:class) and rdfs:subClassOf (read when compiling them).
    None when a shape may follow any predicate. The shapes are compiled here against the ontology
    alone: the data's class hierarchy changes only the classes a query names, never its predicates.
    The shapes left to pySHACL do not matter: it reads the graph as written, never the store."""
    import pyoxigraph as ox

    from pledgegraph.stages import shacl

    ontology = ox.Store()
    ontology.extend(ox.Quad(t.subject, t.predicate, t.object) for t in read_ontology(ontology_files))
    read: set[str] = {RDF_TYPE, RDFS_SUBCLASS_OF}
    for shape in shacl.compile_shapes(shape_triples(shape_files), ontology).shapes:
        named = shape.reads()
        if named is None:
            return None
        read |= named
    return frozenset(read)


def data_graph(
    built: Built, ontology_files: list[Path], spill: Path | None = None, kept: frozenset[str] | None = None
) -> DataGraph:
    """A Store holding the built triples (of the `kept` predicates only, if given) plus the ontology,
    and that graph as written (all of it). In memory, or with `spill` (an empty directory) on disk
    there: slower to load and query, but the process does not hold the store (`build --low-memory`)."""
    import pyoxigraph as ox

    ontology = ox.serialize(read_ontology(ontology_files), format=ox.RdfFormat.N_TRIPLES) or b""
    graph = DataGraph(
        ox.Store() if spill is None else ox.Store(str(spill)),
        lambda: built.ntriples() + ontology,
        on_disk=spill is not None,
        kept=kept,
    )
    graph.load(ontology)
    return extend(graph, built)


def extend(graph: DataGraph, built: Built) -> DataGraph:
    """`graph` with `built`'s triples added (a union's part by part)."""
    before = graph.written
    for part in built.parts or (built,):
        if part.line_file is not None and graph.kept is None:
            graph.load_file(part.line_file.path)
        else:
            graph.load_lines(part.lines)
    graph.written = lambda: before() + built.ntriples()
    return graph


def shape_triples(shape_files: list[Path]) -> list:
    import pyoxigraph as ox

    out: list = []
    for f in shape_files:
        out.extend(ox.parse(path=str(f), format=ox.RdfFormat.TURTLE))
    return out


class Validator:
    """Shapes made ready once for one data store: compiled by our engine, or refused (with the reason)
    and left to pySHACL. `engine="pyshacl"` leaves every shape to pySHACL."""

    def __init__(self, shapes: list, store, engine: str = "compiled"):
        from pledgegraph.stages import shacl

        if engine not in SHACL_ENGINES:
            raise ValueError(f"unknown SHACL engine {engine!r}")
        self.shapes = shapes
        self.engine = engine
        self.compiled = shacl.compile_shapes(shapes, store) if engine == "compiled" else shacl.Compiled([], {})

    def reads_across(self):
        """What the shapes read away from their focus nodes (`shacl.Compiled.reads_across`); None (any
        triple) with pySHACL, whose reads are not known."""
        return None if self.engine == "pyshacl" else self.compiled.reads_across()

    def plan(self, graph: DataGraph) -> tuple[list, dict]:
        """The compiled shapes our engine runs on `graph`, and the shapes left to pySHACL (node -> why):
        those refused, and those that read a literal the store does not hold as written."""
        if not graph.rewritten:
            return self.compiled.shapes, dict(self.compiled.refused)
        ours, theirs = [], dict(self.compiled.refused)
        for shape in self.compiled.shapes:
            reads = shape.reads()
            seen = sorted(lit for lit, preds in graph.rewritten.items() if reads is None or preds & reads)
            if seen:
                theirs[shape.node] = (
                    f"the data holds {len(seen)} literal(s) it reads that the store does not "
                    f"keep as written (e.g. {seen[0]})"
                )
            else:
                ours.append(shape)
        return ours, theirs

    def check(
        self, graph: DataGraph, focus: Iterable[str] | None = None, fork: Forker | None = None
    ) -> tuple[list, str]:
        """Every result on `graph` (only of the `focus` node IRIs, if given), and which shapes pySHACL
        checked and why ("" when none). `fork`: a whole-graph run checks half of the shapes in a
        forked process, so that both cores query the store (pyoxigraph holds the GIL while a query's
        rows are read: two threads are no faster than one)."""
        from pledgegraph.stages import shacl

        if self.engine == "pyshacl":
            return reference_results(graph.written(), self.shapes, focus), ""
        ours, theirs = self.plan(graph)
        if fork is not None and focus is None and len(ours) > 1:
            halves = _halves(ours)
            other = fork(lambda: shacl.validate_store(graph.store, halves[1]))
            results = sorted(shacl.validate_store(graph.store, halves[0]) + other())
        else:
            results = shacl.validate_store(graph.store, ours, focus)
        if not theirs:
            return results, ""
        results += reference_results(graph.written(), shacl.without_targets(self.shapes, ours), focus)
        reasons = "; ".join(f"{node}: {why}" for node, why in sorted(theirs.items(), key=lambda kv: str(kv[0])))
        return sorted(results), f"{len(theirs)} shape(s) checked by pySHACL: {reasons}"


# Runs a function in another process: given it, returns a function that waits for its value.
Forker = Callable[[Callable[[], list]], Callable[[], list]]


def _halves(shapes: list) -> tuple[list, list]:
    """The shapes in two lists of about as many constraint queries each (the most first, each to the
    list with fewer so far)."""
    halves: tuple[list, list] = ([], [])
    counts = [0, 0]
    for shape in sorted(shapes, key=lambda shape: -len(shape.checks)):
        lighter = counts.index(min(counts))
        halves[lighter].append(shape)
        counts[lighter] += len(shape.checks)
    return halves


def validate(
    built: Built,
    shape_files: list[Path],
    ontology_files: list[Path],
    focus: Iterable[str] | None = None,
    engine: str = "compiled",
    graph: DataGraph | None = None,
    fork: Forker | None = None,
) -> Report:
    """Run the SHACL shapes over the asserted graph plus the ontology.

    `focus`: only these focus node IRIs are checked (None: every target). `graph`: a DataGraph already
    holding the data graph, to reuse. `engine`: "compiled" (ours, pySHACL for what it refuses) or
    "pyshacl" (the reference). `fork`: see `Validator.check`."""
    graph = graph if graph is not None else data_graph(built, ontology_files)
    results, fallback = Validator(shape_triples(shape_files), graph.store, engine).check(graph, focus, fork)
    return Report(problems_of(results, built), results, fallback)


_TIMEZONE = r"(Z|[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
_YEAR, _MONTH, _DAY = r"-?([1-9][0-9]{3,}|0[0-9]{3})", r"(0[1-9]|1[0-2])", r"(0[1-9]|[12][0-9]|3[01])"
_GREGORIAN = {  # XSD 1.1 Part 2, 3.3.11-3.3.15: the lexical forms rdflib has no converter for
    "http://www.w3.org/2001/XMLSchema#gYearMonth": f"{_YEAR}-{_MONTH}{_TIMEZONE}",
    "http://www.w3.org/2001/XMLSchema#gYear": f"{_YEAR}{_TIMEZONE}",
    "http://www.w3.org/2001/XMLSchema#gMonthDay": f"--{_MONTH}-{_DAY}{_TIMEZONE}",
    "http://www.w3.org/2001/XMLSchema#gDay": f"---{_DAY}{_TIMEZONE}",
    "http://www.w3.org/2001/XMLSchema#gMonth": f"--{_MONTH}{_TIMEZONE}",
}


def _lexical_check(form: str) -> Callable[[str], str]:
    """A converter that raises on an ill-formed lexical form, so rdflib marks the literal ill-typed and
    pySHACL's sh:datatype reports it. Without one rdflib accepts any text for these datatypes, unless
    owlrl has run in the same process and left its own in rdflib's table (pySHACL's answer then depended
    on whether `--reasoner owlrl` ran first)."""
    pattern = re.compile(form)

    def check(lexical: str) -> str:
        if not pattern.fullmatch(lexical):
            raise ValueError(f"not a lexical form of this datatype: {lexical!r}")
        return lexical

    return check


def reference_results(written: bytes, shapes: list, focus=None) -> list:
    """pySHACL's results on the data graph given as N-Triples, in the engine's Result form."""
    import pyshacl
    import rdflib

    from pledgegraph.stages import shacl

    kwargs: dict[str, Any] = {"focus_nodes": [rdflib.URIRef(i) for i in sorted(focus)]} if focus is not None else {}
    if focus is not None and not kwargs["focus_nodes"]:
        return []
    normalize, rdflib.NORMALIZE_LITERALS = rdflib.NORMALIZE_LITERALS, False
    converters = rdflib.term._toPythonMapping
    before = {datatype: converters.get(datatype) for datatype in _GREGORIAN}
    converters.update({rdflib.URIRef(datatype): _lexical_check(form) for datatype, form in _GREGORIAN.items()})
    try:  # pySHACL sees the literals as written, not as rdflib would rewrite them
        data = rdflib.Graph()
        data.parse(data=written, format="nt")
        shapes_graph = rdflib.Graph()
        shapes_graph.parse(data="".join(f"{t} .\n" for t in shapes), format="nt")
    finally:
        rdflib.NORMALIZE_LITERALS = normalize
        for datatype, converter in before.items():
            if converter is None:
                converters.pop(rdflib.URIRef(datatype), None)
            else:
                converters[rdflib.URIRef(datatype)] = converter
    with _prepared_once():
        _, report, _ = pyshacl.validate(
            data,
            shacl_graph=shapes_graph,
            inference="none",
            abort_on_first=False,
            allow_warnings=True,
            advanced=True,
            meta_shacl=False,
            **kwargs,
        )
    return shacl.results_from_report(report, shapes_graph)


@contextmanager
def _prepared_once() -> Iterator[None]:
    """rdflib parses and translates a SPARQL query each time it is asked as text, and pySHACL asks a
    SPARQL constraint's text once per focus node, its `$this` pre-bound: most of a pySHACL run on the
    shipped graph went to parsing the same 11 queries 652 times. Here each text is prepared once (what
    rdflib's `prepareQuery` is for) and evaluated as pySHACL asks; the answers are rdflib's (the same
    results on the shipped graph and its mutations in tests/test_shacl_differential.py; 98 s -> 23 s on
    the shipped graph, on a loaded machine). Process-wide while pySHACL runs, as the settings above."""
    from rdflib.plugins.sparql import processor

    query = processor.SPARQLProcessor.query
    prepared: dict = {}

    def prepared_query(self, text, initBindings=None, initNs=None, base=None, DEBUG=False):  # noqa: N803
        if isinstance(text, str):
            key = (text, base, tuple(sorted((initNs or {}).items())))
            if key not in prepared:
                prepared[key] = processor.translateQuery(processor.parseQuery(text), base, initNs)
            text = prepared[key]
        return query(self, text, initBindings, initNs, base, DEBUG)

    processor.SPARQLProcessor.query = prepared_query  # type: ignore[method-assign]
    try:
        yield
    finally:
        processor.SPARQLProcessor.query = query  # type: ignore[method-assign]


def problems_of(results: list, built: Built) -> list[Problem]:
    """Engine results as located, readable problems (see explain.py)."""
    return sorted_unique(
        [
            explain.problem(
                built, r.focus, r.path or None, r.value or None, r.message, SEVERITY.get(r.severity, ERROR), r.shape
            )
            for r in results
        ]
    )
