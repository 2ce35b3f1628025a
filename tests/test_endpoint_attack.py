"""The endpoint under load and attack: `pledgegraph serve` as a real process on loopback.

Hostile queries are refused or cut off within their limit; a bounded load of simple and heavy
queries fails no simple request; slow clients cannot starve others; memory stays bounded. Every
break reported in issue 18 is replayed below, with the figures printed (`pytest -s`). Clients
use distinct loopback source addresses (127.0.x.y) where the server must tell them apart.
The load run lasts PLEDGEGRAPH_SOAK_SECONDS (default 8; the closing figures used 60).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest

from conftest import ROOT
from test_serve import connected, listener  # noqa: F401 (a fixture)

TIMEOUT = 2.0
MARGIN = 2.5
SIMPLE = "SELECT ?p WHERE { ?p a <https://w3id.org/pledgegraph/ontology#Pledge> } LIMIT 5"
HEAVY = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SOAK_SECONDS = float(os.environ.get("PLEDGEGRAPH_SOAK_SECONDS", "8"))
MAX_ANSWER_MB = 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def endpoint(dist, tmp_path_factory):
    port = _free_port()
    log = open(tmp_path_factory.mktemp("serve") / "serve.log", "w+b")  # a pipe nobody reads would fill and block
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pledgegraph",
            "serve",
            "--port",
            str(port),
            "--dist",
            str(dist),
            "--timeout",
            str(TIMEOUT),
            "--max-rows",
            "2000",
            "--workers",
            "2",
            "--max-answer-mb",
            str(MAX_ANSWER_MB),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        log.seek(0)
        pytest.fail("server did not start: " + log.read().decode()[-2000:])
    yield port, proc
    proc.terminate()
    proc.wait(20)
    log.close()


STOPPED = "503 stopped"  # a query stopped at its time limit: 503 with the reason (other 503s: every slot busy)


def ask(port, query, method="GET", timeout=30, body=None, headers=None, source="127.0.0.1"):
    """One request from loopback address `source` (the server sees each such address as a client)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    try:
        if method == "GET":
            conn.request(
                "GET",
                "/sparql?" + urllib.parse.urlencode({"query": query}),
                headers={"Accept": "application/sparql-results+json", **(headers or {})},
            )
        else:
            conn.request(
                "POST",
                "/sparql",
                body=body if body is not None else query.encode(),
                headers={
                    "Content-Type": "application/sparql-query",
                    "Accept": "application/sparql-results+json",
                    **(headers or {}),
                },
            )
        r = conn.getresponse()
        data = r.read()
        return (STOPPED if r.status == 503 and b"was stopped" in data else r.status), data
    finally:
        conn.close()


def ask_patiently(port, query, **kwargs):
    """`ask`, retrying while the answer is 503 (every heavy slot busy, as after the previous test's
    heavy query, whose worker is being replaced)."""
    deadline = time.time() + 15
    while True:
        start = time.perf_counter()
        status, body = ask(port, query, **kwargs)
        if status != 503 or time.time() > deadline:
            return status, body, time.perf_counter() - start
        time.sleep(0.3)


def _tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and its children, from /proc."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            total += int(next(line for line in open(f"/proc/{p}/status") if line.startswith("VmRSS:")).split()[1])
            for child in open(f"/proc/{p}/task/{p}/children").read().split():
                todo.append(int(child))
        except (OSError, StopIteration):
            continue
    return total


HOSTILE = {
    "service-loopback": ("SELECT * WHERE { SERVICE <http://127.0.0.1:9/sparql> { ?s ?p ?o } }", 400),
    "service-outside": ("SELECT * WHERE { SERVICE <http://192.0.2.1/sparql> { ?s ?p ?o } }", 400),
    "service-silent": ("SELECT * WHERE { SERVICE SILENT <http://[::1]:9/> { ?s ?p ?o } }", 400),
    "load": ("LOAD <file:///etc/passwd>", 400),
    "insert": ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 400),
    "drop": ("DROP ALL", 400),
    "from-file": ("SELECT * FROM <file:///etc/passwd> WHERE { ?s ?p ?o }", 400),
    "from-web": ("SELECT * FROM NAMED <http://example.org/g> WHERE { GRAPH ?g { ?s ?p ?o } }", 400),
    "huge-result": ("SELECT * WHERE { ?a ?b ?c . ?d ?e ?f }", (STOPPED, 422)),
    "cross-join": (HEAVY, STOPPED),
    "path-explosion": ("SELECT (COUNT(*) AS ?n) WHERE { ?a (!<urn:x>)* ?b . ?c (!<urn:y>|^!<urn:y>)* ?d }", STOPPED),
    "regex-backtracking": (
        'SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f FILTER(REGEX(CONCAT(STR(?c), STR(?f)), "^(a+)+$")) }',
        STOPPED,
    ),
    "syntax-garbage": ("SELECT ((((((((((((((((((((", 400),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_query_is_refused_or_cut_off_within_its_limit(endpoint, name):
    """Each hostile query from a client of its own: the server runs a query from a client that ran a
    heavy one in the last minute at the lowest priority, so from one shared address a refusal that
    costs a few ms of parsing (syntax-garbage) waited on a starved low-priority worker whenever the
    machine was busy, and was cut off at the time limit instead of refused."""
    port, _ = endpoint
    query, expected = HOSTILE[name]
    client = f"127.0.1.{sorted(HOSTILE).index(name) + 1}"
    status, body, elapsed = ask_patiently(port, query, method="POST", source=client)
    assert status in (expected if isinstance(expected, tuple) else (expected,)), body[:300]
    assert elapsed < TIMEOUT + MARGIN
    assert ask(port, SIMPLE, source="127.0.1.254")[0] == 200  # and the server still answers others


def test_enormous_body_is_refused_without_reading_it(endpoint):
    port, _ = endpoint
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("POST", "/sparql")
    conn.putheader("Content-Type", "application/sparql-query")
    conn.putheader("Content-Length", str(2 * 1024**3))
    conn.endheaders()
    start = time.perf_counter()
    status = conn.getresponse().status
    conn.close()
    assert status == 413 and time.perf_counter() - start < 2


def test_slow_clients_do_not_starve_others(endpoint):
    port, _ = endpoint
    stalled = []
    for _ in range(16):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: x\r\n")  # never finishes its headers
        stalled.append(s)
    try:
        start = time.perf_counter()
        assert ask(port, SIMPLE, timeout=10)[0] == 200
        assert time.perf_counter() - start < 2
    finally:
        for s in stalled:
            s.close()


def test_load_of_simple_and_heavy_queries_fails_no_well_formed_request(endpoint):
    port, proc = endpoint
    latencies: list[float] = []
    statuses: dict[str, list[int]] = {"simple": [], "heavy": []}
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.time() + SOAK_SECONDS

    def client(kind: str, source: str):
        while time.time() < stop:
            start = time.perf_counter()
            try:
                status, _ = ask(port, SIMPLE if kind == "simple" else HEAVY, timeout=TIMEOUT + 30, source=source)
            except OSError as e:
                with lock:
                    errors.append(repr(e))
                continue
            with lock:
                statuses[kind].append(status)
                if kind == "simple":
                    latencies.append(time.perf_counter() - start)

    threads = [
        threading.Thread(target=client, args=(k, f"127.0.{9 if k == 'simple' else 10}.{i}"))
        for i, k in enumerate(["simple"] * 6 + ["heavy"] * 2, start=1)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SOAK_SECONDS + TIMEOUT + 60)
    assert errors == []
    assert statuses["simple"] and set(statuses["simple"]) == {200}
    assert set(statuses["heavy"]) <= {200, STOPPED, 503}  # 503: both heavy slots taken (one may be restarting)
    assert ask(port, SIMPLE)[0] == 200
    assert _tree_rss_kib(proc.pid) < 3 * 1024 * 1024
    latencies.sort()
    figures = {
        "seconds": SOAK_SECONDS,
        "clients": 8,
        "simple_requests": len(statuses["simple"]),
        "heavy_requests": len(statuses["heavy"]),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1),
        "errors": len(errors),
        "rss_mib": _tree_rss_kib(proc.pid) // 1024,
    }
    print("load figures:", json.dumps(figures))


# -- the breaks of issue 18, each replayed -------------------------------------------------------------

HEADER_SECONDS = 10.0  # serve.HEADER_SECONDS
CHEAP_P50_MS = 50
SERVER_RSS_MIB = 400  # the server process alone (workers have their own 2 GiB address-space cap)


def _rss_mib(pid: int) -> float:
    return int(next(line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:")).split()[1]) / 1024


def _settled_workers(pid: int, quiet: float = 1.0, limit: float = 15.0) -> set[int]:
    """`_workers` once no process has come or gone for `quiet` seconds: a worker killed at its time limit is
    replaced in the background, so right after a stopped query the set still changes."""
    deadline, found = time.monotonic() + limit, _workers(pid)
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = _workers(pid)
        if now == found:
            break
        found = now
    return found


def _workers(pid: int) -> set[int]:
    """Every process below the server (query workers are children of its fork server)."""
    found, todo = set(), [pid]
    while todo:
        parent = todo.pop()
        try:
            children = {int(c) for c in open(f"/proc/{parent}/task/{parent}/children").read().split()}
        except OSError:
            continue
        found |= children
        todo.extend(children)
    return found


def _cheap_p50_ms(port, seconds: float, source="127.0.0.2") -> tuple[float, list[int]]:
    """Median latency of the cheap query asked back to back for `seconds`, and the statuses."""
    latencies, statuses = [], []
    stop = time.time() + seconds
    while time.time() < stop:
        start = time.perf_counter()
        statuses.append(ask(port, SIMPLE, timeout=30, source=source)[0])
        latencies.append(time.perf_counter() - start)
    return statistics.median(latencies) * 1000, statuses


def _cheap_bound_ms(port) -> float:
    """The p50 bound under attack: 50 ms, or 4× the unattacked p50 measured just before when the
    machine is so busy (other jobs, the rest of the suite) that even that is over 12.5 ms."""
    return max(CHEAP_P50_MS, 4 * _cheap_p50_ms(port, 1)[0])


def _cheap_p50_during(port, job, sources: list[str], seconds: float) -> tuple[float, list[int], list]:
    """The cheap query's p50 and statuses while each of `sources` runs `job(source)` back to back
    for `seconds`; and what the jobs returned."""
    results = []

    def flood(source):
        stop = time.time() + seconds
        while time.time() < stop:
            results.append(job(source))

    threads = [threading.Thread(target=flood, args=(source,)) for source in sources]
    for t in threads:
        t.start()
    time.sleep(min(1.0, seconds / 4))
    p50, cheap = _cheap_p50_ms(port, seconds - 1.5)
    for t in threads:
        t.join()
    return p50, cheap, results


def _figures(attack: str, **values):
    print("attack figures:", json.dumps({"attack": attack, **values}))


def test_slowloris_holds_no_slot_and_is_cut_off_at_the_header_deadline(endpoint):
    """Break 1: 70 connections dripping one header byte a second: others are served at once, and
    the drips are closed HEADER_SECONDS after they opened, however often they send."""
    port, proc = endpoint
    bound = _cheap_bound_ms(port)
    drips = []
    for i in range(70):
        s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(f"127.0.3.{i + 1}", 0))
        s.sendall(b"G")
        drips.append(s)
    opened = time.time()
    p50, statuses = 0.0, []
    closed = set()
    while time.time() < opened + HEADER_SECONDS + 3 and len(closed) < len(drips):
        if not statuses:
            p50, statuses = _cheap_p50_ms(port, 3)
        for i, s in enumerate(drips):
            if i in closed:
                continue
            try:
                s.sendall(b"E")
                s.settimeout(0.001)
                if s.recv(1) == b"":
                    closed.add(i)
            except socket.timeout:
                pass
            except OSError:
                closed.add(i)
        time.sleep(1)
    lasted = time.time() - opened
    for s in drips:
        s.close()
    _figures(
        "slowloris",
        status=sorted(set(statuses), key=str),
        cheap_p50_ms=round(p50, 1),
        rss_mib=round(_rss_mib(proc.pid)),
        drips_cut_after_s=round(lasted, 1),
    )
    assert set(statuses) == {200} and p50 < bound
    assert len(closed) == len(drips) and lasted < HEADER_SECONDS + 3


def test_a_burst_of_connections_waits_in_a_real_backlog(endpoint):
    """Break 1 (backlog 5): with the server frozen, 300 connections still complete their handshake."""
    port, proc = endpoint
    os.kill(proc.pid, signal.SIGSTOP)
    sockets = []
    try:
        for i in range(300):
            sockets.append(
                socket.create_connection(("127.0.0.1", port), timeout=1, source_address=(f"127.0.4.{i % 250 + 1}", 0))
            )
    except OSError:
        pass
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        for s in sockets:
            s.close()
    assert len(sockets) == 300
    assert ask(port, SIMPLE)[0] == 200


def doubling(times: int) -> str:
    """The query of issue 18: 1.2 KB, whose answer is a 2**times-character string."""
    return (
        f'SELECT ?v{times} WHERE {{ BIND("&" AS ?v0) '
        + " ".join(f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(times))
        + " }"
    )


def growing(levels: int) -> str:
    """A short query whose answer is one 8**levels-character string (quick to parse and to run)."""
    expr = '"&"'
    for _ in range(levels):
        expr = f'REPLACE({expr}, "&", "&&&&&&&&")'
    return f"SELECT ?x WHERE {{ BIND({expr} AS ?x) }}"


def test_an_answer_too_large_is_refused_and_server_memory_stays_bounded(endpoint):
    """Break 2: a 1.2 KB query whose answer doubles to 134 MB (671 MB as a page) is stopped at the
    time limit (or refused, 422), answers over the cap get 422, and the server process's memory does not move."""
    port, proc = endpoint
    peak = [_rss_mib(proc.pid)]
    done = threading.Event()

    def watch():
        while not done.is_set():
            peak.append(_rss_mib(proc.pid))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        results = [
            ask_patiently(port, query, headers={"Accept": accept}, timeout=60, source=f"127.0.2.{i}")
            for i, (query, accept) in enumerate(
                [
                    (growing(7), "text/html"),
                    (growing(7), "application/sparql-results+json"),
                    (growing(7), "text/csv"),
                    (doubling(27), "text/html"),
                ]
            )
        ]
    finally:
        done.set()
        watcher.join()
    _figures(
        "answer-size bomb",
        status=sorted({r[0] for r in results}, key=str),
        peak_rss_mib=round(max(peak)),
        seconds=round(max(r[2] for r in results), 2),
    )
    for status, body, seconds in results:
        assert status in (422, STOPPED), body[:200]
        assert seconds < TIMEOUT + MARGIN
    # 2 MiB: over the answer cap (1 MiB here, 16 MiB by default), stopped before it leaves the worker
    assert {r[0] for r in results[:3]} == {422}
    assert max(peak) < SERVER_RSS_MIB


def test_escape_tricks_cannot_pass_service_or_from(endpoint, listener):  # noqa: F811 (the imported fixture)
    """Break 3: `\\u0022` read as a quote by a text check let SERVICE and FROM through."""
    port, _ = endpoint
    target = listener.getsockname()[1]
    service = (
        f'SELECT * WHERE {{ BIND("\\u0022" AS ?a) SERVICE <http://127.0.0.1:{target}/> {{?s ?p ?o}} '
        f'BIND("\\u0022" AS ?b) }}'
    )
    status, body = ask(port, service, method="POST")
    # Oxigraph runs the very text that was checked: a string from the first quote to the next
    assert status == 200 and json.loads(body)["results"]["bindings"][0]["b"]["value"].startswith(" AS ?a) SERVICE")
    for query in (
        f'SELECT ("\\u0022" AS ?a) FROM <http://127.0.0.1:{target}/> WHERE {{ BIND("\\u0022" AS ?b) }}',
        f'SELECT * FROM <http://127.0.0.1:{target}/> WHERE {{ BIND("\\u0022\\u0022" AS ?b) }}',
        f'SELECT * WHERE {{ BIND("\\u005Cu0022" AS ?a) SERVICE <http://127.0.0.1:{target}/> {{}} }}',
        f"SELECT * WHERE {{ \\u0053ERVICE <http://127.0.0.1:{target}/> {{}} }}",
    ):
        assert ask(port, query, method="POST")[0] == 400, query
    assert not connected(listener)


FILTERS = "SELECT * WHERE { ?s ?p ?o " + "FILTER(?o = 1) " * 2000 + "}"  # 30 KB, seconds for rdflib's parser


def test_the_query_check_runs_in_a_worker_under_the_time_limit(endpoint):
    """Break 4: the check ran in the server, outside the time limit, in quadratic time."""
    port, proc = endpoint
    bound = _cheap_bound_ms(port)
    start = time.perf_counter()
    status, body = ask(port, "", method="POST", body=b"a." * (128 * 1024), timeout=30)
    assert status == 400 and time.perf_counter() - start < 2
    status, _, seconds = ask_patiently(port, FILTERS, method="POST")
    assert status == STOPPED and seconds < TIMEOUT + MARGIN
    p50, cheap, statuses = _cheap_p50_during(
        port,
        lambda source: ask(port, FILTERS, method="POST", source=source)[0],
        [f"127.0.5.{i}" for i in range(1, 5)],
        4.5,
    )
    _figures(
        "slow query check x4",
        status=sorted(set(statuses), key=str),
        cheap_p50_ms=round(p50, 1),
        rss_mib=round(_rss_mib(proc.pid)),
    )
    assert set(cheap) == {200} and p50 < bound
    assert set(statuses) <= {STOPPED, 503}


@pytest.mark.parametrize(
    "query",
    [
        "SELECT (<urn:fn>(1) AS ?x) {}",
        "SELECT * " + "{" * 10000 + "}" * 10000,
        "SELECT * { ?s ?p ?o FILTER(<urn:f>(?o)) }",
        'SELECT (1/0 AS ?x) (xsd:integer("x") AS ?y) {}',
    ],
)
def test_engine_errors_are_400_and_the_worker_lives(endpoint, query):
    """Break 5: one-line queries raised uncaught errors that killed workers."""
    port, proc = endpoint
    ask_patiently(port, SIMPLE)
    before = _settled_workers(proc.pid)  # workers killed by earlier tests replaced (SIMPLE may be a kept answer)
    statuses = [ask(port, query, method="POST", source=f"127.0.6.{i}")[0] for i in range(1, 9)]
    assert set(statuses) <= {200, 400}
    assert 400 in statuses or query.startswith("SELECT (1/0")
    assert _workers(proc.pid) == before


def test_heavy_queries_do_not_starve_cheap_ones(endpoint):
    """Six clients asking heavy queries back to back on 2 + 2 workers: the cheap query still
    answers at once (heavy ones run at low priority, the excess gets 503)."""
    port, proc = endpoint
    bound = _cheap_bound_ms(port)
    peak = [0]

    def heavy(source):
        peak[0] = max(peak[0], _tree_rss_kib(proc.pid) // 1024)
        return ask(port, HEAVY, source=source, timeout=30)[0]

    p50, cheap, statuses = _cheap_p50_during(port, heavy, [f"127.0.7.{i}" for i in range(1, 7)], 5.5)
    _figures(
        "6 heavy clients",
        status=sorted(set(statuses), key=str),
        cheap_p50_ms=round(p50, 1),
        rss_mib=round(_rss_mib(proc.pid)),
        tree_rss_mib=peak[0],
    )
    assert set(cheap) == {200} and p50 < bound
    assert set(statuses) <= {200, STOPPED, 503} and STOPPED in statuses


def test_one_client_cannot_hold_every_slot(endpoint):
    """At most 8 requests in flight per client address: beyond, it is told to retry (429) at once."""
    port, _ = endpoint
    results = []

    def greedy():
        try:
            results.append(ask(port, HEAVY, source="127.0.8.1", timeout=1.5)[0])
        except OSError:  # still waiting for a heavy slot: this client gives up, the server finishes it
            results.append("waiting")

    threads = [threading.Thread(target=greedy) for _ in range(12)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    status, body = ask(port, SIMPLE, source="127.0.8.2")
    assert status == 200, body
    for t in threads:
        t.join()
    assert results.count(429) >= 4 and set(results) <= {STOPPED, 429, 503, "waiting"}
