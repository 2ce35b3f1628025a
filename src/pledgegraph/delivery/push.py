"""Load a published release into a SPARQL 1.1 store, replace the previous one, and check the count.

The release's data goes into one named graph per release (`<base>graph/release/<version>` unless
told otherwise), its VoID and DCAT into the metadata graph `<base>graph/metadata`. Each is first
written to a staging graph and counted, so a failed or short load leaves the previous release; only
then is the live graph made equal to it (over HTTP: insert what is new, delete what is gone; in bulk:
one `COPY` transaction). (Whether readers can see the swap half done is the store's isolation:
Virtuoso 7.2's readers can, see docs/publishing.md.) A bulk load into an empty live graph goes
straight into it. Finally the store's triple counts are compared with VoID.

The data reaches its staging graph one of two ways (`load`):
- over HTTP, to any SPARQL 1.1 store: Graph Store HTTP Protocol PUT and POSTs in chunks, or SPARQL
  Update INSERT DATA where no Graph Store endpoint is given;
- in bulk, into a Virtuoso that can read files this machine writes (the same machine, or a shared
  disk): the triples are written as N-Triples files into a folder of its `DirsAllowed`, and its own
  Turtle loader (`DB.DBA.TTLP_MT`, unlogged as its bulk loader runs it) reads them, two at once;
  the swap is then one transaction without a log (`COPY`), the staging graph is dropped, and a
  checkpoint makes the whole load durable (an unlogged load is lost in a crash until then). 2-4x
  the speed of HTTP on this machine (docs/performance.md). `auto` takes it when the store proves it
  can read a probe file written here, HTTP otherwise.

Credentials come from PLEDGEGRAPH_STORE_USER / PLEDGEGRAPH_STORE_PASSWORD or from a netrc file
($NETRC or ~/.netrc) entry for the endpoint's host, never from the command line. Only the
standard library talks HTTP (digest and basic authentication). Basic authentication sends the
password readable by anyone on the path, so over plain HTTP it is refused unless the caller
allows it (`allow_basic_over_http`); no error message carries a header, a password or its
Base64 form, even when the store's error page echoes the request.

No byte of the dump reaches the store as it was read: the dump must match the SHA-256 the
release's catalog gives for it, is parsed as N-Triples, and every triple is written out again by
pyoxigraph, so a tampered line can only fail to parse, never become SPARQL.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import netrc
import os
import re
import secrets
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from pledgegraph.delivery.release.catalog import DCAT, HERE, SD, SPDX, VOID
from pledgegraph.errors import PledgegraphError, UnusableInput
from pledgegraph.layout import PUSH_LOADS

GRAPH_STORE_CHUNK = 1000  # N-Triples lines per Graph Store request (~200 KB)
INSERT_CHUNK = 5000  # triples per INSERT DATA request when there is no Graph Store endpoint
PARALLEL_REQUESTS = 4  # Graph Store appends in flight at once (the test suite's Virtuoso takes 5 connections)
BULK_FILE_TRIPLES = 100_000  # triples per file of a bulk load (~18 MB; each request well under a query time limit)
BULK_PARALLEL = 2  # files loaded at once: the store parses each on one core


class PushFailed(PledgegraphError):
    """The store refused a request, or holds a different number of triples than VoID says."""

    exit_code = 3


@dataclass
class Pushed:
    graph: str
    metadata_graph: str
    version: str
    triples: int
    metadata_triples: int
    seconds: float
    load: str  # "bulk" or "http": how the data reached the store
    steps: dict[str, float]  # seconds of each step of `seconds` (load, metadata, swap; bulk: copy, drop, checkpoint)
    direct: bool  # loaded straight into the live graph (it was empty): no swap of the data


@dataclass
class Store:
    """Where to send what: updates (and queries, unless `query` is set), and optional Graph Store."""

    update: str
    graph_store: str | None = None
    query: str | None = None
    timeout: float = 120
    allow_basic_over_http: bool = False

    def __post_init__(self):
        self._opener, self._secrets = _opener([self.update, self.graph_store, self.query], self.allow_basic_over_http)
        self._per_thread = threading.local()  # the digest handler keeps per-conversation state: one opener a thread

    def _thread_opener(self) -> urllib.request.OpenerDirector:
        if threading.current_thread() is threading.main_thread():
            return self._opener
        if not hasattr(self._per_thread, "opener"):
            self._per_thread.opener = _opener([self.update, self.graph_store, self.query], self.allow_basic_over_http)[
                0
            ]
        return self._per_thread.opener

    def _send(self, request: urllib.request.Request) -> bytes:
        where = f"{request.get_method()} {_without_userinfo(request.full_url)}"
        try:
            with self._thread_opener().open(request, timeout=self.timeout) as response:
                return response.read()
        except urllib.error.HTTPError as e:
            detail = _redacted(e.read(2000).decode("utf-8", "replace"), self._secrets)[:300].strip()
            raise PushFailed(f"{where} -> HTTP {e.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as e:
            reason = _redacted(str(getattr(e, "reason", e)), self._secrets)
            raise PushFailed(f"cannot reach {where}: {reason}") from None

    def run_update(self, update: str) -> None:
        self._send(
            urllib.request.Request(
                self.update,
                data=urllib.parse.urlencode({"update": update}).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        )

    def select(self, query: str, privileged: bool = False) -> list[dict]:
        """Rows of a SELECT; `privileged`: asked at the update endpoint, as the login that loads."""
        url = (
            (self.update if privileged else self.query or self.update) + "?" + urllib.parse.urlencode({"query": query})
        )
        body = self._send(urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"}))
        return [{k: v["value"] for k, v in b.items()} for b in json.loads(body)["results"]["bindings"]]

    def count(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(rows[0]["n"]) if rows else 0

    def replace_graph(self, graph: str, triples: list[ox.Triple]) -> None:
        """Make `graph` hold exactly these triples (used for staging graphs), each written by pyoxigraph."""
        lines = [f"{t} ." for t in triples]
        if self.graph_store:
            # PUT the first chunk, POST (append) the rest: digest auth answers the first attempt of
            # each request with 401, and a store that closes the connection then cuts off any body
            # larger than the socket buffers (a broken pipe); bounded chunks always fit.
            # The appends go over PARALLEL_REQUESTS connections at once: the store parses and indexes
            # one chunk while the next ones travel (a graph is a set: their order does not matter).
            url = self.graph_store + "?" + urllib.parse.urlencode({"graph": graph, "graph-uri": graph})

            def send(start: int, method: str) -> None:
                body = ("\n".join(lines[start : start + GRAPH_STORE_CHUNK]) + "\n").encode()
                self._send(
                    urllib.request.Request(
                        url, data=body, method=method, headers={"Content-Type": "text/turtle; charset=utf-8"}
                    )
                )

            send(0, "PUT")
            with ThreadPoolExecutor(PARALLEL_REQUESTS) as pool:
                for done in [
                    pool.submit(send, start, "POST")
                    for start in range(GRAPH_STORE_CHUNK, len(lines), GRAPH_STORE_CHUNK)
                ]:
                    done.result()  # the first refusal is raised (into staging, or an empty graph push drops)
            return
        self.run_update(f"DROP SILENT GRAPH <{graph}>")
        for start in range(0, len(lines), INSERT_CHUNK):
            chunk = "\n".join(lines[start : start + INSERT_CHUNK])
            self.run_update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{chunk}\n}} }}")

    def swap(self, staging: dict[str, str]) -> None:
        """Make each live graph hold exactly its staging graph's triples by changing only those that differ
        (insert what the new release adds, then delete what it lacks), then drop the staging graphs.

        Not `MOVE`, a plain `COPY` or `DROP` + `ADD`: on Virtuoso 7.2 each deletes and re-inserts the triples
        both releases share within one request, and under load it lost some of them for good (`MOVE`: 25 of
        30 swaps; this one: none of 30, docs/performance.md "Push, round 3"). Here no triple is both deleted and
        inserted; inserting first means a refused insert leaves the old release and a swap cut off after
        it leaves both releases' triples (pushing again completes it), never fewer."""
        self.run_update(
            ";\n".join(
                f"INSERT {{ GRAPH <{g}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{s}> {{ ?s ?p ?o }} "
                f"FILTER NOT EXISTS {{ GRAPH <{g}> {{ ?s ?p ?o }} }} }};\n"
                f"DELETE {{ GRAPH <{g}> {{ ?s ?p ?o }} }} WHERE {{ GRAPH <{g}> {{ ?s ?p ?o }} "
                f"FILTER NOT EXISTS {{ GRAPH <{s}> {{ ?s ?p ?o }} }} }}"
                for g, s in staging.items()
            )
        )
        self.run_update(";\n".join(f"DROP SILENT GRAPH <{s}>" for s in staging.values()))

    def empty_after_refused_load(self, graph: str, unlogged: bool) -> None:
        """Empty `graph`, which a refused load into an empty graph left partly filled, and check that it is.
        What the bulk loader wrote (unlogged, row by row) goes the same way: as one logged transaction, the
        DROP of its rows once left them all in place under load (CI, load average 7), its error unseen."""
        update = f"DEFINE sql:log-enable 2 {_CLEAR_UNLOGGED} <{graph}>" if unlogged else f"DROP SILENT GRAPH <{graph}>"
        for pause in (0.5, 2, 0):
            self.run_update(update)
            left = self.count(graph)
            if left == 0:
                return
            time.sleep(pause)
        raise PushFailed(f"<{graph}> still holds {left} triples of the refused load: drop the graph by hand")

    def virtuoso_folders(self) -> list[Path] | None:
        """The absolute folders of the store's `DirsAllowed` when it is a Virtuoso that runs its own
        functions for this login (a DBA), else None (any other store, or a login without the right)."""
        try:
            allowed = self.select(
                "SELECT (bif:cfg_item_value(bif:virtuoso_ini_path(), 'Parameters', 'DirsAllowed') AS ?dirs) {}",
                privileged=True,
            )
        except PushFailed:
            return None
        names = (allowed[0].get("dirs", "") if allowed else "").split(",")
        return [Path(n.strip()) for n in names if Path(n.strip()).is_absolute()]

    def bulk_folder(self, allowed: list[Path]) -> Path | None:
        """One of the `allowed` folders where a file written here reads back the same through the store
        (so its loader can read files from it), or None: not on this machine nor a shared disk."""
        for folder in allowed:
            if not (folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)):
                continue
            token = secrets.token_hex(16)
            with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".pledgegraph-probe-", suffix=".txt") as probe:
                probe.write(token)
                probe.flush()
                os.chmod(probe.name, 0o644)  # the store may run as another user
                try:
                    seen = self.select(f"SELECT (bif:file_to_string({_literal(probe.name)}) AS ?text) {{}}", True)
                except PushFailed:
                    continue
            if seen and seen[0].get("text") == token:
                return folder
        return None

    def bulk_replace_graph(self, graph: str, triples: list[ox.Triple], folder: Path, steps: dict[str, float]) -> None:
        """Make `graph` hold exactly these triples through the store's own loader, reading N-Triples
        files written by pyoxigraph into `folder` (see bulk_folder); the files are removed after.
        Each file is loaded as soon as it is written, while the next ones are written (`steps["files"]`:
        the seconds spent writing)."""
        self.run_update(f"DEFINE sql:log-enable 2 {_CLEAR_UNLOGGED} <{graph}>")  # staging, or empty: no log

        def load(path: Path) -> None:  # TTLP_MT(text, base, graph, flags, log mode 2 (none, autocommit), threads)
            self.select(
                f"SELECT (sql:TTLP_MT(bif:file_to_string_output({_literal(str(path))}), '', "
                f"{_literal(graph)}, 0, 2, 2) AS ?done) {{}}",
                privileged=True,
            )

        # A blank node is one node only within one parse: every triple naming one goes to the first file.
        with _timed(steps, "files"):
            triples = sorted(
                triples, key=lambda t: not (isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode))
            )
        with (
            tempfile.TemporaryDirectory(dir=folder, prefix=".pledgegraph-push-") as tmp,
            ThreadPoolExecutor(BULK_PARALLEL) as pool,
        ):
            os.chmod(tmp, 0o755)  # the store may run as another user
            loads: list = []
            try:
                for start in range(0, len(triples), BULK_FILE_TRIPLES):
                    if any(done.done() and done.exception() for done in loads):
                        break  # after a refusal, no more files are written or sent
                    with _timed(steps, "files"):
                        path = Path(tmp) / f"{len(loads):05d}.nt"
                        ox.serialize(
                            triples[start : start + BULK_FILE_TRIPLES], str(path), format=ox.RdfFormat.N_TRIPLES
                        )
                        path.chmod(0o644)
                    loads.append(pool.submit(load, path))
                for done in loads:
                    done.result()  # the first refusal is raised (into staging, or an empty graph push drops)
            finally:
                for waiting in loads:
                    waiting.cancel()  # after a refusal, the files not yet sent stay unsent

    def bulk_swap(self, staging: dict[str, str], steps: dict[str, float]) -> None:
        """Copy each staging graph over its live graph in one transaction (without a log: it is made
        durable by the checkpoint that every unlogged load needs), then drop the staging graphs.
        (Unlike the HTTP path's MOVE, this transaction never lost a shared triple: docs/performance.md.)"""
        with _timed(steps, "copy"):
            self.run_update(
                "DEFINE sql:log-enable 0\n"
                + ";\n".join(f"COPY SILENT GRAPH <{s}> TO GRAPH <{g}>" for g, s in staging.items())
            )
        with _timed(steps, "drop"):
            self.run_update(
                "DEFINE sql:log-enable 2\n" + ";\n".join(f"{_CLEAR_UNLOGGED} <{s}>" for s in staging.values())
            )
        with _timed(steps, "checkpoint"):
            self.select("SELECT (bif:exec('checkpoint') AS ?done) {}", privileged=True)


# How an unlogged request empties a graph: CLEAR, never DROP. Virtuoso 7.2's DROP SILENT of a graph that
# holds no triples returns before it restores the log mode that `DEFINE sql:log-enable` set, so the HTTP
# worker that ran it went on without a transaction log, in row autocommit, for every later request it
# served, ours or anyone's (a logged swap then escaped TransactionAfterImageLimit; other clients' updates
# lost atomicity and durability). CLEAR restores it on every path; our loaders never create graphs
# explicitly, so an emptied graph is gone as after a DROP. tests/test_push_virtuoso.py checks every worker.
_CLEAR_UNLOGGED = "CLEAR SILENT GRAPH"


@contextlib.contextmanager
def _timed(steps: dict[str, float], name: str) -> Iterator[None]:
    """Add the seconds the block takes to `steps[name]`."""
    start = time.perf_counter()
    try:
        yield
    finally:
        steps[name] = round(steps.get(name, 0) + time.perf_counter() - start, 3)


def _literal(text: str) -> str:
    """`text` as a SPARQL string literal (escaped by pyoxigraph), for the store's functions' arguments."""
    return str(ox.Literal(text))


def _opener(urls: list[str | None], allow_basic_over_http: bool) -> tuple[urllib.request.OpenerDirector, list[str]]:
    """An opener that answers digest and basic challenges, and the secrets no message may show."""
    passwords = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    secrets = []
    for url in filter(None, urls):
        login = credentials(url)
        if login:
            parts = urllib.parse.urlsplit(url)
            passwords.add_password(None, f"{parts.scheme}://{parts.netloc}/", *login)
            user, password = login
            secrets += [password, base64.b64encode(f"{user}:{password}".encode()).decode()] if password else []
    return urllib.request.build_opener(
        urllib.request.HTTPDigestAuthHandler(passwords), _BasicAuth(passwords, allow_basic_over_http)
    ), secrets


class _BasicAuth(urllib.request.HTTPBasicAuthHandler):
    """Basic authentication, refused over plain HTTP unless explicitly allowed."""

    def __init__(self, passwords, allow_over_http: bool):
        super().__init__(passwords)
        self.allow_over_http = allow_over_http

    def http_error_401(self, req, fp, code, msg, headers):
        has_login = self.passwd.find_user_password(None, req.full_url)[0] is not None
        if req.type == "http" and has_login and not self.allow_over_http:
            raise PushFailed(
                f"{urllib.parse.urlsplit(req.full_url).netloc} asks for Basic authentication over plain "
                "HTTP, which would send the password readable by anyone on the way: use an https:// "
                "endpoint (or pass --allow-basic-over-http for a store on a trusted network)"
            )
        return super().http_error_401(req, fp, code, msg, headers)


_CREDENTIAL_LINE = re.compile(r"(?im)^.*\b(?:proxy-)?(?:authorization|authenticate|cookie)\b.*$")


def _redacted(text: str, secrets: list[str]) -> str:
    """`text` without any line naming a credential header and without the secrets themselves."""
    text = _CREDENTIAL_LINE.sub("[a line about credentials was removed]", text)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def _without_userinfo(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return (
        parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else "")).geturl()
        if parts.username or parts.password
        else url
    )


def credentials(url: str) -> tuple[str, str] | None:
    """(user, password) from the environment, else from netrc for the URL's host, else None."""
    user, password = os.environ.get("PLEDGEGRAPH_STORE_USER"), os.environ.get("PLEDGEGRAPH_STORE_PASSWORD")
    if user and password is not None:
        return user, password
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(urllib.parse.urlsplit(url).hostname or "")
    except (netrc.NetrcParseError, OSError) as e:
        raise UnusableInput(f"cannot read {path}: {e}") from e
    return (entry[0], entry[2] or "") if entry else None


def _release_metadata(release: Path) -> tuple[str, str, int]:
    """(base IRI, version, data triple count) from the release's VoID."""
    void_file = release / "void.ttl"
    if not void_file.is_file():
        raise UnusableInput(f"{release} is not a release (no void.ttl): run `pledgegraph publish` first")
    void = list(ox.parse(path=str(void_file), format=ox.RdfFormat.TURTLE, base_iri=HERE))
    versions = [(t.subject.value, t.object.value) for t in void if t.predicate.value == DCAT + "version"]
    if not versions:
        raise UnusableInput(f"{void_file} names no dcat:version")
    dataset, version = versions[0]
    counts = [t.object.value for t in void if t.subject.value == dataset and t.predicate.value == VOID + "triples"]
    return dataset[: -len(f"dataset/{version}")], version, int(counts[0])


def _release_data(release: Path) -> list[ox.Triple]:
    """The release's dump, checked against the SHA-256 its catalog gives, parsed as N-Triples."""
    dump = release / "pledgegraph.nt.gz"
    try:
        catalog = list(ox.parse(path=str(release / "catalog.ttl"), format=ox.RdfFormat.TURTLE, base_iri=HERE))
        raw = dump.read_bytes()
    except (SyntaxError, OSError) as e:
        raise UnusableInput(f"cannot read the release in {release}: {e}") from e
    distribution = {
        t.subject for t in catalog if t.predicate.value == DCAT + "downloadURL" and t.object.value == HERE + dump.name
    }
    checksum = {t.object for t in catalog if t.subject in distribution and t.predicate.value == SPDX + "checksum"}
    expected = {
        t.object.value for t in catalog if t.subject in checksum and t.predicate.value == SPDX + "checksumValue"
    }
    if len(expected) != 1:
        raise UnusableInput(
            f"{release / 'catalog.ttl'} gives no single SHA-256 for {dump.name}: run `pledgegraph publish` again"
        )
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected.pop():
        raise UnusableInput(
            f"{dump} does not match the SHA-256 in catalog.ttl (it is {actual}): the release was "
            "changed after publishing; nothing was sent"
        )
    try:
        return [q.triple for q in ox.parse(gzip.decompress(raw), format=ox.RdfFormat.N_TRIPLES)]
    except (SyntaxError, OSError, EOFError) as e:
        raise UnusableInput(f"{dump} is not valid gzipped N-Triples ({e}); nothing was sent") from e


def push(
    store: Store, release: Path, graph: str | None = None, release_url: str | None = None, load: str = "auto"
) -> Pushed:
    """Load `release` into `store` (`load`: one of PUSH_LOADS), swap it in, check counts against VoID."""
    if load not in PUSH_LOADS:
        raise UnusableInput(f"load must be one of {', '.join(PUSH_LOADS)}, not {load!r}")
    release = Path(release).resolve()
    base, version, expected = _release_metadata(release)
    graph = graph or f"{base}graph/release/{version}"
    try:
        ox.NamedNode(graph)  # an IRI, so it cannot close the <…> it is written in
    except ValueError as e:
        raise UnusableInput(f"--graph {graph!r} is not an IRI: {e}") from None
    metadata_graph = f"{base}graph/metadata"
    release_url = release_url or f"{base}{version}/"  # where the server configs publish it
    data = _release_data(release)
    metadata = set()
    for name in ("void.ttl", "catalog.ttl"):
        metadata.update(
            ox.Triple(q.subject, q.predicate, q.object)
            for q in ox.parse(path=str(release / name), format=ox.RdfFormat.TURTLE, base_iri=release_url)
        )
    metadata.add(ox.Triple(ox.NamedNode(f"{base}dataset/{version}"), ox.NamedNode(SD + "name"), ox.NamedNode(graph)))
    start = time.perf_counter()
    allowed = store.virtuoso_folders()
    folder = store.bulk_folder(allowed) if allowed and load != "http" else None
    if load == "bulk" and folder is None:
        raise PushFailed(
            "--load bulk: the store does not read files written here (it must be Virtuoso, on this machine or a "
            "shared disk, with a folder this user can write in its DirsAllowed, and the login a DBA)"
        )
    steps: dict[str, float] = {}
    staging = {graph: graph + "/staging", metadata_graph: metadata_graph + "/staging"}
    # An empty live graph is loaded straight into: no copy of the release to make and drop (in bulk a third
    # of the push's time). Readers see it fill, as they see a swap's rows (docs/publishing.md); the metadata
    # graph names it only once it is counted whole, and a load refused is dropped again.
    direct = store.count(graph) == 0
    loaded = graph if direct else staging[graph]
    with _timed(steps, "load"):
        try:
            if folder:
                store.bulk_replace_graph(loaded, data, folder, steps)
            else:
                store.replace_graph(loaded, data)
            staged = store.count(loaded)
            if staged != expected:  # a short load is refused here, before it can replace the live release
                raise PushFailed(
                    f"the store holds {staged} triples in <{loaded}> after the load (VoID says {expected}); "
                    "nothing was swapped, the live release is unchanged"
                )
        except PushFailed as refused:
            if direct:  # empty again, as it was
                try:
                    store.empty_after_refused_load(graph, unlogged=folder is not None)
                except PushFailed as also:
                    raise PushFailed(f"{refused}\n(Emptying <{graph}> again failed too: {also})") from None
            raise
    if direct:
        del staging[graph]
    with _timed(steps, "metadata"):
        store.replace_graph(staging[metadata_graph], sorted(metadata, key=str))
    if folder:
        store.bulk_swap(staging, steps)
    else:
        # Plain SPARQL for any store. (Virtuoso commits it row by row: readers see the triples the releases
        # share throughout, the old ones go and the new ones come. As one logged transaction, DEFINE
        # sql:log-enable 1, a MOVE stalled behind concurrent readers until Virtuoso killed it after its 70 s
        # limit: tests/test_push_virtuoso.py.)
        try:
            with _timed(steps, "swap"):
                store.swap(staging)
        except PushFailed as e:
            if "SR325" not in str(e) and "SR171" not in str(e):
                raise
            raise PushFailed(
                f"{e}\nThe store aborted the swap: its insert of what the new release adds is one transaction, "
                "and Virtuoso aborts one whose log after-image is above TransactionAfterImageLimit (SR325; with a "
                "small limit also reported as SR171, timed out) or that runs past MaxQueryExecutionTime + 10 s "
                "(SR171). Its default after-image limit, 50 MB, stops short of a million-triple release (30-60 "
                "bytes a triple): raise them ([Parameters] and [SPARQL] in virtuoso.ini; scripts/virtuoso.sh: "
                "VIRTUOSO_AFTER_IMAGE_BYTES, VIRTUOSO_QUERY_SECONDS) and push again, or use --load bulk where the "
                "store can read files written here. An aborted insert leaves the live release unchanged; an aborted "
                "delete leaves it holding both releases' triples until a push completes."
            ) from None
    seconds = time.perf_counter() - start
    got, got_meta = store.count(graph), store.count(metadata_graph)
    if got != expected or got_meta != len(metadata):
        raise PushFailed(
            f"after the swap ({'bulk' if folder else 'http'} load) the store holds {got} triples in <{graph}> "
            f"(VoID says {expected}) and {got_meta} in <{metadata_graph}> (expected {len(metadata)})"
        )
    return Pushed(
        graph, metadata_graph, version, got, got_meta, round(seconds, 3), "bulk" if folder else "http", steps, direct
    )
