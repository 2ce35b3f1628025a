"""`pledgegraph push` into a real store: Virtuoso Open Source on 127.0.0.1, started by scripts/virtuoso.sh.

Skipped only where Virtuoso is not installed (scripts/install-test-deps.sh installs it; `make test`
runs that script, and CI runs as root with apt).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import ROOT, edited_dist
from pledgegraph.delivery.push import PushFailed, Store, push
from pledgegraph.delivery.release.publish import publish

BASE = "https://w3id.org/pledgegraph/"
PREFIXES = "PREFIX pg: <https://w3id.org/pledgegraph/ontology#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"

pytestmark = pytest.mark.skipif(
    shutil.which("virtuoso-t") is None,
    reason="Virtuoso is not installed: run scripts/install-test-deps.sh (needs root and apt-get; `make test` does)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _virtuoso(folder: Path, **settings: str):
    """A fresh Virtuoso (dba/dba) on loopback ports with scripts/virtuoso.sh `settings`; stopped, deleted after."""
    env = {
        **os.environ,
        "VIRTUOSO_DIR": str(folder),
        "VIRTUOSO_SQL_PORT": str(_free_port()),
        "VIRTUOSO_HTTP_PORT": str(_free_port()),
        "VIRTUOSO_TIMEOUT": "60",
        **settings,
    }
    script = str(ROOT / "scripts" / "virtuoso.sh")
    started = time.perf_counter()
    run = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    print(f"virtuoso started in {time.perf_counter() - started:.1f}s")
    try:
        yield f"http://127.0.0.1:{env['VIRTUOSO_HTTP_PORT']}"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    with _virtuoso(tmp_path_factory.mktemp("virtuoso") / "db") as url:
        yield url


def _store(url: str, **kw) -> Store:
    return Store(url + "/sparql-auth", graph_store=url + "/sparql-graph-crud-auth", query=url + "/sparql", **kw)


def test_push_twice_replaces_the_release_and_answers_competency_questions(
    virtuoso, dist, tmp_path, data_copy, monkeypatch
):
    outdir = tmp_path / "site"
    publish(outdir, dist)
    publish(outdir, edited_dist(tmp_path, data_copy))
    graph = BASE + "graph/release/current"
    # first push: credentials from a netrc file
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login dba password dba\n")
    netrc.chmod(0o600)
    monkeypatch.delenv("PLEDGEGRAPH_STORE_USER", raising=False)
    monkeypatch.setenv("NETRC", str(netrc))
    first = push(_store(virtuoso), outdir / "0.1.0", graph=graph)  # auto: the store reads its own folder
    assert first.version == "0.1.0" and first.triples > 1000 and first.load == "bulk" and first.direct  # empty before
    # second push: credentials from the environment; replaces the first in the same graph
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    # over the bulk-loaded one: the triples both releases share stay (Virtuoso 7.2's MOVE lost some, 1 push in 4)
    second = push(_store(virtuoso), outdir / "latest", graph=graph, load="http")
    print(f"push: {second.triples} data + {second.metadata_triples} metadata triples, load + swap {second.seconds}s")
    assert second.version == "0.2.0" and second.load == "http"
    anonymous = Store(virtuoso + "/sparql")  # the public, read-only endpoint
    assert anonymous.count(graph) == second.triples
    notes = anonymous.select(
        "SELECT ?note WHERE { GRAPH <%s> { ?s <http://www.w3.org/2004/02/skos/core#editorialNote> ?note } }" % graph
    )
    assert "Undated; re-checked." in {r["note"] for r in notes}
    assert "Undated; written after 23 June 2015, from its content." not in {r["note"] for r in notes}  # replaced
    assert anonymous.count(graph + "/staging") == 0
    # competency questions, asked over /sparql
    who = anonymous.select(
        PREFIXES
        + """SELECT DISTINCT ?name WHERE { GRAPH <%s> {
        ?pledge a pg:Pledge ; pg:date/pg:earliest ?d . FILTER(STR(?d) >= "2015-06-01" && STR(?d) < "2015-07-01")
        ?acc pg:accepts ?pledge ; pg:acceptedBy ?person . ?person skos:prefLabel ?name } }"""
        % graph
    )
    assert {r["name"] for r in who} == {"Abu Mohammad al-Adnani"}
    when = anonymous.select(
        PREFIXES
        + """SELECT ?date WHERE { GRAPH <%s> {
        ?acc pg:establishes <%sid/org/is-caucasus-province> ; pg:date/pg:dateLabel ?date } }"""
        % (graph, BASE)
    )
    assert [r["date"] for r in when] == ["2015-06-23"]
    meta = anonymous.select(
        "SELECT ?v WHERE { GRAPH <%sgraph/metadata> { <%sdataset/0.2.0> "
        "<http://www.w3.org/ns/dcat#version> ?v } }" % (BASE, BASE)
    )
    assert [r["v"] for r in meta] == ["0.2.0"]


def test_wrong_credentials_are_refused_and_leave_the_store_as_it_was(virtuoso, release, monkeypatch):
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "not-the-password")
    graph = BASE + "graph/release/refused"
    with pytest.raises(PushFailed, match="HTTP 401"):
        push(_store(virtuoso, timeout=20), release, graph=graph)
    assert Store(virtuoso + "/sparql").count(graph) == 0


def _bigger(release: Path, tmp_path: Path, extra: int) -> Path:
    """A copy of `release` with `extra` more data triples, its VoID count and catalog checksum updated."""
    copy = tmp_path / f"bigger-{extra}"
    shutil.copytree(release, copy)
    dump = copy / "pledgegraph.nt.gz"
    old = dump.read_bytes()
    lines = "".join(f'<urn:pledgegraph-test:s{i}> <urn:pledgegraph-test:p> "extra {i}" .\n' for i in range(extra))
    new = gzip.compress(gzip.decompress(old) + lines.encode(), mtime=0)
    dump.write_bytes(new)
    catalog = copy / "catalog.ttl"
    catalog.write_text(catalog.read_text().replace(hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()))
    void = copy / "void.ttl"
    count = len(gzip.decompress(old).splitlines())
    assert void.read_text().count(f"void:triples {count} ") == 1  # the dataset's own count, not a subset's
    void.write_text(void.read_text().replace(f"void:triples {count} ", f"void:triples {count + extra} "))
    return copy


@pytest.mark.parametrize("load", ["bulk", "http"])
def test_a_push_under_concurrent_readers_replaces_the_release(virtuoso, release, tmp_path, monkeypatch, load):
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    graph = BASE + "graph/release/readers-" + load
    old = push(_store(virtuoso), release, graph=graph, load=load)
    assert old.direct  # into an empty graph
    bigger = _bigger(release, tmp_path, 5_000)
    reader = Store(virtuoso + "/sparql")  # anonymous, as the public reads
    seen: list[int] = []
    refused: list[str] = []
    pushing = threading.Event()
    pushing.set()

    def read():
        while pushing.is_set():
            try:
                seen.append(reader.count(graph))
                time.sleep(0.05)  # a reader a few times a second; back to back they slowed the push 5x
            except PushFailed as e:  # Virtuoso may time a reader out while the swap holds its locks
                refused.append(str(e)[:120])

    thread = threading.Thread(target=read)
    thread.start()
    try:
        new = push(_store(virtuoso), bigger, graph=graph, load=load)
    finally:
        pushing.clear()
        thread.join()
    # Virtuoso 7.2's read-committed readers see a swap's uncommitted rows, so no swap is atomic to them
    # (docs/publishing.md): in bulk (COPY) they saw fewer than either release (16,720 of 16,728 old, 41,728
    # of 46,728 new), and over HTTP, where no triple both releases hold is deleted, a count during the
    # insert still came 32 short of the old release once under load (16,696): printed, not asserted. What
    # is asserted is the end: the new release whole in the live graph, no staging graph left.
    print(f"{load}: {new.triples} triples in {new.seconds}s; {len(seen)} reads saw {sorted(set(seen))}; {refused}")
    assert new.load == load and new.triples == old.triples + 5_000 and len(seen) >= 3 and not new.direct
    assert reader.count(graph) == new.triples and reader.count(graph + "/staging") == 0


@pytest.mark.parametrize("before", ["a release", "nothing"])
def test_a_bulk_load_that_fails_leaves_the_previous_release(virtuoso, release, tmp_path, monkeypatch, before):
    """Over a release (loaded into staging) or into an empty graph (loaded straight into it, dropped again)."""
    import pledgegraph.delivery.push as push_module

    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    graph = BASE + "graph/release/failing-over-" + before.replace(" ", "-")
    old = push(_store(virtuoso), release, graph=graph, load="bulk").triples if before == "a release" else 0
    serialize = push_module.ox.serialize

    def damaged(triples, path, **kw):  # the store finds a line it cannot parse in the last file it reads
        serialize(triples, path, **kw)
        if len(triples) < push_module.BULK_FILE_TRIPLES:
            with open(path, "ab") as f:
                f.write(b"<urn:a> <urn:b> .\n")

    monkeypatch.setattr(push_module, "BULK_FILE_TRIPLES", 10_000)  # several files, loaded two at once
    monkeypatch.setattr(push_module.ox, "serialize", damaged)
    with pytest.raises(PushFailed, match="HTTP 500"):
        push(_store(virtuoso), _bigger(release, tmp_path, 25_000), graph=graph, load="bulk")
    assert Store(virtuoso + "/sparql").count(graph) == old
    store = _store(virtuoso)
    folder = store.bulk_folder(store.virtuoso_folders() or [])  # the Virtuoso's own folder, in its DirsAllowed
    assert folder and not list(folder.glob(".pledgegraph-*"))  # the files written for it are gone


# Every library query must give the same rows on Virtuoso 7.2 as on serve. Where Virtuoso mishandles a
# construct, the query avoids it and says why in a comment: escaped local names such as pgv:role\/leader
# (full IRIs instead), booleans (1/0 there: "true"/"false" strings), GROUP_CONCAT over no values ("" there,
# unbound in Oxigraph: the lists are made in a subquery and an empty one is unbound outside it), a
# GROUP_CONCAT of language-tagged names (STR), a `*` path to a fixed end beside OPTIONALs (cq06) and a
# VALUES column mixing an integer and a tagged string (cq09).
_EMPTY_LIST = re.compile(r'IF\(\?(\w+) != "", \?\1, \?none\) AS \?(\w+)')


def _row_terms(variables: list[str], rows, concat: dict[str, str]):
    """Rows as comparable tuples; GROUP_CONCAT columns as sorted parts (SPARQL leaves their order open)."""
    import collections

    out = collections.Counter()
    for row in rows:
        cells = []
        for variable, term in zip(variables, row, strict=True):
            if term is not None and term[0] == "literal" and variable in concat:
                term = ("literal", concat[variable].join(sorted(term[1].split(concat[variable]))), *term[2:])
            cells.append(term)
        out[tuple(cells)] += 1
    return out


def test_every_library_query_gives_the_same_rows_on_virtuoso_as_on_serve(virtuoso, release, dist, monkeypatch):
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    import pyoxigraph as ox

    from pledgegraph.delivery.endpoint import store as query_store
    from pledgegraph.model.vocab import XSD, sparql_prologue

    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    graph = BASE + "graph/release/library"
    push(_store(virtuoso), release, graph=graph)
    loaded = query_store.load(dist)

    def ours_term(t):
        if t is None or isinstance(t, ox.BlankNode):
            return None if t is None else ("bnode",)
        if isinstance(t, ox.NamedNode):
            return ("uri", t.value)
        return ("literal", t.value, t.language or "", "" if t.language else t.datatype.value)

    def their_term(b):
        if b is None or b["type"] == "bnode":
            return None if b is None else ("bnode",)
        if b["type"] == "uri":
            return ("uri", b["value"])
        language = b.get("xml:lang", "")
        return ("literal", b["value"], language, "" if language else b.get("datatype", XSD + "string"))

    differ, checked = [], 0
    for example in query_store.examples(ROOT / "queries"):
        checked += 1
        bound = query_store.bindings(example, [])
        answer = query_store.execute(loaded, query_store.check_query(example.text, loaded.graph_iris), bindings=bound)
        # serve predeclares the prefixes, Virtuoso needs them said; parameters bound as serve binds them
        text = query_store.bound_text(sparql_prologue() + example.text, bound)
        graph_result = answer.form in ("construct", "describe")
        url = virtuoso + "/sparql?" + urllib.parse.urlencode({"query": text, "default-graph-uri": graph})
        accept = "text/turtle" if graph_result else "application/sparql-results+json"
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": accept}), timeout=60) as r:
                body = r.read()
        except urllib.error.HTTPError as e:
            differ.append((example.name, f"Virtuoso refused it: {e.read().decode(errors='replace')[:300]}"))
            continue
        if graph_result:
            theirs_triples = {
                ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=ox.RdfFormat.TURTLE)
            }
            same = set(answer.triples) == theirs_triples and len(theirs_triples) > 0
            shown = (len(answer.triples), len(theirs_triples))
        else:
            concat = {
                m.group(2): m.group(1)
                for m in re.finditer(
                    r'GROUP_CONCAT\(.*?separator\s*=\s*"([^"]*)"\s*\)\s*AS\s*\?(\w+)', example.text, re.S
                )
            }
            for m in _EMPTY_LIST.finditer(example.text):  # a list made in a subquery, shown under another name
                if m.group(1) in concat:
                    concat[m.group(2)] = concat[m.group(1)]
            bindings = json.loads(body)["results"]["bindings"]
            ours = _row_terms(answer.variables, ([ours_term(t) for t in row] for row in answer.rows), concat)
            theirs = _row_terms(
                answer.variables, ([their_term(b.get(v)) for v in answer.variables] for b in bindings), concat
            )
            same = ours == theirs and sum(ours.values()) > 0
            shown = (list(ours - theirs)[:3], list(theirs - ours)[:3])
        if not same:
            differ.append((example.name, shown))
    assert differ == []
    assert checked >= 21


def test_a_bulk_push_leaves_every_worker_of_the_store_logging_its_transactions(release, tmp_path, monkeypatch):
    """The bulk path switches the transaction log off for its own requests only: afterwards each of the
    store's HTTP workers (5 here) runs later updates, anyone's, logged and atomic again. (Virtuoso 7.2's
    DROP SILENT of an empty graph under `DEFINE sql:log-enable` never switched it back: push.py.)"""
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    with _virtuoso(tmp_path / "db") as url:
        store = _store(url)

        def log_modes() -> list[str]:  # log_enable(NULL) answers the worker's mode and leaves it; 1: logged
            return [
                store.select("SELECT (bif:log_enable(?unbound, 1) AS ?mode) {}", privileged=True)[0]["mode"]
                for _ in range(40)
            ]

        assert set(log_modes()) == {"1"}
        push(store, release, graph=BASE + "graph/release/logged", load="bulk")  # into an empty graph
        push(store, _bigger(release, tmp_path, 10), graph=BASE + "graph/release/logged", load="bulk")  # a swap
        assert set(log_modes()) == {"1"}


def test_a_swap_above_the_transaction_limit_names_the_setting_and_leaves_the_previous_release(
    release, tmp_path, monkeypatch
):
    """A store whose TransactionAfterImageLimit is below the release (as Virtuoso's default 50 MB is below a
    million-triple release): the HTTP swap is refused, the message says which setting, the old release stays."""
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    graph = BASE + "graph/release/limited"
    with _virtuoso(tmp_path / "db", VIRTUOSO_AFTER_IMAGE_BYTES="1000000") as url:
        old = push(_store(url), release, graph=graph, load="bulk")  # the bulk swap is not logged: no limit
        with pytest.raises(
            PushFailed,
            match=r"(?s)SR(325|171).*TransactionAfterImageLimit.*aborted insert leaves the live release unchanged",
        ):
            push(_store(url), _bigger(release, tmp_path, 50_000), graph=graph, load="http")
        assert Store(url + "/sparql").count(graph) == old.triples
