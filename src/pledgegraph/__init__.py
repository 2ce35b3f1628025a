"""pledgegraph: a cited linked-data graph of militant organizations, provinces, leaders and pledges.

The Python API (the command line is a thin layer over the same calls):

    import pledgegraph
    result = pledgegraph.check("data")            # load, build, reason, validate; raises DataInvalid
    result = pledgegraph.build("data", "dist")    # the same, then every output written to dist/
    done = pledgegraph.publish("site", "dist")    # the release site/<version>/, `latest` pointed at it
    rows = pledgegraph.query("SELECT ?p WHERE { ?p a pg:Pledge }", "dist")
    rows = pledgegraph.query(None, "dist", name="under-at-date", bind={"date": "2016-01-01"})

Modules load on first use, so `import pledgegraph` stays cheap.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["build", "check", "publish", "query", "__version__"]


def __getattr__(name: str) -> str:
    """`__version__`, read from the installed package's metadata when first asked for: importing
    `importlib.metadata` costs ~50 ms of every command's start-up, and few commands ask."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("pledgegraph")  # the one place: pyproject.toml
    except metadata.PackageNotFoundError:  # running from a source tree that was never installed
        version = "0+unknown"
    globals()["__version__"] = version
    return version


def _settings(data_dir=None, out_dir=None, **overrides):
    from pledgegraph.layout import Settings

    if data_dir is not None:
        overrides["data_dir"] = Path(data_dir)
    if out_dir is not None:
        overrides["out_dir"] = Path(out_dir)
    return Settings.from_env(**overrides)


def check(data_dir: str | Path | None = None, **settings):
    """Load, build, reason and validate the data; a `pipeline.Result` (with `.report`), or
    `errors.DataInvalid` listing every problem. Settings as `Settings` fields (ontology_dir…)."""
    from pledgegraph import pipeline

    return pipeline.check(_settings(data_dir, **settings))


def build(
    data_dir: str | Path | None = None, out_dir: str | Path | None = None, *, allow_removals: bool = False, **settings
):
    """`check`, then write every output (graphs in each format, search index, ontology page) to
    `out_dir` atomically; a `pipeline.Result` with `.outputs`. Refuses (`errors.DataInvalid`) to
    drop records the current output has, unless `allow_removals`."""
    from pledgegraph import pipeline

    return pipeline.build_all(_settings(data_dir, out_dir, **settings), allow_removals=allow_removals)


def publish(outdir: str | Path, dist: str | Path = "dist", *, force: bool = False):
    """Write the release `outdir/<version>/` from a build in `dist` and point `outdir/latest` at the
    newest; a `publish.Published`. Versions only go forward (`errors.ReleaseRefused`), unless `force`."""
    from pledgegraph.delivery.release.publish import publish as publish_release

    return publish_release(Path(outdir), Path(dist), force=force)


def query(
    text: str | None,
    dist: str | Path = "dist",
    *,
    name: str | None = None,
    bind: dict[str, str] | None = None,
    asserted_only: bool = False,
    queries_dir: str | Path = "queries",
):
    """Run a SPARQL query (or the library query `name`) over a build; a `store.Answer` (rows, or
    triples for CONSTRUCT/DESCRIBE). `bind` pre-binds variables: {"date": "2016-01-01"}."""
    from pledgegraph.delivery.endpoint import store
    from pledgegraph.errors import UnusableInput

    example = store.example(Path(queries_dir), name) if name else None
    loaded = store.load(Path(dist))
    source = example.text if example else text
    if source is None:
        raise UnusableInput("give a query text or the name of a library query")
    checked = store.check_query(source, loaded.graph_iris)
    bound = store.bindings(example, [f"{k}={v}" for k, v in (bind or {}).items()])
    return store.execute(loaded, checked.bound(bound), asserted_only=asserted_only)
