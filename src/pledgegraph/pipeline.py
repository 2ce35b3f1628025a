"""The only module that knows the stage order: load -> build -> validate -> write.

Each stage is timed; callers may pass `on_stage` to show progress. Nothing here prints.
"""

from __future__ import annotations

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
    checked = scope.records(dataset) if scope is not None else None
    focus = focus_nodes(built, checked) if checked is not None else None
    report = clock.run("validate", validate, built, settings.shape_files, settings.ontology_files, focus)
    extra = dataset.warnings + (evidence.problems if evidence else [])
    if checked is not None:  # a scoped check reports on the records it checked, as a full run would
        extra = [p for p in extra if p.entity in checked]
    report = Report(sorted_unique(report.problems + extra), report.results_turtle)
    return Result(dataset, built, report, clock.timings, evidence=evidence, checked=checked)


def check_evidence(settings: Settings) -> tuple[Evidence, list]:
    """Load the data and check its quotes against `settings.archive_dir`: (the check, every problem)."""
    dataset = load(settings.data_dir, load_vocabulary(settings.vocabulary_file))
    evidence = check_quotes(dataset, settings.archive_dir)
    return evidence, sorted_unique(dataset.warnings + evidence.problems)


def ontology_triples(settings: Settings) -> list[ox.Triple]:
    triples = set()
    for path in settings.ontology_files:
        triples.update(ox.parse(path=str(path), format=ox.RdfFormat.TURTLE))
    return sorted(triples, key=str)


def build_all(settings: Settings, on_stage=None) -> Result:
    """The main job: check the data, then write every output to `settings.out_dir` atomically."""
    result = check(settings, on_stage)
    if not result.report.conforms:
        raise DataInvalid(result.report.problems)
    clock = _Clock(on_stage)
    ontology = ontology_triples(settings)
    graphs = {"asserted": result.built.triples, "ontology": ontology}
    with replace_dir(settings.out_dir) as tmp:
        files = {}
        for name in GRAPH_FORMATS:
            files[OUTPUT_STEM + FORMATS[name].suffix] = clock.run(
                f"write {name}", serialize, result.built.triples, name)
        files["asserted.nt"] = files[OUTPUT_STEM + ".nt"]
        files["ontology.ttl"] = clock.run("write ontology", serialize, ontology, "turtle")
        files[OUTPUT_STEM + ".trig"] = clock.run("write trig", serialize, _quads(graphs, settings.base), "trig")
        files["shapes.ttl"] = b"".join(p.read_bytes() for p in settings.shape_files)
        summary = {
            "triples": {"asserted": len(result.built.triples)},
            "records": _record_counts(result.dataset),
            "warnings": result.report.counts.get("warning", 0),
        }
        files["summary.json"] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
        for name, data in sorted(files.items()):
            (tmp / name).write_bytes(data)
            result.outputs.append(settings.out_dir / name)
    result.timings.update(clock.timings)
    return result


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
