"""The only module that knows the stage order: load -> build -> reason -> validate -> write.

Each stage is timed; callers may pass `on_stage` to show progress. Nothing here prints.
"""

from __future__ import annotations

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
from .export import replace_dir, serialize, used_prefixes
from .formats import FORMATS, GRAPH_FORMATS
from .load import load, load_vocabulary
from .reason import read_ontology, reason
from .records import Dataset
from .scope import Scope, focus_nodes
from .settings import GRAPH_NAMES, OUTPUT_STEM, Settings, graph_iri
from .validate import Report, validate

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


def _load_and_build(settings: Settings, clock: "_Clock") -> tuple[Dataset, Built, Evidence | None]:
    vocabulary = clock.run("vocabulary", load_vocabulary, settings.vocabulary_file)
    dataset = clock.run("load", load, settings.data_dir, vocabulary)
    evidence = clock.run("evidence", check_quotes, dataset, settings.archive_dir) if settings.archive_dir else None
    built = clock.run("build", build, dataset, settings.base)
    return dataset, built, evidence


def _validate(settings: Settings, clock: "_Clock", dataset: Dataset, both: Built, evidence,
              focus: set[str] | None = None, checked: set[str] | None = None) -> Report:
    """SHACL over asserted + inferred (+ the ontology), with the loader's warnings and the quote checks.

    A scoped check (`checked` record ids, `focus` node IRIs) reports on those records only, as a
    full run would report on them."""
    report = clock.run("validate", validate, both, settings.shape_files, settings.ontology_files, focus)
    extra = dataset.warnings + (evidence.problems if evidence else [])
    if checked is not None:
        extra = [p for p in extra if p.entity in checked]
    return Report(sorted_unique(report.problems + extra), report.results)


def check(settings: Settings, on_stage=None, scope: Scope | None = None) -> Result:
    """Load, build and validate; raise DataInvalid with every problem when the data is invalid.

    With a `scope`, shapes are checked only on the records it affects (see `scope.py`).
    """
    clock = _Clock(on_stage)
    dataset, built, evidence = _load_and_build(settings, clock)
    inferred = clock.run("reason", reason, built.triples, settings.ontology_files)
    checked = scope.records(dataset) if scope is not None else None
    focus = focus_nodes(built, checked) if checked is not None else None
    # SHACL sees what a user of the published graph sees: asserted + inferred (+ the ontology).
    report = _validate(settings, clock, dataset, _union(built, inferred), evidence, focus, checked)
    return Result(dataset, built, report, clock.timings, evidence=evidence, inferred=inferred, checked=checked)


def check_evidence(settings: Settings) -> tuple[Evidence, list]:
    """Load the data and check its quotes against `settings.archive_dir`: (the check, every problem)."""
    dataset = load(settings.data_dir, load_vocabulary(settings.vocabulary_file))
    evidence = check_quotes(dataset, settings.archive_dir)
    return evidence, sorted_unique(dataset.warnings + evidence.problems)


def ontology_triples(settings: Settings) -> list[ox.Triple]:
    return read_ontology(settings.ontology_files)


def _union(built: Built, inferred: list[ox.Triple]) -> Built:
    """Asserted + inferred: both sorted and disjoint, so merging keeps the order the writers rely on."""
    return built.with_lines(list(heapq.merge(built.lines, (str(t) for t in inferred))))


def graph_files(built: Built, inferred: list[ox.Triple], ontology: list[ox.Triple], settings: Settings,
                on_stage=None) -> tuple[dict, dict]:
    """Every output file made from the graphs, by file name, and how long each took."""
    clock = _Clock(on_stage)
    both = _union(built, inferred)
    files = {}
    for name in GRAPH_FORMATS:
        files[OUTPUT_STEM + FORMATS[name].suffix] = clock.run(f"write {name}", serialize, both, name)
    files["asserted.nt"] = clock.run("write asserted", serialize, built, "ntriples")
    files["inferred.nt"] = clock.run("write inferred", serialize, inferred, "ntriples")
    files["inferred.ttl"] = clock.run("write inferred turtle", serialize, inferred, "turtle")
    files["ontology.ttl"] = clock.run("write ontology", serialize, ontology, "turtle")
    files["ontology.html"] = clock.run("document ontology", ontology_html, settings)
    graphs = {"asserted": built, "inferred": inferred, "ontology": ontology}
    used = dict(sorted({**used_prefixes(both), **used_prefixes(ontology)}.items()))
    files[OUTPUT_STEM + ".trig"] = clock.run("write trig", lambda: serialize(
        _quads(graphs, settings.base), "trig", used, prefixes_used=True))
    return files, clock.timings


class _Writer:
    """Writes the RDF outputs into a directory in a forked process while the parent validates.

    Both cores work: serializing a million triples takes as long as validating them. Used only where
    `fork` exists (the child inherits the built graph without copying) and the graph is big enough
    to pay for a process; elsewhere the files are written in this process."""

    PARALLEL_FROM = 50_000  # triples

    def __init__(self, directory: Path, built: Built, inferred: list, ontology: list, settings: Settings):
        import multiprocessing as mp

        self.args = (directory, built, inferred, ontology, settings)
        self.process = None
        if len(built) >= self.PARALLEL_FROM and "fork" in mp.get_all_start_methods():
            built.ntriples()  # made once, before the fork, so both processes share it
            ctx = mp.get_context("fork")
            self.receive, send = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=self._child, args=(send,), daemon=True)
            self.process.start()
            send.close()

    def _child(self, send) -> None:
        try:
            send.send(("ok", self._write()))
        except BaseException as e:  # reported to the parent, which raises it
            send.send(("error", f"{type(e).__name__}: {e}"))

    def _write(self) -> tuple[list[str], dict]:
        directory, built, inferred, ontology, settings = self.args
        files, timings = graph_files(built, inferred, ontology, settings)
        for name, data in files.items():
            (directory / name).write_bytes(data)
        return sorted(files), timings

    def cancel(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.join()

    def finish(self) -> tuple[list[str], dict]:
        if self.process is None:
            return self._write()
        try:
            status, value = self.receive.recv()
        except EOFError:
            status, value = "error", "the output writer process died"
        self.process.join()
        if status != "ok":
            raise RuntimeError(f"writing outputs failed: {value}")
        return value


def build_all(settings: Settings, on_stage=None) -> Result:
    """The main job: check the data, then write every output to `settings.out_dir` atomically."""
    clock = _Clock(on_stage)
    dataset, built, evidence = _load_and_build(settings, clock)
    inferred = clock.run("reason", reason, built.triples, settings.ontology_files)
    ontology = ontology_triples(settings)
    with replace_dir(settings.out_dir) as tmp:
        writer = _Writer(tmp, built, inferred, ontology, settings)
        try:
            report = _validate(settings, clock, dataset, _union(built, inferred), evidence)
        except BaseException:
            writer.cancel()
            raise
        if not report.conforms:
            writer.cancel()
            raise DataInvalid(report.problems)
        names, write_timings = clock.run("write", writer.finish)
        result = Result(dataset, built, report, clock.timings, evidence=evidence, inferred=inferred)
        files = {"shapes.ttl": b"".join(p.read_bytes() for p in settings.shape_files)}
        summary = {
            "triples": {"asserted": len(built), "inferred": len(inferred), "ontology": len(ontology)},
            "records": _record_counts(dataset),
            "warnings": report.counts.get("warning", 0),
        }
        files["summary.json"] = (json.dumps(summary, indent=2, sort_keys=True) + "\n").encode()
        for name, data in sorted(files.items()):
            (tmp / name).write_bytes(data)
        result.outputs = sorted(settings.out_dir / name for name in [*names, *files])
    result.timings.update(write_timings)
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


def _quads(graphs: dict, base: str) -> list[ox.Quad]:
    quads = []
    for name in GRAPH_NAMES:
        if name in graphs:
            g = ox.NamedNode(graph_iri(base, name))
            triples = graphs[name].triples if isinstance(graphs[name], Built) else graphs[name]
            quads.extend(ox.Quad(t.subject, t.predicate, t.object, g) for t in triples)
    return quads


def _record_counts(dataset: Dataset) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in dataset.records:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return dict(sorted(counts.items()))
