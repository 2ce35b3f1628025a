"""Deterministic serialization, and writing output directories so a failure never leaves half a result.

Triples arrive sorted from the builder; pyoxigraph writes them in that order, so the same input
gives byte-identical files whatever the hash seed. A directory is written next to its final
place under a temporary name and swapped in only when complete.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import re
import shutil
import tempfile
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Iterable, Iterator

import pyoxigraph as ox

from pledgegraph import system
from pledgegraph.model.formats import FORMATS
from pledgegraph.model.graph import LineFile, ntriples_chunks
from pledgegraph.model.vocab import PREFIXES, RDF, XSD


def serialize(
    triples, format_name: str, prefixes: dict[str, str] | None = None, *, prefixes_used: bool = False
) -> bytes:
    """Triples (or quads, for quad formats) in a named format, as bytes.

    `triples` may be a `build.Built`: its N-Triples lines are then used directly. `prefixes_used`:
    the caller already knows `prefixes` are exactly those the data uses (see `used_prefixes`)."""
    fmt = FORMATS[format_name]
    if prefixes_used:
        return ox.serialize(triples, format=fmt.rdf_format, prefixes=prefixes or None)
    prefixes = PREFIXES if prefixes is None else prefixes
    if hasattr(triples, "ntriples"):
        if format_name == "ntriples":
            return triples.ntriples()
        used = (
            _used_prefixes_nt(triples.ntriples(), prefixes)
            if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.JSON_LD)
            else {}
        )
        return ox.serialize(triples.triples, format=fmt.rdf_format, prefixes=used or None)
    if format_name in ("ntriples", "nquads"):  # pyoxigraph's writer: each term's own text, 4× a Python join
        return ox.serialize(triples, format=fmt.rdf_format)
    used = (
        _used_prefixes(triples, prefixes)
        if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.JSON_LD)
        else {}
    )
    return ox.serialize(triples, format=fmt.rdf_format, prefixes=used or None)


def serialize_to(path: Path, triples, format_name: str, prefixes: dict[str, str] | None = None) -> None:
    """`serialize(triples, format_name, prefixes, prefixes_used=True)`, written by pyoxigraph straight into
    `path`: the bytes never become a Python object (a release's 330 MB N-Triples dump at 1M)."""
    ox.serialize(triples, output=str(path), format=FORMATS[format_name].rdf_format, prefixes=prefixes or None)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """N-Triples lines (without their final " .") written as a file, a batch at a time (a
    `LineFile` is that file already: copied)."""
    if isinstance(lines, LineFile):
        shutil.copyfile(lines.path, path)
        return
    with open(path, "wb") as f:
        for chunk in ntriples_chunks(lines):
            f.write(chunk)


class _Stitched:
    """One output file written a chunk of subjects at a time: pyoxigraph serializes each chunk as a
    whole document, and what a whole document has once is removed from the chunks after the first
    (Turtle's @prefix lines; JSON-LD's array brackets). As every subject's triples are in one chunk,
    the bytes are those of one serialization of the whole graph (tests/test_fast_paths.py)."""

    def __init__(self, path: Path, format_name: str, prefixes: dict[str, str]):
        self.file = open(path, "wb")
        self.rdf_format, self.prefixes = FORMATS[format_name].rdf_format, prefixes or None
        self.jsonld = self.rdf_format == ox.RdfFormat.JSON_LD
        self.started = False

    def write(self, quads: list) -> None:
        if not quads:
            return
        data = ox.serialize(quads, format=self.rdf_format, prefixes=self.prefixes) or b""
        if self.jsonld:
            self.file.write((b"," if self.started else b"[") + data[1:-1])
        elif not self.started:
            self.file.write(data)
        else:
            self.file.write(memoryview(data)[_header_length(data) :])
        self.started = True

    def close(self) -> None:
        if self.jsonld:
            self.file.write(b"]" if self.started else b"[]")
        self.file.close()


# Asserted lines parsed at a time by `write_graph_formats`: its memory whatever the size of the graph
# (chunks of 100,000 added ~80 MB to the writer's peak at ~100k); a chunk costs a few pyoxigraph calls.
CHUNK_LINES = 25_000


def _subject_chunks(asserted: Path, inferred: Path) -> Iterator[tuple[list[bytes], list[bytes]]]:
    """The lines of two sorted, disjoint N-Triples files (see `graph.LineFile`) `CHUNK_LINES` at a time,
    as (asserted lines, inferred lines) holding every triple of their subjects: a subject's lines are
    next to each other in each file, so a chunk ends where the asserted file's next subject starts."""
    with open(asserted, "rb") as a, open(inferred, "rb") as i:
        pending = i.readline()
        size = CHUNK_LINES
        lines = list(islice(a, size))
        while lines:
            following = a.readline()
            last = lines[-1][: lines[-1].index(b" ") + 1]
            while following.startswith(last):  # the chunk's last subject ends in this chunk
                lines.append(following)
                following = a.readline()
            # every inferred line before the next chunk's subject (none of that subject's lines)
            bound = following[: following.index(b" ") + 1] if following else None
            taken = []
            while pending and (bound is None or pending < bound):
                taken.append(pending)
                pending = i.readline()
            yield lines, taken
            lines = [following, *islice(a, size - 1)] if following else []
        rest = [pending, *i] if pending else []
        if rest:
            yield [], rest


def write_graph_formats(
    asserted: Path, inferred: Path, outputs: dict[Path, tuple[str, str, dict[str, str]]], union_ntriples: Path
) -> None:
    """The union of two sorted, disjoint N-Triples files written as N-Triples (`union_ntriples`) and in
    the `outputs` (path -> (graph "asserted", "inferred" or "union", format name, prefixes)), parsing
    each line once: parsing, not writing, is most of what pyoxigraph spends converting a file (at
    ~100k, parsing the union took 0.28 s of CPU, writing it as Turtle 0.03 s more). A chunk of
    subjects at a time: memory does not grow with the graph."""
    writers = {path: (graph, _Stitched(path, fmt, prefixes)) for path, (graph, fmt, prefixes) in outputs.items()}
    try:
        with open(union_ntriples, "wb") as nt:
            for asserted_lines, inferred_lines in _subject_chunks(asserted, inferred):
                quads = {
                    "asserted": list(ox.parse(b"".join(asserted_lines), format=ox.RdfFormat.N_TRIPLES)),
                    "inferred": list(ox.parse(b"".join(inferred_lines), format=ox.RdfFormat.N_TRIPLES)),
                }
                # the union's order: sorting the two sorted, disjoint runs is one merge, in C (a bisect per
                # inferred line in Python took 0.7 s more of the writer's CPU at ~1m)
                lines = asserted_lines + inferred_lines
                order = sorted(range(len(lines)), key=lines.__getitem__)
                nt.write(b"".join([lines[at] for at in order]))
                both = quads["asserted"] + quads["inferred"]
                quads["union"] = [both[at] for at in order]
                for graph, writer in writers.values():
                    writer.write(quads[graph])
    finally:
        for _, writer in writers.values():
            writer.close()


def write_trig(path: Path, graphs: list[tuple[str, Path | list]], prefixes: dict[str, str]) -> None:
    """TriG of named graphs (name IRI, an N-Triples file or sorted triples), exactly as pyoxigraph
    writes their quads: each graph's Turtle, put together by `trig_of_turtle`."""
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        turtles = []
        for number, (name, triples) in enumerate(graphs):
            source = (
                ox.parse(path=str(triples), format=ox.RdfFormat.N_TRIPLES) if isinstance(triples, Path) else triples
            )
            turtles.append((name, Path(scratch) / f"{number}.ttl"))
            ox.serialize(source, output=str(turtles[-1][1]), format=ox.RdfFormat.TURTLE, prefixes=prefixes or None)
        trig_of_turtle(path, turtles)


def trig_of_turtle(path: Path, graphs: list[tuple[str, Path]]) -> None:
    """TriG of named graphs (name IRI, that graph as a Turtle file, all written with the same prefixes),
    exactly as pyoxigraph writes their quads.

    TriG is Turtle inside `<name> { … }`, one tab deeper; putting it together from each graph's
    Turtle, streamed through files, saves making a Quad per triple (seconds and gigabytes at
    millions of triples). tests/test_fast_paths.py checks the bytes against pyoxigraph's own TriG writer."""
    headers = {turtle: _prefix_lines(turtle) for _, turtle in graphs}
    with open(path, "wb") as out:
        out.write(next((h for h in headers.values() if h), b""))  # empty graphs have none; the others the same
        for name, turtle in graphs:
            header, size = headers[turtle], turtle.stat().st_size
            if len(header) == size:
                continue
            with open(turtle, "rb") as f:
                out.write(f"<{name}> {{\n".encode() + b"\t")
                body_left = size - len(header) - 1  # its last newline ends the block unindented
                f.seek(len(header))
                while body_left > 0:
                    chunk = f.read(min(body_left, 1 << 24))
                    body_left -= len(chunk)
                    out.write(chunk.replace(b"\n", b"\n\t"))
                out.write(b"\n}\n")


def turtle_reprefixed(turtle: Path, path: Path, prefixes: dict[str, str]) -> None:
    """`turtle` (pyoxigraph's Turtle of some triples, written with `prefixes` and others that none of
    its IRIs is in) written to `path` as pyoxigraph writes those triples with `prefixes` alone: the
    same triples' lines, other @prefix lines (pyoxigraph's own for these prefixes: it writes them
    whatever the triples, in an order of its own). So one graph serialized once gives two files."""
    header = _prefix_lines(turtle)
    with open(turtle, "rb") as source, open(path, "wb") as out:
        if turtle.stat().st_size == len(header):  # no triples: pyoxigraph writes nothing
            return
        anything = ox.Triple(ox.NamedNode("urn:x"), ox.NamedNode("urn:x"), ox.NamedNode("urn:x"))
        written = ox.serialize([anything], format=ox.RdfFormat.TURTLE, prefixes=prefixes or None) or b""
        out.write(written[: _header_length(written)])
        source.seek(len(header))
        shutil.copyfileobj(source, out, 1 << 24)


def _header_length(turtle: bytes) -> int:
    """How many bytes of @prefix lines Turtle starts with."""
    end = 0
    while turtle.startswith(b"@prefix ", end):
        end = turtle.index(b"\n", end) + 1
    return end


def _prefix_lines(turtle: Path) -> bytes:
    """The @prefix lines a Turtle file starts with (a few dozen, from our prefixes: its first megabyte holds them)."""
    with open(turtle, "rb") as f:
        start = f.read(1 << 20)
    return start[: _header_length(start)]


def used_prefixes(*graphs, prefixes: dict[str, str] = PREFIXES) -> dict[str, str]:
    """The prefixes graphs (lists of triples or quads, N-Triples files or bytes, or a `graph.Built`)
    use, sorted by prefix."""
    used: dict[str, str] = {}
    for graph in graphs:
        if isinstance(graph, bytes):
            used.update(_used_prefixes_nt(graph, prefixes))
        elif hasattr(graph, "ntriples"):
            used.update(_used_prefixes_nt(graph.ntriples(), prefixes))
        elif not isinstance(graph, Path):
            used.update(_used_prefixes(graph, prefixes))
        elif graph.stat().st_size:
            with open(graph, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                used.update(_used_prefixes_nt(data, prefixes))
    return dict(sorted(used.items()))


def term_prefixes(ntriples: bytes, prefixes: dict[str, str] = PREFIXES) -> dict[str, str]:
    """What `serialize` finds for triples (every IRI a term or a literal's datatype), from their N-Triples
    bytes: a byte search per namespace (`_used_prefixes_nt`, C speed) instead of a Python look at every
    term (0.3 ms of an entity file's 0.4 ms at 100k), plus the datatypes N-Triples leaves out, a plain
    literal's xsd:string (its line ends `" .`) and a language-tagged one's rdf:langString (`"@en .`)."""
    used = _used_prefixes_nt(ntriples, prefixes)
    implied = [XSD + "string"] if b'" .\n' in ntriples else []
    if _LANGUAGE_TAGGED_END.search(ntriples):
        implied.append(RDF + "langString")
    used.update((p, ns) for p, ns in prefixes.items() for iri in implied if iri.startswith(ns))
    return dict(sorted(used.items()))


_LANGUAGE_TAGGED_END = re.compile(rb'"@[A-Za-z0-9-]+ \.\n')  # a literal's text has no raw newline or quote


def _used_prefixes(triples, prefixes: dict[str, str]) -> dict[str, str]:
    """Only the prefixes the data uses, so headers do not change when unrelated data does."""
    namespaces = set()
    for t in triples:
        for term in (t.subject, t.predicate, t.object):
            if isinstance(term, ox.NamedNode):
                namespaces.add(term.value)
            elif isinstance(term, ox.Literal) and term.datatype:
                namespaces.add(term.datatype.value)
    spaces = tuple(prefixes.values())
    # IRIs in no namespace (entities: at 1M, more than `_namespaces_of`'s cache holds) rejected by one test
    found = set().union(*(_namespaces_of(iri, spaces) for iri in namespaces if iri.startswith(spaces)))
    return {p: ns for p, ns in sorted(prefixes.items()) if ns in found}


@lru_cache(maxsize=1 << 16)
def _namespaces_of(iri: str, spaces: tuple[str, ...]) -> frozenset[str]:
    """The namespaces an IRI is in (a page of a release asks this for the same IRIs thousands of times)."""
    return frozenset(ns for ns in spaces if iri.startswith(ns))


def _used_prefixes_nt(data: bytes | mmap.mmap, prefixes: dict[str, str]) -> dict[str, str]:
    """`_used_prefixes` for N-Triples bytes: a byte search per namespace instead of a look at every
    term (seconds at a million triples), each hit checked to be an IRI term, not text in a literal."""
    used = {}
    for p, ns in sorted(prefixes.items()):
        needle = b"<" + ns.encode()
        at = data.find(needle)
        while at != -1:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            subject, predicate, obj = data[start : end if end != -1 else len(data)].decode()[:-2].split(" ", 2)
            # a literal's datatype follows its closing quote, the last `"` (one inside its text is escaped)
            iris = [subject, predicate, obj if obj.startswith("<") else obj[obj.rindex('"') + 1 :].removeprefix("^^")]
            if any(iri.startswith("<" + ns) for iri in iris):
                used[p] = ns
                break
            at = data.find(needle, at + 1)
    return used


@contextlib.contextmanager
def replace_dir(target: Path):
    """Yield a fresh temporary directory; on success it replaces `target`, on error it is removed.

    At every instant `target` is either the complete old directory or the complete new one, even
    if the process is killed: the swap is one atomic exchange. A lock on the parent directory serialises writers to
    the same target, so leftovers of killed runs can be cleared safely.
    """
    import fcntl

    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(target.parent, os.O_RDONLY)  # lock the parent directory itself: no lock file is left behind
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        for stale in target.parent.glob(f".{target.name}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
        try:
            yield tmp
            os.chmod(tmp, 0o755)
            if not target.exists() and not target.is_symlink():
                os.rename(tmp, target)
                return
            if not system.exchange(tmp, target):  # not atomic, but never leaves a half-written target
                old = target.parent / f".{target.name}.tmp-old"
                os.rename(target, old)
                os.rename(tmp, target)
                tmp = old
            if tmp.is_symlink():
                tmp.unlink()
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    finally:
        os.close(lock)  # closing the descriptor releases the lock


def write_file(path: Path, data: bytes) -> None:
    """Write a single file atomically (temporary sibling + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
