"""`validate --watch`: the checked graph held in memory and re-checked as data files change.

The incremental counterpart of `pipeline.check`. Start-up runs every stage once and keeps what
they made: the records of each file, each file's triples, the OWL RL closure (`reason.Closure`),
the SHACL store and the compiled shapes. An edit to a file then costs what the edit touches:
1. that file is read again, and ids and references re-checked across the dataset;
2. its records are built again; the triples that differ from the file's previous ones are the edit;
3. the closure follows the edit (delete and rederive), and the store takes both deltas;
4. the shapes run on the records whose triples changed, those that refer to them and those they
   refer to — the records a full run could report differently — as `validate --changed` does.
A file that cannot be read, or whose ids or references are wrong, is reported and left out of the
graph until it is fixed. A change to the ontology, the shapes or the vocabularies starts over.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from . import shacl
from .build import Built, build
from .errors import ERROR, DataInvalid, ProblemList, UnusableInput, relative, sorted_unique
from .explain import locate
from .gcpause import paused_gc
from .load import check_references, data_files, index_ids, load, load_vocabulary, read_records, references
from .reason import Closure, load_rules, read_ontology
from .records import Dataset, Record
from .settings import Settings
from .validate import Report, data_store, problems_of, shape_triples


@dataclass
class Update:
    """What one re-check found: problems of the records it checked, and what it cost."""

    report: Report
    files: list[str]
    checked: set[str]  # ids of the records re-checked
    total: int
    seconds: float


class Session:
    """A dataset checked once, then re-checked record by record as its files change."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.inputs = self._input_stamps()
        vocabulary = load_vocabulary(settings.vocabulary_file)
        dataset = load(settings.data_dir, vocabulary)
        self.vocabulary = vocabulary
        self.warnings = {p for p in dataset.warnings}
        self.records: dict[str, list[Record]] = {name: [] for name in dataset.files}
        for r in dataset.records:
            self.records[r.position.file].append(r)
        self.by_id = dataset.by_id
        self.files = {name: path for path, name in ((p, relative(p, settings.data_dir))
                                                    for p in data_files(settings.data_dir))}
        self.stamps = {name: _stamp(path) for name, path in self.files.items()}
        self.built = {name: self._build(records) for name, records in self.records.items()}
        self.line_sets = {name: set(part.lines) for name, part in self.built.items()}
        self.graph = Built(None, {}, settings.base, [])  # the tracing maps of every file, for messages
        self.nodes: dict[str, set[str]] = {}  # record id -> its nodes (the focus nodes of its shapes)
        self.texts = {name: path.read_text(encoding="utf-8", errors="replace") for name, path in self.files.items()}
        self._texts_read: dict[str, str] = {}
        for part in self.built.values():
            self._trace(part, add=True)
        ontology = read_ontology(settings.ontology_files)
        lines = sorted(line for part in self.built.values() for line in part.lines)
        self.closure = Closure(lines, load_rules(ontology), [str(t) for t in ontology])
        self.store = data_store(Built(None, {}, settings.base, lines), settings.ontology_files)
        self.store.load("".join(f"{line} .\n" for line in self.closure.inferred()).encode(),
                        format=ox.RdfFormat.N_TRIPLES)
        self.shapes = shacl.compile_shapes(shape_triples(settings.shape_files), self.store)
        self.closure.track_nodes()
        self.referrers: dict[str, set[str]] = {}
        for records in self.records.values():
            for r in records:
                for target in references(r):
                    self.referrers.setdefault(target, set()).add(r.id)

    def check_all(self) -> Report:
        """Every record, as `validate` reports them."""
        results = shacl.validate_store(self.store, self.shapes)
        return Report(sorted_unique(problems_of(results, self.graph) + sorted(self.warnings, key=_key)), results)

    @property
    def total(self) -> int:
        return sum(map(len, self.records.values()))

    def inputs_changed(self) -> bool:
        """The ontology, shapes or vocabularies changed: the session must start over."""
        return self._input_stamps() != self.inputs

    def changed_files(self) -> list[str]:
        """Data files added, removed or written since the last look."""
        current = {relative(p, self.settings.data_dir): p for p in data_files(self.settings.data_dir)}
        names = set(current) | {n for n, stamp in self.stamps.items() if stamp is not None}
        return sorted(n for n in names if _stamp(current.get(n)) != self.stamps.get(n))

    @paused_gc()
    def update(self, names: list[str]) -> Update:
        """Re-check after `names` (data files, as in messages) changed, were added or removed."""
        start = time.perf_counter()
        current = {relative(p, self.settings.data_dir): p for p in data_files(self.settings.data_dir)}
        problems = ProblemList()
        self._texts_read = {}
        new_records, unreadable = {}, []
        for name in names:
            path = current.get(name)
            self.stamps[name] = _stamp(path) if path else None
            found, problem = read_records(path, name, self.vocabulary, problems) if path else ([], None)
            if problem is not None:
                unreadable.append(problem)
            new_records[name] = found
        kept = {i: r for i, r in self.by_id.items() if r.position.file not in names}
        fresh_records = [r for name in names for r in new_records[name]]
        clashing = [kept[r.id] for r in fresh_records if r.id in kept]
        by_id = {**kept, **index_ids(sorted(clashing + fresh_records, key=lambda r: r.position), problems)}
        by_id.update({r.id: r for r in clashing})  # the first definition keeps its id
        edited = [r for name in names for r in self._edited(name, new_records[name], current.get(name))]
        gone_ids = {r.id for name in names for r in self.records.get(name, [])} - by_id.keys()
        dependents = [by_id[i] for target in gone_ids | {r.id for r in edited}
                      for i in self.referrers.get(target, ()) if i in by_id]
        check_references(edited + dependents, by_id, problems)
        blocking = unreadable + [p for p in problems.items if p.severity == ERROR]
        if blocking:  # the graph keeps the files' last good state until they are fixed
            report = Report(sorted_unique(blocking), [])
            return Update(report, names, set(), self.total, time.perf_counter() - start)

        removed, added, touched = [], [], set(gone_ids)
        for name in names:
            old, old_lines = self.built.pop(name, None), self.line_sets.pop(name, set())
            new = self._build(new_records[name], by_id)
            new_lines = set(new.lines)
            others = list(self.line_sets.values())  # a line another file also makes stays
            gone = [line for line in old_lines - new_lines if not any(line in o for o in others)]
            fresh = [line for line in new_lines - old_lines if not any(line in o for o in others)]
            if old is not None:
                self._trace(old, add=False)
                touched |= {locate(old, _subject(line))[0] for line in gone}
            touched |= {locate(new, _subject(line))[0] for line in fresh}
            removed += gone
            added += fresh
            self.built[name], self.line_sets[name] = new, new_lines
            self._trace(new, add=True)
        referred = {}  # what each edited record refers (or referred, if removed) to
        edited_ids = {r.id for r in edited} | gone_ids
        for name in names:
            for r in self.records.get(name, []):
                if r.id in gone_ids:
                    referred[r.id] = references(r)
                if r.id in edited_ids:
                    for target in references(r):
                        self.referrers.get(target, set()).discard(r.id)
            for r in new_records[name]:
                if r.id in edited_ids:
                    referred[r.id] = references(r)
                    for target in referred[r.id]:
                        self.referrers.setdefault(target, set()).add(r.id)
            if name in current:
                self.records[name] = new_records[name]
                self.files[name] = current[name]
            else:
                self.records.pop(name, None)
                self.files.pop(name, None)
                self.built.pop(name, None)
                self.line_sets.pop(name, None)
                self.stamps.pop(name, None)
        self.by_id = by_id
        self.texts.update(self._texts_read)
        self.warnings = {p for p in self.warnings if p.position.file not in names} | set(problems.items)

        lost, gained = self.closure.update(sorted(removed), sorted(added))
        for line in removed + lost:
            self.store.remove(_quad(line))
        self.store.load("".join(f"{line} .\n" for line in added + gained).encode(), format=ox.RdfFormat.N_TRIPLES)

        scope = {i for i in touched if i in by_id}
        scope |= {i for t in touched for i in self.referrers.get(t, ()) if i in by_id}
        scope |= {ref for t in touched for ref in referred.get(t, ()) if ref in by_id}
        focus = {node for rid in scope for node in self.nodes.get(rid, ())}
        results = shacl.validate_store(self.store, self.shapes, focus)
        found = problems_of(results, self.graph) + [p for p in self.warnings if p.entity in scope]
        return Update(Report(sorted_unique(found), results), names, scope, self.total,
                      time.perf_counter() - start)

    def _build(self, records: list[Record], by_id: dict | None = None) -> Built:
        return build(Dataset(records, by_id or self.by_id, self.vocabulary, []), self.settings.base)

    def _edited(self, name: str, records: list[Record], path: Path | None) -> list[Record]:
        """The records of a re-read file whose text changed, or that are new to it."""
        text = path.read_text(encoding="utf-8", errors="replace") if path else ""
        self._texts_read[name] = text
        old = _spans(self.texts.get(name, ""), self.records.get(name, []))
        new = _spans(text, records)
        return [r for r in records if old.get(r.id) != new[r.id]]

    def _trace(self, part: Built, add: bool) -> None:
        for node, (rid, _) in part.origins.items():
            if add:
                self.nodes.setdefault(rid, set()).add(node)
            else:
                self.nodes.get(rid, set()).discard(node)
        graph = self.graph
        for maps, own in ((graph.origins, part.origins), (graph.node_rules, part.node_rules),
                          (graph.field_positions, part.field_positions)):
            if add:
                maps.update(own)
            else:
                for key in own:
                    maps.pop(key, None)

    def _input_stamps(self) -> dict:
        return {str(p): _stamp(p) for p in _inputs(self.settings)}


def watch(settings: Settings, on_start, on_update, on_error, interval: float = 0.3,
          max_reports: int | None = None) -> None:
    """Check everything, then re-check each change, until interrupted (or after `max_reports`).

    A start-up check that fails (unreadable files, wrong ids or references) is reported through
    `on_error` and tried again when a file changes. A change to the ontology, shapes or
    vocabularies starts the session over."""
    session, tried, reports = None, None, 0
    while max_reports is None or reports < max_reports:
        if session is None or session.inputs_changed():
            stamps = _all_stamps(settings)
            if stamps != tried:
                tried = stamps
                try:
                    session = Session(settings)
                    on_start(session, session.check_all())
                except (DataInvalid, UnusableInput) as e:
                    session = None
                    on_error(e)
                reports += 1
                continue
        else:
            try:
                names = session.changed_files()
                if names:
                    on_update(session.update(names))
                    reports += 1
                    continue
            except UnusableInput as e:  # e.g. a link out of the data directory: start over once fixed
                session, tried = None, _all_stamps(settings)
                on_error(e)
                reports += 1
        time.sleep(interval)


def _inputs(settings: Settings) -> list[Path]:
    """What the session is built on besides the data: a change to any of them starts it over."""
    return [*settings.ontology_files, *settings.shape_files, settings.vocabulary_file]


def _all_stamps(settings: Settings) -> dict:
    try:
        data = data_files(settings.data_dir)
    except UnusableInput:
        data = sorted(settings.data_dir.rglob("*.y*ml"))
    return {str(p): _stamp(p) for p in [*data, *_inputs(settings)]}


def _spans(text: str, records: list[Record]) -> dict[str, str]:
    """Each record's lines of the file's text: from its first line to the next record's."""
    lines = text.split("\n")
    starts = sorted((r.position.line, r.id) for r in records)
    ends = [line for line, _ in starts[1:]] + [len(lines) + 1]
    return {rid: "\n".join(lines[line - 1:end - 1]) for (line, rid), end in zip(starts, ends)}


def _subject(line: str) -> str:
    return line[1:line.index(">")]


def _quad(line: str) -> ox.Quad:
    return next(iter(ox.parse(f"{line} .\n".encode(), format=ox.RdfFormat.N_TRIPLES)))


def _stamp(path: Path | None):
    if path is None:
        return None
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


def _key(problem):
    return problem.sort_key()
