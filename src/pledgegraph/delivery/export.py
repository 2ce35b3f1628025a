"""Deterministic serialization, and writing output directories so a failure never leaves half a result.

Triples arrive sorted from the builder; pyoxigraph writes them in that order, so the same input
gives byte-identical files whatever the hash seed. A directory is written next to its final
place under a temporary name and swapped in only when complete.
"""

from __future__ import annotations

import contextlib
import heapq
import mmap
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Iterable

import pyoxigraph as ox

from pledgegraph import system
from pledgegraph.model.formats import FORMATS
from pledgegraph.model.graph import LineFile, ntriples_chunks
from pledgegraph.model.vocab import PREFIXES


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
    if format_name == "ntriples":
        return "".join(f"{t} .\n" for t in triples).encode()
    if format_name == "nquads":
        return "".join(f"{q} .\n" for q in triples).encode()
    used = (
        _used_prefixes(triples, prefixes)
        if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG, ox.RdfFormat.JSON_LD)
        else {}
    )
    return ox.serialize(triples, format=fmt.rdf_format, prefixes=used or None)


def write_lines(path: Path, lines: Iterable[str]) -> None:
    """N-Triples lines (without their final " .") written as a file, a batch at a time (a
    `LineFile` is that file already: copied)."""
    if isinstance(lines, LineFile):
        shutil.copyfile(lines.path, path)
        return
    with open(path, "wb") as f:
        for chunk in ntriples_chunks(lines):
            f.write(chunk)


def write_merged(path: Path, *sorted_files: Path) -> None:
    """Sorted, disjoint N-Triples files merged line by line into one sorted file. Their bytes are
    compared as they are: UTF-8 keeps code point order, and the " ." ending every line sorts before
    whatever could extend a line (see `graph.LineFile`), so the order is that of the lines as strings."""
    with contextlib.ExitStack() as files, open(path, "wb") as out:
        out.writelines(heapq.merge(*(files.enter_context(open(f, "rb")) for f in sorted_files)))


def write_serialized(path: Path, ntriples: Path, format_name: str, prefixes: dict[str, str]) -> None:
    """An N-Triples file in another format, as pyoxigraph parses and writes it: a stream, never
    the whole graph in memory. `prefixes`: exactly those the data uses (see `used_prefixes`)."""
    ox.serialize(
        ox.parse(path=str(ntriples), format=ox.RdfFormat.N_TRIPLES),
        output=str(path),
        format=FORMATS[format_name].rdf_format,
        prefixes=prefixes or None,
    )


def write_trig(path: Path, graphs: list[tuple[str, Path | list]], prefixes: dict[str, str]) -> None:
    """TriG of named graphs (name IRI, an N-Triples file or sorted triples), exactly as pyoxigraph
    writes their quads.

    TriG is Turtle inside `<name> { … }`, one tab deeper; putting it together from each graph's
    Turtle, streamed through files, saves making a Quad per triple (seconds and gigabytes at
    millions of triples). tests/test_fast_paths.py checks the bytes against pyoxigraph's own TriG writer."""
    turtle, bodies = path.with_name(path.name + ".graph"), path.with_name(path.name + ".bodies")
    header = b""
    try:
        with open(bodies, "wb") as out:
            for name, triples in graphs:
                source = (
                    ox.parse(path=str(triples), format=ox.RdfFormat.N_TRIPLES) if isinstance(triples, Path) else triples
                )
                ox.serialize(source, output=str(turtle), format=ox.RdfFormat.TURTLE, prefixes=prefixes or None)
                header, size = b"", turtle.stat().st_size
                with open(turtle, "rb") as f:
                    while (line := f.readline()).startswith(b"@prefix "):
                        header += line
                    if len(header) == size:
                        continue
                    out.write(f"<{name}> {{\n".encode() + b"\t")
                    body_left = size - len(header) - 1  # its last newline ends the block unindented
                    f.seek(len(header))
                    while body_left > 0:
                        chunk = f.read(min(body_left, 1 << 24))
                        body_left -= len(chunk)
                        out.write(chunk.replace(b"\n", b"\n\t"))
                    out.write(b"\n}\n")
        with open(path, "wb") as out, open(bodies, "rb") as f:
            out.write(header)
            shutil.copyfileobj(f, out, 1 << 24)
    finally:
        turtle.unlink(missing_ok=True)
        bodies.unlink(missing_ok=True)


def trig(graphs: list[tuple[str, list]], prefixes: dict[str, str]) -> bytes:
    """`write_trig`'s bytes, for a release that keeps its files in memory."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "graphs.trig"
        write_trig(path, graphs, prefixes)
        return path.read_bytes()


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
    found = set().union(*(_namespaces_of(iri, spaces) for iri in namespaces))
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
            iris = [subject, predicate, obj if obj.startswith("<") else obj.rsplit('"^^', 1)[-1]]
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
