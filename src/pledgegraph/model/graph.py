"""The built graph and where each of its nodes came from: the container every stage after the
builder passes on (`Built`), and the way back from a node to its record, YAML line and field
(`locate`), which messages, re-check scopes and the editor session all need.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import weakref
from bisect import bisect_right
from itertools import chain, groupby, islice
from operator import itemgetter
from pathlib import Path
from typing import Iterable, Iterator, Union

import pyoxigraph as ox

from pledgegraph.errors import Position
from pledgegraph.model import schema
from pledgegraph.model.iris import term_text
from pledgegraph.model.vocab import PG, PROV, SKOS, expand

# Predicates that are not a field's own predicate but stand for one.
_FIELD_ALIASES = {
    SKOS + "prefLabel": "names",
    SKOS + "altLabel": "names",
    PROV + "wasDerivedFrom": "sources",
    PG + "quote": "quote",
    PG + "claimObject": "name",
}  # a name attestation's value: `name`


class LineFile:
    """A graph's sorted N-Triples lines kept on disk instead of in memory (what `build` makes when
    the graph has more than `SPILL_LINES` lines; see `LineSorter`).

    The file's format, for every stage that reads it (the reasoner, the SHACL store, the writers):
    - UTF-8, one triple per line, written `<s> <p> <o> .` and a line feed, exactly as pyoxigraph
      writes N-Triples (no blank nodes, comments or other whitespace: the builder names every node);
    - sorted by code point (the same order as by UTF-8 bytes, and as Python sorts the lines) and
      without duplicates.
    So the file *is* the `asserted.nt` output byte for byte (copy it), a store bulk-loads it by
    `path`, and it merges with other sorted lines (`_merge_runs`). Iterating gives the lines without
    their final " .", as `Built.lines` does when they are in memory; each iteration reads the file
    again. The file is removed when this object is garbage collected, by the process that made it
    (a forked child that inherits it leaves it alone)."""

    def __init__(self, path: Path, count: int):
        self.path, self.count = path, count
        self._remove = weakref.finalize(self, _remove_dir, path.parent, os.getpid())

    @classmethod
    def written(cls, lines: list[str]) -> "LineFile":
        """Sorted, unique lines (without their final " .") written to a fresh file of this format:
        how a large graph made in memory (the inferred one) leaves it."""
        path = Path(tempfile.mkdtemp(prefix="pledgegraph-lines-")) / "lines.nt"
        with open(path, "wb") as f:
            for chunk in ntriples_chunks(lines):
                f.write(chunk)
        return cls(path, len(lines))

    def handed_over(self) -> tuple[Path, int]:
        """This file for another process to own (`LineFile(*handed)` there): this object no longer removes it."""
        self._remove.detach()
        return self.path, self.count

    def __iter__(self) -> Iterator[str]:
        return read_lines(self.path)

    def __len__(self) -> int:
        return self.count


def read_lines(path: Path) -> Iterator[str]:
    """The lines of a file in `LineFile`'s format, without their final " ." (as `Built.lines` gives them)."""
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f:
            yield line[:-3]


def lines_with_predicates(lines: "Lines | Path", predicates: frozenset[str]) -> Iterator[str]:
    """The lines (as `Built.lines` gives them) whose predicate (N-Triples) is one of `predicates`,
    of lines in memory or of a file in `LineFile`'s format (`lines_read_with_predicates`)."""
    path = lines.path if isinstance(lines, LineFile) else lines if isinstance(lines, Path) else None
    if path is None:  # a line is `<s> <p> o`: no space in a subject or a predicate
        return (line for line in lines if line.split(" ", 2)[1] in predicates)  # type: ignore[union-attr]
    return (line[:-3].decode() for line in lines_read_with_predicates(path, predicates))


def lines_read_with_predicates(path: Path, predicates: frozenset[str]) -> Iterator[bytes]:
    """The lines of a file in `LineFile`'s format whose predicate is one of `predicates`, as written
    (`<s> <p> o .` and a line feed): read and compared as bytes, decoding none, 2.3 times faster than
    as text (at ~10m the SHACL store's filter lay on the build's critical path)."""
    wanted = frozenset(p.encode() for p in predicates)
    with open(path, "rb") as f:
        for line in f:
            if line.split(b" ", 2)[1] in wanted:
                yield line


def _remove_dir(directory: Path, maker: int) -> None:
    if os.getpid() == maker:
        shutil.rmtree(directory, ignore_errors=True)


Lines = Union[list[str], LineFile]

# Lines held in memory while building before a sorted run of them goes to disk (~230 bytes each
# as a Python string in a set): 2M keeps the builder under ~0.5 GB whatever the size of the graph,
# and leaves graphs up to the bench's ~1m size (1.3M lines) entirely in memory, as before.
SPILL_LINES = 2_000_000


class LineSorter:
    """An external sort of emitted lines: `spill` a set of them as a sorted run on disk when it grows
    large, `finish` merges the runs into one `LineFile` (or, when nothing was spilled, returns the
    lines sorted in memory as before). Runs are sorted, unique files in `LineFile`'s format; the
    merge drops the lines that several runs share. Another emitter's lines (a forked process's,
    see `build`) join by `include`: its sorted lines, or the runs it `handed_over`."""

    def __init__(self) -> None:
        self.runs: list[Path] = []
        self.directory: Path | None = None
        self.parts: list[list[str]] = []  # other emitters' sorted, unique lines, merged by `finish`

    def spill(self, lines: set[str]) -> None:
        self._run(sorted(lines))
        lines.clear()

    def _run(self, lines: list[str]) -> Path:
        """A new run file holding `lines` (sorted, unique); empty with no lines."""
        if self.directory is None:
            self.directory = Path(tempfile.mkdtemp(prefix="pledgegraph-lines-"))
            # removed with this sorter if the build stops before `finish` hands it to a LineFile
            self._unfinished = weakref.finalize(self, _remove_dir, self.directory, os.getpid())
        run = self.directory / f"run-{len(self.runs):04d}.nt"
        with open(run, "wb") as f:
            for chunk in ntriples_chunks(lines):
                f.write(chunk)
        self.runs.append(run)
        return run

    def handed_over(self, lines: set[str]) -> list[Path]:
        """The runs of a sorter that spilled, `lines` spilled too, for another process's sorter to
        `include`: from now on this one no longer removes them."""
        self.spill(lines)
        self._unfinished.detach()
        return self.runs

    def include(self, part: list[str] | list[Path]) -> None:
        """Another emitter's lines: sorted and unique in memory, or the runs its sorter handed over
        (moved into this sorter's directory, theirs removed)."""
        if not part or isinstance(part[0], str):
            self.parts.append(part)  # type: ignore[arg-type]
            return
        for path in part:
            assert isinstance(path, Path)
            path.replace(self._run([]))
        shutil.rmtree(part[0].parent, ignore_errors=True)

    def finish(self, lines: set[str]) -> Lines:
        if not self.runs:
            merged = sorted(lines)
            if not self.parts:
                return merged
            for part in self.parts:  # sorted runs: each sort is one merge
                merged += part
                merged.sort()
            return _distinct(merged)
        for part in self.parts:
            self._run(part)
        if lines:
            self.spill(lines)
        assert self.directory is not None
        merged_file = self.directory / "lines.nt"
        count = _merge_runs(self.runs, merged_file)
        for run in self.runs:
            run.unlink()
        self._unfinished.detach()
        return LineFile(merged_file, count)


# Bytes of each run read at a time by `_merge_runs`.
MERGE_BLOCK = 1 << 22


def _merge_runs(runs: list[Path], merged: Path) -> int:
    """Sorted, unique files in `LineFile`'s format merged into one (`merged`, sorted, unique): its lines.

    A block of lines of each run at a time: every line up to the least of the runs' last lines read
    is written (the lines not read yet all come after it), sorted in C (the runs' pieces are sorted:
    the sort merges them) and deduplicated (a line several runs share is taken from all of them in
    the same round). At ~10m, 16 s of CPU as `heapq.merge` of the lines, on the build's critical path."""
    files = [open(run, "rb") for run in runs]
    try:
        pending = [f.readlines(MERGE_BLOCK) for f in files]
        count = 0
        with open(merged, "wb") as out:
            while any(pending):
                bound = min(lines[-1] for lines in pending if lines)  # an empty run has no more lines
                taken: list[bytes] = []
                for run, lines in enumerate(pending):
                    cut = bisect_right(lines, bound)
                    taken += lines[:cut]
                    del lines[:cut]
                    if not lines:
                        pending[run] = files[run].readlines(MERGE_BLOCK)
                taken.sort()
                unique = _distinct(taken)
                out.write(b"".join(unique))
                count += len(unique)
    finally:
        for f in files:
            f.close()
    return count


def _distinct(lines: list) -> list:
    """Sorted lines without their repeats (neighbours when sorted), compared but not hashed."""
    return list(map(itemgetter(0), groupby(lines)))


class Built:
    """The asserted graph as sorted, unique triples, and where each node came from.

    The builder makes N-Triples lines (`lines`, sorted, without the final " ."): strings are
    ~10x cheaper to make, deduplicate and sort than pyoxigraph terms, N-Triples output is their
    concatenation, and stores bulk-load them. Large graphs keep them on disk (`LineFile`, its
    format described there; `line_file` is it, or None when the lines are in memory): read them
    by iterating, never by index. `triples` (pyoxigraph Triples in the same order) is
    parsed from them the first time it is asked for. A union of graphs (`union`) is merged only
    when its lines are asked for: a store can take the parts one by one."""

    def __init__(
        self,
        triples: list[ox.Triple] | None,
        origins: dict[str, tuple[str, Position]],
        base: str,
        lines: Lines | None = None,
        node_rules: dict[str, str] | None = None,
        field_positions: dict[tuple[str, str], Position] | None = None,
        parts: tuple = (),
    ):
        if triples is None and lines is None and not parts:
            raise ValueError("Built needs triples, lines or parts")
        self._triples = triples
        self._lines = lines
        self.parts: tuple[Built, ...] = parts
        self._order: list[int] | None = None
        self._ntriples: bytes | None = None
        self.origins = origins  # node IRI -> (record id, position in YAML)
        self.base = base
        # For messages: the YAML field path each node comes from, as the curator wrote it (`pledge`,
        # `event.claimed_by`, `organization.names.sources`, `organization.founded` for a claimed
        # value; see schema.at_path), and where each field of a node was written, keyed (node IRI, field name).
        self.node_rules = node_rules if node_rules is not None else {}
        self.field_positions = field_positions if field_positions is not None else {}

    @property
    def line_file(self) -> LineFile | None:
        """The file holding the lines, when they are on disk (see `LineFile` for its format)."""
        return self._lines if isinstance(self._lines, LineFile) else None

    def with_lines(self, lines: Lines) -> "Built":
        """The same records' graph with other triples (e.g. asserted + inferred), same tracing maps."""
        return Built(None, self.origins, self.base, lines, self.node_rules, self.field_positions)

    def union(self, other: "Built") -> "Built":
        """This graph and a disjoint one (e.g. asserted + inferred) as one, same tracing maps."""
        return Built(None, self.origins, self.base, None, self.node_rules, self.field_positions, (self, other))

    @property
    def lines(self) -> Lines:
        if self._lines is None:
            if self.parts:
                self._lines = self._merged(list(chain.from_iterable(part.lines for part in self.parts)))
            else:
                self._lines = [str(t) for t in self._triples or ()]
        return self._lines

    @property
    def triples(self) -> list[ox.Triple]:
        if self._triples is None:
            if self.parts:
                self._triples = self._merged(list(chain.from_iterable(part.triples for part in self.parts)))
            else:
                self._triples = [q.triple for q in ox.parse(self.ntriples(), format=ox.RdfFormat.N_TRIPLES)]
        return self._triples

    def ntriples(self) -> bytes:
        """The graph as N-Triples, one sorted line per triple (the `ntriples` output)."""
        if self._ntriples is None:
            if self.parts:  # its writers have the terms: pyoxigraph writes them faster than str.join
                self._ntriples = ox.serialize(self.triples, format=ox.RdfFormat.N_TRIPLES) or b""
            elif self.line_file is not None:
                self._ntriples = self.line_file.path.read_bytes()
            else:
                lines = self.lines
                self._ntriples = (" .\n".join(lines) + " .\n").encode() if lines else b""
        return self._ntriples

    def _merged(self, concatenated: list) -> list:
        """The parts' items (lines or terms, concatenated part after part) in the
        union's sorted order. The parts are sorted and disjoint, so sorting their lines is one merge
        in C, done once; each part is parsed once, and the union shares its parts' terms."""
        if self._order is None:
            lines = list(chain.from_iterable(part.lines for part in self.parts))
            self._order = sorted(range(len(lines)), key=lines.__getitem__)
        return [concatenated[i] for i in self._order]

    def __len__(self) -> int:
        if self._lines is not None:
            return len(self._lines)
        return sum(map(len, self.parts)) if self.parts else len(self._triples or ())


def ntriples_chunks(lines: Iterable[str], size: int = 100_000) -> Iterator[bytes]:
    """N-Triples lines (without their final " .") as N-Triples bytes, `size` lines at a time: what
    a store loads or a file receives without the whole graph's bytes in memory at once."""
    lines = iter(lines)
    while batch := list(islice(lines, size)):
        batch.append("")  # the last line's " .\n" from the join itself: no copy of the joined text to add it
        yield " .\n".join(batch).encode()


def locate(built: Built, focus: str, path: str = "") -> tuple[str, Position, str]:
    """(record id, position, field path) of a node: its own origin, or the nearest enclosing node's."""
    node, below = focus, list[str]()
    while node not in built.node_rules and node not in built.origins:
        if "/" not in node[len(built.base) :]:
            return term_text(focus, built.base), Position("<graph>"), ""
        node, segment = node.rsplit("/", 1)
        below.insert(0, segment)
    entity, position = built.origins.get(node, ("", Position("<graph>")))
    owner = built.node_rules.get(node, "")  # the YAML field path of the node
    spec = schema.at_path(owner)
    if isinstance(spec, schema.Field):  # a claim or a claimed date: the node stands for one value of one field
        return entity, position, owner
    fields = {f.name: f for f in spec.fields} if spec is not None else {}
    step = below[0].replace("-", "_") if below else ""  # a date node's step is its field (`based-in`)
    name = step if step in fields else _field_for(fields, path)
    if not name:
        return entity, position, ""
    return entity, built.field_positions.get((node, name), position), f"{owner}.{name}"


def _field_for(fields: dict[str, schema.Field], predicate: str) -> str:
    if not predicate:
        return ""
    for f in fields.values():
        if f.predicate and expand(f.predicate) == predicate:
            return f.name
    alias = _FIELD_ALIASES.get(predicate, "")
    return alias if alias in fields else ""
