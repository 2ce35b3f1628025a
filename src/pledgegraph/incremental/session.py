"""`validate --watch`: the checked graph held in memory and re-checked as data files change.

The incremental counterpart of `pipeline.check`. Start-up runs every stage once and keeps what
they made: the records of each file, each file's triples, the OWL RL closure (`reason.Closure`),
the SHACL store and the compiled shapes. An edit to a file then costs what the edit touches:
1. that file is read again, and ids and references re-checked across the dataset;
2. its records are built again; the triples that differ from the file's previous ones are the edit;
3. the closure follows the edit (delete and rederive), and the store takes both deltas;
4. the shapes run on the records whose triples changed; on those that refer to them and those they
   refer to too (as `validate --changed` does) only when a shape of theirs may read a triple that
   changed (`_read_across`): a name typed into an organization many records refer to re-checks it
   alone, its founding date (which their pledges are checked against) re-checks them as well.
A file that cannot be read, or whose ids, references or sanity rules are wrong, is reported and left
out of the graph until it is fixed. The checks beside the shapes are those of `validate`, by the same
code: sanity rules (`load.check_across`), the curation audit, quotes against the archived texts (of
the records in scope), and records removed since git HEAD or the last build (compared with what
was there at start). A change to the ontology, the shapes or the vocabularies starts over.
An edit may come from disk (`--watch`) or from an editor's unsaved buffer (`pledgegraph lsp`): `update`
takes the text of the files it is given. `problems` is always the whole report, as `validate` makes it.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import time
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import pyoxigraph as ox

from pledgegraph.errors import (
    ERROR,
    DataInvalid,
    Position,
    Problem,
    ProblemList,
    UnusableInput,
    relative,
    sorted_unique,
)
from pledgegraph.gcpause import paused_gc
from pledgegraph.incremental import removals
from pledgegraph.incremental.scope import affected
from pledgegraph.layout import Settings
from pledgegraph.model import schema, timeline
from pledgegraph.model.graph import Built, locate
from pledgegraph.model.records import Claimed, Dataset, Item, Record
from pledgegraph.pipeline import archives
from pledgegraph.stages import sanity
from pledgegraph.stages.audit import audit, audit_records
from pledgegraph.stages.build import build_counted
from pledgegraph.stages.evidence import check_quotes
from pledgegraph.stages.load import (
    check_across,
    data_files,
    index_ids,
    load,
    load_vocabulary,
    read_records,
    records_of_text,
    references,
)
from pledgegraph.stages.reason import Closure, load_rules, read_ontology
from pledgegraph.stages.validate import DataGraph, Report, Validator, problems_of, shape_triples


@dataclass
class _Edit:
    """One re-read file: its records `old` (as they were) are replaced by `new`; `records` is
    the whole file's list after the edit."""

    old: list[Record]
    new: list[Record]
    records: list[Record]
    text: str
    whole_file: bool
    problem: Problem | None = None
    edited: list[Record] = field(default_factory=list)  # of `new`, those whose text changed
    moved: list[Record] = field(default_factory=list)  # below the edit: the same, `delta` lines away
    delta: int = 0


@dataclass
class Update:
    """What one re-check found: problems of the records it checked, and what it cost."""

    report: Report
    files: list[str]
    checked: set[str]  # ids of the records re-checked, and of those the edit removed that git HEAD has
    total: int
    seconds: float


_DERIVED = "<derived>"  # the part of `counts` made across records, not by one file


class Session:
    """A dataset checked once, then re-checked record by record as its files change."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.inputs = self._input_stamps()
        vocabulary = load_vocabulary(settings.vocabulary_file)
        dataset = load(settings.data_dir, vocabulary)
        self.vocabulary = vocabulary
        self.archives = archives(settings, dataset)
        self.before = removals.head_or_build(settings.data_dir, settings.out_dir, settings.base)
        self.warnings = set(dataset.warnings) | set(audit(dataset)) | set(check_quotes(dataset, self.archives).problems)
        self.problems: list[Problem] = []  # the whole report as of the last good state (see check_all, update)
        self.refused: list[Problem] = []  # what `validate` reports while an edit leaves the data unloadable
        self.records: dict[str, list[Record]] = {name: [] for name in dataset.files}
        for r in dataset.records:
            self.records[r.position.file].append(r)
        self.by_id = dataset.by_id
        self.files = {
            name: path for path, name in ((p, relative(p, settings.data_dir)) for p in data_files(settings.data_dir))
        }
        self.stamps = {name: _stamp(path) for name, path in self.files.items()}
        self.graph = Built(None, {}, settings.base, [])  # the tracing maps of every file, for messages
        self.nodes: dict[str, set[str]] = {}  # record id -> its nodes (the focus nodes of its shapes)
        self.field_keys: dict[str, set[tuple[str, str]]] = {}  # node -> its keys in graph.field_positions
        self.counts: dict[str, Counter[str]] = {}  # file -> how many of its records state each line
        for name, records in self.records.items():
            part, self.counts[name] = self._build(records, self.by_id)
            self._trace(part, add=True)
        part, counts = self._derive(self.by_id)
        self.counts[_DERIVED] = counts.copy()  # changed in place by `_swap`; the part keeps its own
        self._trace(part, add=True)
        self.texts = {name: path.read_text(encoding="utf-8", errors="replace") for name, path in self.files.items()}
        ontology = read_ontology(settings.ontology_files)
        lines = sorted({line for counts in self.counts.values() for line in counts})
        self.closure = Closure(lines, load_rules(ontology), [str(t) for t in ontology])
        self.ontology = ox.serialize(ontology, format=ox.RdfFormat.N_TRIPLES) or b""
        self.data = DataGraph(ox.Store(), self._written)
        for document in (self.ontology, _ntriples(lines), _ntriples(self.closure.inferred())):
            self.data.load(document)
        self.validator = Validator(shape_triples(settings.shape_files), self.data.store, settings.shacl_engine)
        self.closure.track_nodes()
        self.referrers: dict[str, set[str]] = {}
        for records in self.records.values():
            for r in records:
                for target in references(r):
                    self.referrers.setdefault(target, set()).add(r.id)

    @property
    def store(self):
        """The store SHACL runs on: asserted + inferred + ontology."""
        return self.data.store

    def check_all(self) -> Report:
        """Every record, as `validate` reports them."""
        results, fallback = self.validator.check(self.data)
        found = problems_of(results, self.graph) + list(self.warnings) + removals.removed(*self.before, self.by_id)
        self.problems = sorted_unique(found)
        return Report(self.problems, results, fallback)

    def _written(self) -> bytes:
        """The graph the store holds, as written: for pySHACL."""
        asserted = {line for counts in self.counts.values() for line in counts}
        return self.ontology + _ntriples(sorted(asserted)) + _ntriples(self.closure.inferred())

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
    def update(self, names: list[str], texts: dict[str, str] | None = None) -> Update:
        """Re-check after `names` (data files, as in messages) changed, were added or removed; the
        text of those in `texts` (an editor's buffers) is taken from there instead of the disk."""
        start = time.perf_counter()
        texts, self.refused = texts or {}, []
        current = {relative(p, self.settings.data_dir): p for p in data_files(self.settings.data_dir)}
        problems = ProblemList()
        edits, unreadable = {}, []
        for name in names:
            path = current.get(name)
            self.stamps[name] = _stamp(path)
            edit = self._reread(name, path, problems, texts.get(name))
            if edit.problem is not None:
                unreadable.append(edit.problem)
            edits[name] = edit
        if unreadable:  # as `load`: what could be read is not checked across files until all can be
            report = Report(sorted_unique(unreadable + [p for p in problems.items if p.severity == ERROR]), [])
            self.refused = report.problems
            return Update(report, names, set(), self.total, time.perf_counter() - start)
        replaced = {r.id for e in edits.values() for r in e.old}
        kept = {i: r for i, r in self.by_id.items() if i not in replaced}
        kept.update({r.id: r for e in edits.values() for r in e.moved})
        fresh_records = [r for e in edits.values() for r in e.new]
        clashing = [kept[r.id] for r in fresh_records if r.id in kept]
        by_id = {**kept, **index_ids(sorted(clashing + fresh_records, key=lambda r: r.position), problems)}
        by_id.update({r.id: r for r in clashing})  # the first definition keeps its id
        edited = [r for e in edits.values() for r in e.edited]
        gone_ids = replaced - by_id.keys()
        # the references to a record are right or wrong by its id and kind: those of records that came, went
        # or changed kind are checked again
        retargeted = gone_ids | {r.id for r in edited if r.id not in self.by_id or self.by_id[r.id].kind != r.kind}
        dependents = [by_id[i] for target in retargeted for i in self.referrers.get(target, ()) if i in by_id]
        # what `load` finds impossible, in the edited records (all of them when the dataset's date may move),
        # loops looked for among every record of the kinds that can make one
        ruled = list(by_id.values()) if any(r.kind == "dataset" for r in edited) else edited
        kinds = {r.kind for r in ruled} & sanity.CYCLE_KINDS
        check_across(
            edited + dependents,
            by_id,
            problems,
            ruled,
            sorted((r for r in by_id.values() if r.kind in kinds), key=lambda r: r.position),
        )
        blocking = [p for p in problems.items if p.severity == ERROR]
        if blocking:  # the graph keeps the files' last good state until they are fixed
            report = Report(sorted_unique(blocking), [])
            # `validate` then lists every problem the loader found: the re-read records' and the others' warnings
            self.refused = sorted_unique(
                problems.items
                + [
                    p
                    for p in self.warnings
                    if not p.rule.startswith(("audit.", "evidence."))
                    and not (
                        p.position.file in edits
                        and (
                            edits[p.position.file].whole_file or p.entity in {r.id for r in edits[p.position.file].old}
                        )
                    )
                ]
            )
            return Update(report, names, set(), self.total, time.perf_counter() - start)

        # A record whose kind changed changes the IRIs the records referring to it make: build those again.
        rekinded = {i for i in replaced & by_id.keys() if self.by_id[i].kind != by_id[i].kind}
        read = {r.id for e in edits.values() for r in e.new} | replaced
        rebuilt = {i for target in rekinded for i in self.referrers.get(target, ())} - read
        for rid in sorted(rebuilt & by_id.keys()):
            r = by_id[rid]
            name = r.position.file
            e = edits.setdefault(name, _Edit([], [], self.records[name], self.texts[name], False))
            e.old.append(r)
            e.new.append(r)

        derive = self._derivation_changed(edits)
        # a quote is looked up in the text its source's `archived_as` names: records citing a source whose
        # text moved are checked again
        sources_moved = any(
            r.kind == "source"
            and (r.id not in by_id or r.data.get("archived_as") != by_id[r.id].data.get("archived_as"))
            for e in edits.values()
            for r in e.old
        )
        removed, added, touched, referred, shifted = [], [], set(gone_ids), {}, {}
        for name, e in edits.items():
            # records read again, unchanged but at other lines (a whole file re-read): their problems move
            was, edited_ids = {r.id: r.position.line for r in e.old}, {r.id for r in e.edited}
            shifted.update(
                {
                    r.id: r.position.line - was[r.id]
                    for r in e.new
                    if r.id in was and r.id not in edited_ids and r.position.line != was[r.id]
                }
            )
            shifted.update({r.id: e.delta for r in e.moved})
            gone, fresh, changed = self._swap(name, self._build(e.old, self.by_id), self._build(e.new, by_id))
            touched |= changed
            removed += gone
            added += fresh
            self._move(name, e.moved, e.delta)
            content = {r.id for r in e.edited} | {r.id for r in e.old} - by_id.keys()
            for r in e.old:
                if r.id in content:
                    referred[r.id] = references(r)
                    for target in referred[r.id]:
                        self.referrers.get(target, set()).discard(r.id)
            for r in e.new:
                if r.id in content:
                    referred[r.id] = references(r)
                    for target in referred[r.id]:
                        self.referrers.setdefault(target, set()).add(r.id)
            read_again = {r.id for r in e.old} - rebuilt  # their loader warnings are new ones
            # (changed in place, here and below: a new set would hash each of the dataset's warnings again)
            self.warnings -= {
                p for p in self.warnings if p.position.file == name and (e.whole_file or p.entity in read_again)
            }
            if name in current:
                self.records[name], self.files[name], self.texts[name] = e.records, current[name], e.text
            else:
                for table in (self.records, self.files, self.texts, self.counts, self.stamps):
                    table.pop(name, None)
        self.by_id = by_id
        self.warnings |= set(problems.items)
        # Subordination links and the direct layer are derived across records: made again from all.
        if derive:
            gone, fresh, changed = self._swap(_DERIVED, self._derive_part, self._derive(by_id))
            touched |= changed
            removed += gone
            added += fresh

        lost, gained = self.closure.update(sorted(removed), sorted(added))
        for line in removed + lost:
            self.data.store.remove(_quad(line))
        if removed or lost:
            self.data.removed()
        self.data.load(_ntriples(added + gained))

        touched |= {locate(self.graph, _subject(line))[0] for line in lost + gained}
        # the edited records too: an edit that changes no triple (a comment, a line added) moves their problems
        scope = touched | {r.id for e in edits.values() for r in e.edited}
        if sources_moved or self._read_across(removed + lost, set(added + gained)):
            scope |= affected(touched, self.referrers, referred, by_id.keys())
        ended = {r.id for e in edits.values() for r in e.edited} | gone_ids  # a branch's audit reads their quotes
        scope |= {
            i for x in ended for i in self.referrers.get(x, ()) if i in by_id and by_id[i].data.get("ended_by") == x
        }
        scope &= by_id.keys()
        self.warnings -= {
            p
            for p in self.warnings
            if p.rule.startswith(("audit.", "evidence.")) and (p.entity in scope or p.entity not in by_id)
        }
        in_scope = [by_id[i] for i in sorted(scope)]
        self.warnings |= set(audit_records(in_scope, by_id))
        self.warnings |= set(check_quotes(Dataset(in_scope, by_id, self.vocabulary, []), self.archives).problems)
        focus = {node for rid in scope for node in self.nodes.get(rid, ())}
        results, fallback = self.validator.check(self.data, focus)
        found = problems_of(results, self.graph) + [p for p in self.warnings if p.entity in scope]
        published = gone_ids & self.before[1].keys()  # removed records that git HEAD (or the last build) has
        found = sorted_unique(
            found + removals.removed(self.before[0], {i: self.before[1][i] for i in published}, by_id)
        )
        unchanged = [
            dataclasses.replace(p, position=_moved(p.position, shifted[p.entity])) if p.entity in shifted else p
            for p in self.problems
            if p.entity not in scope | published and (p.entity in by_id or not p.entity or p.rule == removals.RULE)
        ]
        unchanged.sort(key=Problem.sort_key)  # already in order but where a whole file's records moved about
        self.problems = list(heapq.merge(unchanged, found, key=Problem.sort_key))  # no problem is in both
        return Update(
            Report(found, results, fallback), names, scope | published, self.total, time.perf_counter() - start
        )

    def _read_across(self, stale: list[str], fresh: set[str]) -> bool:
        """Whether a shape may read one of the triples an edit removed (`stale`) or added (`fresh`) from
        a node of another record than the subject's: then the records referring to the touched ones, and
        those they refer to, are checked again (`affected`), else only the touched ones.

        A shape reads another record's triples through the reference that leads there, a triple that
        did not change; so the first changed triple it can meet is one whose subject (read forward) or
        object (read backwards) is a node of the graph both before and after the edit. A node that
        comes or goes with the edit (a name, a citation: nested nodes are named by their content) is
        reached only through such a triple. Which triples the shapes read away from their focus node is
        `reads_across` (shacl.py); any triple when that is not known."""
        across = self.validator.reads_across()
        if across is None:
            return True
        wanted: dict[str, list] = {}
        for a in across:
            wanted.setdefault(a.predicate, []).append(a)
        for line in [*stale, *fresh]:
            subject, predicate, obj = line.split(" ", 2)
            for a in wanted.get(predicate, ()):
                if (a.obj is None or a.obj == obj) and self._persists(obj if a.inverse else subject, fresh):
                    return True
        return False

    def _persists(self, term: str, fresh: set[str]) -> bool:
        """Whether the store holds a triple naming this node that the edit did not add (so the node was
        there before it and is still). A literal counts as persisting; so does a triple written otherwise
        than the edit's lines (the answer errs towards checking more)."""
        if not term.startswith("<"):
            return True
        node = ox.NamedNode(term[1:-1])
        store = self.data.store
        for quad in chain(store.quads_for_pattern(node, None, None), store.quads_for_pattern(None, None, node)):
            if f"{quad.subject} {quad.predicate} {quad.object}" not in fresh:
                return True
        return False

    def _derivation_changed(self, edits: dict[str, _Edit]) -> bool:
        """Whether the edits can change what is derived across records (see `timeline.may_change`), or
        where its nodes are traced to (a record read again at another line)."""
        old = {r.id: r for e in edits.values() for r in e.old}
        new = {r.id: r for e in edits.values() for r in e.new}
        for rid in old.keys() | new.keys():
            before, after = old.get(rid), new.get(rid)
            if before is after:
                continue
            if timeline.may_change(before, after) or (before and after and before.position != after.position):
                return True
            if any(
                r.kind == "branch" and r.data.get("ended_by") == rid
                for r in map(self.by_id.get, self.referrers.get(rid, ()))
                if r is not None
            ):
                return True
        return False

    def _swap(
        self, name: str, old: tuple[Built, Counter[str]], new: tuple[Built, Counter[str]]
    ) -> tuple[list[str], list[str], set[str]]:
        """Replace the lines `old` by `new` in the part `name` (a file, or the derived part): the lines
        the graph loses and gains (a line another part still states stays), and the records touched."""
        (old_part, old_counts), (new_part, new_counts) = old, new
        counts = self.counts.setdefault(name, Counter())  # changed in place: a file's part may be large
        others = [c for other, c in self.counts.items() if other != name]
        fresh = [line for line in new_counts if line not in counts and not any(line in c for c in others)]
        for line, n in old_counts.items():
            left = counts.get(line, 0) - n
            if left > 0:
                counts[line] = left
            else:  # no record of the part states it now
                counts.pop(line, None)
        counts.update(new_counts)
        gone = [line for line in old_counts if line not in counts and not any(line in c for c in others)]
        touched = {locate(old_part, _subject(line))[0] for line in gone}
        touched |= {locate(new_part, _subject(line))[0] for line in fresh}
        self._trace(old_part, add=False)
        self._trace(new_part, add=True)
        return gone, fresh, touched

    def _build(self, records: list[Record], by_id: dict) -> tuple[Built, Counter[str]]:
        return build_counted(Dataset(records, by_id, self.vocabulary, []), self.settings.base)

    def _derive(self, by_id: dict) -> tuple[Built, Counter[str]]:
        records = sorted(by_id.values(), key=lambda r: r.position)
        self._derive_part = build_counted(
            Dataset(records, by_id, self.vocabulary, []), self.settings.base, derived=True
        )
        return self._derive_part

    def _reread(self, name: str, path: Path | None, problems: ProblemList, text: str | None = None) -> "_Edit":
        """The file's records after an edit (its `text`, or else what the disk holds): only the records
        in the lines that changed are read again, those below them moved by the lines added or removed;
        the whole file when the edit touches its structure (a kind's key)."""
        old_records = self.records.get(name, [])
        old_text = self.texts.get(name, "")
        if path is None:
            return _Edit(old_records, [], [], "", True)
        buffer = text is not None
        if not buffer:
            text = path.read_text(encoding="utf-8", errors="replace")
        assert text is not None
        region = _changed_region(old_text, text, old_records) if old_records else None
        if region is not None:
            i, j, chunk, delta = region
            first = old_records[i].position.line
            lead = next((line for line in chunk.split("\n") if line.strip() and not line.startswith("#")), "")
            if not lead:  # the edit removed the file's last records
                padded = ""
            elif _at_margin(lead):  # the edit removed the kind's last records: the chunk starts at the next kind
                padded = "\n" * (first - 1) + chunk
            else:  # inside the list of a kind: give the chunk its key, on the line above its first record
                padded = "\n" * (first - 2) + schema.KINDS[old_records[i].kind].key + ":\n" + chunk
            new, problem = records_of_text(padded, name, self.vocabulary, problems)
            moved = [_moved(r, delta) for r in old_records[j:]] if delta else []
            records, old = old_records[:i] + new + (moved or old_records[j:]), old_records[i:j]
        else:
            records, problem = (
                records_of_text(text, name, self.vocabulary, problems, whole=True)
                if buffer
                else read_records(path, name, self.vocabulary, problems)
            )
            old, new, moved, delta = old_records, records, [], 0
        if problem is not None:
            return _Edit(old, [], [], text, region is None, problem)
        old_spans, new_spans = _spans(old_text, old), _spans(text, new)
        edited = [r for r in new if old_spans.get(r.id) != new_spans[r.id]]
        return _Edit(old, new, records, text, region is None, None, edited, moved, delta)

    def _move(self, name: str, moved: list[Record], delta: int) -> None:
        """Records below an edit keep their triples; their positions in messages move by `delta` lines."""
        graph, ids = self.graph, {r.id for r in moved}
        for r in moved:
            self.by_id[r.id] = r
            for node in self.nodes.get(r.id, ()):
                if node in graph.origins:
                    graph.origins[node] = (r.id, _moved(graph.origins[node][1], delta))
                for key in self.field_keys.get(node, ()):
                    graph.field_positions[key] = _moved(graph.field_positions[key], delta)
        below = [p for p in self.warnings if p.position.file == name and p.entity in ids]
        self.warnings.difference_update(below)
        self.warnings.update(dataclasses.replace(p, position=_moved(p.position, delta)) for p in below)

    def _trace(self, part: Built, add: bool) -> None:
        for node, (rid, _) in part.origins.items():
            if add:
                self.nodes.setdefault(rid, set()).add(node)
            else:
                self.nodes.get(rid, set()).discard(node)
        for key in part.field_positions:
            if add:
                self.field_keys.setdefault(key[0], set()).add(key)
            else:
                self.field_keys.get(key[0], set()).discard(key)
        graph = self.graph
        tracing: tuple[tuple[dict, dict], ...] = (
            (graph.origins, part.origins),
            (graph.node_rules, part.node_rules),
            (graph.field_positions, part.field_positions),
        )
        for maps, own in tracing:
            if add:
                maps.update(own)
            else:
                for traced in own:
                    maps.pop(traced, None)

    def _input_stamps(self) -> dict:
        return {str(p): _stamp(p) for p in _inputs(self.settings)}


def watch(
    settings: Settings, on_start, on_update, on_error, interval: float = 0.3, max_reports: int | None = None
) -> None:
    """Check everything, then re-check each change, until interrupted (or after `max_reports`).

    A start-up check that fails (unreadable files, wrong ids or references) is reported through
    `on_error` and tried again when a file changes. A change to the ontology, shapes or
    vocabularies starts the session over."""
    session, tried, reports = None, None, 0
    while max_reports is None or reports < max_reports:
        if session is None or session.inputs_changed():
            stamps = all_stamps(settings)
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
                session, tried = None, all_stamps(settings)
                on_error(e)
                reports += 1
        time.sleep(interval)


def _inputs(settings: Settings) -> list[Path]:
    """What the session is built on besides the data: a change to any of them starts it over."""
    return [*settings.ontology_files, *settings.shape_files, settings.vocabulary_file]


def all_stamps(settings: Settings) -> dict:
    """The state on disk of everything a session reads: a start-up that failed is tried again when it changes."""
    try:
        data = data_files(settings.data_dir)
    except UnusableInput:
        data = sorted(settings.data_dir.rglob("*.y*ml"))
    return {str(p): _stamp(p) for p in [*data, *_inputs(settings)]}


def _changed_region(old: str, new: str, records: list[Record]) -> tuple[int, int, str, int] | None:
    """Which records an edit of a file's text replaces, and with what: (i, j, text, delta) for
    `records[i:j]` (in line order) replaced by the records in `text` (the new lines from the first
    of them on), the records after them moved by `delta` lines. None when the edit touches a line
    at the left margin (a kind's key) or the file's head, before its first record."""
    old_lines, new_lines = old.split("\n"), new.split("\n")
    shortest = min(len(old_lines), len(new_lines))
    a = 0
    while a < shortest and old_lines[a] == new_lines[a]:
        a += 1
    b = 0
    while b < shortest - a and old_lines[-1 - b] == new_lines[-1 - b]:
        b += 1
    if any(_at_margin(line) for line in new_lines[a : len(new_lines) - b] + old_lines[a : len(old_lines) - b]):
        return None
    starts = [r.position.line for r in records]
    i = bisect.bisect_right(starts, a + 1) - 1  # the record holding the first changed line (a + 1)
    if i < 0:
        return None
    delta = len(new_lines) - len(old_lines)
    j = max(i + 1, bisect.bisect_right(starts, len(old_lines) - b))  # past the last changed line
    end = starts[j] - 1 + delta if j < len(records) else len(new_lines)  # in the new lines
    chunk = new_lines[starts[i] - 1 : end]
    # the next kind's key when j is that kind's first record, and any comment between it and that record
    while chunk and (_at_margin(chunk[-1]) or not chunk[-1].strip() or chunk[-1].lstrip().startswith("#")):
        chunk.pop()
    return i, j, "\n".join(chunk), delta


def _moved(value, delta: int):
    """A record (or a position, or anything in a record) with its positions `delta` lines away."""
    if isinstance(value, Position):
        return Position(value.file, value.line + delta, value.column) if value.line else value
    if isinstance(value, Item):  # a Record too
        return dataclasses.replace(
            value,
            data=_moved(value.data, delta),
            position=_moved(value.position, delta),
            field_positions=_moved(value.field_positions, delta),
        )
    if isinstance(value, Claimed):
        return Claimed(_moved(value.value, delta), _moved(value.sources, delta), _moved(value.position, delta))
    if isinstance(value, list):
        return [_moved(v, delta) for v in value]
    if isinstance(value, dict):
        return {k: _moved(v, delta) for k, v in value.items()}
    return value


def _at_margin(line: str) -> bool:
    return line[:1] not in ("", " ", "\t", "-", "#")


def _spans(text: str, records: list[Record]) -> dict[str, str]:
    """Each record's lines of the file's text: from its first line to the next record's."""
    lines = text.split("\n")
    starts = sorted((r.position.line, r.id) for r in records)
    ends = [line for line, _ in starts[1:]] + [len(lines) + 1]
    return {rid: "\n".join(lines[line - 1 : end - 1]) for (line, rid), end in zip(starts, ends)}


def _subject(line: str) -> str:
    return line[1 : line.index(">")]


def _ntriples(lines) -> bytes:
    return "".join(f"{line} .\n" for line in lines).encode()


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
