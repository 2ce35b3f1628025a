"""`pledgegraph push` into a real store: Virtuoso Open Source on 127.0.0.1, started by scripts/virtuoso.sh.

Skipped only where Virtuoso is not installed (scripts/install-test-deps.sh installs it; `make test`
runs that script, and CI runs as root with apt).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import ROOT, edited_dist
from pledgegraph.delivery.push import PushFailed, Store, push
from pledgegraph.delivery.release.publish import publish

BASE = "https://w3id.org/pledgegraph/"
PREFIXES = "PREFIX pg: <https://w3id.org/pledgegraph/ontology#>\nPREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"

pytestmark = pytest.mark.skipif(shutil.which("virtuoso-t") is None,
                                reason="Virtuoso is not installed: run scripts/install-test-deps.sh (needs root "
                                       "and apt-get; `make test` does)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def virtuoso(tmp_path_factory):
    """A fresh Virtuoso (dba/dba) on loopback ports; stopped and deleted afterwards."""
    env = {**os.environ, "VIRTUOSO_DIR": str(tmp_path_factory.mktemp("virtuoso") / "db"),
           "VIRTUOSO_SQL_PORT": str(_free_port()), "VIRTUOSO_HTTP_PORT": str(_free_port()),
           "VIRTUOSO_TIMEOUT": "60"}
    script = str(ROOT / "scripts" / "virtuoso.sh")
    started = time.perf_counter()
    run = subprocess.run([script, "start"], env=env, capture_output=True, text=True, timeout=90)
    assert run.returncode == 0, run.stderr
    print(f"virtuoso started in {time.perf_counter() - started:.1f}s")
    try:
        yield f"http://127.0.0.1:{env['VIRTUOSO_HTTP_PORT']}"
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, timeout=30)


def _store(url: str, **kw) -> Store:
    return Store(url + "/sparql-auth", graph_store=url + "/sparql-graph-crud-auth", query=url + "/sparql", **kw)


def test_push_twice_replaces_the_release_and_answers_competency_questions(virtuoso, dist, tmp_path, data_copy,
                                                                         monkeypatch):
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
    first = push(_store(virtuoso), outdir / "0.1.0", graph=graph)
    assert first.version == "0.1.0" and first.triples > 1000
    # second push: credentials from the environment; replaces the first in the same graph
    monkeypatch.setenv("NETRC", str(tmp_path / "none"))
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "dba")
    second = push(_store(virtuoso), outdir / "latest", graph=graph)
    print(f"push: {second.triples} data + {second.metadata_triples} metadata triples, load + swap {second.seconds}s")
    assert second.version == "0.2.0"
    anonymous = Store(virtuoso + "/sparql")  # the public, read-only endpoint
    assert anonymous.count(graph) == second.triples
    notes = anonymous.select("SELECT ?note WHERE { GRAPH <%s> { ?s <http://www.w3.org/2004/02/skos/core#"
                             "editorialNote> ?note } }" % graph)
    assert "Undated; re-checked." in {r["note"] for r in notes}
    assert "Undated; written after 23 June 2015, from its content." not in {r["note"] for r in notes}  # replaced
    assert anonymous.count(graph + "/staging") == 0
    # competency questions, asked over /sparql
    who = anonymous.select(PREFIXES + """SELECT DISTINCT ?name WHERE { GRAPH <%s> {
        ?pledge a pg:Pledge ; pg:date/pg:earliest ?d . FILTER(STR(?d) >= "2015-06-01" && STR(?d) < "2015-07-01")
        ?acc pg:accepts ?pledge ; pg:acceptedBy ?person . ?person skos:prefLabel ?name } }""" % graph)
    assert {r["name"] for r in who} == {"Abu Mohammad al-Adnani"}
    when = anonymous.select(PREFIXES + """SELECT ?date WHERE { GRAPH <%s> {
        ?acc pg:establishes <%sid/org/is-caucasus-province> ; pg:date/pg:dateLabel ?date } }""" % (graph, BASE))
    assert [r["date"] for r in when] == ["2015-06-23"]
    meta = anonymous.select("SELECT ?v WHERE { GRAPH <%sgraph/metadata> { <%sdataset/0.2.0> "
                            "<http://www.w3.org/ns/dcat#version> ?v } }" % (BASE, BASE))
    assert [r["v"] for r in meta] == ["0.2.0"]


def test_wrong_credentials_are_refused_and_leave_the_store_as_it_was(virtuoso, release, monkeypatch):
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", "dba")
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", "not-the-password")
    graph = BASE + "graph/release/refused"
    with pytest.raises(PushFailed, match="HTTP 401"):
        push(_store(virtuoso, timeout=20), release, graph=graph)
    assert Store(virtuoso + "/sparql").count(graph) == 0
