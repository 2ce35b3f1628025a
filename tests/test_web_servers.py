"""The release's server configurations, run: Debian's nginx (with njs) and Apache (with mod_lua) on
loopback in front of a real published release, asked for every IRI kind and media type."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pyoxigraph as ox
import pytest

from pledgegraph.delivery.release.webservers import DIRECTORY, PORT

ROOT = "/pledgegraph/"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
APACHE = shutil.which("apache2") or ("/usr/sbin/apache2" if os.path.exists("/usr/sbin/apache2") else None)
NJS = Path("/usr/lib/nginx/modules/ngx_http_js_module.so")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
INSTALL = "run scripts/install-test-deps.sh (needs root and apt-get; `make test` does)"

ENTITY = "id/org/islamic-state"
HTML, TTL, JSONLD, NT, RDFXML = (
    "text/html",
    "text/turtle",
    "application/ld+json",
    "application/n-triples",
    "application/rdf+xml",
)

# (path, Accept or None, status, where a 303 points below the root, or None)
MATRIX = [
    # every media type an entity offers, and what browsers and generic clients send
    (ENTITY, None, 303, "latest/org/islamic-state.html"),
    (ENTITY, "*/*", 303, "latest/org/islamic-state.html"),
    (ENTITY, "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", 303, "latest/org/islamic-state.html"),
    (ENTITY, TTL, 303, "latest/org/islamic-state.ttl"),
    (ENTITY, JSONLD, 303, "latest/org/islamic-state.jsonld"),
    (ENTITY, NT, 303, "latest/org/islamic-state.nt"),
    (ENTITY, "TEXT/Turtle; charset=utf-8", 303, "latest/org/islamic-state.ttl"),
    # q-values: the highest wins, whatever the order; q=0 refuses; type/* ranges; specific beats wildcard
    (ENTITY, "text/turtle;q=0.5, application/ld+json", 303, "latest/org/islamic-state.jsonld"),
    (ENTITY, "application/n-triples;q=0.9,text/turtle;q=0.95", 303, "latest/org/islamic-state.ttl"),
    (ENTITY, "text/html;q=0.1, application/n-triples", 303, "latest/org/islamic-state.nt"),
    (ENTITY, "*/*;q=0.1, text/turtle", 303, "latest/org/islamic-state.ttl"),
    (ENTITY, "text/html;q=0, */*", 303, "latest/org/islamic-state.ttl"),
    (ENTITY, "application/*", 303, "latest/org/islamic-state.jsonld"),
    (ENTITY, "text/*;q=0.5, application/ld+json;q=0.4", 303, "latest/org/islamic-state.html"),
    # SPARQLWrapper / rdflib style lists
    (ENTITY, "application/rdf+xml, text/turtle;q=0.8, application/n-triples;q=0.9", 303, "latest/org/islamic-state.nt"),
    # nothing offered matches: 406, never HTML for an RDF/XML request
    (ENTITY, RDFXML, 406, None),
    (ENTITY, "application/sparql-results+json", 406, None),
    (ENTITY, "text/turtle;q=0", 406, None),
    # suffixes pick the file; unknown suffixes and entities are 404
    (ENTITY + ".ttl", RDFXML, 303, "latest/org/islamic-state.ttl"),
    (ENTITY + ".jsonld", None, 303, "latest/org/islamic-state.jsonld"),
    (ENTITY + ".nt", None, 303, "latest/org/islamic-state.nt"),
    (ENTITY + ".html", TTL, 303, "latest/org/islamic-state.html"),
    (ENTITY + ".xls", None, 404, None),
    ("id/org/no-such-organization", TTL, 404, None),
    ("id/org/../../etc/passwd", TTL, 404, None),
    ("id/nokind/islamic-state", TTL, 404, None),
    # the ontology namespace, its vocabularies and concept schemes
    ("ontology", None, 303, "latest/ontology/index.html"),
    ("ontology", TTL, 303, "latest/ontology/pledgegraph.ttl"),
    ("ontology", RDFXML, 303, "latest/ontology/pledgegraph.rdf"),
    ("ontology", JSONLD, 303, "latest/ontology/pledgegraph.jsonld"),
    ("ontology", NT, 406, None),
    ("ontology.rdf", None, 303, "latest/ontology/pledgegraph.rdf"),
    ("vocab/medium", TTL, 303, "latest/ontology/pledgegraph.ttl"),
    ("vocab/medium/audio", RDFXML, 303, "latest/ontology/pledgegraph.rdf"),
    ("vocab/medium/no-such-medium", TTL, 404, None),
    ("ontology/0.1.0", TTL, 303, "latest/ontology/pledgegraph.ttl"),  # the ontology's prior version IRI
    ("ontology/9.9.9", TTL, 404, None),
    # named graphs, the dataset across versions, the catalogue, one release
    ("graph/asserted", TTL, 303, "latest/void.ttl"),
    ("graph/inferred", None, 303, "latest/index.html"),
    ("dataset", TTL, 303, "latest/void.ttl"),
    ("catalog", TTL, 303, "latest/catalog.ttl"),
    ("dataset/0.1.0", TTL, 303, "0.1.0/catalog.ttl"),
    ("dataset/9.9.9", TTL, 404, None),
]

# static files and the media type each is served as
FILES = [
    ("latest/org/islamic-state.ttl", TTL),
    ("latest/org/islamic-state.jsonld", JSONLD),
    ("latest/org/islamic-state.nt", NT),
    ("latest/org/islamic-state.html", HTML),
    (".well-known/void", TTL),
    ("latest/void.ttl", TTL),
    ("latest/catalog.ttl", TTL),
    ("latest/pledgegraph.ttl", TTL),
    ("latest/pledgegraph.jsonld", JSONLD),
    ("latest/pledgegraph.trig", "application/trig"),
    ("latest/pledgegraph.nt.gz", "application/gzip"),
    ("latest/pledgegraph.nq.gz", "application/gzip"),
    ("latest/ontology/pledgegraph.rdf", RDFXML),
    ("latest/context.jsonld", JSONLD),
    ("latest/sitemap.xml", "application/xml"),
    ("latest/timeline.svg", "image/svg+xml"),
    ("latest/feed.jsonld", JSONLD),
    ("latest/changes/activities.jsonld", JSONLD),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def site(release):
    """A world-readable copy of the publish directory (servers drop root to `nobody`)."""
    top = Path(tempfile.mkdtemp(prefix="pledgegraph-www-"))
    os.chmod(top, 0o755)
    shutil.copytree(release.parent, top / "site", symlinks=True)
    for path in [top / "site", *(top / "site").rglob("*")]:
        if not path.is_symlink():
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    yield top
    shutil.rmtree(top, ignore_errors=True)


def _shipped(site: Path, name: str, port: int) -> str:
    """A shipped configuration with its two documented placeholders filled in."""
    text = (site / "site/latest/server" / name).read_text()
    assert DIRECTORY in text
    return text.replace(DIRECTORY, f"{site}/site/").replace(f"listen {PORT};", f"listen 127.0.0.1:{port};")


@contextlib.contextmanager
def _running(command: list[str], port: int, log: Path):
    """A server in the foreground, until it listens on `port`; stopped (and waited for) afterwards."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            if proc.poll() is not None:
                stderr = proc.stderr.read().decode(errors="replace")
                pytest.fail(f"server exited {proc.returncode}: {stderr} {log.read_text() if log.exists() else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            pytest.fail("server did not start")
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def nginx(site):
    if NGINX is None or not NJS.exists():
        pytest.skip(f"nginx with the njs module is not installed: {INSTALL}")
    port, conf = _free_port(), site / "nginx"
    conf.mkdir()
    (conf / "nginx.conf").write_text(f"""daemon off;
pid {conf}/nginx.pid;
error_log {conf}/error.log;
load_module {NJS};
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {conf}/body; proxy_temp_path {conf}/proxy; fastcgi_temp_path {conf}/fcgi;
    uwsgi_temp_path {conf}/uwsgi; scgi_temp_path {conf}/scgi;
{_shipped(site, "nginx.conf", port)}
}}
""")
    with _running([NGINX, "-c", str(conf / "nginx.conf"), "-p", str(conf)], port, conf / "error.log"):
        yield port


@pytest.fixture(scope="module")
def apache(site):
    if APACHE is None or not (APACHE_MODULES / "mod_lua.so").exists():
        pytest.skip(f"Apache with mod_lua is not installed: {INSTALL}")
    port, conf = _free_port(), site / "apache"
    conf.mkdir()
    modules = "".join(
        f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so\n"
        for m in ("mpm_event", "authz_core", "mime", "alias", "lua", "dir", "filter", "deflate")
    )
    user = "User nobody\nGroup nogroup\n" if os.getuid() == 0 else ""
    (conf / "apache2.conf").write_text(f"""ServerRoot {conf}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {conf}/apache2.pid
ErrorLog {conf}/error.log
DefaultRuntimeDir {conf}
TypesConfig /etc/mime.types
{user}{modules}DocumentRoot {conf}
{_shipped(site, "apache.conf", port)}""")
    with _running([APACHE, "-f", str(conf / "apache2.conf"), "-DFOREGROUND"], port, conf / "error.log"):
        yield port


def _get(port: int, path: str, accept: str | None, method: str = "GET", **headers: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(
            method,
            ROOT + path,
            headers={
                **({"Accept": accept} if accept is not None else {}),
                **{k.replace("_", "-"): v for k, v in headers.items()},
            },
        )
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _location(headers: dict) -> str:
    """The Location below the site root, whether the server wrote it absolute or not."""
    location = headers["location"]
    return location[location.index(ROOT) + len(ROOT) :]


@pytest.fixture(params=["nginx", "apache"])
def server(request):
    return request.getfixturevalue(request.param)


@pytest.mark.parametrize("path,accept,status,target", MATRIX, ids=[f"{m[0]}|{m[1]}" for m in MATRIX])
def test_negotiation_matrix(server, path, accept, status, target):
    got, headers, body = _get(server, path, accept)
    assert got == status, body[:300]
    if status == 303:
        assert _location(headers) == target
        assert "accept" in headers.get("vary", "").lower()
    if status == 406:
        assert b"<html" not in body.lower() and b"text/turtle" in body


def test_redirect_targets_exist_and_parse(server):
    """Follow each 303 for RDF: the file is there, with the media type asked for, and parses."""
    for path, accept, fmt in (
        (ENTITY, TTL, ox.RdfFormat.TURTLE),
        (ENTITY, NT, ox.RdfFormat.N_TRIPLES),
        (ENTITY, JSONLD, ox.RdfFormat.JSON_LD),
        ("ontology", RDFXML, ox.RdfFormat.RDF_XML),
        ("vocab/medium", TTL, ox.RdfFormat.TURTLE),
        ("graph/asserted", TTL, ox.RdfFormat.TURTLE),
    ):
        status, headers, _ = _get(server, path, accept)
        assert status == 303
        status, headers, body = _get(server, _location(headers), None)
        assert status == 200 and headers["content-type"].split(";")[0] == accept
        assert list(ox.parse(body, format=fmt, base_iri="https://example.org/x"))


@pytest.mark.parametrize("path,media_type", FILES)
def test_static_files_have_their_media_types(server, path, media_type):
    status, headers, body = _get(server, path, None)
    assert status == 200 and headers["content-type"].split(";")[0] == media_type
    assert "content-encoding" not in headers  # gzip dumps arrive as the bytes DCAT checksums
    if path == ".well-known/void":
        assert list(ox.parse(body, format=ox.RdfFormat.TURTLE, base_iri="https://example.org/.well-known/void"))


def test_head_answers_like_get(server):
    status, headers, body = _get(server, ENTITY, TTL, method="HEAD")
    assert status == 303 and _location(headers) == "latest/org/islamic-state.ttl" and body == b""


@pytest.mark.parametrize(
    "path",
    [
        "latest/org/islamic-state.ttl",
        "latest/org/islamic-state.html",
        "latest/void.ttl",
        ".well-known/void",
        "latest/pledgegraph.nt.gz",
    ],
)
def test_files_carry_validators_answer_304_and_gzip(server, path):
    """HTTP caching of the release's files: ETag and Last-Modified, 304 for either condition, gzip
    for RDF and pages when accepted (the same bytes inside), never for the .gz dumps."""
    status, headers, body = _get(server, path, None)
    assert status == 200 and headers["etag"] and headers["last-modified"].endswith("GMT")
    assert _get(server, path, None, If_None_Match=headers["etag"])[0] == 304
    assert _get(server, path, None, If_Modified_Since=headers["last-modified"])[0] == 304
    assert _get(server, path, None, If_None_Match='"other"')[0] == 200
    status, zipped, packed = _get(server, path, None, Accept_Encoding="gzip")
    if path.endswith(".gz"):
        assert "content-encoding" not in zipped and packed == body
    else:
        assert zipped["content-encoding"] == "gzip" and gzip.decompress(packed) == body
        assert "accept-encoding" in zipped["vary"].lower()
        assert _get(server, path, None, Accept_Encoding="gzip", If_None_Match=zipped["etag"])[0] == 304
    status, head, nothing = _get(server, path, None, method="HEAD")
    # Weak comparison (RFC 9110 8.8.3.2): Apache marks a file's ETag weak while the file is under a
    # second old, so a GET and the HEAD after it may straddle that second with the same tag.
    assert status == 200 and nothing == b"" and _opaque(head["etag"]) == _opaque(headers["etag"])


def _opaque(etag: str) -> str:
    """An entity tag without its weakness flag, for the weak comparison of RFC 9110."""
    return etag.removeprefix("W/")
