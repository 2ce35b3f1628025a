"""The only module that knows the stage order: load -> build -> reason -> validate -> write.

Each stage is timed; callers may pass `on_stage` to show progress. Nothing here prints.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyoxigraph as ox

from .build import Built, build
from .errors import DataInvalid, sorted_unique
from .evidence import Evidence, check_quotes
from .export import replace_dir, serialize
from .formats import FORMATS, GRAPH_FORMATS
from .load import load, load_vocabulary
from .reason import read_ontology, reason
from .records import Dataset
from .scope import Scope, focus_nodes
from .settings import Settings
from .validate import Report, validate

OUTPUT_STEM = "pledgegraph"
GRAPH_NAMES = ("asserted", "inferred", "ontology")


def graph_iri(base: str, name: str) -> str:
    """Named graphs in the TriG/N-Quads outputs: <base>graph/asserted, …/inferred, …/ontology."""
    return f"{base}graph/{name}"


@dataclass
class Result:
    dataset: Dataset
    built: Built
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None
    outputs: list[Path] = field(default_factory=list)
    inferred: list[ox.Triple] = field(default_factory=list)  # OWL 2 RL consequences, not in `built`
    checked: set[str] | None = None  # ids of the records a scoped check validated (None: all)


class _Clock:
    def __init__(self, on_stage: Callable[[str], None] | None):
        self.timings: dict[str, float] = {}
        self.on_stage = on_stage

    def run(self, name: str, fn, *args):
        if self.on_stage:
            self.on_stage(name)
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.timings[name] = round(time.perf_counter() - start, 4)


def check(settings: Settings, on_stage=None, scope: Scope | None = None) -> Result:
    """Load, build and validate; raise DataInvalid with every problem when the data is invalid.

    With a `scope`, shapes are checked only on the records it affects (see `changes.py`).
    """
    clock = _Clock(on_stage)
    vocabulary = clock.run("vocabulary", load_vocabulary, settings.vocabulary_file)
    dataset = clock.run("load", load, settings.data_dir, vocabulary)
    evidence = clock.run("evidence", check_quotes, dataset, settings.archive_dir) if settings.archive_dir else None
    built = clock.run("build", build, dataset, settings.base)
    inferred = clock.run("reason", reason, built.triples, settings.ontology_files)
    checked = scope.records(dataset) if scope is not None else None
    focus = focus_nodes(built, checked) if checked is not None else None
    # SHACL sees what a user of the published graph sees: asserted + inferred (+ the ontology).
    report = clock.run("validate", validate, dataclasses.replace(built, triples=_union(built.triples, inferred)),
                       settings.shape_files, settings.ontology_files, focus)
    extra = dataset.warnings + (evidence.problems if evidence else [])
    if checked is not None:  # a scoped check reports on the records it checked, as a full run would
        extra = [p for p in extra if p.entity in checked]
    report = Report(sorted_unique(report.problems + extra), report.results_turtle)
    return Result(dataset, built, report, clock.timings, evidence=evidence, inferred=inferred, checked=checked)


def check_evidence(settings: Settings) -> tuple[Evidence, list]:
    """Load the data and check its quotes against `settings.archive_dir`: (the check, every problem)."""
    dataset = load(settings.data_dir, load_vocabulary(settings.vocabulary_file))
    evidence = check_quotes(dataset, settings.archive_dir)
    return evidence, sorted_unique(dataset.warnings + evidence.problems)


def ontology_triples(settings: Settings) -> list[ox.Triple]:
    return read_ontology(settings.ontology_files)


def _union(asserted: list[ox.Triple], inferred: list[ox.Triple]) -> list[ox.Triple]:
    """Both sorted and disjoint: merge, keeping the order the writers rely on."""
    return list(heapq.merge(asserted, inferred, key=str))


def build_all(settings: Settings, on_stage=None) -> Result:
    """The main job: check the data, then write every output to `settings.out_dir` atomically."""
    result = check(settings, on_stage)
    if not result.report.conforms:
        raise DataInvalid(result.report.problems)
    clock = _Clock(on_stage)
    ontology = ontology_triples(settings)
    graphs = {"asserted": result.built.triples, "inferred": result.inferred, "ontology": ontology}
    both = _union(result.built.triples, result.inferred)
    with replace_dir(settings.out_dir) as tmp:
        files = {}
        for name in GRAPH_FORMATS:
            files[OUTPUT_STEM + FORMATS[name].suffix] = clock.run(f"write {name}", serialize, both, name)
        files["asserted.nt"] = clock.run("write asserted", serialize, result.built.triples, "ntriples")
        files["inferred.nt"] = clock.run("write inferred", serialize, result.inferred, "ntriples")
        files["inferred.ttl"] = clock.run("write inferred turtle", serialize, result.inferred, "turtle")
        files["ontology.ttl"] = clock.run("write ontology", serialize, ontology, "turtle")
        files["ontology.html"] = clock.run("document ontology", ontology_html, settings)
        files[OUTPUT_STEM + ".trig"] = clock.run("write trig", serialize, _quads(graphs, settings.base), "trig")
        files["shapes.ttl"] = b"".join(p.read_bytes() for p in settings.shape_files)
        summary = {
            "triples": {"asserted": len(result.built.triples), "inferred": len(result.inferred),
                        "ontology": len(ontology)},
            "records": _record_counts(result.dataset),
            "warnings": result.report.counts.get("warning", 0),
        }
        files["summary.json"] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
        for name, data in sorted(files.items()):
            (tmp / name).write_bytes(data)
            result.outputs.append(settings.out_dir / name)
    result.timings.update(clock.timings)
    return result


def ontology_html(settings: Settings) -> bytes:
    """HTML documentation of the ontology, by pyLODE (offline: it reads only the given file)."""
    import logging
    import sys
    import types

    # pylode 3.4.1 (the last release for Python 3.11) reads its version from a pyproject.toml that
    # its wheel does not ship, so `import pylode` fails; give it the version it would have read.
    sys.modules.setdefault("pylode.version", types.SimpleNamespace(__version__="3.4.1"))
    # Importing it also points the root logger at stderr at DEBUG level; undo that.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from pylode import OntPub

    root.handlers[:] = handlers
    root.setLevel(level)

    return OntPub(ontology=str(settings.ontology_dir / "pledgegraph.ttl")).make_html().encode()


def _quads(graphs: dict[str, list[ox.Triple]], base: str) -> list[ox.Quad]:
    quads = []
    for name in GRAPH_NAMES:
        if name in graphs:
            g = ox.NamedNode(graph_iri(base, name))
            quads.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in graphs[name])
    return quads


def _record_counts(dataset: Dataset) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in dataset.records:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return dict(sorted(counts.items()))
