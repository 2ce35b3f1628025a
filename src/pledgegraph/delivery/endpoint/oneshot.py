"""One query for the command line: the store answers it, `advice` explains what the dataset does not
know or why nothing matched, `labels` names the IRIs. It sits above those three so none of them
needs to import another lazily."""

from __future__ import annotations

from pathlib import Path

from pledgegraph.delivery.endpoint import advice, store
from pledgegraph.delivery.endpoint.labels import with_labels


def run_once(
    dist: Path,
    text: str,
    fmt: str | None = None,
    *,
    asserted_only: bool = False,
    bound: dict[str, str] | None = None,
    labels: bool = False,
    warn=None,
) -> bytes:
    """One query for the command line, answered in this process (no worker start-up to wait for).

    `fmt` defaults to "table" for SELECT/ASK and "turtle" for CONSTRUCT/DESCRIBE; `bound` pre-binds
    variables (see `store.bindings`); `labels` adds a name column after each IRI column (`labels.py`).
    `warn(message)`, when given, hears about terms the dataset does not know and, for an empty
    answer, which pattern matched nothing (`advice.py`)."""
    loaded = store.load(dist)
    query = store.check_query(text, loaded.graph_iris).bound(bound or {})
    fmt = fmt or ("turtle" if query.graph_result else "table")
    if warn:
        for message in advice.unknown_terms(loaded, query):
            warn(message)
    answer = store.execute(loaded, query, asserted_only=asserted_only)
    if warn and not answer.rows and not answer.triples and not answer.boolean:
        for message in advice.why_empty(loaded, query, asserted_only=asserted_only):
            warn(message)
    if labels:
        answer = with_labels(answer, loaded)
    return answer.serialize(fmt)
