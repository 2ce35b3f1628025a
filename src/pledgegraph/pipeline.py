"""The only module that knows the stage order: load -> build -> reason -> validate -> write.

Each stage is timed; callers may pass `on_stage` to show progress. Nothing here prints.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

import pyoxigraph as ox

from pledgegraph import system
from pledgegraph.delivery.export import (
    replace_dir,
    serialize,
    trig_of_turtle,
    turtle_reprefixed,
    used_prefixes,
    write_graph_formats,
    write_lines,
)
from pledgegraph.delivery.search import INDEX_FILE, INDEX_PREDICATES, index_bytes
from pledgegraph.errors import DataInvalid, Problem, UnusableInput, sorted_unique
from pledgegraph.forked import Forked as _Forked
from pledgegraph.gcpause import freeze_alive, frozen_gc, paused_gc
from pledgegraph.incremental.removals import refuse_lost_records, since_head_or_build
from pledgegraph.incremental.scope import Scope, focus_nodes
from pledgegraph.layout import GRAPH_NAMES, OUTPUT_STEM, Settings, graph_iri
from pledgegraph.model.formats import FORMATS, GRAPH_FORMATS
from pledgegraph.model.graph import Built, LineFile, Lines, lines_with_predicates
from pledgegraph.model.records import Dataset
from pledgegraph.stages.audit import audit
from pledgegraph.stages.build import PARALLEL_RECORDS, build
from pledgegraph.stages.evidence import Evidence, check_quotes
from pledgegraph.stages.load import data_files, load, load_vocabulary
from pledgegraph.stages.reason import read_ontology, reason, reason_owlrl
from pledgegraph.stages.validate import DataGraph, Report, data_graph, extend, predicates_read, validate

T = TypeVar("T")


@dataclass
class Result:
    dataset: Dataset
    built: Built
    report: Report
    timings: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None
    outputs: list[Path] = field(default_factory=list)
    inferred: Built | None = None  # OWL 2 RL consequences, not in `built`
    checked: set[str] | None = None  # ids of the records a scoped check validated (None: all)
    compared: str = ""  # what `check` looked for removed records in (git HEAD, the last build), if anything


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


@dataclass
class _Checked:
    """What is checked on the records alone, beside the graph: the quotes and the curation audit."""

    evidence: Evidence
    audited: list[Problem]


def _load_and_build(settings: Settings, clock: "_Clock") -> tuple[Dataset, Built, _Checked]:
    vocabulary = clock.run("vocabulary", load_vocabulary, settings.vocabulary_file)
    dataset = clock.run("load", load, settings.data_dir, vocabulary)
    freeze_alive()  # the records live as long as the run (see `frozen_gc`)
    # From build.PARALLEL_RECORDS the quotes are checked and the records audited by a forked process
    # while this one and another build the graph (at ~10m, over a minute of a single core's time).
    quotes_in = archives(settings, dataset)
    checking = _Forked(
        "checking quotes",
        lambda: _Checked(check_quotes(dataset, quotes_in), audit(dataset)),
        parallel=len(dataset.records) >= PARALLEL_RECORDS,
    )
    try:
        built = clock.run("build", build, dataset, settings.base, lambda work: forked(work, "building"))
    except BaseException:
        checking.cancel()
        raise
    checked = clock.run("evidence", checking.result)
    freeze_alive()  # the graph's node maps too
    return dataset, built, checked


def archives(settings: Settings, dataset: Dataset) -> list[Path]:
    """Where quotes are checked: --archive / $PLEDGEGRAPH_ARCHIVE_DIR if given, else data/checks.yaml's folders."""
    if settings.archive_dir is None:
        return dataset.checks.archives
    if not settings.archive_dir.is_dir():
        raise UnusableInput(f"archive directory {settings.archive_dir} does not exist")
    return [settings.archive_dir]


class _Reasoned:
    """Reason in a forked process while this one loads the asserted graph and the ontology into the
    SHACL store. Both are Python-heavy (the reasoner throughout; the store's load filters and encodes
    every line): as two threads they took turns at the GIL, as two processes each has a core (at
    ~10m the store then no longer finishes 50 s after the reasoner). Past FILTERED_FROM, the store
    holds only the triples our engine's queries can read (`predicates_read`). `then(inferred)` runs
    in the reasoner's process as soon as it is done, while the store may still be loading: the build
    writes `inferred.nt` there, so the forked writer goes on with the core the reasoner leaves free.
    Below PARALLEL_FROM triples (or without `fork`) both run here, one after the other."""

    def __init__(
        self,
        settings: Settings,
        clock: "_Clock",
        built: Built,
        spill: Path | None = None,
        then: Callable[[Built], object] = lambda inferred: None,
        shapes_read: "_ShapesRead | None" = None,
    ):
        reasoner = reason_owlrl if settings.reasoner == "owlrl" else reason

        def reasoned() -> list[str] | tuple[Path, int]:
            inferred = reasoner(built, settings.ontology_files)
            then(inferred)
            return _handed_over(inferred.lines)

        reasoning = _Forked("reasoning", reasoned, parallel=len(built) >= PARALLEL_FROM)
        try:
            self.graph = clock.run("load store", _store, settings, built, spill, shapes_read)
            self.inferred = built.with_lines(_taken_over(clock.run("reason", reasoning.result)))
        except BaseException:
            reasoning.cancel()
            raise


def _handed_over(lines: Lines) -> list[str] | tuple[Path, int]:
    """Lines for another process to own: in memory, or their file's place (no longer removed here)."""
    return lines.handed_over() if isinstance(lines, LineFile) else lines


def _taken_over(lines: list[str] | tuple[Path, int]) -> Lines:
    return LineFile(*lines) if isinstance(lines, tuple) else lines


# Asserted triples from which the SHACL store holds only what the shapes read: finding that costs
# ~0.9 s of CPU (rdflib reads the SPARQL constraints), more than it saves on a store of ~100k.
FILTERED_FROM = 500_000
# The data's bytes of YAML a triple at least (the bench's data: 7.4), to guess before loading whether the
# build will pass FILTERED_FROM.
YAML_BYTES_PER_TRIPLE = 4


class _ShapesRead:
    """The predicates the shapes read (`predicates_read`), which depend on the shapes and the ontology
    alone: when the data's size says the store will be filtered, a forked process finds them while
    this one loads the data on one core (at ~1m, 0.9 s off the build's critical path); else, if
    needed after all, this process does."""

    def __init__(self, settings: Settings):
        self.settings = settings
        try:
            size = sum(path.stat().st_size for path in data_files(settings.data_dir))
        except (UnusableInput, OSError):  # the loader reports it
            size = 0
        likely = settings.shacl_engine == "compiled" and size >= FILTERED_FROM * YAML_BYTES_PER_TRIPLE
        self.reading = _Forked("reading the shapes", self._read) if likely else None

    def _read(self) -> frozenset[str] | None:
        return predicates_read(self.settings.shape_files, self.settings.ontology_files)

    def result(self) -> frozenset[str] | None:
        return self.reading.result() if self.reading is not None else self._read()

    def cancel(self) -> None:
        if self.reading is not None:
            self.reading.cancel()


def _store(settings: Settings, built: Built, spill: Path | None, shapes_read: _ShapesRead | None) -> DataGraph:
    filtered = settings.shacl_engine == "compiled" and len(built) >= FILTERED_FROM
    if not filtered:
        kept = None
        if shapes_read is not None:
            shapes_read.cancel()  # the guess was wrong: its process is not waited for
    elif shapes_read is not None:
        kept = shapes_read.result()
    else:
        kept = predicates_read(settings.shape_files, settings.ontology_files)
    return data_graph(built, settings.ontology_files, spill, kept)


def _validate(
    settings: Settings,
    clock: "_Clock",
    dataset: Dataset,
    built: Built,
    reasoned: _Reasoned,
    checked_records: _Checked,
    focus: set[str] | None = None,
    checked: set[str] | None = None,
) -> Report:
    """SHACL over asserted + inferred (+ the ontology), with the loader's warnings and the quote checks.

    A scoped check (`checked` record ids, `focus` node IRIs) reports on those records only, as a
    full run would report on them."""
    # SHACL sees what a user of the published graph sees: asserted + inferred (+ the ontology).
    graph = clock.run("load inferred", extend, reasoned.graph, reasoned.inferred)
    report = clock.run(
        "validate",
        validate,
        built.union(reasoned.inferred),
        settings.shape_files,
        settings.ontology_files,
        focus,
        settings.shacl_engine,
        graph,
        # not with the store on disk: RocksDB's background threads do not follow a fork, and a lock one
        # of them held at that moment would never be released in the child
        forked if len(built) >= PARALLEL_FROM and not graph.on_disk else None,
    )
    extra = dataset.warnings + checked_records.audited + checked_records.evidence.problems
    if checked is not None:
        extra = [p for p in extra if p.entity in checked]
    return Report(sorted_unique(report.problems + extra), report.results, report.fallback)


@frozen_gc()
def check(settings: Settings, on_stage=None, scope: Scope | None = None) -> Result:
    """Load, build and validate; raise DataInvalid with every problem when the data is invalid.

    With a `scope`, shapes are checked only on the records it affects (see `scope.py`).
    """
    clock = _Clock(on_stage)
    dataset, built, checked_records = _load_and_build(settings, clock)
    reasoned = _Reasoned(settings, clock, built)
    checked = scope.records(dataset) if scope is not None else None
    focus = focus_nodes(built, checked) if checked is not None else None
    report = _validate(settings, clock, dataset, built, reasoned, checked_records, focus, checked)
    # records gone since git HEAD or the last build: whatever the scope, as `validate --watch` reports them
    compared, removed = since_head_or_build(dataset, settings.data_dir, settings.out_dir, settings.base)
    report = Report(sorted_unique(report.problems + removed), report.results, report.fallback)
    return Result(
        dataset,
        built,
        report,
        clock.timings,
        evidence=checked_records.evidence,
        inferred=reasoned.inferred,
        checked=checked,
        compared=compared,
    )


def check_evidence(settings: Settings) -> tuple[Evidence, list]:
    """Load the data and check its quotes against its archives: (the check, every problem)."""
    dataset = load(settings.data_dir, load_vocabulary(settings.vocabulary_file))
    evidence = check_quotes(dataset, archives(settings, dataset))
    return evidence, sorted_unique(dataset.warnings + evidence.problems)


def ontology_triples(settings: Settings) -> list[ox.Triple]:
    return read_ontology(settings.ontology_files)


@paused_gc()
def write_graph_files(
    directory: Path,
    built: Built,
    inferred: Built | None,
    ontology: list[ox.Triple],
    settings: Settings,
    on_stage=None,
    inferred_written: Callable[[], object] = lambda: None,
    index: bool = True,
) -> tuple[list[str], dict]:
    """Write every output file made from the graphs into `directory`: their names, and how long each took.
    `inferred` None: another process writes `directory/inferred.nt`, done when `inferred_written()` returns.
    The name index is written here if `index` (else another process writes it).

    Streamed, so memory does not grow with the graph: the N-Triples files are the sorted lines, and
    one pass over them, a few subjects at a time, parses each line once and writes the union's
    N-Triples and every other format (`write_graph_formats`), TriG from each graph's Turtle.
    No list of the graph's terms, no output held in memory."""
    clock = _Clock(on_stage)
    asserted, inferred_nt = directory / "asserted.nt", directory / "inferred.nt"
    clock.run("write asserted", write_lines, asserted, built.lines)
    if inferred is not None:
        clock.run("write inferred", write_lines, inferred_nt, inferred.lines)
    # each graph's prefixes found once, the asserted graph's while the reasoner may still work
    in_asserted = clock.run("find prefixes", used_prefixes, asserted)
    clock.run("wait for inferred", inferred_written)
    in_inferred = clock.run("find inferred prefixes", used_prefixes, inferred_nt)
    used = dict(sorted({**in_asserted, **in_inferred}.items()))
    in_trig = dict(sorted({**used, **used_prefixes(ontology)}.items()))
    union = {OUTPUT_STEM + FORMATS[name].suffix: name for name in GRAPH_FORMATS if name != "ntriples"}
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        graph_turtle = {name: Path(scratch) / f"{name}.ttl" for name in GRAPH_NAMES}  # TriG's parts
        outputs = {directory / file: ("union", name, used) for file, name in union.items()}
        outputs.update({graph_turtle[name]: (name, "turtle", in_trig) for name in ("asserted", "inferred")})
        clock.run(
            "write formats", write_graph_formats, asserted, inferred_nt, outputs, directory / (OUTPUT_STEM + ".nt")
        )
        # inferred.ttl: TriG's part with the prefixes of the inferred triples alone (serialized once)
        clock.run(
            "write inferred.ttl", turtle_reprefixed, graph_turtle["inferred"], directory / "inferred.ttl", in_inferred
        )
        graph_turtle["ontology"].write_bytes(serialize(ontology, "turtle", in_trig, prefixes_used=True))
        trig = [(graph_iri(settings.base, name), graph_turtle[name]) for name in GRAPH_NAMES]
        clock.run("write trig", trig_of_turtle, directory / (OUTPUT_STEM + ".trig"), trig)
    (directory / "ontology.ttl").write_bytes(clock.run("write ontology", serialize, ontology, "turtle"))
    if index:
        clock.run("index names", write_name_index, directory, (built.lines, inferred_nt), settings.base)
    names = ["asserted.nt", "inferred.nt", "inferred.ttl", "ontology.ttl", INDEX_FILE, OUTPUT_STEM + ".nt"]
    return sorted([*names, *union, OUTPUT_STEM + ".trig"]), clock.timings


def _index_when_written(directory: Path, built: Built, inferred_written: Callable[[], object], base: str) -> dict:
    """The name index of `built` and `directory/inferred.nt`, made once `inferred_written()` returns; its timing."""
    inferred_written()
    clock = _Clock(None)
    clock.run("index names", write_name_index, directory, (built.lines, directory / "inferred.nt"), base)
    return clock.timings


def write_name_index(directory: Path, graphs: Iterable[Lines | Path], base: str) -> None:
    """The name index of the graphs' lines (in memory, or files in `LineFile`'s format), given only
    the lines it reads: picked from files as bytes, the few kept decoded (at ~10m a fifth of its time)."""
    picked = chain.from_iterable(lines_with_predicates(lines, INDEX_PREDICATES) for lines in graphs)
    (directory / INDEX_FILE).write_bytes(index_bytes(picked, base))


PARALLEL_FROM = 50_000  # triples: below this, a process for the writers costs more than it saves


def forked(work: Callable[[], T], what: str = "validating") -> Callable[[], T]:
    """`work` started in a forked process now; the function returned waits for its value (the
    validation's and the builder's `fork`)."""
    return _Forked(what, work).result


def build_all(settings: Settings, on_stage=None, allow_removals: bool = False) -> Result:
    """The main job: check the data, then write every output to `settings.out_dir` atomically
    (refusing to drop records the current output has, unless `allow_removals`)."""
    with tempfile.TemporaryDirectory(prefix="pledgegraph-store-") as spill, frozen_gc():  # the store, if on disk
        return _build_all(settings, on_stage, allow_removals, Path(spill))


# Asserted triples from which the SHACL store goes on disk even without --low-memory: an in-memory
# store takes ~360 bytes a triple, and holds about 62% of asserted + inferred (`predicates_read`),
# so ~4 GB for the bench's ~10m size (13.75M asserted): it fits in memory, and validates there far faster.
ON_DISK_FROM = 16_000_000


def _build_all(settings: Settings, on_stage, allow_removals: bool, spill: Path) -> Result:
    clock = _Clock(on_stage)
    documenter = _Forked("documenting the ontology", lambda: ontology_html(settings))
    shapes_read = None
    try:
        shapes_read = _ShapesRead(settings)
        dataset, built, checked_records = _load_and_build(settings, clock)
        if not allow_removals:
            refuse_lost_records(dataset, settings.out_dir, settings.base)
    except BaseException:
        documenter.cancel()
        if shapes_read is not None:
            shapes_read.cancel()
        raise
    on_disk = settings.low_memory or len(built) >= ON_DISK_FROM
    ontology = ontology_triples(settings)
    system.return_freed_memory()  # the loader's garbage, before the writer is forked with a copy of our pages
    with replace_dir(settings.out_dir) as tmp:
        # The writer starts now, not after reasoning: it writes what needs only the asserted graph,
        # then waits for the reasoner to write inferred.nt, and does the rest while the SHACL store
        # loads and is queried. Past the builder's SPILL_LINES (its lines in a file) the name index is
        # made by a process of its own, forked now too: beside validation and the writer from the
        # moment inferred.nt is written, not after one of them (at ~10m one core idled ~20 s at the end
        # while the other made it). Below, this process makes it after validating, while the writer
        # works: a forked indexer reading lines in memory copies their pages as it counts references.
        inferred_written = multiprocessing.Event()
        parallel = len(built) >= PARALLEL_FROM
        writer = _Forked(
            "writing the outputs",
            lambda: write_graph_files(
                tmp, built, None, ontology, settings, inferred_written=inferred_written.wait, index=False
            ),
            parallel=parallel,
        )
        indexer = _Forked(
            "indexing names",
            lambda: _index_when_written(tmp, built, inferred_written.wait, settings.base),
            parallel=built.line_file is not None,
        )
        try:

            def hand_over(inferred: Built) -> None:  # in the reasoner's process
                write_lines(tmp / "inferred.nt", inferred.lines)
                inferred_written.set()

            reasoned = _Reasoned(settings, clock, built, spill if on_disk else None, hand_over, shapes_read)
            inferred = reasoned.inferred
            report = _validate(settings, clock, dataset, built, reasoned, checked_records)
            if not report.conforms:
                raise DataInvalid(report.problems)
            # The SHACL store (~4 GB at ~10m) is freed first: held beside it, the index's lines took the
            # build's peak from 6.8 to 7.9 GB at ~10m when this process made it.
            del reasoned
            system.return_freed_memory()
            index_timings = clock.run("wait for index", indexer.result)
        except BaseException:
            writer.cancel()
            indexer.cancel()
            documenter.cancel()
            shapes_read.cancel()
            raise
        names, write_timings = clock.run("write", writer.result)
        write_timings.update(index_timings)
        result = Result(dataset, built, report, clock.timings, evidence=checked_records.evidence, inferred=inferred)
        files = {
            "shapes.ttl": b"".join(p.read_bytes() for p in settings.shape_files),
            "ontology.html": clock.run("document ontology", documenter.result),
        }
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
    sys.modules.setdefault("pylode.version", types.SimpleNamespace(__version__="3.4.1"))  # type: ignore[arg-type]
    # Importing it also points the root logger at stderr at DEBUG level; undo that.
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from pylode import OntPub
    from pylode import utils as pylode_utils

    root.handlers[:] = handlers
    root.setLevel(level)
    _pylode_cache_made(pylode_utils)

    return OntPub(ontology=str(settings.ontology_dir / "pledgegraph.ttl")).make_html().encode()


def _pylode_cache_made(pylode_utils: Any) -> None:
    """pyLODE caches its background ontologies and their titles on first use (`refs.pickle`,
    `refs_titles.pickle`) beside its own files, written in place: a second build reading one meanwhile
    failed with UnpicklingError (two builds at once on a fresh install, as the test suite's two workers
    do). The first build makes them holding a lock on pyLODE's folder itself (no lock file to leave
    behind); the others wait for it."""
    import fcntl

    folder = os.open(pylode_utils.RDF_FOLDER, os.O_RDONLY)
    try:
        fcntl.flock(folder, fcntl.LOCK_EX)
        if not (pylode_utils.RDF_FOLDER / "refs_titles.pickle").is_file():  # written after refs.pickle
            pylode_utils.load_background_onts_titles(pylode_utils.load_background_onts())
    finally:
        os.close(folder)  # closing it releases the lock


def _record_counts(dataset: Dataset) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in dataset.records:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return dict(sorted(counts.items()))
