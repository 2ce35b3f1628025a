"""`pledgegraph push` against a hostile or careless store on loopback: no password in clear text,
no credential in any output, and no byte of a tampered dump ever becomes SPARQL.

The store is a small HTTP server backed by a real pyoxigraph store (so the updates push sends
really run, and a `DROP ALL` smuggled into one would really drop everything).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.server
import shutil
import threading
import urllib.parse

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from pledgegraph.cli import main
from pledgegraph.delivery.push import PushFailed, Store, push
from pledgegraph.errors import UnusableInput

USER, PASSWORD = "loader", "s3cret-Pa55"
BASIC = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
CANARY = ox.Quad(ox.NamedNode("urn:canary"), ox.NamedNode("urn:p"), ox.Literal("still here"), ox.NamedNode("urn:keep"))


class _Store(http.server.BaseHTTPRequestHandler):
    """SPARQL Update at /update, queries at /update?query=…; Basic auth; /echo fails echoing the request."""

    def do_GET(self):
        self._serve()

    def do_POST(self):
        self._serve()

    def _serve(self):
        server = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        server.seen.append((self.command, self.path, dict(self.headers), body))
        if self.headers.get("Authorization") != f"Basic {BASIC}":
            return self._reply(401, b"login first", {"WWW-Authenticate": 'Basic realm="store"'})
        if self.path.startswith("/echo"):  # a debug error page that shows the request it got
            return self._reply(500, f"error; your request was:\n{self.requestline}\n{self.headers}".encode())
        path, _, query = self.path.partition("?")
        if query:
            text = urllib.parse.parse_qs(query)["query"][0]
            try:  # push asks whether the store is a Virtuoso (its bif: functions): a SPARQL store refuses
                answer = server.store.query(text).serialize(format=ox.QueryResultsFormat.JSON)
            except SyntaxError as e:
                return self._reply(400, str(e).encode())
            return self._reply(200, answer, {"Content-Type": "application/sparql-results+json"})
        update = urllib.parse.parse_qs(body.decode())["update"][0]
        server.updates.append(update)
        try:
            server.store.update(update)
        except SyntaxError as e:
            return self._reply(400, str(e).encode())
        self._reply(204, b"")

    def _reply(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_store(monkeypatch):
    monkeypatch.setenv("PLEDGEGRAPH_STORE_USER", USER)
    monkeypatch.setenv("PLEDGEGRAPH_STORE_PASSWORD", PASSWORD)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Store)
    server.seen, server.updates, server.store = [], [], ox.Store()
    server.store.add(CANARY)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _credentials_in(text: str) -> bool:
    return PASSWORD in text or BASIC in text or "authorization" in text.lower()


def test_basic_auth_over_plain_http_is_refused(fake_store, release):
    server, url = fake_store
    with pytest.raises(PushFailed, match="Basic authentication over plain HTTP") as refused:
        push(Store(url + "/update"), release)
    assert not _credentials_in(str(refused.value))
    assert all("Authorization" not in headers for _, _, headers, _ in server.seen)  # the password never left
    assert server.updates == []


def test_allowed_basic_push_loads_the_release(fake_store, release):
    server, url = fake_store
    pushed = push(Store(url + "/update", allow_basic_over_http=True), release)
    assert pushed.triples > 1000 and CANARY in server.store


def test_a_bulk_load_the_store_cannot_read_is_refused_before_any_update(fake_store, release):
    server, url = fake_store  # not Virtuoso: it cannot read files written here
    with pytest.raises(PushFailed, match="--load bulk: the store does not read files written here"):
        push(Store(url + "/update", allow_basic_over_http=True), release, load="bulk")
    assert server.updates == []
    pushed = push(Store(url + "/update", allow_basic_over_http=True), release)  # auto: over HTTP
    assert pushed.load == "http" and pushed.triples > 1000


def test_no_credential_in_any_output_when_the_store_echoes_the_request(fake_store, release):
    server, url = fake_store
    with pytest.raises(PushFailed) as failed:
        push(Store(url + "/echo", allow_basic_over_http=True), release)
    assert "HTTP 500" in str(failed.value) and not _credentials_in(str(failed.value))
    assert any(headers.get("Authorization") for _, _, headers, _ in server.seen)  # it was sent, then echoed back
    result = CliRunner().invoke(main, ["push", url + "/echo", "--release", str(release), "--allow-basic-over-http"])
    assert result.exit_code == 3 and "HTTP 500" in result.output and not _credentials_in(result.output)


def _tampered(release, tmp_path, line: bytes, fix_checksum: bool):
    copy = tmp_path / "release"
    shutil.copytree(release, copy)
    dump = copy / "pledgegraph.nt.gz"
    old = dump.read_bytes()
    new = gzip.compress(gzip.decompress(old) + line, mtime=0)
    dump.write_bytes(new)
    if fix_checksum:  # an attacker who can rewrite the catalog too
        catalog = copy / "catalog.ttl"
        text = catalog.read_text()
        catalog.write_text(text.replace(hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()))
    return copy


INJECTION = b'<urn:a> <urn:b> "x" } } ; DROP ALL ; INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> "y" .\n'


def test_a_tampered_dump_is_refused_before_anything_is_sent(fake_store, release, tmp_path):
    server, url = fake_store
    with pytest.raises(UnusableInput, match="does not match the SHA-256"):
        push(Store(url + "/update", allow_basic_over_http=True), _tampered(release, tmp_path, INJECTION, False))
    assert server.seen == [] and CANARY in server.store


def test_no_byte_of_a_dump_becomes_sparql(fake_store, release, tmp_path):
    server, url = fake_store
    with pytest.raises(UnusableInput, match="not valid gzipped N-Triples"):  # checksum forged too: the parser stops it
        push(Store(url + "/update", allow_basic_over_http=True), _tampered(release, tmp_path, INJECTION, True))
    assert server.seen == []
    # valid N-Triples whose literal spells the injection: loaded as a string, nothing dropped
    sly = b'<urn:a> <urn:b> "x\\" } } ; DROP ALL ; INSERT DATA { GRAPH <urn:g> { <urn:a> <urn:b> \\"y" .\n'
    live = ox.NamedNode("urn:pledgegraph-test:live")  # holds a release: the load goes to its staging graph, kept
    server.store.add(ox.Quad(live, live, live, live))
    with pytest.raises(PushFailed, match="VoID says"):  # one triple more than the release's VoID counts
        push(
            Store(url + "/update", allow_basic_over_http=True),
            _tampered(release, tmp_path / "2", sly, True),
            graph=live.value,
        )
    assert CANARY in server.store
    assert any(
        q.object.value.startswith('x" } } ; DROP ALL')
        for q in server.store.quads_for_pattern(ox.NamedNode("urn:a"), None, None)
    )
