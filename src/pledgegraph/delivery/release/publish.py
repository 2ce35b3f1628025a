"""A versioned, self-contained release of the build output: a static site any web server can host.

`publish(outdir, dist)` reads what `pledgegraph build` wrote (it never re-runs the pipeline) and
writes `outdir/<version>/`: dumps, our JSON-LD context, the ontology and shapes, VoID and DCAT,
a page and RDF files per entity, pictures, a sitemap, server configuration examples, and the
change set against the previous release found in `outdir`. Then `outdir/latest` (a relative
symlink, swapped atomically), `latest.txt`, `index.html` and `.well-known/void` point at the newest
release. The release directory is written under a temporary name and renamed into place when
complete, so a failed publish leaves earlier releases untouched. Same input, same bytes: every
list is sorted, gzip headers carry no time, dates come from the dataset record.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import mmap
import multiprocessing as mp
import os
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache, partial
from html import escape
from itertools import chain, compress, repeat
from operator import contains
from pathlib import Path
from typing import Callable, Iterable, Sequence
from urllib.parse import urlsplit

import pyoxigraph as ox
from zlib_ng import gzip_ng

from pledgegraph import quickexit
from pledgegraph.delivery import search
from pledgegraph.delivery.export import (
    replace_dir,
    serialize,
    serialize_to,
    term_prefixes,
    used_prefixes,
    write_file,
    write_trig,
)
from pledgegraph.delivery.release import catalog, describe, figures, jsonld, pages, webservers
from pledgegraph.delivery.release import changeset as changes
from pledgegraph.delivery.release.catalog import DatasetInfo
from pledgegraph.errors import ReleaseRefused, UnusableInput
from pledgegraph.forked import Forked
from pledgegraph.gcpause import paused_gc
from pledgegraph.model import iris, schema
from pledgegraph.model.vocab import DCAT, DCTERMS, FOAF, OWL, PG, PGV

STEM = "pledgegraph"
GRAPHS = ("asserted", "inferred", "ontology", "shapes")
DUMPS = (f"{STEM}.nt.gz", f"{STEM}.ttl", f"{STEM}.jsonld", f"{STEM}.trig", f"{STEM}.nq.gz")
ADDED = "changes/added.nt"
_VERSION_RE = re.compile(schema.VERSION_PATTERN)


@dataclass
class Published:
    release: Path
    version: str
    previous: str | None
    triples: int
    entities: int
    files: int
    changes: dict = field(default_factory=dict)
    unchanged: bool = False  # this version was already published with exactly this content


@dataclass
class _Input:
    base: str
    graphs: dict[str, list[ox.Triple]]
    info: DatasetInfo
    ontology_html: bytes | None
    search_files: dict[str, bytes] = field(default_factory=dict)  # the name index and its search box script
    with_blank_nodes: frozenset[str] = frozenset()  # graphs with blank nodes (the store loader relabels them)
    texts: dict[str, list[str]] = field(default_factory=dict)  # a graph's triples' `str`, in its order

    def data(self) -> tuple[list[ox.Triple], list[str]]:
        """The data graph harvesters get: asserted and inferred triples together, sorted by `str`, and their
        texts (`str`).

        Each graph comes sorted so, with its triples' texts kept from that sort: joining the two is one
        merge of two runs of texts (timsort, string compares in C), without making each triple's text
        again (at 1M, 1.8 million `str` calls); a triple in both is dropped after."""
        triples = self.graphs["asserted"] + self.graphs["inferred"]
        texts = self.texts["asserted"] + self.texts["inferred"]
        return _by_text(triples, texts)


def read_dist(dist: Path) -> _Input:
    """The build output: named graphs from the TriG, the shapes, the dataset record, the ontology docs."""
    trig, shapes = dist / f"{STEM}.trig", dist / "shapes.ttl"
    for path in (trig, shapes):
        if not path.is_file():
            raise UnusableInput(f"{path} not found: run `pledgegraph build` first (or pass --dist)")
    try:
        listed: dict[ox.NamedNode | ox.BlankNode | ox.DefaultGraph, list[ox.Triple]] = {}
        for q in ox.parse(path=str(trig), format=ox.RdfFormat.TRIG):
            graph = listed.get(q.graph_name)
            if graph is None:
                graph = listed[q.graph_name] = []
            graph.append(q.triple)
        shape_triples = [q.triple for q in ox.parse(path=str(shapes), format=ox.RdfFormat.TURTLE)]
    except (SyntaxError, ValueError, OSError) as e:
        raise UnusableInput(f"cannot read the build output in {dist}: {e}") from e
    by_graph = {(g.value if isinstance(g, ox.NamedNode) else ""): triples for g, triples in listed.items()}
    asserted = [g for g in by_graph if g.endswith("graph/asserted")]
    if len(asserted) != 1:
        raise UnusableInput(f"{trig} has no <…graph/asserted> named graph")
    base = asserted[0][: -len("graph/asserted")]
    read = {name: by_graph.get(f"{base}graph/{name}", []) for name in GRAPHS[:3]} | {"shapes": shape_triples}
    texts = {name: list(map(str, triples)) for name, triples in read.items()}
    # a blank node's text has "_:": only the triples whose text has it are asked (a Python call and two term
    # objects for each of 1.8 million triples at 1M, ~0.25 s more of the part of `read_dist` the store waits for)
    with_blank_nodes = frozenset(
        name
        for name, triples in read.items()
        if any(map(_has_blank_node, compress(triples, map(contains, texts[name], repeat("_:")))))
    )
    graphs = {}
    for name, triples in read.items():
        # the TriG's blank nodes (the ontology's OWL lists) have the canonical labels the build gave them
        # (`reason.read_ontology`), which the parser keeps; the shapes file's `[ ]` get new labels each time
        relabel = name == "shapes" and name in with_blank_nodes
        graphs[name], texts[name] = _canonical(triples, texts[name], relabel)
    html = dist / "ontology.html"
    return _Input(
        base,
        graphs,
        dataset_info(base, graphs["asserted"]),
        html.read_bytes() if html.is_file() else None,
        search.release_files(dist),
        with_blank_nodes,
        texts,
    )


def _canonical(triples: list[ox.Triple], texts: list[str], blank_nodes: bool) -> tuple[list[ox.Triple], list[str]]:
    """Triples sorted by their texts (`str`), repeats dropped, and those texts; blank nodes (shapes use them)
    relabelled by RDFC-1.0 first, so labels never vary. The TriG's order is long sorted runs, which timsort
    merges, comparing the texts in C."""
    if blank_nodes:
        dataset = ox.Dataset(ox.Quad(t.subject, t.predicate, t.object) for t in triples)
        dataset.canonicalize(ox.CanonicalizationAlgorithm.RDFC_1_0)
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in dataset]
        texts = list(map(str, triples))
    return _by_text(triples, texts)


def _by_text(triples: list[ox.Triple], texts: list[str]) -> tuple[list[ox.Triple], list[str]]:
    """`triples` and their `texts` sorted by text, repeats dropped: runs already sorted are merged by timsort,
    comparing the texts in C."""
    order = sorted(range(len(texts)), key=texts.__getitem__)
    kept = [i for k, i in enumerate(order) if not k or texts[i] != texts[order[k - 1]]]
    return [triples[i] for i in kept], [texts[i] for i in kept]


_BOUNDS = tuple(
    PG + p for p in ("dateEarliest", "dateLatest", "startEarliest", "startLatest", "endEarliest", "endLatest")
)


def dataset_info(base: str, triples: list[ox.Triple]) -> DatasetInfo:
    """What the dataset record says about the dataset (title, version, licence, dates…), as DCAT and VoID use it."""
    wanted = {
        DCTERMS + "title": "title",
        DCTERMS + "description": "description",
        OWL + "versionInfo": "version",
        DCTERMS + "license": "license",
        PG + "publisherName": "publisher",
        DCTERMS + "issued": "issued",
        DCTERMS + "modified": "modified",
        FOAF + "homepage": "homepage",
    }
    many = {
        DCAT + "keyword": "keywords",
        DCAT + "theme": "themes",
        DCTERMS + "spatial": "spatial",
        DCTERMS + "language": "languages",
    }
    values = {name: "" for name in wanted.values()}
    lists: dict[str, list[str]] = {name: [] for name in many.values()}
    days = []
    for t in triples:
        if t.subject.value == base + "dataset":
            if t.predicate.value in wanted:
                values[wanted[t.predicate.value]] = t.object.value
            elif t.predicate.value in many:
                lists[many[t.predicate.value]].append(t.object.value)
        elif t.predicate.value in _BOUNDS:
            days.append(t.object.value)
    if not values["version"] or not _VERSION_RE.fullmatch(values["version"]):
        raise UnusableInput(
            f"the dataset record has no usable version ({values['version']!r}): set `version:` in data/dataset.yaml"
        )
    return DatasetInfo(
        base=base,
        **values,
        **{k: tuple(sorted(v)) for k, v in lists.items()},
        temporal=(min(days), max(days)) if days else None,
    )


# -- previous releases and the latest pointer -------------------------------------------------


def version_key(version: str) -> tuple:
    """Orders 0.2.0 < 0.10.0: numbers compare as numbers."""
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.+_-]", version))


def releases(outdir: Path) -> list[str]:
    """Versions of the complete releases in `outdir`, oldest first."""
    if not outdir.is_dir():
        return []
    found = [
        p.name
        for p in outdir.iterdir()
        if _VERSION_RE.match(p.name)
        and p.is_dir()
        and not p.is_symlink()
        and (p / "void.ttl").is_file()
        and (p / DUMPS[0]).is_file()
    ]
    return sorted(found, key=version_key)


def _previous(outdir: Path, version: str) -> str | None:
    older = [v for v in releases(outdir) if version_key(v) < version_key(version)]
    return older[-1] if older else None


def _read_dump(release: Path, cap: int) -> list[ox.Triple]:
    """The previous release's data, read without following a link and unpacked to at most `cap` bytes."""
    path = release / DUMPS[0]
    try:
        with os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb") as raw, gzip.GzipFile(fileobj=raw) as f:
            data = f.read(cap + 1)
        if len(data) > cap:
            raise UnusableInput(
                f"{path} unpacks to more than {cap:,} bytes, far more than this release: it is not "
                "a dump publish wrote; move that release out of the output folder"
            )
        quads = ox.parse(data, format=ox.RdfFormat.N_TRIPLES)
        return [ox.Triple(q.subject, q.predicate, q.object) for q in quads]
    except (OSError, EOFError, SyntaxError) as e:
        raise UnusableInput(
            f"cannot read the previous release's dump {path} (publish follows no symbolic link it "
            f"did not create): {e}; move that release out of the output folder"
        ) from e


def _check_outdir(outdir: Path) -> None:
    """Refuse, before writing anything, where a path publish maintains is something it did not make:
    `latest` must be a symbolic link (it is replaced, never followed) and `.well-known` a real folder."""
    latest, well_known = outdir / "latest", outdir / ".well-known"
    if latest.exists() and not latest.is_symlink():
        raise UnusableInput(f"{latest} is not the symbolic link publish keeps there: move it away")
    if well_known.is_symlink() or (well_known.exists() and not well_known.is_dir()):
        raise UnusableInput(
            f"{well_known} is a symbolic link or a file: publish writes .well-known/void itself and "
            "follows no link it did not create; remove it"
        )


def _point_latest(outdir: Path) -> str:
    """`latest` -> the newest release: symlink swapped with a rename, plus files for plain servers. Only what
    is not so already is written: run again after a publish that was stopped between placing its release and
    pointing `latest` at it, this finishes that publish's work (and an unchanged one writes nothing)."""
    newest = releases(outdir)[-1]
    latest = outdir / "latest"
    if not latest.is_symlink() or os.readlink(latest) != newest:
        tmp = outdir / f".latest.tmp-{os.getpid()}"
        if tmp.is_symlink():
            tmp.unlink()
        os.symlink(newest, tmp)
        os.replace(tmp, latest)
    void = ox.parse(path=str(outdir / newest / "void.ttl"), format=ox.RdfFormat.TURTLE, base_iri=catalog.HERE)
    pointers = {
        "latest.txt": (newest + "\n").encode(),
        "index.html": pages.page(
            "pledgegraph releases",
            f'<p>The latest release is <a href="{escape(newest)}/">{escape(newest)}</a>.</p>',
            head=f'<meta http-equiv="refresh" content="0; url={escape(newest)}/">',
        ).encode(),
        ".well-known/void": catalog.relative_turtle(list(void), f"../{newest}/"),
    }
    for name, content in pointers.items():
        path = outdir / name
        if not path.is_file() or path.read_bytes() != content:
            write_file(path, content)
    return newest


# -- the release --------------------------------------------------------------------------------


@paused_gc()  # millions of terms and index entries, no cycles; a forked child that collected would copy pages
def publish(outdir: Path, dist: Path, force: bool = False) -> Published:
    """Write `outdir/<version>/` from the build output in `dist`, then point `latest` at the newest.

    Versions only go forward: a version older than the newest published is refused, and so is a
    published version with other content, unless `force` (the change set then says what was
    replaced). The same version with the same content writes nothing."""
    loading = _StoreLoad(Path(dist))
    try:
        src = read_dist(Path(dist))
        data, data_texts = src.data()  # while the store's thread may still load (at 1M 1.3 s, alone after it before)
    finally:
        loaded = loading.wait()  # before anything forks: no thread may run then
    # the store made equal to `src` once, after the dumps' child has forked (it needs no store)
    store_of = cache(partial(loaded, src))
    quickexit.leave_for_exit(src, data, data_texts)
    outdir = Path(outdir)
    _check_outdir(outdir)
    version = src.info.version
    published = releases(outdir)
    if published and version not in published and version_key(version) < version_key(published[-1]):
        raise ReleaseRefused(
            f"version {version} is older than the newest release in {outdir}, {published[-1]}: "
            "versions only go forward (set a newer `version:` in data/dataset.yaml)"
        )
    previous = _previous(outdir, version)
    previous_dir = outdir / previous if previous else None

    # a previous release's dump unpacks to far less than this (the TriG is about half the N-Triples' size)
    cap = max(64 << 20, 32 * (Path(dist) / f"{STEM}.trig").stat().st_size)

    def diff(subjects: set[str], owners: iris.Owners, warnings: Sequence[str] = ()) -> changes.ChangeSet:
        """The change set from the previous release (worked out while the forked children write the dumps
        and entity files)."""
        old = _read_dump(outdir / previous, cap) if previous else []
        change_set = changes.diff(previous, old, data, src.base, subjects, owners)
        change_set.warnings.extend(warnings)
        return change_set

    entities: list[str] = []
    try:
        with replace_dir(outdir / version) as tmp:
            out = _Sink(tmp)
            change_set, entities = _release_files(src, store_of, data, data_texts, diff, previous_dir, out)
            if version in published:
                if _same_files(outdir / version, out.root, out.written):
                    raise _Unchanged(change_set)
                if not force:
                    raise ReleaseRefused(
                        f"release {version} in {outdir} was published with other content: set a new "
                        "`version:` in data/dataset.yaml, or pass --force to replace it"
                    )
                old_sum = hashlib.sha256((outdir / version / DUMPS[0]).read_bytes()).hexdigest()
                replaced = (
                    f"This release replaces release {version} as first published (its "
                    f"{DUMPS[0]} had SHA-256 {old_sum}), by `publish --force`."
                )
                out.clear()
                change_set, entities = _release_files(
                    src,
                    store_of,
                    data,
                    data_texts,
                    lambda subjects, owners: diff(subjects, owners, [replaced]),
                    previous_dir,
                    out,
                )
    except _Unchanged as same:
        _point_latest(outdir)  # a publish stopped before pointing `latest` at this release left it behind
        summary = same.change_set.summary()
        return Published(outdir / version, version, previous, len(data), len(entities), len(out.written), summary, True)
    _point_latest(outdir)
    return Published(
        outdir / version, version, previous, len(data), len(entities), len(out.written), change_set.summary()
    )


class _Unchanged(Exception):
    """This version is already published with exactly these files: the new copy is dropped."""

    def __init__(self, change_set: changes.ChangeSet):
        super().__init__("already published")
        self.change_set = change_set


class _Sink:
    """The release directory being written: each file goes to disk as it is made, and only its size and
    digest stay in memory (a whole release's bytes took 9 GB at 1M). A forked child writes into the
    same directory with a sink of its own and sends back only what it wrote."""

    def __init__(self, root: Path):
        self.root = root
        self.written: dict[str, catalog.Written] = {}
        self._folders: set[str] = set()

    def place(self, rel: str) -> Path:
        """Where `rel` goes (its folder made), for `write` or for a writer that writes the file itself."""
        folder = rel.rpartition("/")[0]
        if folder not in self._folders:
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            self._folders.add(folder)
        return self.root / rel

    def write(self, rel: str, content: bytes) -> None:
        fd = os.open(self.place(rel), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # no buffered file object
        try:
            left = memoryview(content)
            while left:
                left = left[os.write(fd, left) :]
        finally:
            os.close(fd)
        self.written[rel] = catalog.Written.of(content, digest=is_download(rel))

    def wrote(self, rel: str) -> None:
        """Count `rel`, written at `place(rel)` by a writer of its own."""
        with _mapped(self.root / rel) as content:
            self.written[rel] = catalog.Written.of(content, digest=is_download(rel))

    def clear(self) -> None:
        for path in self.root.iterdir():
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
        self.written, self._folders = {}, set()


def is_download(name: str) -> bool:
    """A release file the catalog lists as a distribution, with its size and SHA-256: the top-level files, the
    ontology's and the change set's; not an entity's files nor the web servers' (no digest is made of those)."""
    return "/" not in name or name.startswith(("ontology/", "changes/"))


def _same_files(release: Path, fresh: Path, written: dict[str, catalog.Written]) -> bool:
    """Whether `release` holds the same files, byte for byte, as those just `written` into `fresh`."""
    found = {str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()}
    return found == written.keys() and all(
        (release / rel).stat().st_size == facts.size and (release / rel).read_bytes() == (fresh / rel).read_bytes()
        for rel, facts in written.items()
    )


class _StoreLoad:
    """The store of every graph, loaded from the TriG by pyoxigraph in a thread (in Rust, without the GIL)
    while this process parses the same file into lists: at 100k 0.8 s of the other core instead of 1.6 s
    of inserting the parsed triples after. `wait()` joins the thread and gives what makes the store equal
    to `src.graphs` (what `read_dist` read): the TriG's named graphs `GRAPHS` names and no other, a graph
    with blank nodes (the ontology's OWL lists; the loader gives them random labels) replaced by its
    canonical triples, and the shapes."""

    def __init__(self, dist: Path):
        self.store = ox.Store()
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._load, args=(dist / f"{STEM}.trig",), daemon=True)
        self.thread.start()

    def _load(self, trig: Path) -> None:
        try:
            # `load`, not `bulk_load`: into a store in memory, pyoxigraph 0.5's `load` took 6.9 s at 1M and
            # `bulk_load` 8.2 s (each beside `read_dist`), which ends the loading later than this thread
            self.store.load(path=str(trig), format=ox.RdfFormat.TRIG)
        except BaseException as e:  # read_dist reports an unreadable TriG itself, at its line
            self.failed = e

    def wait(self) -> Callable[[_Input], ox.Store]:
        self.thread.join()
        return self._complete

    def _complete(self, src: _Input) -> ox.Store:
        if self.failed is not None:
            raise UnusableInput(f"cannot load the build output's TriG: {self.failed}") from self.failed
        store, named = self.store, {ox.NamedNode(f"{src.base}graph/{name}"): name for name in GRAPHS}
        store.clear_graph(ox.DefaultGraph())
        for graph in list(store.named_graphs()):
            if graph not in named:
                store.remove_graph(graph)
        for graph, name in named.items():
            triples = src.graphs[name]
            if name == "shapes" or name in src.with_blank_nodes:
                store.remove_graph(graph)
                store.bulk_extend(ox.Quad(t.subject, t.predicate, t.object, graph) for t in triples)
        return store


def _has_blank_node(t: ox.Triple) -> bool:
    return isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)


_GZIP_LEVEL = 6


def _gzip(data) -> bytes:
    """gzip at zlib's default level (gzip(1)'s), for those who download the dumps, by zlib-ng: on the
    bench's 1M N-Triples (330 MB) 1.0 s for 13.2 MB, where the standard library's zlib took 1.7 s for 13.9 MB
    (level 3: 1.83 MB for 100k's 33 MB against level 6's 1.38 MB). The unpacked bytes are the same whatever
    compresses them; no time in the header."""
    return gzip_ng.compress(data, compresslevel=_GZIP_LEVEL, mtime=0)


def _gzip_writer(raw):
    """`_gzip` as a file: what is written to it is compressed into `raw` (no name or time in the header)."""
    return gzip_ng.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=_GZIP_LEVEL, mtime=0)


@contextmanager
def _mapped(path: Path):
    """A file's bytes as a read-only buffer (mmap: in the page cache, not copied into this process)."""
    with open(path, "rb") as f:
        if not os.fstat(f.fileno()).st_size:  # mmap refuses an empty file
            yield b""
            return
        with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            yield data


def _release_files(
    src: _Input,
    store_of: Callable[[], ox.Store],
    data: list[ox.Triple],
    data_texts: list[str],
    diff: Callable[[set[str], iris.Owners], changes.ChangeSet],
    previous_dir: Path | None,
    out: _Sink,
) -> tuple[changes.ChangeSet, list[str]]:
    """Every file of the release into `out`; the change set they describe and the entities they show. `store_of`
    gives the store of every graph (made complete on its first call, after the dumps' child forks)."""
    info, base = src.info, src.base
    previous = previous_dir.name if previous_dir else None
    context = jsonld.make_context(src.graphs["ontology"])
    # both cores from here: a forked child writes the whole-graph dumps and the ontology's files (they need
    # neither the store nor the pictures, so it starts first, while this process reads the pictures' rows), then
    # another takes batches of entity files while this process works out the change set and VoID, draws the
    # whole graph's timeline and writes the change set's files, then takes batches too (its `dot` draws the
    # whole diagram meanwhile, then this process's batches' diagrams: one start fewer). The dumps' child
    # starts before the entities are listed (0.5 s at 1M), so it goes by the data's size (~80-95 triples an
    # entity in the shipped and the bench's data).
    dumps = Forked(
        "writing the dumps and the ontology's files",
        lambda: _dumps(src, data, context, _Sink(out.root), first_release=previous is None).written,
        parallel=len(data) >= PARALLEL_FROM * 50,
    )
    store = store_of()
    quickexit.leave_for_exit(store)
    entity_files: _EntityFiles | None = None
    dot: figures.Dot | None = None
    try:
        # the pages' index of the store, made once before the entity files' fork: the entities are listed from it,
        # the pictures follow their rows' links in it, the child inherits it, and this process's tail reads labels
        # from it; one map of nodes to their entities serves it, the descriptions and the change set
        owners = iris.Owners(base)
        graph = pages.page_graph(store, base, _linker(base, "../"), chain.from_iterable(src.graphs.values()), owners)
        entities = graph.entities()
        pictures = figures.Figures(store, base, graph)
        root_link = _linker(base, "")
        entity_files = _EntityFiles(store, base, data, entities, context, pictures, graph, out)
        quickexit.leave_for_exit(graph, pictures, entity_files)
        dot = figures.Dot()  # this process's: the whole diagram's, then its batches' (forked after the child)
        whole_diagram = pictures.branches_later(root_link, dot)
        counts = catalog.Counts(data_texts, base)  # a pass over the data while the children write
        change_set = diff(counts.subject_iris(), owners)
        _change_files(change_set, src.info.version, out)
        svgs = {"timeline.svg": pictures.timeline(root_link)}
        void = catalog.void_triples(
            info,
            counts,
            len(data),
            src.graphs,
            entities,
            [d for d in DUMPS if not _is_quads(d)],
            [d for d in DUMPS if _is_quads(d)],
            previous,
            changes.FEED,
        )

        def site_files(wait: bool) -> bool:
            """The whole graph's pictures, the change set's page and feed, VoID, the catalog, the index page and the
            sitemap, once the dumps are written and the whole diagram drawn (unless `wait`, which waits for them):
            this process writes them between its batches of entity files (they were a serial tail, ~1.5 s at 1M)."""
            if not wait and not (dumps.ready() and whole_diagram.done()):
                return False
            out.written.update(dumps.result())
            svgs["branches.svg"] = whole_diagram.result()
            # labels for the change set and the index page from the pages' index: dictionary reads, not store scans
            label = graph.label
            for name, svg in svgs.items():
                if svg:
                    out.write(name, svg.encode())
            out.write(
                "changes/index.html",
                pages.page(
                    f"Changes in {info.title} {info.version}",
                    changes.summary_html(change_set, info.version, _linker(base, "../", set(entities)), label),
                    home="../index.html",
                ).encode(),
            )
            previous_feed = previous_dir / changes.FEED if previous_dir else None
            feed = changes.feed_documents(
                change_set,
                info.version,
                info.modified,
                label,
                json.loads(previous_feed.read_text()) if previous_feed and previous_feed.is_file() else None,
            )
            for name, content in feed.items():
                out.write(name, content)
            downloads = {name: written for name, written in out.written.items() if is_download(name)}
            out.write("void.ttl", catalog.relative_turtle(void, ""))
            out.write(".well-known/void", catalog.relative_turtle(void, "../"))
            downloads["void.ttl"] = out.written["void.ttl"]
            for name, content in src.search_files.items():
                out.write(name, content)
            out.write("catalog.ttl", catalog.relative_turtle(catalog.dcat_triples(info, downloads, previous), ""))
            out.write("index.html", _index(store, src, entities, svgs, downloads, change_set, graph).encode())
            out.write("sitemap.xml", _sitemap(entities, info, _lastmods(entities, info, change_set, previous_dir)))
            return True

        entity_files.finish(dot, meanwhile=site_files)
    finally:  # but for `dot`'s end, only does something when this process failed: no child is left waiting
        dumps.cancel()
        if entity_files is not None:
            entity_files.cancel()
        if dot is not None:
            dot.close()
    vocab = sorted(
        {
            t.subject.value[len(PGV) :]
            for t in src.graphs["ontology"]
            if isinstance(t.subject, ox.NamedNode) and t.subject.value.startswith(PGV)
        }
    )
    ontology_space = base + "ontology/"  # the ontology's versionIRI and priorVersion live there
    versions = sorted(
        {
            t.object.value[len(ontology_space) :]
            for t in src.graphs["ontology"]
            if isinstance(t.object, ox.NamedNode) and t.object.value.startswith(ontology_space)
        }
    )
    configs = webservers.configs(
        urlsplit(base).path, src.ontology_html is not None, _served_types(out.written), vocab, versions
    )
    for name, content in configs.items():
        out.write(name, content)
    return change_set, entities


def _dumps(src: _Input, data: list[ox.Triple], context: dict, out: _Sink, first_release: bool) -> _Sink:
    """The whole-graph dumps (`DUMPS`), each written as soon as it is made, then `_schema_files`; in a first
    release, whose change set adds every triple in the data's order, also `changes/added.nt` (the same bytes
    as the N-Triples dump, written once and compressed from that file).

    pyoxigraph writes the N-Triples, Turtle and TriG into their files itself: at 1M their bytes (330, 124
    and 135 MB) never become Python objects, each of which cost a copy and its pages' first touch (~5 µs a
    page here: 0.26 million faults). Turtle and TriG get the prefixes their triples use, found in the
    N-Triples file, which is also what gets compressed."""
    base = src.base
    named = [(f"{base}graph/{name}", src.graphs[name]) for name in GRAPHS]
    with tempfile.TemporaryDirectory() as scratch:
        nt = out.place(ADDED) if first_release else Path(scratch) / "data.nt"
        serialize_to(nt, data, "ntriples")
        if first_release:
            out.wrote(ADDED)
        data_prefixes = used_prefixes(nt)
        with _mapped(nt) as ntriples:
            out.write(f"{STEM}.nt.gz", _gzip(ntriples))
    serialize_to(out.place(f"{STEM}.ttl"), data, "turtle", data_prefixes)
    out.wrote(f"{STEM}.ttl")
    out.write(f"{STEM}.jsonld", jsonld.document(data, context))
    used = dict(data_prefixes)
    for name in ("ontology", "shapes"):
        used.update(used_prefixes(src.graphs[name]))
    write_trig(out.place(f"{STEM}.trig"), named, dict(sorted(used.items())))
    out.wrote(f"{STEM}.trig")
    with open(out.place(f"{STEM}.nq.gz"), "wb") as raw, _gzip_writer(raw) as quads:
        for graph, triples in named:  # each graph's N-Triples with its name added: a line ends at its only " .\n"
            lines = serialize(triples, "ntriples", prefixes_used=True)
            quads.write(lines.replace(b" .\n", f" <{graph}> .\n".encode()))
    out.wrote(f"{STEM}.nq.gz")
    _schema_files(src, context, out)
    return out


def _schema_files(src: _Input, context: dict, out: _Sink) -> None:
    """The context, the ontology (in three formats and its page) and the shapes: the same work whatever the
    data's size, so the dumps' child writes them (they were ~30 ms of a 10k publish's main process)."""
    out.write("context.jsonld", jsonld.context_document(context))
    out.write("ontology/pledgegraph.ttl", serialize(src.graphs["ontology"], "turtle"))
    out.write("ontology/pledgegraph.jsonld", jsonld.document(src.graphs["ontology"], context))
    out.write("ontology/pledgegraph.rdf", serialize(src.graphs["ontology"], "rdfxml"))
    out.write("shapes.ttl", serialize(src.graphs["shapes"], "turtle"))
    if src.ontology_html is not None:
        out.write("ontology/index.html", src.ontology_html)


def _change_files(change_set: changes.ChangeSet, version: str, out: _Sink) -> None:
    """The change set's triples and summary."""
    if change_set.previous is not None:  # else the dumps' child wrote it
        out.write(ADDED, serialize(change_set.added, "ntriples"))
    out.write("changes/removed.nt", serialize(change_set.removed, "ntriples"))
    out.write("changes/summary.json", changes.summary_json(change_set, version))


def _linker(base: str, prefix: str, present: set[str] | None = None):
    """Entity IRI -> href of its page, from a page `prefix` deep (None when not in the release)."""

    def link(iri: str):
        if present is not None and iri not in present:
            return None
        segment, slug = iris.segment_and_slug(iri, base)
        return f"{prefix}{segment}/{slug}.html"

    return link


PARALLEL_FROM = 100  # entities: below this, a second process costs more than it saves
# entities a process takes at a time: a quarter of those left, within these bounds, so batches shrink towards the
# end and both processes end together (a batch costs a lock: each process draws its diagrams with one `dot`)
BATCH_MOST, BATCH_LEAST = 512, 16


class _EntityFiles:
    """`<segment>/<slug>.html|.ttl|.jsonld|.nt` for every entity: its description (`describe.py`).

    Written by two processes taking batches of entities in turn from one shared counter: a forked child
    from the start, this process once it has done the rest (the change set, VoID, the metadata files), in
    `finish()`, which joins them. So both end within a batch of each other whatever each part costs on
    this machine (a split worked out beforehand from estimated costs left one process ~15 s behind the
    other at 1M once the entity files got cheaper). The descriptions (one pass over the data) are made once,
    before the fork, and the child inherits them with `graph`, the pages' index of the store (pages link
    with its `link`). The files are the same whichever process writes them."""

    def __init__(
        self,
        store: ox.Store,
        base: str,
        data: list[ox.Triple],
        entities: list[str],
        context: dict,
        pictures: figures.Figures,
        graph: pages._Graph,
        out: _Sink,
    ):
        self.store, self.base, self.context, self.pictures, self.out = store, base, context, pictures, out
        self.entities, self.graph, self.link = entities, graph, graph.link
        self.described = describe.descriptions(data, base, entities, ordered=True, owners=graph.owners)
        pages.make_related_rows(graph, entities)  # once, inherited by the child
        self.next_batch = mp.Value("q", 0)  # where the next batch starts in `entities`, shared with the child
        self.child = Forked("writing entity files", self._child_files, parallel=len(entities) >= PARALLEL_FROM)

    def cancel(self) -> None:
        self.child.cancel()

    def finish(self, dot: figures.Dot, meanwhile: Callable[[bool], bool]) -> None:
        """Batches written until none is left (their diagrams drawn by `dot`), and the child joined: what it wrote
        added to `out`. Between batches `meanwhile(False)` is asked to do other work if it can yet (it says
        whether it did); if it never could, `meanwhile(True)` does it after the last batch."""
        self._files(self.out, dot, meanwhile)
        self.out.written.update(self.child.result())

    def _child_files(self) -> dict[str, catalog.Written]:
        with figures.Dot() as dot:  # one `dot` for all of the child's batches
            return self._files(_Sink(self.out.root), dot).written

    def _files(self, out: _Sink, dot: figures.Dot, meanwhile: Callable[[bool], bool] | None = None) -> _Sink:
        while True:
            if meanwhile is not None and meanwhile(False):
                meanwhile = None
            batch = self._take()
            if not batch:
                break
            diagrams = self.pictures.diagrams(self.link, batch, dot)
            for iri in batch:
                self._write(iri, self.described[iri], diagrams[iri], self.graph, out)
        if meanwhile is not None:
            meanwhile(True)
        return out

    def _take(self) -> list[str]:
        """The next batch of entities not yet taken by either process (empty when none is left): a quarter of
        those left, between `BATCH_LEAST` and `BATCH_MOST` (guided self-scheduling)."""
        with self.next_batch.get_lock():
            start = self.next_batch.value
            size = min(BATCH_MOST, max(BATCH_LEAST, (len(self.entities) - start) // 4))
            self.next_batch.value = start + size
        return self.entities[start : start + size]

    def _write(self, iri: str, triples: list[ox.Triple], diagram: str, graph: pages._Graph, out: _Sink) -> None:
        segment, slug = iris.segment_and_slug(iri, self.base)
        stem = f"{segment}/{slug}"
        ntriples = serialize(triples, "ntriples")
        out.write(stem + ".ttl", serialize(triples, "turtle", term_prefixes(ntriples), prefixes_used=True))
        out.write(stem + ".nt", ntriples)
        out.write(stem + ".jsonld", jsonld.document(triples, self.context))
        own_pictures = [svg for svg in (self.pictures.timeline(self.link, focus=iri), diagram) if svg]
        html = pages.render_entity(
            self.store,
            iri,
            self.base,
            self.link,
            figures=own_pictures,
            alternates=pages.alternates_for(slug, webservers.ENTITY_FORMATS),
            home="../index.html",
            graph=graph,
        )
        out.write(stem + ".html", html.encode())


def _index(
    store: ox.Store,
    src: _Input,
    entities: list[str],
    svgs: dict[str, str],
    downloads: dict[str, catalog.Written],
    change_set: changes.ChangeSet,
    graph: pages._Graph,
) -> str:
    info = src.info
    rows = "".join(
        f'<tr><td><a href="{escape(name)}">{escape(name)}</a></td>'
        f"<td>{escape(catalog.media_type(name))}</td><td>{written.size:,}</td></tr>"
        for name, written in sorted(downloads.items())
    )
    since = (
        f"{len(change_set.added)} triples added and {len(change_set.removed)} removed since "
        f"{escape(change_set.previous)}"
        if change_set.previous
        else "first release"
    )
    intro = (
        f"<p>{escape(info.description)}</p>"
        f"<p>Version <strong>{escape(info.version)}</strong>, modified {escape(info.modified)}, "
        f'licence <a href="{escape(info.license)}">{escape(info.license)}</a>. '
        f'<a href="changes/index.html">Changes</a>: {since}. Metadata: <a href="void.ttl">VoID</a>, '
        f'<a href="catalog.ttl">DCAT catalog</a>, <a href="context.jsonld">JSON-LD context</a>'
        + (', <a href="ontology/index.html">ontology documentation</a>' if src.ontology_html else "")
        + ".</p>"
        + search.RELEASE_SEARCH_BOX
    )
    extra = (
        "<h2>Downloads</h2><table><thead><tr><th>file</th><th>media type</th><th>bytes</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    return pages.render_index(
        store,
        src.base,
        _linker(src.base, ""),
        title=f"{info.title} {info.version}",
        intro=intro,
        figures=list(svgs.values()),
        extra=extra,
        graph=graph,
        entities=entities,
    )


def _is_quads(dump: str) -> bool:
    return dump.endswith((".trig", ".nq.gz"))


_SITEMAP_ENTRY = re.compile(r"<loc>([^<]*)</loc><lastmod>([^<]*)</lastmod>")


def _page_url(iri: str, base: str) -> str:
    """Where an entity's page is on the site the server configurations set up: `<base>latest/…`."""
    segment, slug = iris.segment_and_slug(iri, base)
    return f"{base}latest/{segment}/{slug}.html"


def _lastmods(
    entities: list[str], info: DatasetInfo, change_set: changes.ChangeSet, previous_dir: Path | None
) -> dict[str, str]:
    """Entity -> the date of the release that last added or changed it: this release's date for what
    its change set touches, else the date the previous release's sitemap gives."""
    earlier: dict[str, str] = {}
    sitemap = previous_dir / "sitemap.xml" if previous_dir else None
    if sitemap and sitemap.is_file():
        earlier = dict(_SITEMAP_ENTRY.findall(sitemap.read_text()))
    touched = set(change_set.entities_added) | set(change_set.entities_changed)
    return {
        iri: info.modified if iri in touched else earlier.get(_page_url(iri, info.base), info.modified)
        for iri in entities
    }


def _sitemap(entities: list[str], info: DatasetInfo, lastmods: dict[str, str]) -> bytes:
    """Entity pages at `<base>latest/…` (the site's own URLs, as the sitemap protocol wants), each with
    the date the entity last changed."""
    urls = "".join(
        f"<url><loc>{escape(_page_url(iri, info.base))}</loc>"
        + (f"<lastmod>{escape(lastmods[iri])}</lastmod>" if lastmods[iri] else "")
        + "</url>\n"
        for iri in entities
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        f"{urls}</urlset>\n"
    ).encode()


def _served_types(files: Iterable[str]) -> dict[str, str]:
    """Suffix -> media type for every kind of file in the release (`.gz` files are sent as gzip)."""
    basenames = (name.rsplit("/", 1)[-1] for name in files)
    suffixes = {"txt"} | {basename.rsplit(".", 1)[-1] for basename in basenames if "." in basename}
    return {s: "application/gzip" if s == "gz" else catalog.media_type("x." + s) for s in sorted(suffixes)}
