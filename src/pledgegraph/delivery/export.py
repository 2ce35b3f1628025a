"""Deterministic serialization, and writing output directories so a failure never leaves half a result.

Triples arrive sorted from the builder; pyoxigraph writes them in that order, so the same input
gives byte-identical files whatever the hash seed. A directory is written next to its final
place under a temporary name and swapped in only when complete.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

import pyoxigraph as ox

from pledgegraph.model.formats import FORMATS
from pledgegraph.model.vocab import PREFIXES


def serialize(triples, format_name: str, prefixes: dict[str, str] | None = None, *,
              prefixes_used: bool = False) -> bytes:
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
        used = _used_prefixes_nt(triples.ntriples(), prefixes) if fmt.rdf_format in (
            ox.RdfFormat.TURTLE, ox.RdfFormat.JSON_LD) else {}
        return ox.serialize(triples.triples, format=fmt.rdf_format, prefixes=used or None)
    if format_name == "ntriples":
        return "".join(f"{t} .\n" for t in triples).encode()
    if format_name == "nquads":
        return "".join(f"{q} .\n" for q in triples).encode()
    used = _used_prefixes(triples, prefixes) if fmt.rdf_format in (ox.RdfFormat.TURTLE, ox.RdfFormat.TRIG,
                                                                    ox.RdfFormat.JSON_LD) else {}
    return ox.serialize(triples, format=fmt.rdf_format, prefixes=used or None)


def trig(graphs: list[tuple[str, list]], prefixes: dict[str, str]) -> bytes:
    """TriG of named graphs (name IRI, sorted triples), exactly as pyoxigraph writes their quads.

    TriG is Turtle inside `<name> { … }`, one tab deeper; putting it together from each graph's
    Turtle saves making a Quad object per triple (seconds at a million triples).
    tests/test_fast_paths.py checks the bytes against pyoxigraph's own TriG writer."""
    header, bodies = b"", []
    for name, triples in graphs:
        turtle = ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=prefixes or None)
        body_at = 0
        while turtle.startswith(b"@prefix ", body_at):
            body_at = turtle.index(b"\n", body_at) + 1
        header, body = turtle[:body_at], turtle[body_at:]
        if body:
            bodies.append(f"<{name}> {{\n".encode() + b"\t" + body[:-1].replace(b"\n", b"\n\t") + b"\n}\n")
    return header + b"".join(bodies)


def used_prefixes(graph, prefixes: dict[str, str] = PREFIXES) -> dict[str, str]:
    """The prefixes a graph (triples, quads, N-Triples bytes or a `build.Built`) uses, sorted by prefix."""
    if isinstance(graph, bytes):
        return _used_prefixes_nt(graph, prefixes)
    if hasattr(graph, "ntriples"):
        return _used_prefixes_nt(graph.ntriples(), prefixes)
    return _used_prefixes(graph, prefixes)


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


def _used_prefixes_nt(data: bytes, prefixes: dict[str, str]) -> dict[str, str]:
    """`_used_prefixes` for N-Triples bytes: a byte search per namespace instead of a look at every
    term (seconds at a million triples), each hit checked to be an IRI term, not text in a literal."""
    used = {}
    for p, ns in sorted(prefixes.items()):
        needle = b"<" + ns.encode()
        at = data.find(needle)
        while at != -1:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            subject, predicate, obj = data[start:end if end != -1 else len(data)].decode()[:-2].split(" ", 2)
            iris = [subject, predicate, obj if obj.startswith("<") else obj.rsplit('"^^', 1)[-1]]
            if any(iri.startswith("<" + ns) for iri in iris):
                used[p] = ns
                break
            at = data.find(needle, at + 1)
    return used


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two directories (Linux renameat2); False where the system cannot."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    if ctypes.get_errno() in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: filesystem cannot exchange
        return False
    err = ctypes.get_errno()
    raise OSError(err, os.strerror(err), str(b))


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
            if not _exchange(tmp, target):  # not atomic, but never leaves a half-written target
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
