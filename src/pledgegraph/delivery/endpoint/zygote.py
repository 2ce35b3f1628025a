"""The store a query pool's workers start with, loaded once in the fork server (see `workers.QueryPool`).

multiprocessing's fork server imports the modules it is told to preload before it forks any worker.
Imported there with $PLEDGEGRAPH_POOL_DIST set, this module loads that build's store, so every worker
forked from the server starts with it in memory, its pages shared copy-on-write, instead of loading a
copy of its own: one load at start-up instead of one per worker (four by default), and a killed
worker's successor is ready at once. Oxigraph's in-memory store leaves no thread behind once loaded,
so forking the server stays safe.

The server's query library (`$PLEDGEGRAPH_POOL_QUERIES`) is checked there too (`store.check_query`,
rdflib's parser: 20-250 ms a query), so no worker pays that on its first run of a library query: the
first answers of a library query were its slowest (the p99 of the bench).
"""

from __future__ import annotations

import os
from pathlib import Path

DIST_VARIABLE = "PLEDGEGRAPH_POOL_DIST"
QUERIES_VARIABLE = "PLEDGEGRAPH_POOL_QUERIES"

_preloaded = None  # (the build's stamp, its Loaded store, {library query text: its checked Query}) once loaded


def stamp(dist: Path) -> tuple[str, int, int, int]:
    """Which build `dist` holds now (its graph file's path, inode, time and size): a store is known to be
    that build's only when the stamp was taken before the load (a file replaced meanwhile then reads as an
    older build, never as the newer one)."""
    from pledgegraph.delivery.endpoint.store import DATASET_FILE

    stat = (dist / DATASET_FILE).stat()
    return str(dist.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size


def loaded_for(dist: Path) -> tuple:
    """(store, {library text: checked Query}, the build's `stamp` taken before it was loaded): the preloaded
    ones when they are of `dist` as that is on disk now, else `dist` loaded afresh and no query checked in
    advance."""
    from pledgegraph.delivery.endpoint.store import load

    if _preloaded is not None:
        try:
            if _preloaded[0] == stamp(dist):
                return _preloaded[1], _preloaded[2], _preloaded[0]
        except OSError:
            pass
    try:
        before = stamp(dist)
    except OSError:
        before = None  # `load` says what is missing
    return load(dist), {}, before


def start_fork_server(dist: Path, queries_dir: Path | None = None) -> None:
    """Start multiprocessing's fork server (unless it runs already) with `dist` to preload and the library
    in `queries_dir` to check; the variables naming them are set only while the server starts, so no
    other process inherits them."""
    from multiprocessing import forkserver

    settings = {DIST_VARIABLE: str(dist), QUERIES_VARIABLE: str(queries_dir or "")}
    before = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        forkserver.ensure_running()
    finally:
        for name, value in before.items():
            if value is None:
                del os.environ[name]
            else:
                os.environ[name] = value


def _preload() -> None:
    global _preloaded
    from pledgegraph.delivery.endpoint.store import check_query, examples, load
    from pledgegraph.errors import QueryError

    dist = Path(os.environ[DIST_VARIABLE])
    try:
        before = stamp(dist)
        loaded = load(dist)
    except Exception:  # the fork server must start regardless: each worker then loads, and reports, itself
        _preloaded = None
        return
    checked = {}
    queries = os.environ.get(QUERIES_VARIABLE)
    for example in examples(Path(queries)) if queries and Path(queries).is_dir() else []:
        try:
            checked[example.text] = check_query(example.text, loaded.graph_iris)
        except QueryError:
            pass  # a broken library query is reported to whoever runs it, as any other query
    _preloaded = (before, loaded, checked)


if os.environ.get(DIST_VARIABLE):
    _preload()
