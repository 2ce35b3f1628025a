"""The store a query pool's workers start with, loaded once in the fork server (see `workers.QueryPool`).

multiprocessing's fork server imports the modules it is told to preload before it forks any worker.
Imported there with $PLEDGEGRAPH_POOL_DIST set, this module loads that build's store, so every worker
forked from the server starts with it in memory, its pages shared copy-on-write, instead of loading a
copy of its own: one load at start-up instead of one per worker (four by default), and a killed
worker's successor is ready at once. Oxigraph's in-memory store leaves no thread behind once loaded,
so forking the server stays safe.
"""

from __future__ import annotations

import os
from pathlib import Path

DIST_VARIABLE = "PLEDGEGRAPH_POOL_DIST"

_preloaded = None  # (the build's stamp, its Loaded store) once loaded


def _stamp(dist: Path) -> tuple[str, int, int]:
    from pledgegraph.delivery.endpoint.store import DATASET_FILE

    stat = (dist / DATASET_FILE).stat()
    return str(dist.resolve()), stat.st_mtime_ns, stat.st_size


def loaded_for(dist: Path):
    """The preloaded store when it is of `dist` as that is on disk now, else `dist` loaded afresh."""
    from pledgegraph.delivery.endpoint.store import load

    if _preloaded is not None:
        try:
            if _preloaded[0] == _stamp(dist):
                return _preloaded[1]
        except OSError:
            pass
    return load(dist)


def start_fork_server(dist: Path) -> None:
    """Start multiprocessing's fork server (unless it runs already) with `dist` to preload; the variable
    naming it is set only while the server starts, so no other process inherits it."""
    from multiprocessing import forkserver

    before = os.environ.get(DIST_VARIABLE)
    os.environ[DIST_VARIABLE] = str(dist)
    try:
        forkserver.ensure_running()
    finally:
        if before is None:
            del os.environ[DIST_VARIABLE]
        else:
            os.environ[DIST_VARIABLE] = before


def _preload() -> None:
    global _preloaded
    from pledgegraph.delivery.endpoint.store import load

    dist = Path(os.environ[DIST_VARIABLE])
    try:
        _preloaded = (_stamp(dist), load(dist))
    except Exception:  # the fork server must start regardless: each worker then loads, and reports, itself
        _preloaded = None


if os.environ.get(DIST_VARIABLE):
    _preload()
